"""Restore drill on one local platform: the recovery time (RTO) of a whole restore of the
feedback table at ITEMS items (default 10,000) after 10 % of them were deleted and as many
overwritten past the API, as `feedbackctl drill --restore` measures it, next to a baseline
measured in the same run on the same table: one consistent, parallel scan of it (every verified
restore reads the table at least once). Also each restore step as a ratio to that scan.
Goals: the drill heals (table equals the backup, analytics equal a recount, GET /analytics
serves the total); RTO within the architecture's 15 minutes (an absolute goal: it is the
platform's promise, not a ratio).

Run: .venv/bin/python benchmarks/bench_restore.py [items]   (uses free ports)
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

COMMAND = ".venv/bin/python benchmarks/bench_restore.py"
ITEMS = 10_000
RTO_GOAL_S = 15 * 60


def run(items: int = ITEMS) -> dict[str, Any]:
    from typer.testing import CliRunner

    from feedbackctl import restore as restoring
    from feedbackctl.cli.app import app
    from feedbackctl.config import load_config
    from feedbackctl.local.platform import LocalPlatform, Options
    from feedbackctl.naming import StackNames

    platform = LocalPlatform(
        load_config().stage("local"),
        Options(api_port=0, aws_port=0, work_dir=Path(tempfile.mkdtemp())),
    )
    platform.start()
    try:
        result = CliRunner().invoke(app, [
            "drill", "--restore", "--items", str(items), "--yes", "--json",
            "--stage", "local", "--endpoint-url", platform.endpoint_url,
        ])  # fmt: skip
        if result.exit_code not in (0, 1) or not result.stdout.strip():
            raise SystemExit(f"the restore drill failed (exit {result.exit_code}): {result.output}")
        report: dict[str, Any] = json.loads(result.stdout)
        ddb = platform.client("dynamodb", through_endpoint=True)
        started = time.perf_counter()
        restoring.read_items(ddb, StackNames(platform.stage.stack_name).feedback_table)
        report["baselineScanSeconds"] = round(time.perf_counter() - started, 3)
    finally:
        platform.stop()
    return report


def report(result: dict[str, Any]) -> list[str]:
    scan = result["baselineScanSeconds"]
    rto = result["rtoSeconds"]
    print(f"items {result['items']}: {result['deleted']} deleted, {result['altered']} overwritten")
    print(f"baseline: one consistent scan of the table {scan:.2f} s")
    for name, seconds in result["restore"]["seconds"].items():
        print(f"  {name:<10} {seconds:8.2f} s  {seconds / scan:6.1f}× the scan")
    print(f"RTO {rto:.1f} s = {rto / scan:.1f}× the scan (goal: <= {RTO_GOAL_S} s)")
    print(
        f"table equals the backup: {result['tableMatches']}; analytics exact: "
        f"{result['analyticsExact']}; served total {result['servedTotal']}"
    )
    print(f"command: {COMMAND} {result['items']}")
    missed = []
    if not result["healed"]:
        missed.append("the restore did not heal the stage")
    if rto > RTO_GOAL_S:
        missed.append(f"RTO {rto:.0f} s > {RTO_GOAL_S} s")
    return missed


if __name__ == "__main__":
    missed = report(run(int(sys.argv[1]) if len(sys.argv) > 1 else ITEMS))
    print("PASS" if not missed else "FAIL: " + "; ".join(missed))
    raise SystemExit(1 if missed else 0)
