"""bench/run_all.py: runs each benchmark, reads its BENCH_RESULT lines, writes the results table."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import run_all  # noqa: E402


def _write(folder: Path, name: str, body: str) -> None:
    (folder / name).write_text(body)


def test_runner_collects_figures_and_writes_results(tmp_path, capsys):
    _write(
        tmp_path,
        "fast.py",
        f"import sys\nsys.path.insert(0, {str(ROOT / 'bench')!r})\nfrom _report import report\n"
        "print('warming up')\n"
        "report('deliveries per second', 400.0, 'deliveries/s', baseline=80, baseline_label='peer')\n"
        "report('p95', 2.0, 'ms', baseline=10, baseline_label='budget', higher_is_better=False)\n",
    )
    _write(tmp_path, "_helper.py", "raise SystemExit('helpers are not benchmarks')\n")
    _write(tmp_path, "load.py", "raise SystemExit('make load is separate')\n")
    output = tmp_path / "results.md"

    assert run_all.main(["--folder", str(tmp_path), "--output", str(output), "--timeout", "60"]) == 0

    text = output.read_text()
    assert "## Machine" in text and "logical cores" in text
    assert "| fast.py | deliveries per second | 400 | deliveries/s | 80.0 (peer) | 5.00x |" in text
    assert "| fast.py | p95 | 2 | ms | 10.0 (budget) | 5.00x |" in text
    assert "_helper" not in text and "load.py" not in text
    assert "warming up" in (tmp_path / "out" / "fast.log").read_text()


def test_a_failing_or_silent_benchmark_fails_the_run(tmp_path):
    _write(tmp_path, "silent.py", "print('no figures')\n")
    _write(tmp_path, "broken.py", "raise SystemExit(3)\n")
    _write(tmp_path, "garbled.py", "print('BENCH_RESULT {not json')\n")
    output = tmp_path / "results.md"

    assert run_all.main(["--folder", str(tmp_path), "--output", str(output), "--timeout", "60"]) == 1

    text = output.read_text()
    assert "| silent.py |" in text and "reported no BENCH_RESULT line" in text
    assert "| broken.py |" in text and "exited with 3" in text
    assert "unreadable result line" in text


def test_a_benchmark_that_hangs_is_stopped(tmp_path):
    _write(
        tmp_path,
        "hang.py",
        'import time\nprint(\'BENCH_RESULT {"name": "x", "value": 1}\', flush=True)\ntime.sleep(30)\n',
    )
    output = tmp_path / "results.md"
    assert run_all.main(["--folder", str(tmp_path), "--output", str(output), "--timeout", "2"]) == 1
    assert "timed out after 2 s" in output.read_text()
