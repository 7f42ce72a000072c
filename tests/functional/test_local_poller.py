"""The stream poller's event-source-mapping semantics on a real moto stream, with a scripted
invoker standing in for the function (so every answer is under the test's control)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from feedbackctl.local import poller as poller_module
from feedbackctl.local.interfaces import InvokeResult
from feedbackctl.local.lambda_metrics import LambdaMetrics
from feedbackctl.local.poller import StreamPoller
from feedbackctl.local.provision import StreamMapping
from feedbackctl.sandbox import create_tables


class ScriptedInvoker:
    """Answers each batch with `answer(records, call_number)`; records every batch it saw."""

    def __init__(self, answer: Callable[[list[dict], int], InvokeResult]) -> None:
        self.answer = answer
        self.batches: list[list[str]] = []

    def invoke(
        self, function: str, payload: bytes, *, qualifier: str | None = None
    ) -> InvokeResult:
        records = json.loads(payload)["Records"]
        self.batches.append([r["dynamodb"]["Keys"]["feedbackId"]["S"] for r in records])
        return self.answer(records, len(self.batches))


def ok(records, call):
    return InvokeResult(200, b'{"batchItemFailures": []}', executed_version="3")


@pytest.fixture
def stream(moto_endpoint):
    ddb = boto3.client("dynamodb")
    suffix = uuid.uuid4().hex[:6]
    create_tables(ddb, f"fb-{suffix}", f"an-{suffix}")
    sqs = boto3.client("sqs")
    queue = sqs.create_queue(QueueName=f"failures-{suffix}")["QueueUrl"]
    arn = ddb.describe_table(TableName=f"fb-{suffix}")["Table"]["LatestStreamArn"]

    def put(count: int) -> list[str]:
        ids = [f"item-{i:03d}" for i in range(count)]
        for item_id in ids:
            ddb.put_item(TableName=f"fb-{suffix}", Item={"feedbackId": {"S": item_id}})
        return ids

    def poller(invoker, wall=None, metrics=None, streams=None, clock=None, **overrides):
        settings = {
            "logical_id": "Mapping",
            "function": "arn:aws:lambda:us-east-1:123456789012:function:agg:live",
            "stream_arn": arn,
            "batch_size": 4,
            "window_s": 0.0,
            "report_failures": True,
            "bisect": True,
            "max_retries": 2,
            "max_age_s": 3600,
            "on_failure": "arn:aws:sqs:us-east-1:123456789012:failures",
            "starting_position": "TRIM_HORIZON",
            **overrides,
        }
        queue_urls = {"arn:aws:sqs:us-east-1:123456789012:failures": queue}
        return StreamPoller(
            StreamMapping(**settings),
            streams or boto3.client("dynamodbstreams"),
            sqs,
            invoker,
            queue_urls=queue_urls,
            **({"wall": wall} if wall else {}),
            **({"clock": clock} if clock else {}),
            metrics=metrics,
        )

    def failures() -> list[dict]:
        got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in got]

    return put, poller, failures


def test_records_arrive_once_in_batches_and_in_order(stream):
    put, poller, _ = stream
    ids = put(10)
    invoker = ScriptedInvoker(ok)
    p = poller(invoker)
    assert p.poll_once() == 3
    assert invoker.batches == [ids[0:4], ids[4:8], ids[8:10]]
    assert p.poll_once() == 0  # checkpointed: nothing is delivered twice
    more = put(2)
    p.poll_once()
    assert invoker.batches[-1] == more[:2] or invoker.batches[-1][-1] == more[-1]


def test_partial_failure_retries_from_the_failed_record_then_gives_up_to_the_queue(stream):
    put, poller, failures = stream
    ids = put(4)

    def fail_third(records, call):
        bad = [r for r in records if r["dynamodb"]["Keys"]["feedbackId"]["S"] == ids[2]]
        body = {
            "batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in bad]
        }
        return InvokeResult(200, json.dumps(body).encode(), executed_version="3")

    invoker = ScriptedInvoker(fail_third)
    p = poller(invoker, max_retries=2)
    p.poll_once()
    assert invoker.batches == [ids, ids[2:], ids[2:]]
    [message] = failures()
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert message["DDBStreamBatchInfo"]["batchSize"] == 2
    assert p.poll_once() == 0  # past the failed records: the shard is not blocked


def test_function_error_bisects_down_to_the_poison_record(stream):
    put, poller, failures = stream
    ids = put(4)
    poison = ids[1]

    def crash_on_poison(records, call):
        keys = [r["dynamodb"]["Keys"]["feedbackId"]["S"] for r in records]
        if poison in keys:
            return InvokeResult(200, b'{"errorType": "KeyError"}', function_error="Unhandled")
        return InvokeResult(200, b'{"batchItemFailures": []}')

    invoker = ScriptedInvoker(crash_on_poison)
    poller(invoker, max_retries=3).poll_once()
    assert invoker.batches[0] == ids
    assert [ids[0]] in invoker.batches
    assert ids[2:] in invoker.batches
    [message] = failures()
    assert message["DDBStreamBatchInfo"]["batchSize"] == 1
    assert message["responseContext"]["functionError"] == "Unhandled"


def test_without_bisect_a_failing_batch_is_retried_whole(stream):
    put, poller, failures = stream
    ids = put(3)
    invoker = ScriptedInvoker(
        lambda records, call: InvokeResult(200, b"{}", function_error="Unhandled")
    )
    poller(invoker, bisect=False, max_retries=1).poll_once()
    assert invoker.batches == [ids, ids]
    assert failures()[0]["DDBStreamBatchInfo"]["batchSize"] == 3


def test_an_identifier_not_in_the_batch_retries_everything(stream):
    put, poller, _ = stream
    ids = put(2)
    answers = iter(
        [b'{"batchItemFailures": [{"itemIdentifier": "nope"}]}', b'{"batchItemFailures": []}']
    )
    invoker = ScriptedInvoker(lambda records, call: InvokeResult(200, next(answers)))
    poller(invoker).poll_once()
    assert invoker.batches == [ids, ids]


def test_records_older_than_the_maximum_age_go_to_the_queue(stream):
    put, poller, failures = stream
    put(2)
    invoker = ScriptedInvoker(ok)
    far_future = datetime.now(UTC) + timedelta(days=365)
    poller(invoker, wall=lambda: far_future, max_age_s=60).poll_once()
    assert invoker.batches == []
    assert failures()[0]["requestContext"]["condition"] == "RecordAgeExceeded"


def test_each_invocation_publishes_the_iterator_age_of_its_last_record(stream, moto_endpoint):
    put, poller, _ = stream
    put(2)
    cloudwatch = boto3.client("cloudwatch", endpoint_url=moto_endpoint)
    metrics = LambdaMetrics(cloudwatch)
    later = datetime.now(UTC) + timedelta(seconds=90)  # the batch is sent 90 s after its writes
    suffix = uuid.uuid4().hex[:6]
    function = f"arn:aws:lambda:us-east-1:123456789012:function:agg-{suffix}:live"
    poller(ScriptedInvoker(ok), wall=lambda: later, metrics=metrics, function=function).poll_once()
    metrics.flush()
    dims = [
        {"Name": "FunctionName", "Value": f"agg-{suffix}"},
        {"Name": "Resource", "Value": f"agg-{suffix}:live"},
        {"Name": "ExecutedVersion", "Value": "3"},
    ]
    found = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "age",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/Lambda",
                        "MetricName": "IteratorAge",
                        "Dimensions": dims,
                    },
                    "Period": 60,
                    "Stat": "Maximum",
                },
            }
        ],
        StartTime=later - timedelta(minutes=5),
        EndTime=later + timedelta(minutes=5),
    )["MetricDataResults"][0]
    metrics.close()
    [age] = found["Values"]
    # ApproximateCreationDateTime has one-second resolution; the records were written just now.
    assert 88_000 <= age <= 95_000


class CountedStop:
    """A stop event for `run`: records how long each pause between polls was asked to be, and
    is set after `rounds` pauses (so `run` returns without any real waiting)."""

    def __init__(self, rounds: int) -> None:
        self.pauses: list[float] = []
        self.rounds = rounds

    def is_set(self) -> bool:
        return len(self.pauses) >= self.rounds

    def wait(self, timeout: float) -> bool:
        self.pauses.append(timeout)
        return self.is_set()


def test_the_stream_is_polled_at_lambdas_base_rate(stream):
    """Lambda polls a DynamoDB stream's shards four times a second: between polls the poller
    pauses for the rest of the quarter second, so a busy stream arrives in batches."""
    put, poller, _ = stream
    ids = put(6)
    invoker = ScriptedInvoker(ok)
    stop = CountedStop(rounds=2)
    poller(invoker).run(stop)
    assert invoker.batches == [ids[0:4], ids[4:6]]  # the first poll delivered what was there
    assert len(stop.pauses) == 2
    assert all(0 < pause <= poller_module.POLL_INTERVAL_S for pause in stop.pauses)


def test_a_stream_that_is_behind_is_read_again_at_once(stream, monkeypatch):
    """A read that comes back full means more is waiting: the next read follows at once."""
    monkeypatch.setattr(poller_module, "READ_LIMIT", 3)
    put, poller, _ = stream
    ids = put(7)
    invoker = ScriptedInvoker(ok)
    stop = CountedStop(rounds=1)
    poller(invoker, batch_size=10).run(stop)
    # Three reads (3, 3, then 1 record) before the first pause: all seven delivered by then.
    assert [record for batch in invoker.batches for record in batch] == ids
    assert len(stop.pauses) == 1


class CountedDescribes:
    """A DynamoDB Streams client counting DescribeStream calls."""

    def __init__(self) -> None:
        self._client = boto3.client("dynamodbstreams")
        self.describes = 0

    def describe_stream(self, **kwargs):
        self.describes += 1
        return self._client.describe_stream(**kwargs)

    def __getattr__(self, name):
        return getattr(self._client, name)


def test_the_shards_are_asked_for_again_every_ten_seconds_not_every_poll(stream):
    """Four polls a second each asked for the stream's shards, a call that costs the
    platform's process as much as reading the records; the shards it knows are read every
    poll, and new shards are looked for every SHARDS_REFRESH_S."""
    put, poller, _ = stream
    now = [100.0]
    streams = CountedDescribes()
    invoker = ScriptedInvoker(ok)
    p = poller(invoker, streams=streams, clock=lambda: now[0], batch_size=10)
    written = put(10)
    for poll in range(40):  # ten seconds of polls
        if poll == 20:
            written += put(3)  # records written meanwhile are read by the next poll
        now[0] = 100.0 + poll * poller_module.POLL_INTERVAL_S
        p.poll_once()
    assert streams.describes == 1
    assert [i for batch in invoker.batches for i in batch] == written
    now[0] = 100.0 + poller_module.SHARDS_REFRESH_S
    p.poll_once()
    assert streams.describes == 2
