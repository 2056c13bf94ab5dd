"""The floor plan (docs/decisions.md, README "Architecture in one screen"): which rooms may import which."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOMAIN_APPS = {"accounts", "organizations", "clients", "webhooks", "kyc", "gateway", "console"}
# Left to package A of issue #12 (the gateway move deletes this import); allowed, not required.
CORE_PENDING = {("portal/core/api/schema.py", "portal.clients.api.gateway")}


def portal_imports():
    """(file, imported module) for every `portal.*` import in portal/, migrations excluded, lazy ones included."""
    for path in sorted((ROOT / "portal").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        relative = path.relative_to(ROOT).as_posix()
        package = path.relative_to(ROOT).with_suffix("").parts[:-1]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
                if node.level:
                    module = ".".join([*package[: len(package) - node.level + 1], *([module] if module else [])])
                names = [module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            yield from ((relative, name) for name in names if name.startswith("portal."))


def app_of(module: str) -> str:
    return module.split(".")[1]


def test_core_imports_no_app():
    leaks = [
        (path, module)
        for path, module in portal_imports()
        if path.startswith("portal/core/") and app_of(module) in DOMAIN_APPS and (path, module) not in CORE_PENDING
    ]
    assert leaks == []


def test_only_the_project_urls_import_the_console():
    leaks = [
        (path, module)
        for path, module in portal_imports()
        if app_of(module) == "console" and not path.startswith("portal/console/") and path != "portal/urls.py"
    ]
    assert leaks == []
