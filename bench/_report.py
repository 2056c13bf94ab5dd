"""Helper for benchmarks: `from _report import report` (bench/ is on sys.path when a bench runs)."""

import json


def report(
    name: str,
    value: float,
    unit: str,
    *,
    baseline: float | None = None,
    baseline_label: str = "",
    higher_is_better: bool = True,
    notes: str = "",
) -> None:
    """Print one figure for bench/run_all.py (and a readable line for people)."""
    print(f"{name}: {value:,.2f} {unit}" + (f" (baseline {baseline:,.2f} {baseline_label})" if baseline else ""))
    payload = {"name": name, "value": value, "unit": unit, "higherIsBetter": higher_is_better}
    if baseline is not None:
        payload["baseline"] = baseline
        payload["baselineLabel"] = baseline_label
    if notes:
        payload["notes"] = notes
    print("BENCH_RESULT " + json.dumps(payload), flush=True)
