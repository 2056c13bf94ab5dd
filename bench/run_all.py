"""`make bench`: run every benchmark in bench/, collect the figures they report, write bench/results.md.

A benchmark is any `bench/*.py` except this runner, `load.py` (that is `make load`) and files starting
with `_`. Each runs as `python bench/<name>.py` in its own process with the caller's environment, and
reports each figure on its own stdout line (see bench/README.md):

    BENCH_RESULT {"name": "...", "value": 412.0, "unit": "deliveries/s", "baseline": 75.0, ...}

Everything a benchmark prints goes to bench/out/<name>.log. A benchmark that fails, times out or
reports nothing is listed as such in the results, and makes `make bench` exit non-zero.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
MARKER = "BENCH_RESULT "
NOT_BENCHMARKS = {"run_all.py", "load.py"}


@dataclass
class Figure:
    name: str
    value: float
    unit: str = ""
    baseline: float | None = None
    baseline_label: str = ""
    higher_is_better: bool = True
    notes: str = ""

    @classmethod
    def from_json(cls, payload: dict) -> Figure:
        return cls(
            name=str(payload["name"]),
            value=float(payload["value"]),
            unit=str(payload.get("unit", "")),
            baseline=None if payload.get("baseline") is None else float(payload["baseline"]),
            baseline_label=str(payload.get("baselineLabel", "")),
            higher_is_better=bool(payload.get("higherIsBetter", True)),
            notes=str(payload.get("notes", "")),
        )

    @property
    def ratio(self) -> float | None:
        """How many times better than the baseline (>1 is better, whichever direction is good)."""
        if self.baseline in (None, 0) or self.value == 0:
            return None
        return self.value / self.baseline if self.higher_is_better else self.baseline / self.value


@dataclass
class BenchRun:
    script: str
    seconds: float = 0.0
    returncode: int | None = None
    figures: list[Figure] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and bool(self.figures) and not self.problems


def discover(folder: Path) -> list[Path]:
    return sorted(
        path for path in folder.glob("*.py") if path.name not in NOT_BENCHMARKS and not path.name.startswith("_")
    )


def parse_output(text: str) -> tuple[list[Figure], list[str]]:
    figures, problems = [], []
    for line in text.splitlines():
        if not line.startswith(MARKER):
            continue
        try:
            figures.append(Figure.from_json(json.loads(line[len(MARKER) :])))
        except (ValueError, KeyError, TypeError) as exc:
            problems.append(f"unreadable result line ({exc}): {line[:200]}")
    return figures, problems


def run_one(script: Path, *, timeout: float, out_dir: Path) -> BenchRun:
    run = BenchRun(script=script.name)
    out_dir.mkdir(parents=True, exist_ok=True)
    log_path = out_dir / f"{script.stem}.log"
    started = time.monotonic()
    print(f"== {script.name}", flush=True)
    try:
        completed = subprocess.run(
            [sys.executable, str(script)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            check=False,
        )
        output = completed.stdout + ("\n--- stderr ---\n" + completed.stderr if completed.stderr else "")
        run.returncode = completed.returncode
        if completed.returncode != 0:
            run.problems.append(f"exited with {completed.returncode}")
    except subprocess.TimeoutExpired as exc:
        output = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        run.problems.append(f"timed out after {timeout:.0f} s")
    run.seconds = time.monotonic() - started
    log_path.write_text(output)
    run.figures, problems = parse_output(output)
    run.problems += problems
    if not run.figures and not run.problems:
        run.problems.append("reported no BENCH_RESULT line")
    for figure in run.figures:
        print(f"   {figure.name}: {format_number(figure.value)} {figure.unit}", flush=True)
    for problem in run.problems:
        print(f"   PROBLEM: {problem} (see {log_path})", flush=True)
    return run


def machine_facts() -> list[tuple[str, str]]:
    facts = [("Host", platform.node()), ("OS", f"{platform.system()} {platform.release()}")]
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    facts.append(("CPU", f"{cpu}, {os.cpu_count()} logical cores"))
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                facts.append(("Memory", f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"))
                break
    except OSError:
        pass
    try:
        load = os.getloadavg()
        facts.append(("Load average at start", f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"))
    except OSError:
        pass
    facts.append(("Python", platform.python_version()))
    facts.append(("Database", "PostgreSQL" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "SQLite"))
    facts.append(("Broker", os.environ.get("CELERY_BROKER_URL") or "embedded filesystem broker"))
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()
        if commit:
            facts.append(("Commit", commit))
    except OSError:
        pass
    return facts


def format_number(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def render(runs: list[BenchRun], *, started: dt.datetime, facts: list[tuple[str, str]]) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` (bench/run_all.py) on {started:%Y-%m-%d %H:%M} UTC. "
        "Ratio = how many times better than the baseline (above 1 is better, for figures where lower is "
        "better too). Raw output of each benchmark: `bench/out/<name>.log`.",
        "",
        "## Machine",
        "",
        *(f"- {key}: {value}" for key, value in facts),
        "",
        "## Figures",
        "",
        "| benchmark | figure | value | unit | baseline | ratio | notes |",
        "|---|---|---:|---|---|---:|---|",
    ]
    for run in runs:
        for figure in run.figures:
            baseline = format_number(figure.baseline)
            if figure.baseline_label:
                baseline = f"{baseline} ({figure.baseline_label})"
            ratio = figure.ratio
            lines.append(
                f"| {run.script} | {figure.name} | {format_number(figure.value)} | {figure.unit} | {baseline} | "
                f"{'-' if ratio is None else f'{ratio:.2f}x'} | {figure.notes} |"
            )
    lines += ["", "## Runs", "", "| benchmark | seconds | status |", "|---|---:|---|"]
    for run in runs:
        status = "ok" if run.ok else "; ".join(run.problems)
        lines.append(f"| {run.script} | {run.seconds:.1f} | {status} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="only these benchmarks (file names with or without .py)")
    parser.add_argument("--timeout", type=float, default=float(os.environ.get("BENCH_TIMEOUT", "900")))
    parser.add_argument("--folder", type=Path, default=BENCH_DIR)
    parser.add_argument("--output", type=Path, default=BENCH_DIR / "results.md")
    args = parser.parse_args(argv)

    started = dt.datetime.now(dt.UTC)
    facts = machine_facts()
    scripts = discover(args.folder)
    if args.names:
        wanted = {name.removesuffix(".py") for name in args.names}
        scripts = [script for script in scripts if script.stem in wanted]
    if not scripts:
        print("No benchmark found.")
        return 1
    runs = [run_one(script, timeout=args.timeout, out_dir=args.folder / "out") for script in scripts]
    args.output.write_text(render(runs, started=started, facts=facts))
    print(f"\nWrote {args.output}")
    return 0 if all(run.ok for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
