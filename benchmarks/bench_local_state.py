"""Restart time of `feedbackctl local up` with 10,000 feedback items stored, as a ratio to a start
on an empty state folder measured in the same run.

Steps, each a real `local up` process on free ports: start on an empty state folder (the
baseline), store 10,000 items (BatchWriteItem through the platform's AWS endpoint, items shaped
as create-feedback writes them, so the stream aggregator counts them), wait until the analytics
count them all, stop cleanly (Ctrl-C: a final snapshot), start again (restart after a clean
stop), `kill -9` the whole process group, start again (restart after a crash: the journal since
the last snapshot is replayed). Every start is timed from the process start to its "AWS
endpoint" line (the platform serves then). Goals: both restarts within 3x the empty start.
Run: .venv/bin/python benchmarks/bench_local_state.py   (BENCH_STATE_ITEMS=N stores N items
instead of 10,000)
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parents[1]
ITEMS = int(os.environ.get("BENCH_STATE_ITEMS", "10000"))
GOAL_RATIO = 3.0


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(state: Path, api: int, aws: int) -> tuple[subprocess.Popen[str], float]:
    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "feedbackctl", "local", "up", "--state-dir", str(state)),
            *("--api-port", str(api), "--aws-port", str(aws)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("AWS endpoint"):
            return process, time.perf_counter() - started
    raise RuntimeError("local up never became ready")


def _stop(process: subprocess.Popen[str]) -> float:
    started = time.perf_counter()
    process.send_signal(signal.SIGINT)
    process.wait(timeout=120)
    return time.perf_counter() - started


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return json.loads(answer.read())


def _store_items(api: int, aws: int) -> None:
    client = boto3.client(
        "dynamodb",
        endpoint_url=f"http://127.0.0.1:{aws}",
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    table = "feedback-local-feedback"
    now = time.time()
    for start in range(0, ITEMS, 25):
        requests = []
        for n in range(start, min(start + 25, ITEMS)):
            created = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now - n)) + ".000Z"
            item = {
                "feedbackId": {"S": f"bench-{n:06d}"},
                "name": {"S": "Bench"},
                "email": {"S": "bench@example.com"},
                "rating": {"N": str(1 + n % 5)},
                "message": {"S": f"benchmark feedback number {n}"},
                "sentiment": {"S": ("positive", "neutral", "negative")[n % 3]},
                "createdAt": {"S": created},
                "status": {"S": "active"},
                "expiresAt": {"N": str(int(now) + 30 * 86400)},
            }
            requests.append({"PutRequest": {"Item": item}})
        client.batch_write_item(RequestItems={table: requests})
    deadline = time.monotonic() + 600
    while _get(f"http://127.0.0.1:{api}/local/analytics").get("totalFeedback", 0) < ITEMS:
        if time.monotonic() > deadline:
            raise RuntimeError("the aggregator did not count every item within 10 minutes")
        time.sleep(0.5)


def _folder_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def run() -> dict[str, Any]:
    state = Path(tempfile.mkdtemp(prefix="bench-local-state-")) / "state"
    api, aws = _port(), _port()
    process, empty_s = _start(state, api, aws)
    try:
        _store_items(api, aws)
    finally:
        stop_s = _stop(process)
    process, clean_s = _start(state, api, aws)
    count_after_clean = _get(f"http://127.0.0.1:{api}/local/analytics").get("totalFeedback")
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    process, crash_s = _start(state, api, aws)
    try:
        count_after_crash = _get(f"http://127.0.0.1:{api}/local/analytics").get("totalFeedback")
    finally:
        _stop(process)
    return {
        "items": ITEMS,
        "empty_start_s": empty_s,
        "clean_stop_s": stop_s,
        "restart_after_clean_stop_s": clean_s,
        "restart_after_kill_9_s": crash_s,
        "state_mb": _folder_mb(state),
        "counted_after_restarts": (count_after_clean, count_after_crash),
    }


def report(figures: dict[str, Any]) -> list[str]:
    base = figures["empty_start_s"]
    clean = figures["restart_after_clean_stop_s"] / base
    crash = figures["restart_after_kill_9_s"] / base
    print(f"start on an empty state folder (baseline): {base:.2f} s")
    print(f"restart with {figures['items']:,} items after a clean stop: {clean:.2f}x the baseline")
    print(f"restart with {figures['items']:,} items after kill -9: {crash:.2f}x the baseline")
    print(f"clean stop with {figures['items']:,} items: {figures['clean_stop_s'] / base:.2f}x")
    print(
        f"state folder: {figures['state_mb']:.1f} MB; analytics count after each restart: "
        f"{figures['counted_after_restarts']}"
    )
    missed = [
        f"{name} restart {ratio:.2f}x > {GOAL_RATIO}x"
        for name, ratio in (("clean", clean), ("kill -9", crash))
        if ratio > GOAL_RATIO
    ]
    if figures["counted_after_restarts"] != (ITEMS, ITEMS):
        missed.append(f"analytics counted {figures['counted_after_restarts']}, not {ITEMS}")
    return missed


if __name__ == "__main__":
    missed = report(run())
    print("PASS" if not missed else "FAIL: " + "; ".join(missed))
    raise SystemExit(1 if missed else 0)
