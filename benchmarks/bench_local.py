"""Local platform figures: time to ready, POST /feedback and GET /analytics through the gateway
(keep-alive client, 2000 requests each) with POST as a ratio to moto's PutItem through boto3 in the
same run (the write the POST makes: the handler's item and condition on a table of the contract's
shape; and, for comparison, a smaller item on a bare table), 16 concurrent keep-alive clients for
LOAD_SECONDS (req/s, p99, errors, analytics exact afterwards) beside moto alone under the same
concurrency (16 boto3 clients making the POST's PutItem: the storage's own ceiling, and the
platform process's CPU for one PutItem), the CPU of a PutItem answered by moto's handler
directly and through moto's Flask application, the CPU of the POST body's model check compiled
and by jsonschema, the CPU of parsing the POST's PutItem body compiled and by moto's own walk,
the CPU of the UpdateExpression validator's copy of a tree directly and by copy.deepcopy, the
CPU of a shipping round of log lines and metrics as JSON and through boto3
clients, the CPU of one alarm round read a batch at a time
and one alarm at a time, 64 simultaneous connects (resets,
connects that waited >= 1 s), cold vs warm invoke, manual rollback wall time, and the drill's
detect and recover times.

The platform runs as `local up` runs it, with its durable state (a temporary state folder).

Goals: POST p50 <= 15 ms and <= 2x PutItem's p50; 16 clients >= 300 req/s with p99 <= 100 ms and
no errors; 64 connects without a reset or a 1 s wait; rollback <= 3 s; drill recovery <= 30 s.
The load and connect clients run in a child process, so they do not share the platform's GIL.

Run: .venv/bin/python benchmarks/bench_local.py   (uses free ports; nothing else needs to run;
BENCH_LOAD_SECONDS=N shortens the 30 s load run; BENCH_PLAIN_GC=1 runs the platform with Python's
default collector policy instead of local up's)
"""

from __future__ import annotations

import contextlib
import gc
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REQUESTS = 2000
LOAD_CLIENTS = 16
LOAD_SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", "30"))
PLAIN_GC = os.environ.get("BENCH_PLAIN_GC") == "1"
CONNECTS = 64
GOALS = {
    "post_p50_ms": 15.0,
    "post_p50_vs_putitem": 2.0,
    "load_rps": 300.0,
    "load_p99_ms": 100.0,
    "rollback_s": 3.0,
    "drill_recover_s": 30.0,
}
BODY = {"name": "Bench", "email": "bench@example.com", "rating": 4, "message": "Solid and fast"}


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


def _put_loop(ddb: Any, table: str, count: int, item: Any, **extra: Any) -> dict[str, float]:
    samples = []
    for i in range(count):
        started = time.perf_counter()
        ddb.put_item(TableName=table, Item=item(i), **extra)
        samples.append((time.perf_counter() - started) * 1000)
    return _percentiles(samples)


def _post_item(i: int, prefix: str = "") -> dict[str, Any]:
    """The item POST /feedback writes (the handler's attributes), the i-th of a run."""
    return {
        "feedbackId": {"S": f"{prefix}{i:08d}-4b2a-4c1e-9f0d-5a7c3e2b1d90"},
        "name": {"S": BODY["name"]},
        "email": {"S": BODY["email"]},
        "emailHash": {"S": "9c1f" * 16},
        "rating": {"N": str(BODY["rating"])},
        "message": {"S": BODY["message"]},
        "sentiment": {"S": "positive"},
        "ratingSentiment": {"S": "4#positive"},
        "createdAt": {"S": "2026-11-25T10:00:00.000Z"},
        "status": {"S": "active"},
        "expiresAt": {"N": "1795000000"},
    }


# The POST's write: its item only if no item has its id, the old item returned when one has.
POST_CONDITION = {
    "ConditionExpression": "attribute_not_exists(feedbackId)",
    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
}


def _contract_tables(platform: Any, prefix: str) -> tuple[Any, tuple[str, str]]:
    """A feedback and an analytics table of the contract's shape (stream, indexes, TTL)."""
    from feedbackctl.sandbox import create_tables

    ddb = platform.client("dynamodb")
    tables = (f"{prefix}-feedback", f"{prefix}-analytics")
    create_tables(ddb, *tables)
    return ddb, tables


def _putitem_baseline(platform: Any, count: int) -> dict[str, float]:
    """moto's PutItem through boto3 of the write POST /feedback makes: the item the handler
    builds, with its condition, on a table of the contract's shape (stream, indexes, TTL)."""
    ddb, tables = _contract_tables(platform, "bench-putitem")
    figures = _put_loop(ddb, tables[0], count, _post_item, **POST_CONDITION)
    for table in tables:
        ddb.delete_table(TableName=table)
    return figures


def _moto_ceiling(platform: Any, clients: int, seconds: float) -> dict[str, Any]:
    """moto alone under the load's concurrency: `clients` boto3 clients in a child process
    making the POST's PutItem for `seconds`, straight to moto (no gateway, no function, no
    stream reader). The request rate the storage itself serves, and the platform process's CPU
    for each PutItem: the ceiling any POST load sits under while moto is the store."""
    ddb, tables = _contract_tables(platform, "bench-ceiling")
    figures = _accounted(
        "putitem",
        aws_pid=platform.moto.pid,
        url=ddb.meta.endpoint_url,
        region=platform.stage.region,
        table=tables[0],
        clients=clients,
        seconds=seconds,
    )
    for table in tables:
        ddb.delete_table(TableName=table)
    return figures


def _bare_putitem(platform: Any, count: int) -> dict[str, float]:
    """The same on a bare table (no stream, no index) with a smaller item: DynamoDB's write
    alone, the baseline earlier figures were given against."""
    ddb = platform.client("dynamodb")
    table = "bench-putitem-bare"
    ddb.create_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )

    def item(i: int) -> dict[str, Any]:
        return {
            "pk": {"S": f"feedback#{i:08d}"},
            "name": {"S": BODY["name"]},
            "email": {"S": BODY["email"]},
            "rating": {"N": str(BODY["rating"])},
            "message": {"S": BODY["message"]},
            "createdAt": {"S": "2026-11-25T10:00:00.000Z"},
        }

    figures = _put_loop(ddb, table, count, item, ConditionExpression="attribute_not_exists(pk)")
    ddb.delete_table(TableName=table)
    return figures


def _alternating_cpu_us(calls: dict[str, Callable[[str], Any]], count: int) -> dict[str, float]:
    """Each call's CPU in µs: medians of blocks of 100, the calls' blocks alternating so that
    a change in the machine's speed meets them alike. A call gets a text unique to its run."""
    spent: dict[str, list[float]] = {name: [] for name in calls}
    for block in range(count // 100):
        for name, call in calls.items():
            started = time.thread_time()
            for i in range(100):
                call(f"{name}-{block}-{i:03d}-")
            spent[name].append((time.thread_time() - started) * 1e4)  # µs a call
    return {name: round(statistics.median(values), 1) for name, values in spent.items()}


def _dispatch_cost(platform: Any, count: int = 1000) -> dict[str, float]:
    """The CPU of the POST's PutItem made in this process (boto3 handing the request to moto's
    application, as the platform's own engines call moto), answered by moto's handler directly
    (feedbackctl/local/moto_direct.py, as the platform serves) and through moto's Flask
    application, on the same table."""
    from feedbackctl.local.inprocess import connect
    from feedbackctl.sandbox import _dispatcher, create_tables

    # moto in this process (the platform's runs in its AWS process): both ways, no journal
    apps = {"direct_us": _dispatcher(), "flask_us": _dispatcher(direct=False)}
    ddb = connect(platform.client("dynamodb"), apps["direct_us"])
    tables = ("bench-dispatch-feedback", "bench-dispatch-analytics")
    create_tables(ddb, *tables)

    def put(app: Any) -> Callable[[str], Any]:
        client = connect(platform.client("dynamodb"), app)
        return lambda key: client.put_item(
            TableName=tables[0], Item=_post_item(0, key), **POST_CONDITION
        )

    figures = _alternating_cpu_us({name: put(app) for name, app in apps.items()}, count)
    for table in tables:
        ddb.delete_table(TableName=table)
    return {name: round(value) for name, value in figures.items()}


def _shipping_cost(platform: Any, count: int = 500, invocations: int = 50) -> dict[str, float]:
    """The CPU of one shipping round of `invocations` invocations (under the 16 clients a round
    carries about 60): their four log lines in one PutLogEvents and their AWS/Lambda datums,
    compacted, in one PutMetricData, as the platform ships them (inprocess.ShipperWrites, JSON
    to moto's application) and through in-process boto3 clients (as it shipped them before)."""
    from datetime import UTC, datetime

    from feedbackctl.local.inprocess import ShipperWrites, connect
    from feedbackctl.local.lambda_metrics import LAMBDA_NAMESPACE, compact, dimension_sets
    from feedbackctl.sandbox import _dispatcher

    app = _dispatcher()  # moto in this process, as the AWS process runs it
    logs = connect(platform.client("logs"), app)
    group = "/aws/lambda/bench-shipping"
    logs.create_log_group(logGroupName=group)
    at = datetime.now(UTC)
    data = compact(
        [
            {"MetricName": name, "Dimensions": dims, "Timestamp": at, "Value": value, "Unit": unit}
            for i in range(invocations)
            for dims in dimension_sets("bench-shipping", "live", "3")
            for name, value, unit in (
                ("Invocations", 1.0, "Count"),
                ("Errors", 0.0, "Count"),
                ("Duration", 2.0 + i % 7, "Milliseconds"),
            )
        ]
    )
    writes = ShipperWrites(app, region=platform.stage.region, access_key="local")
    cloudwatch = connect(platform.client("cloudwatch"), app)
    ways = {"writes_us": (writes, writes), "clients_us": (logs, cloudwatch)}

    def ship(way: str) -> Callable[[str], Any]:
        log_writer, metric_writer = ways[way]
        logs.create_log_stream(logGroupName=group, logStreamName=way)
        stamp = int(at.timestamp() * 1000)

        def round_(text: str) -> None:
            events = [
                {"timestamp": stamp, "message": f"{text} line {n} of invocation {i}"}
                for i in range(invocations)
                for n in range(4)
            ]
            log_writer.put_log_events(logGroupName=group, logStreamName=way, logEvents=events)
            metric_writer.put_metric_data(Namespace=LAMBDA_NAMESPACE, MetricData=data)

        return round_

    figures = _alternating_cpu_us({way: ship(way) for way in ways}, count)
    logs.delete_log_group(logGroupName=group)
    return figures


def _parse_cost(count: int = 2000) -> dict[str, float]:
    """The CPU of moto's parsing of the POST's PutItem body into its parameters: compiled per
    shape (feedbackctl/local/moto_parse.py, as the platform runs) and by moto's own walk."""
    from moto.core.parse import JSONParser
    from moto.core.utils import get_service_model

    from feedbackctl.local import moto_parse

    parser = JSONParser(get_service_model("dynamodb").operation_model("PutItem"))
    shape = parser.operation_model.input_shape
    fast = moto_parse.compiled(shape)
    assert fast is not None

    def body(key: str) -> bytes:
        return json.dumps({"TableName": "t", "Item": _post_item(0, key), **POST_CONDITION}).encode()

    def compiled(key: str) -> Any:
        return fast(json.loads(body(key)))

    def walked(key: str) -> Any:
        return parser._parse_shape(shape, json.loads(body(key)))

    return _alternating_cpu_us({"compiled_us": compiled, "moto_us": walked}, count)


def _tree_copy_cost(count: int = 500) -> dict[str, float]:
    """The CPU of the copy moto's UpdateExpression validator makes of a parsed tree, for the
    stream aggregator's update of the global analytics item (a batch of every rating and
    sentiment on one day): copied directly (feedbackctl/local/moto_update.py, as the platform
    runs) and by copy.deepcopy."""
    import copy
    from datetime import UTC, datetime

    from feedbackctl.local import moto_update
    from lambdas.common import analytics

    now = datetime.now(UTC)
    tally = analytics.Tally()
    for rating in analytics.RATINGS:
        for sentiment in analytics.SENTIMENTS:
            day = now.date().isoformat()
            tally.add(analytics.Contribution(rating=rating, sentiment=sentiment, day=day))
    text = analytics.update_expression(tally, now)["UpdateExpression"]
    tree = moto_update._parser().make(text)
    copies = {"direct_us": moto_update._tree_copy, "deepcopy_us": copy.deepcopy}
    return _alternating_cpu_us({n: lambda _key, c=c: c(tree) for n, c in copies.items()}, count)


def _model_check_cost(count: int = 2000) -> dict[str, float]:
    """The CPU of checking the POST's body against the feedback model, as the gateway does
    (feedbackctl/local/model_check.py) and by jsonschema's Draft4Validator."""
    from jsonschema import Draft4Validator

    from feedbackctl.local.model_check import compiled
    from feedbackctl.templating import feedback_json_schema

    schema = feedback_json_schema()
    fast, reference = compiled(schema), Draft4Validator(schema)
    assert fast is not None
    body = json.loads(json.dumps(BODY))
    checks = {"compiled_us": fast, "jsonschema_us": reference.is_valid}
    return _alternating_cpu_us({n: lambda _key, c=c: c(body) for n, c in checks.items()}, count)


def _client_load(
    clients: int, seconds: float, connect: Callable[[int], Callable[[int], str | None]]
) -> dict[str, Any]:
    """`clients` threads calling for `seconds` (run in the child process). `connect(n)` makes
    client n's call; a call returns None when answered as expected, else what it got, and what
    it raises is counted by its type."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[str] = []
    start = threading.Barrier(clients)
    deadline: list[float] = []

    def client(n: int) -> None:
        call, samples = connect(n), latencies[n]
        start.wait()
        while time.perf_counter() < deadline[0]:
            began = time.perf_counter()
            try:
                problem = call(len(samples))
            except Exception as exc:  # noqa: BLE001 - counted and named in the figures
                errors.append(type(exc).__name__)
                continue
            samples.append((time.perf_counter() - began) * 1000)
            if problem is not None:
                errors.append(problem)

    deadline.append(time.perf_counter() + seconds + 0.05)
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    samples = [x for per_client in latencies for x in per_client]
    return {
        "requests": len(samples),
        "rps": round(len(samples) / elapsed, 1),
        **_percentiles(samples or [0.0]),
        "errors": len(errors),
        "error_kinds": sorted(set(errors)),
        "client_cpu_s": time.process_time(),  # the child's own: every client thread
    }


def _keepalive_clients(url: str, body: dict[str, Any], clients: int, seconds: float) -> dict:
    """`clients` keep-alive connections POSTing for `seconds` (run in the child process)."""
    target = urlsplit(url)
    payload = json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}

    def connect(_n: int) -> Callable[[int], str | None]:
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)

        def post(_i: int) -> str | None:
            try:
                connection.request("POST", f"{target.path}/feedback", payload, headers)
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                connection.close()  # the next request connects again
                raise
            return None if response.status == 201 else str(response.status)

        return post

    return _client_load(clients, seconds, connect)


def _machine_busy_s() -> float:
    """CPU seconds the whole machine has spent busy since boot (every core, every process)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle and iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _putitem_clients(
    url: str, region: str, table: str, clients: int, seconds: float
) -> dict[str, Any]:
    """`clients` threads, each with its own boto3 client, making the POST's PutItem against
    moto for `seconds` (run in the child process)."""
    import boto3
    from botocore.config import Config

    from feedbackctl.local.platform import CREDENTIALS

    session = boto3.session.Session(
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=region,
    )
    ddbs = [
        session.client("dynamodb", endpoint_url=url, config=Config(retries={"max_attempts": 1}))
        for _ in range(clients)
    ]

    def connect(n: int) -> Callable[[int], str | None]:
        def put(i: int) -> None:
            ddbs[n].put_item(TableName=table, Item=_post_item(i, f"{n:02d}"), **POST_CONDITION)

        return put

    return _client_load(clients, seconds, connect)


def _simultaneous_connects(url: str, count: int) -> dict:
    """`count` clients connect at once and GET /health (run in the child process)."""
    target = urlsplit(url)
    start = threading.Barrier(count)
    results: list[tuple[str, float, float]] = []
    lock = threading.Lock()
    request = (
        f"GET {target.path}/health HTTP/1.1\r\nHost: {target.netloc}\r\nConnection: close\r\n\r\n"
    ).encode()

    def client() -> None:
        start.wait()
        began = time.perf_counter()
        outcome, connected = "answered", 0.0
        try:
            with socket.create_connection((target.hostname, target.port), timeout=30) as sock:
                connected = time.perf_counter() - began
                sock.sendall(request)
                answer = b""
                while chunk := sock.recv(65536):
                    answer += chunk
                if not answer.startswith(b"HTTP/1.1 200"):
                    outcome = answer[:12].decode("latin-1") or "closed unanswered"
        except (ConnectionResetError, BrokenPipeError):
            outcome = "reset"
        except OSError as exc:
            outcome = type(exc).__name__
        with lock:
            results.append((outcome, connected, time.perf_counter() - began))

    threads = [threading.Thread(target=client) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "connects": count,
        "answered": sum(o == "answered" for o, _, _ in results),
        "resets": sum(o == "reset" for o, _, _ in results),
        "other_failures": sorted({o for o, _, _ in results} - {"answered", "reset"}),
        "connect_waited_1s": sum(c >= 1.0 for _, c, _ in results),
        "answer_waited_1s": sum(t >= 1.0 for _, _, t in results),
        "max_connect_ms": round(max(c for _, c, _ in results) * 1000, 1),
    }


def _in_child(kind: str, **arguments: Any) -> dict[str, Any]:
    """Run a client load in a child process (its own GIL) and return its figures."""
    done = subprocess.run(
        [sys.executable, __file__, "--client", kind, json.dumps(arguments)],
        capture_output=True,
        text=True,
        check=True,
        timeout=LOAD_SECONDS + 120,
    )
    figures: dict[str, Any] = json.loads(done.stdout)
    return figures


def _process_cpu_s(pid: int) -> float:
    """CPU seconds (user and system) process `pid` has spent."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _accounted(kind: str, *, aws_pid: int, **arguments: Any) -> dict[str, Any]:
    """Run a client load in a child process and say where the CPU went while it ran: this
    process is the platform's (gateway, invoke service, engines), `aws_pid` its AWS process
    (moto and the durable state), the child is the clients, and the rest of the machine's busy
    time is the functions' workers (and anything else running)."""
    platform_before, machine_before = time.process_time(), _machine_busy_s()
    aws_before = _process_cpu_s(aws_pid)
    wall_before = time.perf_counter()
    figures = _in_child(kind, **arguments)
    wall = time.perf_counter() - wall_before
    platform = time.process_time() - platform_before
    aws = _process_cpu_s(aws_pid) - aws_before
    machine = _machine_busy_s() - machine_before
    requests = max(1, figures["requests"])
    figures["platform_cores"] = round(platform / wall, 2)
    figures["platform_cpu_ms_per_request"] = round(platform * 1000 / requests, 2)
    figures["aws_cores"] = round(aws / wall, 2)
    figures["aws_cpu_ms_per_request"] = round(aws * 1000 / requests, 2)
    figures["machine_cores"] = round(machine / wall, 2)
    figures["cores"] = os.cpu_count()
    # Every process but the clients': what serving one request cost the machine.
    served = machine - figures["client_cpu_s"]
    figures["served_cpu_ms_per_request"] = round(served * 1000 / requests, 2)
    figures["client_cpu_ms_per_request"] = round(figures["client_cpu_s"] * 1000 / requests, 2)
    return figures


def _snapshots(taken: list[Any]) -> dict[str, Any]:
    """The durable state's snapshots taken during a load: each pauses every request while the
    state is pickled (durable.Store.snapshots)."""
    return {
        "count": len(taken),
        "held_ms_max": round(max((s.held_s for s in taken), default=0.0) * 1000, 1),
        "held_ms_total": round(sum(s.held_s for s in taken) * 1000, 1),
        "size_mb_max": round(max((s.size_bytes for s in taken), default=0) / 1e6, 1),
        # the forked writer's pickling and fsync, while requests went on (at nice 19)
        "written_s_max": round(max((s.written_s for s in taken), default=0.0), 2),
    }


class _Collections:
    """The cyclic collector's pauses in this process (the platform's gateway, invoke service and
    engines; not its AWS process) while recording: every request thread waits while one runs."""

    def __init__(self) -> None:
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._began = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.pauses[info["generation"]].append(time.perf_counter() - self._began)

    def __enter__(self) -> _Collections:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *_exc: object) -> None:
        gc.callbacks.remove(self)

    def figures(self) -> dict[str, Any]:
        full, young = self.pauses[2], self.pauses[0] + self.pauses[1]
        return {
            "full": len(full),
            "full_ms_max": round(max(full, default=0.0) * 1000, 1),
            "full_ms_total": round(sum(full) * 1000, 1),
            "young_ms_max": round(max(young, default=0.0) * 1000, 1),
        }


def _analytics_exact(platform: Any, timeout_s: float = 30.0) -> dict[str, Any]:
    """After the load: does GET /analytics count every stored item (once the poller caught up)?"""
    ddb = platform.client("dynamodb")
    table = platform.provisioned.outputs.get("FeedbackTableName", "feedback-local-feedback")
    stored = 0
    paginator = ddb.get_paginator("scan")
    for page in paginator.paginate(TableName=table, Select="COUNT"):
        stored += page["Count"]
    target = urlsplit(platform.api_url)
    counted = -1
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        connection.request("GET", f"{target.path}/analytics")
        counted = json.loads(connection.getresponse().read())["totalFeedback"]
        connection.close()
        if counted == stored:
            break
        time.sleep(0.5)  # the stream poller is catching up
    return {"stored": stored, "counted": counted, "exact": counted == stored}


def _alarm_rounds(engine: Any, rounds: int = 10) -> dict[str, Any]:
    """The CPU of one alarm round over the metrics the load left, median of `rounds`: with the
    engine's batch (alarms read together) and one alarm at a time, as it read them before."""

    def median_ms(batch: int) -> float:
        engine.batch, spent = batch, []
        for _ in range(rounds):
            started = time.thread_time()
            engine.evaluate_all()
            spent.append((time.thread_time() - started) * 1000)
        return round(statistics.median(spent), 1)

    batch = engine.batch
    try:
        return {
            "alarms": len(engine._known),
            "batch": batch,
            "batched_ms": median_ms(batch),
            "one_at_a_time_ms": median_ms(1),
        }
    finally:
        engine.batch = batch


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
    """Every figure, with the collector policy `local up` runs with (feedbackctl/local/heap.py:
    full collections walk only what is new); BENCH_PLAIN_GC=1 keeps Python's default."""
    from feedbackctl.local.heap import freeze_survivors

    with contextlib.nullcontext() if PLAIN_GC else freeze_survivors():
        return _run()


def _run() -> dict[str, Any]:
    from feedbackctl.config import load_config
    from feedbackctl.local.platform import LocalPlatform, Options

    dist = ROOT / "frontend" / "dist"
    state = tempfile.TemporaryDirectory(prefix="bench-local-state-")
    options = Options(
        api_port=0,
        aws_port=0,
        site_dir=dist if dist.is_dir() else None,
        work_dir=Path(tempfile.mkdtemp()),
        # As `local up` runs it: every state-changing request journaled, snapshots taken, alarms
        # evaluated at the default interval.
        state_dir=Path(state.name),
    )
    platform = LocalPlatform(load_config().stage("local"), options)
    started = time.perf_counter()
    platform.start()
    ready_s = round(time.perf_counter() - started, 2)
    try:
        putitem = _putitem_baseline(platform, REQUESTS)
        bare = _bare_putitem(platform, REQUESTS)
        dispatch = _dispatch_cost(platform)
        model_check = _model_check_cost()
        shipping = _shipping_cost(platform)
        parsing = _parse_cost()
        tree_copy = _tree_copy_cost()
        post = _load(platform.api_url, "POST", "/feedback", BODY, REQUESTS)
        analytics = _load(platform.api_url, "GET", "/analytics", None, REQUESTS)
        connects = _in_child("connects", url=platform.api_url, count=CONNECTS)
        taken = len(platform.store.snapshots)
        with _Collections() as collections:
            load = _accounted(
                "load",
                aws_pid=platform.moto.pid,
                url=platform.api_url,
                body=BODY,
                clients=LOAD_CLIENTS,
                seconds=LOAD_SECONDS,
            )
        load["collections"] = collections.figures()
        load["snapshots"] = _snapshots(list(platform.store.snapshots)[taken:])
        load["analytics"] = _analytics_exact(platform)
        alarm_rounds = _alarm_rounds(platform.alarms)
        ceiling = _moto_ceiling(platform, LOAD_CLIENTS, LOAD_SECONDS)
        invoke = _cold_vs_warm(platform)
        rollback_s = _rollback(platform)
        drill = _drill(platform)
    finally:
        platform.stop()
        state.cleanup()
    return {
        "ready_s": ready_s,
        "putitem": putitem,
        "bare_putitem": bare,
        "dispatch": dispatch,
        "model_check": model_check,
        "shipping": shipping,
        "parsing": parsing,
        "tree_copy": tree_copy,
        "post_feedback": post,
        "get_analytics": analytics,
        "connects": connects,
        "load": load,
        "alarm_rounds": alarm_rounds,
        "moto_ceiling": ceiling,
        "invoke": invoke,
        "rollback_s": rollback_s,
        "drill": drill,
    }


def _cpu_line(what: str, figures: dict[str, Any]) -> str:
    """Where the machine's CPU went during a client load, and the rate that CPU allows."""
    served = figures["served_cpu_ms_per_request"]
    allows = round(figures["cores"] * 1000 / served) if served else 0
    return (
        f"  the machine during {what}: {figures['machine_cores']} of {figures['cores']} cores "
        f"busy; serving a request took {served} ms of CPU across every process but the "
        f"clients' (the clients {figures['client_cpu_ms_per_request']} ms): at most about "
        f"{allows} req/s if every core served and none ran the clients"
    )


def report(results: dict[str, Any]) -> list[str]:
    post, analytics, putitem = (
        results["post_feedback"],
        results["get_analytics"],
        results["putitem"],
    )
    p50_ratio = round(post["p50_ms"] / putitem["p50_ms"], 2)
    p99_ratio = round(post["p99_ms"] / putitem["p99_ms"], 2)
    print(f"local up ready in {results['ready_s']} s")
    bare = results["bare_putitem"]
    print(
        f"moto PutItem through boto3 x{REQUESTS}, the POST's write (baseline): "
        f"p50 {putitem['p50_ms']} ms, p99 {putitem['p99_ms']} ms; on a bare table: "
        f"p50 {bare['p50_ms']} ms, p99 {bare['p99_ms']} ms"
    )
    print(
        f"POST /feedback  x{REQUESTS} keep-alive: p50 {post['p50_ms']} ms ({p50_ratio}x PutItem), "
        f"p99 {post['p99_ms']} ms ({p99_ratio}x PutItem); "
        f"p50 {round(post['p50_ms'] / bare['p50_ms'], 2)}x the bare table's PutItem"
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
    load, connects = results["load"], results["connects"]
    exact = load["analytics"]
    print(
        f"{LOAD_CLIENTS} keep-alive clients for {LOAD_SECONDS:g} s (POST /feedback): "
        f"{load['rps']} req/s, p50 {load['p50_ms']} ms, p99 {load['p99_ms']} ms, "
        f"{load['errors']} errors {load['error_kinds'] or ''}; analytics "
        f"{'exact' if exact['exact'] else 'NOT exact'} ({exact['counted']} of {exact['stored']})"
    )
    putitem_rate = 1000 / putitem["mean_ms"]  # one client's PutItem loop, requests a second
    print(
        f"  as ratios: {round(load['rps'] / putitem_rate, 2)}x the request rate of one "
        f"client's PutItem loop ({round(putitem_rate)}/s), p99 "
        f"{round(load['p99_ms'] / putitem['p50_ms'], 1)}x PutItem's p50; "
        f"GET /analytics p50 {round(analytics['p50_ms'] / putitem['p50_ms'], 2)}x PutItem's p50; "
        f"cold invoke {round(results['invoke']['cold_ms'] / results['invoke']['warm_ms'], 1)}x warm"
    )
    print(
        f"  the platform's process during the load: {load['platform_cores']} of a core, "
        f"{load['platform_cpu_ms_per_request']} ms of CPU a request "
        f"({round(load['platform_cpu_ms_per_request'] / putitem['p50_ms'], 1)}x PutItem's p50); "
        f"its AWS process (moto): {load['aws_cores']} of a core, "
        f"{load['aws_cpu_ms_per_request']} ms a request"
    )
    print(_cpu_line("the load", load))
    snaps = load["snapshots"]
    if snaps["count"]:
        print(
            f"  the durable state's snapshots during the load: {snaps['count']}, each pausing "
            f"every request for at most {snaps['held_ms_max']} ms "
            f"({round(snaps['held_ms_max'] / load['p50_ms'], 1)}x the load's p50; "
            f"{round(snaps['held_ms_total'] / (LOAD_SECONDS * 10), 1)}% of the run); "
            f"state {snaps['size_mb_max']} MB, written in the background in at most "
            f"{snaps['written_s_max']} s"
        )
    gcs = load["collections"]
    print(
        f"  the collector during the load ({'Python default' if PLAIN_GC else 'as local up'}): "
        f"{gcs['full']} full collections, the longest pausing every request for "
        f"{gcs['full_ms_max']} ms ({round(gcs['full_ms_max'] / load['p50_ms'], 1)}x the load's "
        f"p50), {gcs['full_ms_total']} ms in all; young ones at most {gcs['young_ms_max']} ms"
    )
    dispatch = results["dispatch"]
    print(
        f"  moto's request dispatch: the POST's PutItem made to a moto in the caller's process "
        f"took "
        f"{dispatch['direct_us']} us of CPU answered by moto's handler directly, "
        f"{dispatch['flask_us']} us through moto's Flask application "
        f"({round(dispatch['direct_us'] / dispatch['flask_us'], 2)}x)"
    )
    check = results["model_check"]
    print(
        f"  the POST body's check against the feedback model: {check['compiled_us']} us of CPU "
        f"compiled, {check['jsonschema_us']} us by jsonschema "
        f"({round(check['compiled_us'] / check['jsonschema_us'], 2)}x)"
    )
    parsing = results["parsing"]
    print(
        f"  the POST's PutItem body into moto's parameters (json.dumps and json.loads of the "
        f"body included): {parsing['compiled_us']} us of CPU compiled per shape, "
        f"{parsing['moto_us']} us by moto's walk of the model "
        f"({round(parsing['compiled_us'] / parsing['moto_us'], 2)}x)"
    )
    tree_copy = results["tree_copy"]
    print(
        f"  the validator's copy of the stream aggregator's update of the global item: "
        f"{round(tree_copy['direct_us'])} us of CPU copied directly, "
        f"{round(tree_copy['deepcopy_us'])} us by copy.deepcopy "
        f"({round(tree_copy['direct_us'] / tree_copy['deepcopy_us'], 2)}x)"
    )
    ship = results["shipping"]
    print(
        f"  a shipping round of 50 invocations' log lines and AWS/Lambda metrics: "
        f"{round(ship['writes_us'])} us of CPU as JSON to moto's application, "
        f"{round(ship['clients_us'])} us through boto3 clients "
        f"({round(ship['writes_us'] / ship['clients_us'], 2)}x)"
    )
    rounds = results["alarm_rounds"]
    print(
        f"  an alarm round after the load ({rounds['alarms']} alarms, median of 10): "
        f"{rounds['batched_ms']} ms of CPU reading {rounds['batch']} alarms a GetMetricData, "
        f"{rounds['one_at_a_time_ms']} ms reading one at a time "
        f"({round(rounds['batched_ms'] / rounds['one_at_a_time_ms'], 2)}x)"
    )
    ceiling = results["moto_ceiling"]
    cpu_ratio = round(
        (load["platform_cpu_ms_per_request"] + load["aws_cpu_ms_per_request"])
        / (ceiling["platform_cpu_ms_per_request"] + ceiling["aws_cpu_ms_per_request"]),
        2,
    )
    print(
        f"moto alone, {LOAD_CLIENTS} boto3 clients making the POST's PutItem for "
        f"{LOAD_SECONDS:g} s: {ceiling['rps']} req/s, p99 {ceiling['p99_ms']} ms, "
        f"{ceiling['errors']} errors; the AWS process (moto) "
        f"{ceiling['aws_cores']} of a core, "
        f"{ceiling['aws_cpu_ms_per_request']} ms of CPU a PutItem"
    )
    print(_cpu_line("moto alone", ceiling))
    print(
        f"  the POST load reached {round(load['rps'] / ceiling['rps'], 2)}x moto's own "
        f"PutItem rate; a POST cost the platform's two processes {cpu_ratio}x the CPU of its "
        f"PutItem"
    )
    print(
        f"{connects['connects']} simultaneous connects: {connects['answered']} answered, "
        f"{connects['resets']} resets, {connects['connect_waited_1s']} waited >= 1 s to connect, "
        f"{connects['answer_waited_1s']} waited >= 1 s for the answer "
        f"(slowest connect {connects['max_connect_ms']} ms)"
    )
    missed = []
    if post["p50_ms"] > GOALS["post_p50_ms"]:
        missed.append(f"POST p50 {post['p50_ms']} ms > {GOALS['post_p50_ms']} ms")
    if p50_ratio > GOALS["post_p50_vs_putitem"]:
        missed.append(f"POST p50 {p50_ratio}x PutItem > {GOALS['post_p50_vs_putitem']}x")
    if load["rps"] < GOALS["load_rps"]:
        missed.append(f"load {load['rps']} req/s < {GOALS['load_rps']}")
    if load["p99_ms"] > GOALS["load_p99_ms"]:
        missed.append(f"load p99 {load['p99_ms']} ms > {GOALS['load_p99_ms']} ms")
    if load["errors"] or not exact["exact"]:
        missed.append(f"load: {load['errors']} errors, analytics exact {exact['exact']}")
    if connects["resets"] or connects["other_failures"] or connects["connect_waited_1s"]:
        missed.append(
            f"connects: {connects['resets']} resets, {connects['other_failures']}, "
            f"{connects['connect_waited_1s']} waited >= 1 s"
        )
    if results["rollback_s"] > GOALS["rollback_s"]:
        missed.append(f"rollback {results['rollback_s']} s > {GOALS['rollback_s']} s")
    if drill["recoverSeconds"] is None or drill["recoverSeconds"] > GOALS["drill_recover_s"]:
        missed.append(f"drill recovery {drill['recoverSeconds']} s > {GOALS['drill_recover_s']} s")
    return missed


def _client_main(kind: str, arguments: str) -> None:
    """The child process: run one client load and print its figures as JSON."""
    loads = {
        "load": _keepalive_clients,
        "connects": _simultaneous_connects,
        "putitem": _putitem_clients,
    }
    print(json.dumps(loads[kind](**json.loads(arguments))))


if __name__ == "__main__" and sys.argv[1:2] == ["--client"]:
    _client_main(sys.argv[2], sys.argv[3])
elif __name__ == "__main__":
    missed = report(run())
    print("local: PASS" if not missed else "local: FAIL: " + "; ".join(missed))
    sys.exit(1 if missed else 0)
