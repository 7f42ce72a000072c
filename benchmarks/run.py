"""Run every benchmark: print the figures and compare each against its goal or baseline.

Run: .venv/bin/python benchmarks/run.py   (exit 1 when a goal is missed)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bench_cli_startup
import bench_drill
import bench_forget
import bench_handlers
import bench_local
import bench_local_resources
import bench_logs
import bench_package
import bench_release
import bench_restore
import bench_sentiment

SUITES = (
    ("handlers", bench_handlers),
    ("package", bench_package),
    ("release engine", bench_release),
    ("logs", bench_logs),
    ("local platform", bench_local),
    ("local resources", bench_local_resources),
    ("drill", bench_drill),
    ("restore drill", bench_restore),
    ("forget", bench_forget),
    ("cli startup", bench_cli_startup),
)


def main() -> int:
    failures: list[str] = []
    for name, suite in SUITES:
        print(f"\n== {name}")
        missed = suite.report(suite.run())
        failures += [f"{name}: {m}" for m in missed]
        print(f"{name}: PASS" if not missed else f"{name}: FAIL: " + "; ".join(missed))
    print("\n== sentiment")
    if bench_sentiment.DATA.is_file():
        if not bench_sentiment.run()["passed"]:
            failures.append("sentiment goals")
    else:
        print(f"skipped: {bench_sentiment.DATA} not found")
    print("\nALL PASS" if not failures else "\nFAILED: " + "; ".join(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
