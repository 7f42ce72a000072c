"""Local platform resources and fast paths, on one running platform, ratios in the same run.

- GET /feedback p50 at 100 items and at 10,000 (goal: ratio <= 1.5), and at 10,000 with moto's
  own Query (the AWS process's `moto_query` control line), the scan the index replaces.
- RSS (the platform's process and its AWS process) after REQUESTS POST /feedback (one
  keep-alive client; default 20,000), per request, with the objects moto stores for them; goal:
  <= 16 KB per request, most of it the data AWS keeps too (the item, and its stream record for
  24 hours); log events and metric datums stop growing at moto_retention's bounds. POST p50 of
  the first and last 1000 requests shows any drift.
- worker processes after six versions were invoked and went idle (goal: 0), and `stop()`: its
  wall time (goal: <= 2 s), worker processes, the AWS process and threads left (goal: none),
  the run's folder.

Run: .venv/bin/python benchmarks/bench_local_resources.py [requests]   (free ports)
"""

from __future__ import annotations

import gc
import http.client
import json
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REQUESTS = 20_000
GET_SAMPLES = 300
GOALS = {"get_ratio": 1.5, "kb_per_request": 16.0, "stop_s": 2.0}


def _rss_mb(pid: int | None = None) -> float:
    for row in Path(f"/proc/{pid or 'self'}/status").read_text().splitlines():
        if row.startswith("VmRSS:"):
            return int(row.split()[1]) / 1024
    return 0.0


class Client:
    """One keep-alive connection to the gateway's API."""

    def __init__(self, api_url: str) -> None:
        url = urlsplit(api_url)
        self.prefix = url.path
        self.connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> float:
        data = json.dumps(body).encode() if body is not None else None
        started = time.perf_counter()
        headers = {"Content-Type": "application/json"}
        self.connection.request(method, self.prefix + path, body=data, headers=headers)
        response = self.connection.getresponse()
        response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status >= 400:
            raise RuntimeError(f"{method} {path} answered {response.status}")
        return elapsed

    def p50(self, method: str, path: str, count: int) -> float:
        return round(statistics.median(self.request(method, path) for _ in range(count)), 2)


def _fill(platform: Any, table: str, count: int, start: int) -> None:
    """Items as create-feedback writes them, straight into the table (BatchWriteItem)."""
    ddb = platform.client("dynamodb")
    now = time.time()
    items = []
    for i in range(start, start + count):
        at = now - (start + count - i)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + f".{i % 1000:03d}Z"
        items.append(
            {
                "feedbackId": {"S": str(uuid.uuid4())},
                "name": {"S": f"Bench {i}"},
                "email": {"S": f"bench{i}@example.com"},
                "rating": {"N": str(1 + i % 5)},
                "message": {"S": f"Bench message number {i}"},
                "sentiment": {"S": "neutral"},
                "createdAt": {"S": stamp},
                "status": {"S": "active"},
                "expiresAt": {"N": str(int(now) + 30 * 86400)},
            }
        )
    for offset in range(0, len(items), 25):
        chunk = [{"PutRequest": {"Item": item}} for item in items[offset : offset + 25]]
        ddb.batch_write_item(RequestItems={table: chunk})


def _listing(platform: Any, client: Client) -> dict[str, float]:
    from feedbackctl.naming import StackNames

    table = StackNames(platform.stage.stack_name).feedback_table
    existing = platform.client("dynamodb").scan(TableName=table, Select="COUNT")["Count"]
    _fill(platform, table, max(0, 100 - existing), existing)
    client.p50("GET", "/feedback?limit=20", 30)  # warm
    small = client.p50("GET", "/feedback?limit=20", GET_SAMPLES)
    _fill(platform, table, 9_900, 100)
    client.p50("GET", "/feedback?limit=20", 30)  # the first index query after the fill
    large = client.p50("GET", "/feedback?limit=20", GET_SAMPLES)
    platform.moto.control({"op": "moto_query", "enabled": False})
    try:
        scanned = client.p50("GET", "/feedback?limit=20", 30)
    finally:
        platform.moto.control({"op": "moto_query", "enabled": True})
    return {
        "p50_100_ms": small,
        "p50_10000_ms": large,
        "ratio": round(large / small, 2),
        "p50_10000_moto_scan_ms": scanned,
    }


def _moto_objects(platform: Any) -> dict[str, int]:
    """What moto holds, asked of the platform's AWS process."""
    stored: dict[str, int] = platform.moto.control({"op": "stored"})["stored"]
    return stored


def _rss_both_mb(platform: Any) -> float:
    """The RSS of the platform's two processes: this one and its AWS process (moto)."""
    return _rss_mb() + _rss_mb(platform.moto.pid)


def _memory(platform: Any, client: Client, requests: int) -> dict[str, Any]:
    body = {"name": "Bench", "email": "bench@example.com", "rating": 4, "message": "Solid, fast"}
    for _ in range(300):  # warm: workers, clients and caches
        client.request("POST", "/feedback", body)
    platform.invoker.flush()
    gc.collect()
    before, objects = _rss_both_mb(platform), _moto_objects(platform)
    started = time.perf_counter()
    samples = [client.request("POST", "/feedback", body) for _ in range(requests)]
    elapsed = time.perf_counter() - started
    platform.invoker.flush()
    gc.collect()
    after = _rss_both_mb(platform)
    stored = {k: v - objects[k] for k, v in _moto_objects(platform).items()}
    return {
        "requests": requests,
        "rss_before_mb": round(before, 1),
        "rss_after_mb": round(after, 1),
        "kb_per_request": round((after - before) * 1024 / requests, 2),
        "post_p50_ms": round(statistics.median(samples), 2),
        "post_p50_first_1000_ms": round(statistics.median(samples[:1000]), 2),
        "post_p50_last_1000_ms": round(statistics.median(samples[-1000:]), 2),
        "requests_per_s": round(requests / elapsed, 1),
        "stored": stored,
    }


def _idle_workers(platform: Any) -> dict[str, int]:
    from feedbackctl.sandbox import publish_distinct_version

    lam = platform.client("lambda", through_endpoint=True)
    name = f"{platform.stage.stack_name}-health"
    for n in range(6):
        version = publish_distinct_version(lam, name, f"bench-idle-{n}")
        lam.invoke(FunctionName=f"{name}:{version}", Payload=b'{"feedbackctl": "health-check"}')
    busy = len(platform.invoker.worker_pids)
    platform.invoker.retired_idle_s = platform.invoker.idle_timeout_s = 1.0
    time.sleep(1.1)  # idle for longer than the (lowered) limits; the reaper's clock is real
    platform.invoker.reap_idle()
    return {"workers_after_invoking": busy, "workers_after_idle": len(platform.invoker.worker_pids)}


def run(requests: int = REQUESTS) -> dict[str, Any]:
    from feedbackctl.config import load_config
    from feedbackctl.local.platform import LocalPlatform, Options

    platform = LocalPlatform(load_config().stage("local"), Options(api_port=0, aws_port=0))
    threads = set(threading.enumerate())
    platform.start()
    try:
        client = Client(platform.api_url)
        listing = _listing(platform, client)
        memory = _memory(platform, client, requests)
        idle = _idle_workers(platform)
        pids = [*platform.invoker.worker_pids, platform.moto.pid]
        work = platform.work
    finally:
        started = time.perf_counter()
        platform.stop()
        stop_s = round(time.perf_counter() - started, 3)
    alive = [p for p in pids if Path(f"/proc/{p}").exists()]
    left = [t.name for t in set(threading.enumerate()) - threads if t.is_alive()]
    stop = {"stop_s": stop_s, "workers_left": len(alive), "threads_left": left}
    stop["folder_left"] = work.exists()
    return {"listing": listing, "memory": memory, "idle": idle, "stop": stop}


def report(results: dict[str, Any]) -> list[str]:
    listing, memory, idle, stop = (results[k] for k in ("listing", "memory", "idle", "stop"))
    print(
        f"GET /feedback?limit=20 p50: {listing['p50_100_ms']} ms at 100 items, "
        f"{listing['p50_10000_ms']} ms at 10,000 (ratio {listing['ratio']}); "
        f"moto's own Query at 10,000: {listing['p50_10000_moto_scan_ms']} ms"
    )
    print(
        f"RSS after {memory['requests']} POST /feedback: {memory['rss_before_mb']} -> "
        f"{memory['rss_after_mb']} MB ({memory['kb_per_request']} KB/request; "
        f"POST p50 {memory['post_p50_ms']} ms: first 1000 {memory['post_p50_first_1000_ms']}, "
        f"last 1000 {memory['post_p50_last_1000_ms']}; {memory['requests_per_s']} req/s); "
        f"moto stored {memory['stored']}"
    )
    print(
        f"worker processes: {idle['workers_after_invoking']} after invoking 6 versions, "
        f"{idle['workers_after_idle']} once idle"
    )
    print(
        f"stop: {stop['stop_s']} s, worker and AWS processes left {stop['workers_left']}, "
        f"threads left {stop['threads_left']}, temporary folder left {stop['folder_left']}"
    )
    missed = []
    if listing["ratio"] > GOALS["get_ratio"]:
        missed.append(f"GET ratio {listing['ratio']} > {GOALS['get_ratio']}")
    if memory["kb_per_request"] > GOALS["kb_per_request"]:
        missed.append(f"{memory['kb_per_request']} KB/request > {GOALS['kb_per_request']}")
    if idle["workers_after_idle"]:
        missed.append(f"{idle['workers_after_idle']} idle workers left")
    if stop["stop_s"] > GOALS["stop_s"]:
        missed.append(f"stop took {stop['stop_s']} s > {GOALS['stop_s']} s")
    if stop["workers_left"] or stop["threads_left"] or stop["folder_left"]:
        missed.append("something was left after stop")
    return missed


if __name__ == "__main__":
    missed = report(run(int(sys.argv[1]) if len(sys.argv) > 1 else REQUESTS))
    print("local resources: PASS" if not missed else "local resources: FAIL: " + "; ".join(missed))
    sys.exit(1 if missed else 0)
