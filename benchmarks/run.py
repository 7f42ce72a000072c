"""Run every benchmark: print the figures and compare each against its goal or baseline.

Run: .venv/bin/python benchmarks/run.py   (exit 1 when a goal is missed)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bench_handlers
import bench_local
import bench_logs
import bench_package
import bench_release
import bench_sentiment


def main() -> int:
    failures = []
    print("== handlers")
    missed = bench_handlers.report(bench_handlers.run())
    failures += missed
    print("handlers: PASS" if not missed else "handlers: FAIL: " + "; ".join(missed))
    print("\n== sentiment")
    if bench_sentiment.DATA.is_file():
        if not bench_sentiment.run()["passed"]:
            failures.append("sentiment goals")
    else:
        print(f"skipped: {bench_sentiment.DATA} not found")
    print("\n== package")
    missed = bench_package.report(bench_package.run())
    failures += missed
    print("package: PASS" if not missed else "package: FAIL: " + "; ".join(missed))
    print("\n== release engine")
    missed = bench_release.report(bench_release.run())
    failures += missed
    print("release: PASS" if not missed else "release: FAIL: " + "; ".join(missed))
    print("\n== logs")
    missed = bench_logs.report(bench_logs.run())
    failures += missed
    print("logs: PASS" if not missed else "logs: FAIL: " + "; ".join(missed))
    print("\n== local platform")
    missed = bench_local.report(bench_local.run())
    failures += missed
    print("local: PASS" if not missed else "local: FAIL: " + "; ".join(missed))
    print("\nALL PASS" if not failures else "\nFAILED: " + "; ".join(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
