"""`make test`: make sure the system packages the suite drives are there, then run pytest.

Debian's Chromium (browser tests; Playwright never downloads a browser here) and a Java runtime
(openapi-generator-cli builds a client from the published schema). pytest's exit code is returned
unchanged, so "no tests collected" (5) fails like any failure.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NEEDED = {"chromium": Path("/usr/bin/chromium"), "default-jre-headless": "java"}


def missing_packages() -> list[str]:
    missing = []
    for package, probe in NEEDED.items():
        present = probe.exists() if isinstance(probe, Path) else shutil.which(probe) is not None
        if not present:
            missing.append(package)
    return missing


def ensure_system_packages() -> None:
    missing = missing_packages()
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        sys.exit(f"The test suite needs these Debian packages: sudo apt-get install -y {' '.join(missing)}")
    print(f"Installing {', '.join(missing)} …", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env)


def main() -> int:
    ensure_system_packages()
    os.chdir(ROOT)
    return subprocess.call([sys.executable, "-m", "pytest", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
