"""moto's requests answered without Flask (feedbackctl/local/moto_direct.py) get Flask's answers.

Two dispatchers share moto's state: one as `MotoServer` serves (direct), one that sends every
request through Flask. Each call is made through Flask first, then directly, and the direct
answer must be the one Flask gave to the same request in the same state: status, every header
but the random request ids, and body. Calls whose second answer would differ from the first
(a create) are made once more through Flask and compared with that.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from feedbackctl.local.inprocess import connect, drain
from feedbackctl.sandbox import _dispatcher
from tests.conftest import create_keyed_table

RANDOM = {"x-amzn-requestid", "x-amz-request-id", "x-amz-id-2", "x-amz-crc32", "date"}
Answer = tuple[str, list[tuple[str, str]], bytes]


class Recorded:
    """A WSGI application that keeps the last answer of the one it wraps."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self.last: Answer | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        seen: dict[str, Any] = {}

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen["status"], seen["headers"] = status, headers
            return start_response(status, headers, exc_info)

        body = drain(self._app(environ, start))
        self.last = (seen["status"], seen["headers"], body)
        return [body]


HTTP_DATE = re.compile(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT")


def _comparable(answer: Answer | None, *names: str) -> tuple[str, list[tuple[str, str]], bytes]:
    assert answer is not None
    status, headers, body = answer
    for name in filter(None, names):  # a resource's own name, different in the two calls
        body = body.replace(name.encode(), b"NAME")
    body = re.sub(rb"<(RequestId|HostId)>[^<]*</", rb"<\1>ID</", body)  # random, as the headers
    kept = sorted((k.lower(), v) for k, v in headers if k.lower() not in RANDOM)
    return status, kept, body


def _own_time(answer: Answer | None) -> Answer:
    """An answer whose Last-Modified is the time of its own write: each of the two writes has its
    own, a second apart when the clock ticks between them, so the value is checked for its form
    only."""
    assert answer is not None
    status, headers, body = answer
    for key, value in headers:
        if key.lower() == "last-modified":
            assert HTTP_DATE.fullmatch(value), value
    kept = [(k, "WRITE TIME" if k.lower() == "last-modified" else v) for k, v in headers]
    return status, kept, body


@pytest.fixture
def pair() -> tuple[Recorded, Recorded]:
    return Recorded(_dispatcher(direct=False)), Recorded(_dispatcher())


def _clients(service: str, pair: tuple[Recorded, Recorded]) -> tuple[Any, Any]:
    made = []
    for app in pair:
        client = boto3.client(
            service,
            endpoint_url="http://127.0.0.1:5999",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        made.append(connect(client, app))
    return made[0], made[1]


def _same(pair: tuple[Recorded, Recorded], call: Callable[[Any], Any], clients: Any) -> None:
    """`call` through Flask, then directly: the same answer."""
    _same_on(pair, lambda client, _name: call(client), clients, ("", ""))


def _same_on(
    pair: tuple[Recorded, Recorded],
    call: Callable[[Any, str], Any],
    clients: Any,
    names: tuple[str, str],
) -> None:
    """`call` through Flask on the first of two resources alike, then directly on the second:
    the same answer, but for the names."""
    flask, direct = pair
    for client, name in zip(clients, names, strict=True):
        with contextlib.suppress(client.exceptions.ClientError):
            call(client, name)  # an error answer is compared as any other
    assert _comparable(direct.last, *names) == _comparable(flask.last, *names)


def _same_write(pair: tuple[Recorded, Recorded], call: Callable[[Any], Any], clients: Any) -> None:
    """`call`, a write, through Flask, then directly: the same answer, each with its own time."""
    flask, direct = pair
    for client in clients:
        call(client)
    assert _comparable(_own_time(direct.last)) == _comparable(_own_time(flask.last))


def test_dynamodb_answers_are_flasks(pair: tuple[Recorded, Recorded]) -> None:
    clients = _clients("dynamodb", pair)
    table = f"direct-{uuid.uuid4().hex[:8]}"
    create_keyed_table(clients[0], table)
    item = {"pk": {"S": "a"}, "n": {"N": "1"}}
    _same(pair, lambda c: c.put_item(TableName=table, Item=item), clients)
    _same(pair, lambda c: c.get_item(TableName=table, Key={"pk": {"S": "a"}}), clients)
    _same(pair, lambda c: c.describe_table(TableName=table), clients)
    _same(pair, lambda c: c.describe_table(TableName="no-such-table"), clients)  # 400
    _same(  # a failed condition: 400 with the item
        pair,
        lambda c: c.put_item(
            TableName=table,
            Item=item,
            ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        ),
        clients,
    )
    _same(pair, lambda c: c.query(TableName=table, KeyConditionExpression="nope"), clients)


def test_logs_and_cloudwatch_answers_are_flasks(pair: tuple[Recorded, Recorded]) -> None:
    logs = _clients("logs", pair)
    group = f"/direct/{uuid.uuid4().hex[:8]}"
    logs[0].create_log_group(logGroupName=group)
    for stream in ("first", "second"):
        logs[0].create_log_stream(logGroupName=group, logStreamName=stream)
    _same(pair, lambda c: c.create_log_group(logGroupName=group), logs)  # already exists
    now = int(datetime.now(UTC).timestamp() * 1000)
    events = [{"timestamp": now, "message": "hello"}]
    _same_on(
        pair,
        lambda c, stream: c.put_log_events(
            logGroupName=group, logStreamName=stream, logEvents=events
        ),
        logs,
        ("first", "second"),
    )
    _same(pair, lambda c: c.describe_log_groups(logGroupNamePrefix=group), logs)
    cloudwatch = _clients("cloudwatch", pair)
    namespace = f"Direct/{uuid.uuid4().hex[:8]}"
    datum = [{"MetricName": "m", "Value": 1.0, "Timestamp": datetime.now(UTC)}]
    _same(pair, lambda c: c.put_metric_data(Namespace=namespace, MetricData=datum), cloudwatch)
    _same(pair, lambda c: c.list_metrics(Namespace=namespace), cloudwatch)
    _same(pair, lambda c: c.describe_alarms(AlarmNames=["no-such-alarm"]), cloudwatch)


def test_s3_answers_are_flasks(pair: tuple[Recorded, Recorded]) -> None:
    s3 = _clients("s3", pair)
    bucket = f"direct-{uuid.uuid4().hex[:8]}"
    s3[0].create_bucket(Bucket=bucket)
    _same_write(pair, lambda c: c.put_object(Bucket=bucket, Key="k", Body=b"twelve bytes"), s3)
    _same(pair, lambda c: c.get_object(Bucket=bucket, Key="k"), s3)
    _same(pair, lambda c: c.head_object(Bucket=bucket, Key="k"), s3)  # HEAD's Content-Length
    _same(pair, lambda c: c.get_object(Bucket=bucket, Key="missing"), s3)  # 404 XML
    _same(pair, lambda c: c.list_objects_v2(Bucket=bucket), s3)
