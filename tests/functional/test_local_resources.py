"""The local platform's resources stay bounded: memory, worker processes, threads, folders.

Memory is measured by what is stored (counts of moto's objects) and by tracemalloc, never by
wall time. Whatever looks at the whole process (its heap, its threads, its descriptors) runs in a
child process of its own (`in_child`): moto's state and the end-to-end tests' platform share
this one. Retention is judged by `now` given to the sweep functions, or, in a child, by a
driven clock; the invoke service's idle clock is driven too.
"""

from __future__ import annotations

import gc
import io
import itertools
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
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from feedbackctl.local import moto_query, moto_retention, moto_transact
from feedbackctl.local.interfaces import InvokeResult
from feedbackctl.local.invoke import CodeStore, InvokeService
from feedbackctl.local.lambda_metrics import LambdaMetrics
from feedbackctl.local.poller import StreamPoller, in_process_reader
from feedbackctl.local.provision import StreamMapping
from tests.conftest import create_keyed_table, process_gone

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
REGION = "sa-east-1"  # the invoke tests' own: moto's state is one per process
STREAM_REGION = "eu-north-1"  # the stream tests' own, so their iterators are theirs alone
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
    moto_transact.install()


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

    def log_streams(self, streams: list[tuple[str, str, list[tuple[int, str]]]]) -> None:
        self.events += sum(len(events) for _, _, events in streams)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_invoke_env(
    endpoint: str, work: Path, now: Callable[[], datetime] | None = None
) -> dict[str, Any]:
    """An invoke service over moto at `endpoint`, with a driven idle clock (and `now`, the
    time its log lines and metrics are stamped with), and a function of three versions
    (`live` -> 3) in REGION, its log group kept for one day."""
    lam, logs = client("lambda", endpoint, REGION), client("logs", endpoint, REGION)
    store = CodeStore(client("s3", endpoint), work / "code")
    idle_clock = Clock()
    service = InvokeService(
        lam,
        logs,
        store,
        worker_env={"AWS_ENDPOINT_URL": endpoint},
        work_dir=work,
        log_sink=Counting(),
        metrics=LambdaMetrics(client("cloudwatch", endpoint, REGION)),
        rng=random.Random(3),
        idle_timeout_s=100,
        retired_idle_s=10,
        clock=idle_clock,
        **({"now": now} if now is not None else {}),
    )
    role = client("iam", endpoint).create_role(
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
    return {"service": service, "name": name, "clock": idle_clock, "lambda": lam, "logs": logs}


@pytest.fixture
def invoke_env(moto_endpoint: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    env = make_invoke_env(moto_endpoint, tmp_path)
    yield env
    env["service"].shutdown()


def in_child(name: str, *args: str) -> dict[str, Any]:
    """`CHILDREN[name](*args)` run in a fresh Python process: its JSON answer."""
    code = (
        "import json, sys\n"
        "from tests.functional.test_local_resources import CHILDREN\n"
        "print(json.dumps(CHILDREN[sys.argv[1]](*sys.argv[2:])))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    done = subprocess.run(
        [sys.executable, "-c", code, name, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def child_moto() -> tuple[Any, str]:
    """A child's own moto server, bounded as the platform bounds it."""
    from feedbackctl.sandbox import start_moto_server

    moto_retention.install()
    moto_query.install()
    moto_transact.install()
    return start_moto_server()


def call(service: InvokeService, target: str, event: dict[str, Any] | None = None) -> InvokeResult:
    return service.invoke(target, json.dumps(event or {}).encode())


# --- memory --------------------------------------------------------------------------------------


def _tracked() -> int:
    """moto's model objects held by its instance tracker (S3's excepted: its reset needs them)."""
    from moto.core.model_instances import model_data

    return sum(
        len(getattr(model, "instances_tracked", []))
        for models in model_data.values()
        for model in models.values()
        if not str(getattr(model, "__module__", "")).startswith("moto.s3.")
    )


def test_moto_keeps_no_copy_of_the_objects_it_made(moto_endpoint):
    """Every TransactWriteItems deep-copied the tables it touched, and moto kept each copy for
    ever in a class-level list of every model object it made (for its dashboard): 200 items
    times 60 transactions here. Nothing is tracked any more, S3's keys excepted."""
    from moto.s3.models import FakeKey

    ddb = client("dynamodb", moto_endpoint)
    table = f"tx-{uuid.uuid4().hex[:8]}"
    create_keyed_table(ddb, table, "id")
    for i in range(200):
        ddb.put_item(TableName=table, Item={"id": {"S": f"item-{i}"}, "n": {"N": "0"}})
    with moto_transact.disabled():  # moto's own whole-table copies
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
    assert _tracked() == 0
    s3 = client("s3", moto_endpoint)
    bucket = f"tracked-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    assert FakeKey.instances_tracked  # type: ignore[attr-defined]


def _telemetry(name: str) -> dict[str, int]:
    """What moto stores of one function's log lines and AWS/Lambda metrics (in REGION)."""
    from moto.cloudwatch.models import MetricDatum, cloudwatch_backends
    from moto.logs.models import logs_backends

    group = logs_backends[ACCOUNT][REGION].groups[f"/aws/lambda/{name}"]
    ours = [
        d
        for d in cloudwatch_backends[ACCOUNT][REGION].metric_data
        if any(dim.value.startswith(name) for dim in d.dimensions)
    ]
    return {
        "log_events": sum(len(stream.events) for stream in group.streams.values()),
        "raw_datums": sum(1 for d in ours if type(d) is MetricDatum),
        "minute_sets": sum(1 for d in ours if type(d) is not MetricDatum),
        "series": len({(d.name, tuple((m.name, m.value) for m in d.dimensions)) for d in ours}),
        "samples": int(sum(1 if type(d) is MetricDatum else d.sample_count for d in ours)),
    }


def _child_memory(calls: str) -> dict[str, Any]:
    """In a child: `calls` invocations; then lower bounds and a minute on (the next writes
    sweep); then two days on. What is stored at each step, and what tracemalloc saw of the
    whole (child) process."""
    count = int(calls)
    offset = [0.0]
    moto_retention.set_clock(lambda: time.time() + offset[0])
    server, endpoint = child_moto()
    # Each reading of the invoke service's clock is a second later, from three hours ago: the
    # datums spread over minutes as a long run's would (a few readings an invocation).
    seconds = itertools.count()
    origin = datetime.now(UTC) - timedelta(hours=3)
    with tempfile.TemporaryDirectory() as work:
        env = make_invoke_env(
            endpoint, Path(work), lambda: origin + timedelta(seconds=next(seconds))
        )
        service, name = env["service"], env["name"]

        def step(seconds: float) -> dict[str, int]:
            offset[0] += seconds
            call(service, f"{name}:live")  # its log lines and metrics are the writes that sweep
            service.flush()
            gc.collect()
            return _telemetry(name)

        for _ in range(100):  # warm: worker started, clients' caches filled
            call(service, f"{name}:live")
        service.flush()
        before = _telemetry(name)
        gc.collect()
        tracemalloc.start()
        start = tracemalloc.take_snapshot()
        for _ in range(count):
            call(service, f"{name}:live")
        service.flush()
        gc.collect()
        loaded = tracemalloc.take_snapshot()
        stored = _telemetry(name)
        moto_retention.LOG_EVENTS_PER_GROUP, moto_retention.METRIC_RAW_DATUMS = 2000, 6000
        # Past SWEEP_S and the 3 hours sub-minute data keeps its resolution: the bounds apply.
        capped = step(moto_retention.HIGH_RESOLUTION_S + 61)
        bounded = tracemalloc.take_snapshot()
        expired = step(2 * 86400)  # past the log group's one-day retention
        tracemalloc.stop()
        service.shutdown()
    server.stop()
    return {
        "before": before,
        "stored": stored,
        "capped": capped,
        "expired": expired,
        "grown": sum(s.size_diff for s in loaded.compare_to(start, "filename")),
        "bounded": sum(s.size_diff for s in bounded.compare_to(start, "filename")),
        "tracked": _tracked(),
    }


def test_memory_after_many_invocations_is_bounded():
    """3,000 invocations store 4 log events and 10 datums each and grow the heap by at most
    6 KB an invocation; at the bounds (here 2,000 events a group, 6,000 raw datums) the oldest
    events go and the oldest datums become minutes, every sample still counted, and the heap
    is back within 3 MB of where it started (11 MB on without them); past the log group's
    retention no event is left."""
    got = in_child("memory", "3000")
    before, stored, capped = got["before"], got["stored"], got["capped"]
    assert stored["log_events"] - before["log_events"] == 4 * 3000  # START, line, END, REPORT
    # Invocations, Errors and Duration by 3 dimension sets, ConcurrentExecutions by function.
    assert stored["raw_datums"] - before["raw_datums"] == 10 * 3000
    assert capped["log_events"] <= 2000 + 4
    assert capped["raw_datums"] <= 6000
    assert capped["samples"] == stored["samples"] + 10  # rolled up, not lost
    assert got["expired"]["log_events"] == 0
    assert got["grown"] / 3000 <= 6 * 1024, f"{got['grown'] / 3000:.0f} bytes per invocation"
    assert got["bounded"] <= 3 * 1024 * 1024, f"{got['bounded']} bytes after the bounds"
    assert got["tracked"] == 0


def test_log_groups_keep_their_newest_events_up_to_the_cap(moto_endpoint):
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
    assert moto_retention.roll_up_metrics(backend, cap=400) == 0  # all arrived just now
    later = time.time() + moto_retention.HIGH_RESOLUTION_S + 1
    assert moto_retention.roll_up_metrics(backend, cap=400, now=later) > 0
    raw = [d for d in backend.metric_data if type(d) is MetricDatum]
    after = sorted(
        cloudwatch.get_metric_statistics(**query)["Datapoints"], key=lambda d: d["Timestamp"]
    )
    assert len(raw) <= 400
    assert len(backend.metric_data) < 800
    assert after == before  # per minute, every statistic but percentiles stays exact


def _minutes(cloudwatch, metric: str, base: datetime) -> list[dict]:
    """Function a's per-minute statistics of `metric` around `base`, oldest first."""
    query = {
        "Namespace": "AWS/Lambda",
        "MetricName": metric,
        "Dimensions": [{"Name": "FunctionName", "Value": "a"}],
        "StartTime": base - timedelta(minutes=1),
        "EndTime": base + timedelta(minutes=10),
        "Period": 60,
        "Statistics": ["Sum", "SampleCount", "Minimum", "Maximum"],
    }
    found = cloudwatch.get_metric_statistics(**query)["Datapoints"]
    return sorted(found, key=lambda d: d["Timestamp"])


def test_a_seconds_statistic_sets_become_minutes_like_values(moto_endpoint):
    """The shippers send a second of one value as a statistic set: beyond the cap those roll
    up into minutes as values do (rolled minutes were only ever dropped, oldest first)."""
    from moto.cloudwatch.models import cloudwatch_backends

    region = "ap-south-1"
    cloudwatch = client("cloudwatch", moto_endpoint, region)
    base = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=10)
    data = [
        {
            "MetricName": "Invocations",
            "Dimensions": [{"Name": "FunctionName", "Value": "a"}],
            "Timestamp": base + timedelta(seconds=second),
            "StatisticValues": {
                "SampleCount": float(n),
                "Sum": float(n),
                "Minimum": 1.0,
                "Maximum": 1.0,
            },
            "Unit": "Count",
        }
        for second, n in zip(range(0, 300, 2), range(1, 151), strict=True)
    ]
    for start in range(0, len(data), 50):
        cloudwatch.put_metric_data(Namespace="AWS/Lambda", MetricData=data[start : start + 50])
    before = _minutes(cloudwatch, "Invocations", base)
    backend = cloudwatch_backends[ACCOUNT][region]
    later = time.time() + moto_retention.HIGH_RESOLUTION_S + 1
    assert moto_retention.roll_up_metrics(backend, cap=100, now=later) > 0
    after = _minutes(cloudwatch, "Invocations", base)
    assert len(backend.metric_data) < 150
    assert sum(d["Sum"] for d in after) == sum(range(1, 151))
    assert after == before


# Dimension sets as AWS/Lambda's metrics carry them: none, by function, by alias (Resource) and
# by version, in either order (PutMetricData keeps the order it was given).
_DIMENSION_SETS: list[list[dict[str, str]]] = [
    [],
    [{"Name": "FunctionName", "Value": "a"}],
    [{"Name": "FunctionName", "Value": "b"}],
    [{"Name": "FunctionName", "Value": "a"}, {"Name": "Resource", "Value": "a:live"}],
    [{"Name": "Resource", "Value": "a:live"}, {"Name": "FunctionName", "Value": "a"}],
    [{"Name": "FunctionName", "Value": "a"}, {"Name": "ExecutedVersion", "Value": "3"}],
]


def test_metric_reads_read_the_window_and_answer_as_moto(moto_endpoint):
    """GetMetricData/GetMetricStatistics through the name, time and dimension index equal
    moto's scan, with one query or several a call, with and without dimensions (in one
    namespace: across namespaces moto's scan is wrong, see the next test)."""
    region = "ca-west-1"
    cloudwatch = client("cloudwatch", moto_endpoint, region)
    now = datetime.now(UTC).replace(microsecond=0)
    rng = random.Random(11)
    for _ in range(6):
        cloudwatch.put_metric_data(
            Namespace="AWS/Lambda",
            MetricData=[
                {
                    "MetricName": rng.choice(["Errors", "Duration", "Invocations"]),
                    "Dimensions": rng.choice(_DIMENSION_SETS),
                    "Timestamp": now - timedelta(seconds=rng.randint(0, 1800)),
                    "Value": float(rng.randint(0, 9)),
                    "Unit": rng.choice(["Count", "Milliseconds"]),
                }
                for _ in range(150)
            ],
        )
    answered = 0
    for _ in range(40):
        start = now - timedelta(seconds=rng.randint(60, 2400))
        end = start + timedelta(seconds=rng.randint(10, 1200))
        queries = []
        for n in range(rng.choice([1, 1, 2, 3])):
            metric: dict[str, Any] = {
                "Namespace": "AWS/Lambda",
                "MetricName": rng.choice(["Errors", "Duration"]),
            }
            if dimensions := rng.choice(_DIMENSION_SETS):
                metric["Dimensions"] = dimensions
            stat = rng.choice(["Sum", "Average", "SampleCount", "Maximum", "Minimum", "p90"])
            queries.append(
                {
                    "Id": f"m{n}",
                    "MetricStat": {"Metric": metric, "Period": rng.choice([10, 60]), "Stat": stat},
                }
            )
        data_query = {"MetricDataQueries": queries, "StartTime": start, "EndTime": end}
        statistics = {
            **queries[0]["MetricStat"]["Metric"],
            "StartTime": start,
            "EndTime": end,
            "Period": 60,
            "Statistics": ["Sum", "SampleCount", "Maximum"],
        }
        indexed = cloudwatch.get_metric_data(**data_query)["MetricDataResults"]
        indexed_stats = cloudwatch.get_metric_statistics(**statistics)["Datapoints"]
        answered += sum(bool(result["Values"]) for result in indexed)
        with moto_retention.unindexed():
            assert cloudwatch.get_metric_data(**data_query)["MetricDataResults"] == indexed
            assert cloudwatch.get_metric_statistics(**statistics)["Datapoints"] == indexed_stats
    assert answered >= 20  # the comparisons compare values, not empty answers


def test_a_metric_query_with_dimensions_reads_its_own_namespace_only(moto_endpoint):
    """moto's GetMetricData forgets the namespace when a query has dimensions: a function's
    `Errors` in another namespace counted as `AWS/Lambda` errors. The local reads do not."""
    region = "mx-central-1"
    cloudwatch = client("cloudwatch", moto_endpoint, region)
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
    dims = [{"Name": "FunctionName", "Value": "create-feedback"}]
    for namespace, value in (("AWS/Lambda", 1.0), ("Feedback/Custom", 5.0)):
        cloudwatch.put_metric_data(
            Namespace=namespace,
            MetricData=[
                {"MetricName": "Errors", "Dimensions": dims, "Value": value, "Timestamp": at}
            ],
        )
    found = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "errors",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/Lambda",
                        "MetricName": "Errors",
                        "Dimensions": dims,
                    },
                    "Period": 60,
                    "Stat": "Sum",
                },
            }
        ],
        StartTime=at - timedelta(minutes=1),
        EndTime=at + timedelta(minutes=1),
    )["MetricDataResults"][0]["Values"]
    assert found == [1.0]


def _twin_table(ddb: Any, name: str) -> None:
    ddb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )


def _operation(rng: random.Random) -> dict[str, Any]:
    """One random transaction member on the table "{table}" (named when it is sent)."""
    key = {"pk": {"S": rng.choice("abc")}, "sk": {"N": str(rng.randint(1, 6))}}
    kind = rng.choice(["Put", "Update", "Update", "Delete", "ConditionCheck"])
    if kind == "Put":
        return {
            "Put": {"TableName": "{table}", "Item": {**key, "v": {"N": str(rng.randint(0, 9))}}}
        }
    if kind == "Delete":
        return {"Delete": {"TableName": "{table}", "Key": key}}
    if kind == "Update":
        return {
            "Update": {
                "TableName": "{table}",
                "Key": key,
                "UpdateExpression": "ADD v :one SET w = :w",
                "ExpressionAttributeValues": {":one": {"N": "1"}, ":w": {"S": "x"}},
            }
        }
    return {  # cancels the transaction unless the item is there
        "ConditionCheck": {
            "TableName": "{table}",
            "Key": key,
            "ConditionExpression": "attribute_exists(v)",
        }
    }


def _table_state(ddb: Any, streams: Any, table: str) -> tuple[list[Any], list[Any]]:
    """The table's items and its stream's records (without their random or time fields)."""
    items = sorted(ddb.scan(TableName=table)["Items"], key=lambda i: (i["pk"]["S"], i["sk"]["N"]))
    arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
    horizon = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    fields = ("Keys", "NewImage", "OldImage", "SequenceNumber")
    records = [
        {"eventName": r["eventName"], **{k: r["dynamodb"].get(k) for k in fields}}
        for r in streams.get_records(ShardIterator=horizon)["Records"]
    ]
    return items, records


def _transact(ddb: Any, plan: list[dict[str, Any]], table: str) -> str:
    try:
        ddb.transact_write_items(
            TransactItems=json.loads(json.dumps(plan).replace("{table}", table))
        )
    except ClientError as error:  # cancelled (a condition), or a request moto refuses
        return str(error.response["Error"]["Code"])
    return "done"


def test_a_transaction_copies_what_it_names_and_rolls_back_as_moto_does(moto_endpoint):
    """The same transactions (a third cancelled) on twin tables, one through moto's whole-table
    copy and one through the snapshot: the same items and stream records after each; and the
    snapshot references every item the transaction does not name instead of copying it."""
    from moto.dynamodb.models import dynamodb_backends

    ddb, streams = client("dynamodb", moto_endpoint), client("dynamodbstreams", moto_endpoint)
    whole, snapshot = (f"twin-{uuid.uuid4().hex[:8]}-{side}" for side in ("moto", "snap"))
    _twin_table(ddb, whole)
    _twin_table(ddb, snapshot)
    rng = random.Random(21)
    outcomes = []
    for _ in range(60):
        plan = [_operation(rng) for _ in range(rng.randint(1, 3))]
        with moto_transact.disabled():
            outcome = _transact(ddb, plan, whole)
        assert _transact(ddb, plan, snapshot) == outcome
        assert _table_state(ddb, streams, snapshot) == _table_state(ddb, streams, whole)
        outcomes.append(outcome)
    assert outcomes.count("TransactionCanceledException") >= 10
    assert outcomes.count("done") >= 10

    table = dynamodb_backends[ACCOUNT]["us-east-1"].tables[snapshot]
    named = {next(iter(table.items[h].items()))[1].hash_key for h in list(table.items)[:2]}
    keys = {(h, r) for h in named for r in table.items[h]}
    undo = moto_transact.snapshot(table, keys)
    assert set(undo.items) == keys  # the named items, copied; nothing else of the table
    assert all(undo.items[k] is not table.items[k[0]][k[1]] for k in keys)


def test_a_cancelled_transaction_keeps_a_concurrent_write_to_another_item(moto_endpoint):
    """A write to another item of the table that lands while a transaction runs and is then
    cancelled is kept, as DynamoDB keeps it (moto's whole-table copy put it back as it was).
    The write lands from inside the transaction, as a concurrent request's would."""
    from moto.dynamodb.models import dynamodb_backends

    ddb = client("dynamodb", moto_endpoint)
    name = f"race-{uuid.uuid4().hex[:8]}"
    _twin_table(ddb, name)
    ddb.put_item(TableName=name, Item={"pk": {"S": "named"}, "sk": {"N": "1"}, "v": {"N": "1"}})
    backend = dynamodb_backends[ACCOUNT]["us-east-1"]
    table = backend.tables[name]
    put_item = type(table).put_item
    landed: list[str] = []

    def put_with_a_concurrent_write(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self is table and not landed:
            landed.append("other")
            put_item(self, {"pk": {"S": "other"}, "sk": {"N": "1"}})  # the other request
        return put_item(self, *args, **kwargs)

    plan = [
        {"Put": {"TableName": name, "Item": {"pk": {"S": "named"}, "sk": {"N": "1"}}}},
        {
            "ConditionCheck": {
                "TableName": name,
                "Key": {"pk": {"S": "named"}, "sk": {"N": "2"}},
                "ConditionExpression": "attribute_exists(pk)",
            }
        },
    ]
    original = type(table).put_item
    type(table).put_item = put_with_a_concurrent_write
    try:
        assert _transact(ddb, plan, name) == "TransactionCanceledException"
    finally:
        type(table).put_item = original
    assert landed == ["other"]
    items = {i["pk"]["S"]: i for i in ddb.scan(TableName=name)["Items"]}
    assert set(items) == {"named", "other"}
    assert items["named"]["v"] == {"N": "1"}  # the cancelled put is undone


# --- streams -------------------------------------------------------------------------------------


class Recording:
    def __init__(self) -> None:
        self.ids: list[str] = []

    def invoke(
        self, function: str, payload: bytes, *, qualifier: str | None = None
    ) -> InvokeResult:
        self.ids += [r["dynamodb"]["Keys"]["id"]["S"] for r in json.loads(payload)["Records"]]
        return InvokeResult(200, b"{}", executed_version="1")


@pytest.fixture(params=["client", "as sent"])
def stream(request: pytest.FixtureRequest, moto_server: Any) -> dict[str, Any]:
    """A table's stream and a poller on it, reading through a client or, as the platform's
    do, GetRecords' answer as moto sends it (`inprocess.json_operation`)."""
    moto_endpoint = str(moto_server.url)
    ddb = client("dynamodb", moto_endpoint, STREAM_REGION)
    table = f"st-{uuid.uuid4().hex[:8]}"
    create_keyed_table(
        ddb, table, "id", StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    )
    arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    streams = client("dynamodbstreams", moto_endpoint, STREAM_REGION)
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
    sqs = client("sqs", moto_endpoint, STREAM_REGION)
    reader = None
    if request.param == "as sent":
        reader = in_process_reader(moto_server.in_process(), region=STREAM_REGION, access_key="k")
    poller = StreamPoller(mapping, streams, sqs, invoker, queue_urls={}, read_records=reader)

    def put(*ids: str) -> None:
        for item_id in ids:
            ddb.put_item(TableName=table, Item={"id": {"S": item_id}})

    return {
        "put": put,
        "poller": poller,
        "invoker": invoker,
        "streams": streams,
        "arn": arn,
        "table": table,
    }


def test_an_expired_shard_iterator_resumes_after_the_last_record_read(stream):
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    put, poller, invoker = stream["put"], stream["poller"], stream["invoker"]
    put("a", "b", "c")
    poller.poll_once()
    assert invoker.ids == ["a", "b", "c"]
    backend = dynamodbstreams_backends[ACCOUNT][STREAM_REGION]
    issued = {arn for arn in backend.shard_iterators if arn.startswith(stream["arn"])}
    assert issued
    # 16 minutes on, every iterator of this region is past its 15: forgotten.
    assert moto_retention.expire_iterators(backend, time.time() + 16 * 60) >= len(issued)
    assert not issued & set(backend.shard_iterators)
    put("d")
    poller.poll_once()  # its iterator is gone (ExpiredIteratorException): a new one after "c"
    poller.poll_once()
    assert invoker.ids == ["a", "b", "c", "d"]  # nothing lost, nothing twice


def test_stream_records_are_trimmed_after_24_hours(stream):
    from moto.dynamodb.models import dynamodb_backends

    put, streams, arn, poller = stream["put"], stream["streams"], stream["arn"], stream["poller"]
    poller.poll_once()  # the poller holds an iterator at the start of the shard
    put("old-1", "old-2")
    shard_id = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    horizon = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    shard = dynamodb_backends[ACCOUNT][STREAM_REGION].tables[stream["table"]].stream_shard
    for record in shard.items:  # written two days ago, as far as the stream knows
        created = record.record["dynamodb"]["ApproximateCreationDateTime"]
        record.record["dynamodb"]["ApproximateCreationDateTime"] = created - timedelta(days=2)
    old = [int(r.record["dynamodb"]["SequenceNumber"]) for r in shard.items]
    moto_retention.trim_stream(shard, time.time())
    assert shard.items == []
    put("new-1")
    with pytest.raises(ClientError) as trimmed:
        streams.get_records(ShardIterator=horizon)
    assert trimmed.value.response["Error"]["Code"] == "TrimmedDataAccessException"
    fresh = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=fresh)["Records"]
    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in records] == ["new-1"]
    assert int(records[0]["dynamodb"]["SequenceNumber"]) > max(old)  # numbering goes on
    poller.poll_once()  # its position was trimmed: it goes on from the oldest record kept
    poller.poll_once()
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
    assert process_gone(pids["v1"])
    assert not process_gone(pids["live"])
    assert not process_gone(pids["latest"])
    idle.now += 80
    call(service, f"{name}:live")  # used again: its idle time starts over
    idle.now += 15
    assert [w.spec.version for w in service.reap_idle()] == ["$LATEST"]  # 106 s idle
    idle.now += 90
    assert [w.spec.version for w in service.reap_idle()] == ["3"]
    assert service.worker_pids == []
    assert all(process_gone(pid) for pid in pids.values())
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


def _child_descriptors() -> dict[str, Any]:
    """In a child: the process's open descriptors around 15 crashed invocations."""
    server, endpoint = child_moto()
    with tempfile.TemporaryDirectory() as work:
        env = make_invoke_env(endpoint, Path(work))
        service, name = env["service"], env["name"]
        call(service, f"{name}:live")
        service.flush()  # the log and metric shippers' keep-alive connections are open
        before = len(os.listdir("/proc/self/fd"))
        errors = [call(service, f"{name}:live", {"crash": True}).function_error for _ in range(15)]
        service.flush()
        after = len(os.listdir("/proc/self/fd"))
        workers = service.worker_pids
        service.shutdown()
    server.stop()
    return {"before": before, "after": after, "errors": errors, "workers": workers}


def test_crashed_workers_leave_nothing_open():
    got = in_child("descriptors")
    assert got["errors"] == ["Unhandled"] * 15
    assert got["workers"] == []
    assert got["after"] <= got["before"]  # no pipes or log files left open


# --- the whole platform --------------------------------------------------------------------------


def _child_stop() -> dict[str, Any]:
    """In a child: a whole platform with an invocation running, stopped."""
    from feedbackctl.config import load_config
    from feedbackctl.local.platform import LocalPlatform, Options

    platform = LocalPlatform(load_config().stage("local"), Options(api_port=0, aws_port=0))
    try:
        platform.start()
        work = platform.work
        lam = platform.client("lambda", through_endpoint=True)
        for _ in range(3):
            lam.invoke(FunctionName="feedback-local-health:live", Payload=b"{}")
        sleeper = handler_zip("sleeper")
        platform.code.add_zip(sleeper)
        role = lam.get_function(FunctionName="feedback-local-health")["Configuration"]["Role"]
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
        while not platform.invoker.busy_pids("sleeper") and time.monotonic() < deadline:
            time.sleep(0.05)  # waiting for the async invocation to start, not timing it
        pids = platform.invoker.worker_pids
        sleeper = platform.invoker.busy_pids("sleeper")
    finally:
        started = time.monotonic()
        platform.stop()
        took = time.monotonic() - started
    threads = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    return {
        "took": took,
        "sleeper": sleeper,
        "pids": pids,
        "alive": [pid for pid in pids if not process_gone(pid)],
        "threads": [name for name in threads if name],
        "work_left": work.exists(),
    }


def test_stop_ends_everything_without_waiting_for_a_running_invocation():
    """How long a stop takes (goal: 2 s) is benchmarks/bench_local_resources.py's figure; here,
    that it kills a 30 s invocation rather than waiting for it, and leaves nothing behind."""
    from feedbackctl.local.platform import OWNER_FILE, WORK_PREFIX

    root = Path(tempfile.gettempdir())
    # A process that has exited, so its pid names no one.
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    stale = Path(tempfile.mkdtemp(prefix=WORK_PREFIX, dir=root))
    (stale / OWNER_FILE).write_text(gone.stdout.strip())  # left by a run killed with -9
    alive = Path(tempfile.mkdtemp(prefix=WORK_PREFIX, dir=root))
    (alive / OWNER_FILE).write_text(str(os.getpid()))  # another running platform's
    try:
        got = in_child("stop")
        assert not stale.exists()
        assert alive.exists()
    finally:
        alive.joinpath(OWNER_FILE).unlink()
        alive.rmdir()
    assert got["took"] < 15, f"stop took {got['took']:.2f} s: it waited for the sleeper"
    assert len(got["pids"]) >= 2  # the health function's worker and the running sleeper's
    assert got["sleeper"], "the sleeper's invocation never started"
    assert got["alive"] == []
    assert got["threads"] == []  # every thread of the platform ended before stop() returned
    assert got["work_left"] is False


CHILDREN = {"memory": _child_memory, "descriptors": _child_descriptors, "stop": _child_stop}
