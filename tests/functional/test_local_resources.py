"""The local platform's resources stay bounded: memory, worker processes, threads, folders.

Memory is measured by what is stored (counts of moto's objects) and by tracemalloc, never by
wall time; the retention clock and the invoke service's idle clock are driven by the tests.
"""

from __future__ import annotations

import gc
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from feedbackctl.local import moto_query, moto_retention
from feedbackctl.local.interfaces import InvokeResult
from feedbackctl.local.invoke import CodeStore, InvokeService
from feedbackctl.local.lambda_metrics import LambdaMetrics
from feedbackctl.local.poller import StreamPoller
from feedbackctl.local.provision import StreamMapping

ACCOUNT = "123456789012"
HANDLER = (
    "import os, time\n"
    "def lambda_handler(event, context):\n"
    "    if event.get('sleep'):\n"
    "        time.sleep(event['sleep'])\n"
    "    if event.get('crash'):\n"
    "        os._exit(3)\n"
    "    print('handled', context.aws_request_id)\n"
    "    return {'version': context.function_version}\n"
)


@pytest.fixture(scope="module", autouse=True)
def bounded(moto_endpoint: str) -> None:
    moto_retention.install()
    moto_query.install()


@pytest.fixture
def clock() -> Iterator[list[float]]:
    """The retention clock: real time plus `offset[0]` seconds."""
    offset = [0.0]
    moto_retention.set_clock(lambda: time.time() + offset[0])
    yield offset
    moto_retention.set_clock(time.time)


def client(service: str, endpoint: str, region: str = "us-east-1") -> Any:
    factory: Any = boto3.client
    return factory(service, endpoint_url=endpoint, region_name=region)


def handler_zip(marker: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", f"MARKER = {marker!r}\n" + HANDLER)
    return buffer.getvalue()


class Counting:
    """A log sink that keeps nothing (a list would be a leak of the test's own)."""

    def __init__(self) -> None:
        self.events = 0

    def log_events(self, group: str, stream: str, events: list[tuple[int, str]]) -> None:
        self.events += len(events)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def invoke_env(moto_endpoint: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """An invoke service over the session's moto, with a driven idle clock."""
    lam, logs = client("lambda", moto_endpoint), client("logs", moto_endpoint)
    store = CodeStore(client("s3", moto_endpoint), tmp_path / "code")
    idle_clock = Clock()
    metrics = LambdaMetrics(client("cloudwatch", moto_endpoint))
    service = InvokeService(
        lam,
        logs,
        store,
        worker_env={"AWS_ENDPOINT_URL": moto_endpoint},
        work_dir=tmp_path,
        log_sink=Counting(),
        metrics=metrics,
        rng=random.Random(3),
        idle_timeout_s=100,
        retired_idle_s=10,
        clock=idle_clock,
    )
    role = client("iam", moto_endpoint).create_role(
        RoleName=f"r-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    name = f"fn-{uuid.uuid4().hex[:8]}"
    for marker in ("one", "two", "three"):
        data = handler_zip(marker)
        store.add_zip(data)
        if marker == "one":
            lam.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=role,
                Handler="index.lambda_handler",
                Code={"ZipFile": data},
                Timeout=30,
            )
        else:
            lam.update_function_code(FunctionName=name, ZipFile=data)
        lam.publish_version(FunctionName=name)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="3")
    logs.create_log_group(logGroupName=f"/aws/lambda/{name}")
    logs.put_retention_policy(logGroupName=f"/aws/lambda/{name}", retentionInDays=1)
    yield {"service": service, "name": name, "clock": idle_clock, "lambda": lam, "logs": logs}
    service.shutdown()


def dead(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    return not status.exists() or "zombie" in status.read_text().lower()


def call(service: InvokeService, target: str, event: dict[str, Any] | None = None) -> InvokeResult:
    return service.invoke(target, json.dumps(event or {}).encode())


# --- memory --------------------------------------------------------------------------------------


def test_moto_keeps_no_copy_of_the_items_it_dropped(moto_endpoint):
    """Every TransactWriteItems deep-copies the tables it touches; moto used to keep each copy
    (a class-level list of every model object) for ever: 200 items x 60 transactions here."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import Item

    ddb = client("dynamodb", moto_endpoint)
    table = f"tx-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
    )
    for i in range(200):
        ddb.put_item(TableName=table, Item={"id": {"S": f"item-{i}"}, "n": {"N": "0"}})
    for _ in range(60):
        ddb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"id": {"S": "item-0"}},
                        "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                }
            ]
        )
    gc.collect()
    stored = sum(
        len(t.items) if not t.range_key_attr else sum(len(p) for p in t.items.values())
        for regions in dynamodb_backends.values()
        for backend in regions.values()
        for t in backend.tables.values()
    )
    alive = sum(1 for o in gc.get_objects() if type(o) is Item)
    assert Item.instances_tracked == []  # type: ignore[attr-defined]
    assert alive <= stored + 20  # the stored items (every test's), not 12,000 copies


def test_memory_after_many_invocations_is_bounded(invoke_env, clock):
    """2,000 invocations grow the Python heap by at most 6 KB each while their log lines and
    metrics are within retention (4 log events and 11 AWS/Lambda datums each), and once the
    retention has passed it is back within 1 MB of where it started, whatever the count."""
    service, name = invoke_env["service"], invoke_env["name"]
    for _ in range(100):  # warm: worker started, clients' caches filled
        call(service, f"{name}:live")
    service.flush()
    gc.collect()
    tracemalloc.start()
    try:
        start = tracemalloc.take_snapshot()
        for _ in range(2000):
            call(service, f"{name}:live")
        service.flush()
        gc.collect()
        loaded = tracemalloc.take_snapshot()
        clock[0] = 2 * 86400.0  # two days on: past the log group's 1 day and metrics' 3 hours
        call(service, f"{name}:live")  # the next writes sweep what expired
        service.flush()
        gc.collect()
        swept = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    grown = sum(s.size_diff for s in loaded.compare_to(start, "filename"))
    left = sum(s.size_diff for s in swept.compare_to(start, "filename"))
    assert grown / 2000 <= 6 * 1024, f"{grown / 2000:.0f} bytes per invocation"
    assert left <= 1024 * 1024, f"{left} bytes left after retention"
    events = invoke_env["logs"].filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
    assert events == []  # all older than the group's 1-day retention by the driven clock


def test_log_groups_keep_their_newest_events_up_to_the_cap(moto_endpoint, clock):
    from moto.logs.models import logs_backends

    logs = client("logs", moto_endpoint, "eu-west-3")
    group = f"/cap/{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=group)
    now_ms = int(time.time() * 1000)
    for stream in ("a", "b"):
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        logs.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[{"timestamp": now_ms + i, "message": f"{stream}{i}"} for i in range(150)],
        )
    dropped = moto_retention.expire_log_events(
        logs_backends[ACCOUNT]["eu-west-3"].groups[group], time.time(), cap=100
    )
    kept = logs.filter_log_events(logGroupName=group)["events"]
    assert dropped == 200
    assert sorted(e["message"] for e in kept) == sorted(
        f"{s}{i}" for s in "ab" for i in range(100, 150)
    )


def test_metrics_beyond_the_cap_become_minutes_with_exact_sums_and_counts(moto_endpoint):
    from moto.cloudwatch.models import MetricDatum, cloudwatch_backends

    region = "ap-south-2"
    cloudwatch = client("cloudwatch", moto_endpoint, region)
    base = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=10)
    rng = random.Random(5)
    for minute in range(8):
        data = [
            {
                "MetricName": "Duration",
                "Dimensions": [{"Name": "FunctionName", "Value": fn}],
                "Timestamp": base + timedelta(minutes=minute, seconds=rng.randint(0, 59)),
                "Value": float(rng.randint(1, 500)),
                "Unit": "Milliseconds",
            }
            for fn in ("a", "b")
            for _ in range(50)
        ]
        cloudwatch.put_metric_data(Namespace="AWS/Lambda", MetricData=data)
    query = {
        "Namespace": "AWS/Lambda",
        "MetricName": "Duration",
        "Dimensions": [{"Name": "FunctionName", "Value": "a"}],
        "StartTime": base - timedelta(minutes=1),
        "EndTime": base + timedelta(minutes=10),
        "Period": 60,
        "Statistics": ["Sum", "SampleCount", "Minimum", "Maximum"],
    }
    before = sorted(
        cloudwatch.get_metric_statistics(**query)["Datapoints"], key=lambda d: d["Timestamp"]
    )
    backend = cloudwatch_backends[ACCOUNT][region]
    moto_retention.roll_up_metrics(backend, time.time(), cap=400)
    raw = [d for d in backend.metric_data if type(d) is MetricDatum]
    after = sorted(
        cloudwatch.get_metric_statistics(**query)["Datapoints"], key=lambda d: d["Timestamp"]
    )
    assert len(raw) <= 400
    assert len(backend.metric_data) < 800
    assert after == before  # per minute, every statistic but percentiles stays exact


def test_metric_reads_read_the_window_and_answer_as_moto(moto_endpoint):
    """GetMetricData/GetMetricStatistics through the name-and-time index equal moto's scan."""
    region = "ca-west-1"
    cloudwatch = client("cloudwatch", moto_endpoint, region)
    now = datetime.now(UTC).replace(microsecond=0)
    rng = random.Random(11)
    for _ in range(6):
        cloudwatch.put_metric_data(
            Namespace=rng.choice(["AWS/Lambda", "Feedback"]),
            MetricData=[
                {
                    "MetricName": rng.choice(["Errors", "Duration", "Invocations"]),
                    "Dimensions": rng.choice(
                        [[], [{"Name": "FunctionName", "Value": rng.choice(["a", "b"])}]]
                    ),
                    "Timestamp": now - timedelta(seconds=rng.randint(0, 1800)),
                    "Value": float(rng.randint(0, 9)),
                    "Unit": rng.choice(["Count", "Milliseconds"]),
                }
                for _ in range(150)
            ],
        )
    for _ in range(25):
        start = now - timedelta(seconds=rng.randint(60, 2400))
        end = start + timedelta(seconds=rng.randint(10, 1200))
        metric: dict[str, Any] = {
            "Namespace": "AWS/Lambda",
            "MetricName": rng.choice(["Errors", "Duration"]),
        }
        if rng.random() < 0.5:
            metric["Dimensions"] = [{"Name": "FunctionName", "Value": "a"}]
        stat = rng.choice(["Sum", "Average", "SampleCount", "Maximum", "Minimum", "p90"])
        data_query = {
            "MetricDataQueries": [
                {
                    "Id": "m",
                    "MetricStat": {"Metric": metric, "Period": rng.choice([10, 60]), "Stat": stat},
                }
            ],
            "StartTime": start,
            "EndTime": end,
        }
        statistics = {
            **metric,
            "StartTime": start,
            "EndTime": end,
            "Period": 60,
            "Statistics": ["Sum", "SampleCount", "Maximum"],
        }
        indexed = cloudwatch.get_metric_data(**data_query)["MetricDataResults"]
        indexed_stats = cloudwatch.get_metric_statistics(**statistics)["Datapoints"]
        with moto_retention.unindexed():
            assert cloudwatch.get_metric_data(**data_query)["MetricDataResults"] == indexed
            assert cloudwatch.get_metric_statistics(**statistics)["Datapoints"] == indexed_stats


# --- streams -------------------------------------------------------------------------------------


class Recording:
    def __init__(self) -> None:
        self.ids: list[str] = []

    def invoke(
        self, function: str, payload: bytes, *, qualifier: str | None = None
    ) -> InvokeResult:
        self.ids += [r["dynamodb"]["Keys"]["id"]["S"] for r in json.loads(payload)["Records"]]
        return InvokeResult(200, b"{}", executed_version="1")


@pytest.fixture
def stream(moto_endpoint: str) -> dict[str, Any]:
    ddb = client("dynamodb", moto_endpoint)
    table = f"st-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    streams = client("dynamodbstreams", moto_endpoint)
    invoker = Recording()
    mapping = StreamMapping(
        logical_id="M",
        function="arn:aws:lambda:us-east-1:123456789012:function:f:live",
        stream_arn=arn,
        batch_size=100,
        window_s=0.0,
        report_failures=True,
        bisect=False,
        max_retries=-1,
        max_age_s=-1,
        on_failure="",
        starting_position="TRIM_HORIZON",
    )
    poller = StreamPoller(mapping, streams, client("sqs", moto_endpoint), invoker, queue_urls={})

    def put(*ids: str) -> None:
        for item_id in ids:
            ddb.put_item(TableName=table, Item={"id": {"S": item_id}})

    return {"put": put, "poller": poller, "invoker": invoker, "streams": streams, "arn": arn}


def test_an_expired_shard_iterator_resumes_after_the_last_record_read(stream, clock):
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    put, poller, invoker = stream["put"], stream["poller"], stream["invoker"]
    put("a", "b", "c")
    poller.poll_once()
    assert invoker.ids == ["a", "b", "c"]
    iterators = dynamodbstreams_backends[ACCOUNT]["us-east-1"].shard_iterators
    # This stream's iterators only: other platforms in the process poll their own streams.
    issued = {i for i in iterators if i.startswith(stream["arn"])}
    clock[0] = 16 * 60.0  # past the iterators' 15 minutes
    put("d")
    poller.poll_once()  # its iterator expired: a new one after "c"
    poller.poll_once()
    assert invoker.ids == ["a", "b", "c", "d"]  # nothing lost, nothing twice
    assert issued
    assert not issued & set(iterators)  # the expired ones are forgotten


def test_stream_records_are_trimmed_after_24_hours(stream, clock):
    from moto.dynamodb.models import dynamodb_backends

    put, streams, arn = stream["put"], stream["streams"], stream["arn"]
    put("old-1", "old-2")
    shard_id = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    horizon = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    table = dynamodb_backends[ACCOUNT]["us-east-1"].tables[arn.split("/")[1]]
    for record in table.stream_shard.items:  # written two days ago, as far as the stream knows
        created = record.record["dynamodb"]["ApproximateCreationDateTime"]
        record.record["dynamodb"]["ApproximateCreationDateTime"] = created - timedelta(days=2)
    old = [r.record["dynamodb"]["SequenceNumber"] for r in table.stream_shard.items]
    clock[0] = 120.0  # the next write checks the retention
    put("new-1")
    with pytest.raises(ClientError) as trimmed:
        streams.get_records(ShardIterator=horizon)
    assert trimmed.value.response["Error"]["Code"] == "TrimmedDataAccessException"
    fresh = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=fresh)["Records"]
    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in records] == ["new-1"]
    assert int(records[0]["dynamodb"]["SequenceNumber"]) > max(int(s) for s in old)
    stream["poller"].poll_once()  # a poller that was at the horizon goes on from what is left
    assert stream["invoker"].ids == ["new-1"]


# --- workers -------------------------------------------------------------------------------------


def test_idle_workers_stop_and_versions_no_alias_routes_to_stop_sooner(invoke_env):
    service, name, idle = invoke_env["service"], invoke_env["name"], invoke_env["clock"]
    assert call(service, f"{name}:live").executed_version == "3"
    call(service, f"{name}:1")  # by number: a health check of an old version
    call(service, name)  # $LATEST
    pids = dict(zip(("live", "v1", "latest"), service.worker_pids, strict=True))
    idle.now += 9
    assert service.reap_idle() == []
    idle.now += 2  # 11 s idle: past the short limit, which only version 1 is held to
    assert [w.spec.version for w in service.reap_idle()] == ["1"]
    assert dead(pids["v1"])
    assert not dead(pids["live"])
    assert not dead(pids["latest"])
    idle.now += 80
    call(service, f"{name}:live")  # used again: its idle time starts over
    idle.now += 15
    assert [w.spec.version for w in service.reap_idle()] == ["$LATEST"]  # 106 s idle
    idle.now += 90
    assert [w.spec.version for w in service.reap_idle()] == ["3"]
    assert service.worker_pids == []
    assert all(dead(pid) for pid in pids.values())
    cold = service.cold_starts
    call(service, f"{name}:live")
    assert service.cold_starts == cold + 1  # the next call starts cold, as on Lambda


def test_a_version_still_in_the_routing_config_keeps_its_workers(invoke_env):
    service, name, idle = invoke_env["service"], invoke_env["name"], invoke_env["clock"]
    invoke_env["lambda"].update_alias(
        FunctionName=name,
        Name="live",
        FunctionVersion="3",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}},
    )
    call(service, f"{name}:2")
    idle.now += 50
    assert service.reap_idle() == []  # version 2 takes half of live's traffic
    invoke_env["lambda"].update_alias(
        FunctionName=name, Name="live", FunctionVersion="3", RoutingConfig={}
    )
    assert [w.spec.version for w in service.reap_idle()] == ["2"]


def test_crashed_and_timed_out_workers_leave_nothing_open(invoke_env):
    service, name = invoke_env["service"], invoke_env["name"]
    call(service, f"{name}:live")
    descriptors = len(os.listdir("/proc/self/fd"))
    for _ in range(15):
        assert call(service, f"{name}:live", {"crash": True}).function_error == "Unhandled"
    assert service.worker_pids == []
    assert len(os.listdir("/proc/self/fd")) <= descriptors  # no pipes or log files left open


# --- the whole platform --------------------------------------------------------------------------


def test_stop_ends_everything_within_two_seconds_and_removes_its_folder(moto_endpoint):
    from feedbackctl.config import load_config
    from feedbackctl.local.platform import OWNER_FILE, WORK_PREFIX, LocalPlatform, Options

    root = Path(tempfile.gettempdir())
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    stale = Path(tempfile.mkdtemp(prefix=WORK_PREFIX, dir=root))
    (stale / OWNER_FILE).write_text(gone.stdout.strip())  # left by a run killed with -9
    alive = Path(tempfile.mkdtemp(prefix=WORK_PREFIX, dir=root))
    (alive / OWNER_FILE).write_text(str(os.getppid()))  # another running platform's
    threads = set(threading.enumerate())
    # A stack and region of its own: moto's state is one per process, and another platform
    # (the end-to-end tests') may hold the local stage's names.
    stage = replace(load_config().stage("local"), region="eu-south-2", stack_name="stop-local")
    platform = LocalPlatform(stage, Options(api_port=0, aws_port=0))
    try:
        platform.start()
        assert not stale.exists()
        assert alive.exists()
        work = platform.work
        lam = platform.client("lambda", through_endpoint=True)
        for _ in range(3):
            lam.invoke(FunctionName="stop-local-health:live", Payload=b"{}")
        sleeper = handler_zip("sleeper")
        platform.code.add_zip(sleeper)
        role = lam.get_function(FunctionName="stop-local-health")["Configuration"]["Role"]
        platform.client("lambda").create_function(
            FunctionName="sleeper",
            Runtime="python3.12",
            Role=role,
            Handler="index.lambda_handler",
            Code={"ZipFile": sleeper},
            Timeout=60,
        )
        lam.invoke(FunctionName="sleeper", InvocationType="Event", Payload=b'{"sleep": 30}')
        deadline = time.monotonic() + 20
        while len(platform.invoker.worker_pids) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)  # waiting for the async invocation to start, not timing it
        pids = platform.invoker.worker_pids
        assert len(pids) >= 2
    finally:
        started = time.monotonic()
        platform.stop()
        took = time.monotonic() - started
    assert took < 2.0, f"stop took {took:.2f} s"
    assert all(dead(pid) for pid in pids)
    left = [t.name for t in set(threading.enumerate()) - threads if t.is_alive()]
    assert left == []
    assert not work.exists()
    alive.joinpath(OWNER_FILE).unlink()
    alive.rmdir()
