"""`feedbackctl logs` figures against a moto server: the time to print the first page (100
lines) and every line for 6 functions × 1,000 events, written as Lambda writes them (two
versions, two containers each, START / JSON lines / END / REPORT per invocation).

Three readers over the same data: the naive way (DescribeLogStreams, then GetLogEvents per
stream, then one sort), FilterLogEvents one group at a time, and `feedbackctl.logview`
(FilterLogEvents for every group at once, merged as pages arrive). Plus the real command in a
subprocess reading its first page through a pipe that then closes (`| head -100`).
Goal: the first page in under 1 s in-process and under 3 s for the whole command (Python
start-up included), and at least twice as fast as the naive baseline.
Run: .venv/bin/python benchmarks/bench_logs.py
"""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EVENTS_PER_FUNCTION = 1000
PAGE = 100
RUNS = 5
GOAL_FIRST_PAGE_S = 1.0
GOAL_COMMAND_S = 3.0
GOAL_SPEEDUP = 2.0
LATENCY_S = 0.1  # a FilterLogEvents round trip to a region is typically 50–300 ms
OURS = "feedbackctl logs (all groups at once)"


def _server() -> tuple[Any, str]:
    from feedbackctl.sandbox import point_boto3_at, start_moto_server

    server, endpoint = start_moto_server()
    point_boto3_at(endpoint)
    return server, endpoint


def _invocation(function: str, version: str, request_id: str, number: int) -> list[str]:
    record = {
        "level": "ERROR" if number % 50 == 0 else "INFO",
        "location": "handle:42",
        "message": "request",
        "timestamp": "2026-11-25T10:00:00.000Z",
        "service": function,
        "cold_start": number == 0,
        "function_name": f"bench-{function}",
        "function_version": version,
        "function_memory_size": 256,
        "function_request_id": request_id,
        "method": "POST",
        "path": "/feedback",
        "status": 201,
        "duration_ms": 12.3,
    }
    return [
        f"START RequestId: {request_id} Version: {version}\n",
        json.dumps(record, separators=(",", ":")) + "\n",
        f"END RequestId: {request_id}\n",
        f"REPORT RequestId: {request_id}\tDuration: 12.34 ms\tBilled Duration: 13 ms\t"
        "Memory Size: 256 MB\tMax Memory Used: 71 MB\n",
    ]


def write_logs(logs: Any, stack: str, start: datetime) -> int:
    """6 functions × EVENTS_PER_FUNCTION events over 4 streams each; returns the count."""
    from feedbackctl.functions import FUNCTION_NAMES
    from feedbackctl.naming import StackNames

    names = StackNames(stack)
    base = int(start.timestamp() * 1000)
    total = 0
    for offset, function in enumerate(FUNCTION_NAMES):
        group = names.log_group(function)
        logs.create_log_group(logGroupName=group)
        streams = [
            (version, f"{start:%Y/%m/%d}/[{version}]{uuid.uuid4().hex}")
            for version in ("3", "4")
            for _ in range(2)
        ]
        for _, stream in streams:
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
        batches: dict[str, list[dict[str, Any]]] = {s: [] for _, s in streams}
        for number in range(EVENTS_PER_FUNCTION // 4):
            version, stream = streams[number % len(streams)]
            at = base + number * 97 + offset * 13  # functions interleave in time
            lines = _invocation(function, version, str(uuid.uuid4()), number)
            batches[stream] += [{"timestamp": at + i, "message": m} for i, m in enumerate(lines)]
        for stream, events in batches.items():
            logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
            total += len(events)
    return total


def _timed_page(events: Iterator[Any], render: Callable[[Any], str]) -> dict[str, float]:
    """Seconds to the PAGE-th rendered line and to the last one."""
    out = io.StringIO()
    started = time.perf_counter()
    first_page = None
    count = 0
    for event in events:
        out.write(render(event) + "\n")
        count += 1
        if count == PAGE:
            first_page = time.perf_counter() - started
    return {"first_page_s": first_page or 0.0, "all_s": time.perf_counter() - started, "n": count}


def naive(logs: Any, stack: str, since_ms: int) -> Iterator[Any]:
    """Per stream: DescribeLogStreams, then GetLogEvents until the token repeats; one sort."""
    from feedbackctl.functions import FUNCTION_NAMES
    from feedbackctl.logview import parse_event
    from feedbackctl.naming import StackNames

    collected = []
    for function in FUNCTION_NAMES:
        group = StackNames(stack).log_group(function)
        streams = []
        kwargs: dict[str, Any] = {"logGroupName": group}
        while True:
            page = logs.describe_log_streams(**kwargs)
            streams += [s["logStreamName"] for s in page["logStreams"]]
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
        for stream in streams:
            args: dict[str, Any] = {
                "logGroupName": group,
                "logStreamName": stream,
                "startTime": since_ms,
                "startFromHead": True,
            }
            while True:
                page = logs.get_log_events(**args)
                for raw in page["events"]:
                    collected.append(parse_event(function, {**raw, "logStreamName": stream}))
                token = page.get("nextForwardToken")
                if not page["events"] or token == args.get("nextToken"):
                    break
                args["nextToken"] = token
    collected.sort(key=lambda e: e.timestamp)
    yield from collected


def logview(logs: Any, stack: str, since_ms: int, workers: int | None) -> Iterator[Any]:
    from feedbackctl.functions import FUNCTION_NAMES
    from feedbackctl.logview import LogQuery, LogReader
    from feedbackctl.naming import StackNames

    query = LogQuery.create(list(FUNCTION_NAMES))
    executor = ThreadPoolExecutor(max_workers=workers) if workers else None
    try:
        yield from LogReader(logs, StackNames(stack), query, executor=executor).read(since_ms)
    finally:
        if executor:
            executor.shutdown()


def command(endpoint: str, stack: str) -> dict[str, float]:
    """The real CLI in a subprocess: seconds until its PAGE-th line arrives through a pipe."""
    config = Path(tempfile.mkdtemp()) / "feedbackctl.toml"
    config.write_text(
        f'[project]\ndefault_stage = "bench"\n[stages.bench]\nregion = "us-east-1"\n'
        f'stack_name = "{stack}"\nendpoint_url = "{endpoint}"\n'
    )
    env = {**os.environ, "FEEDBACKCTL_CONFIG": str(config), "NO_COLOR": "1"}
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(ROOT / ".venv/bin/feedbackctl"), "logs", "--since", "1h"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert process.stdout is not None
    for _ in range(PAGE):
        process.stdout.readline()
    first_page = time.perf_counter() - started
    process.stdout.close()  # as `| head -100` does: the command must end quietly
    code = process.wait(timeout=60)
    stderr = process.stderr.read().decode() if process.stderr else ""
    return {"first_page_s": first_page, "exit_code": code, "traceback": "Traceback" in stderr}


def _client(endpoint: str, latency: float) -> Any:
    """A Logs client; with `latency`, each call first waits as a network round trip would
    (in the calling thread, so concurrent calls overlap their waits as they do on AWS)."""
    import boto3

    client = boto3.client("logs", endpoint_url=endpoint)
    if latency:
        client.meta.events.register("before-send.logs", lambda **_: time.sleep(latency))
    return client


def _median(runs: list[dict[str, float]], key: str) -> float:
    return round(statistics.median(r[key] for r in runs), 3)


def run() -> dict[str, Any]:
    import boto3

    from feedbackctl.cli.commands.logs.views import LineFormat
    from feedbackctl.functions import FUNCTION_NAMES

    server, endpoint = _server()
    try:
        logs = boto3.client("logs", endpoint_url=endpoint)
        stack = f"bench-{uuid.uuid4().hex[:6]}"
        start = datetime.now(UTC) - timedelta(minutes=50)
        written = write_logs(logs, stack, start)
        since = int((start - timedelta(minutes=1)).timestamp() * 1000)
        fmt = LineFormat(FUNCTION_NAMES)
        results: dict[str, Any] = {"events": written}
        for latency in (0.0, LATENCY_S):
            client = _client(endpoint, latency)
            readers = {
                "naive GetLogEvents per stream": lambda c=client: naive(c, stack, since),
                "FilterLogEvents, one group at a time": lambda c=client: logview(
                    c, stack, since, 1
                ),
                OURS: lambda c=client: logview(c, stack, since, None),
            }
            scenario: dict[str, Any] = {}
            for name, reader in readers.items():
                times = RUNS if not latency else 3  # the naive reader takes ~6 s a run here
                runs = [_timed_page(reader(), fmt.plain) for _ in range(times)]
                assert all(r["n"] == written for r in runs), (name, runs[0]["n"], written)
                scenario[name] = {
                    "first_page_s": _median(runs, "first_page_s"),
                    "all_s": _median(runs, "all_s"),
                }
            results[f"{latency * 1000:.0f} ms"] = scenario
        cli_runs = [command(endpoint, stack) for _ in range(3)]
        results["command"] = {
            "first_page_s": _median(cli_runs, "first_page_s"),
            "exit_codes": sorted({int(r["exit_code"]) for r in cli_runs}),
            "traceback": any(r["traceback"] for r in cli_runs),
        }
        return results
    finally:
        server.stop()


def report(results: dict[str, Any]) -> list[str]:
    print(
        f"{results['events']:,} events (6 functions × {EVENTS_PER_FUNCTION:,}); first page = "
        f"{PAGE} lines; medians of {RUNS} runs (3 with latency) against moto"
    )
    for scenario in ("0 ms", f"{LATENCY_S * 1000:.0f} ms"):
        print(f"moto with {scenario} added per call:")
        for name, figures in results[scenario].items():
            print(
                f"  {name:<40} first page {figures['first_page_s'] * 1000:7.0f} ms   "
                f"all lines {figures['all_s'] * 1000:7.0f} ms"
            )
    cli = results["command"]
    print(
        f"  {'the command, subprocess, `| head -100`':<40} first page "
        f"{cli['first_page_s'] * 1000:7.0f} ms   exit codes {cli['exit_codes']}"
    )
    missed = []
    for scenario in ("0 ms", f"{LATENCY_S * 1000:.0f} ms"):
        ours = results[scenario][OURS]["first_page_s"]
        baseline = results[scenario]["naive GetLogEvents per stream"]["first_page_s"]
        print(f"speed-up over the naive baseline ({scenario}): {baseline / ours:.1f}×")
        if ours > GOAL_FIRST_PAGE_S:
            missed.append(
                f"first page took {ours:.2f} s at {scenario} (goal {GOAL_FIRST_PAGE_S} s)"
            )
        if baseline / ours < GOAL_SPEEDUP:
            missed.append(
                f"only {baseline / ours:.1f}× faster than the naive baseline ({scenario})"
            )
    if cli["first_page_s"] > GOAL_COMMAND_S:
        missed.append(f"the command's first page took {cli['first_page_s']:.2f} s")
    if cli["exit_codes"] != [0] or cli["traceback"]:
        missed.append("the command did not end quietly when its pipe closed")
    return missed


if __name__ == "__main__":
    missed = report(run())
    print("logs: PASS" if not missed else "logs: FAIL: " + "; ".join(missed))
    sys.exit(1 if missed else 0)
