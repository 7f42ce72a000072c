"""Local platform figures: time to ready, POST /feedback and GET /analytics through the gateway
(keep-alive client, 2000 requests each), cold vs warm invoke, manual rollback wall time, and the
drill's detect and recover times. Goals: POST p50 <= 15 ms, rollback <= 3 s, drill recovery <= 30 s.

Run: .venv/bin/python benchmarks/bench_local.py   (uses free ports; nothing else needs to run)
"""

from __future__ import annotations

import http.client
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REQUESTS = 2000
GOALS = {"post_p50_ms": 15.0, "rollback_s": 3.0, "drill_recover_s": 30.0}


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1], 2),
        "mean_ms": round(statistics.fmean(ordered), 2),
    }


def _load(
    api_url: str, method: str, path: str, body: dict[str, Any] | None, count: int
) -> dict[str, float]:
    url = urlsplit(api_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    payload = json.dumps(body).encode() if body else None
    headers = {"Content-Type": "application/json"}
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        connection.request(method, f"{url.path}{path}", body=payload, headers=headers)
        response = connection.getresponse()
        response.read()
        samples.append((time.perf_counter() - started) * 1000)
        if response.status >= 400:
            raise RuntimeError(f"{method} {path} answered {response.status}")
    connection.close()
    return _percentiles(samples)


def _cold_vs_warm(platform: Any) -> dict[str, float]:
    from feedbackctl.sandbox import publish_distinct_version

    client = platform.client("lambda", through_endpoint=True)
    name = "feedback-local-health"
    version = publish_distinct_version(client, name, "cold-start")  # never invoked: cold
    timings = []
    for _ in range(6):
        started = time.perf_counter()
        client.invoke(FunctionName=f"{name}:{version}", Payload=b'{"feedbackctl": "health-check"}')
        timings.append((time.perf_counter() - started) * 1000)
    return {"cold_ms": round(timings[0], 1), "warm_ms": round(statistics.median(timings[1:]), 1)}


def _rollback(platform: Any) -> float:
    from typer.testing import CliRunner

    from feedbackctl.cli.app import app
    from feedbackctl.engine.ledger import DynamoLedger
    from feedbackctl.engine.model import LedgerEvent
    from feedbackctl.sandbox import publish_distinct_version

    client = platform.client("lambda", through_endpoint=True)
    name, seed = "feedback-local-get-analytics", "get-analytics"
    live = client.get_alias(FunctionName=name, Name="live")["FunctionVersion"]
    new = publish_distinct_version(client, name, "release")
    ledger = DynamoLedger(platform.client("dynamodb"), "feedback-local-ledger")
    state = ledger.state(seed)
    event = LedgerEvent(
        seed, "release", "done", "2026-11-25T00:00:00.000Z", "bench", "bench", new, live
    )
    ledger.commit_release(state.revision, state.with_release(new, live), event)
    client.update_alias(FunctionName=name, Name="live", FunctionVersion=new)
    started = time.perf_counter()
    result = CliRunner().invoke(
        app,
        [
            "rollback",
            "-f",
            seed,
            "--yes",
            "--stage",
            "local",
            "--endpoint-url",
            platform.endpoint_url,
        ],
    )
    elapsed = time.perf_counter() - started
    if result.exit_code != 0:
        raise RuntimeError(result.output)
    return round(elapsed, 3)


def _drill(platform: Any) -> dict[str, Any]:
    from typer.testing import CliRunner

    from feedbackctl.cli.app import app

    result = CliRunner().invoke(
        app,
        [
            "drill",
            "-f",
            "create-feedback",
            "--yes",
            "--json",
            "--stage",
            "local",
            "--endpoint-url",
            platform.endpoint_url,
        ],
    )
    if result.exit_code != 0:
        raise RuntimeError(result.output)
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def run() -> dict[str, Any]:
    from feedbackctl.config import load_config
    from feedbackctl.local.platform import LocalPlatform, Options

    dist = ROOT / "frontend" / "dist"
    options = Options(
        api_port=0,
        aws_port=0,
        site_dir=dist if dist.is_dir() else None,
        work_dir=Path(tempfile.mkdtemp()),
        alarm_interval_s=1.0,
    )
    platform = LocalPlatform(load_config().stage("local"), options)
    started = time.perf_counter()
    platform.start()
    ready_s = round(time.perf_counter() - started, 2)
    try:
        body = {
            "name": "Bench",
            "email": "bench@example.com",
            "rating": 4,
            "message": "Solid and fast",
        }
        post = _load(platform.api_url, "POST", "/feedback", body, REQUESTS)
        analytics = _load(platform.api_url, "GET", "/analytics", None, REQUESTS)
        invoke = _cold_vs_warm(platform)
        rollback_s = _rollback(platform)
        drill = _drill(platform)
    finally:
        platform.stop()
    return {
        "ready_s": ready_s,
        "post_feedback": post,
        "get_analytics": analytics,
        "invoke": invoke,
        "rollback_s": rollback_s,
        "drill": drill,
    }


def report(results: dict[str, Any]) -> list[str]:
    post, analytics = results["post_feedback"], results["get_analytics"]
    print(f"local up ready in {results['ready_s']} s")
    print(
        f"POST /feedback  x{REQUESTS} keep-alive: p50 {post['p50_ms']} ms, p99 {post['p99_ms']} ms"
    )
    print(
        f"GET /analytics  x{REQUESTS} keep-alive: "
        f"p50 {analytics['p50_ms']} ms, p99 {analytics['p99_ms']} ms"
    )
    print(f"invoke: cold {results['invoke']['cold_ms']} ms, warm {results['invoke']['warm_ms']} ms")
    print(f"manual rollback (CLI, real health check): {results['rollback_s']} s")
    drill = results["drill"]
    print(
        f"drill: detected {drill['detectSeconds']} s, "
        f"recovered {drill['recoverSeconds']} s ({drill['healedBy']})"
    )
    missed = []
    if post["p50_ms"] > GOALS["post_p50_ms"]:
        missed.append(f"POST p50 {post['p50_ms']} ms > {GOALS['post_p50_ms']} ms")
    if results["rollback_s"] > GOALS["rollback_s"]:
        missed.append(f"rollback {results['rollback_s']} s > {GOALS['rollback_s']} s")
    if drill["recoverSeconds"] is None or drill["recoverSeconds"] > GOALS["drill_recover_s"]:
        missed.append(f"drill recovery {drill['recoverSeconds']} s > {GOALS['drill_recover_s']} s")
    return missed


if __name__ == "__main__":
    missed = report(run())
    print("local: PASS" if not missed else "local: FAIL: " + "; ".join(missed))
    sys.exit(1 if missed else 0)
