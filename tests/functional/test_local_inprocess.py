"""The platform's own engines' clients reach moto in process, without a socket, and get the
answers and errors a client through HTTP gets: logs, metrics and alarms, stream reads."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError

from feedbackctl.local.inprocess import IN_PROCESS_SERVICES, ShipperWrites, connect
from feedbackctl.local.poller import client_reader, in_process_reader
from feedbackctl.sandbox import create_tables, start_moto_server

REGION = "ap-southeast-5"
NOWHERE = "http://127.0.0.1:9"  # nothing listens: a client that used a socket would fail


@pytest.fixture(scope="module")
def moto() -> Iterator[Any]:
    server, _url = start_moto_server()
    yield server
    server.stop()


def _clients(moto: Any, service: str) -> tuple[Any, Any]:
    """(in process, through HTTP) clients of `service` on the same moto."""
    config = Config(retries={"max_attempts": 1})
    options = {
        "region_name": REGION,
        "aws_access_key_id": "local",
        "aws_secret_access_key": "local",
        "config": config,
    }
    inside = connect(boto3.client(service, endpoint_url=NOWHERE, **options), moto.in_process())
    outside = boto3.client(service, endpoint_url=moto.url, **options)
    return inside, outside


def _error(call: Any, **arguments: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as raised:
        call(**arguments)
    error = raised.value.response
    return (
        error["Error"]["Code"],
        error["Error"]["Message"],
        error["ResponseMetadata"]["HTTPStatusCode"],
    )


def test_the_engines_services_post_a_whole_body_to_a_fixed_path() -> None:
    """No path parameters to re-encode, no streamed body: JSON to `/` or RPC v2 CBOR to the
    operation's path."""
    for service in IN_PROCESS_SERVICES:
        model = boto3.client(service, region_name=REGION).meta.service_model
        assert model.protocol in {"json", "smithy-rpc-v2-cbor"}, service
        for name in model.operation_names:
            operation = model.operation_model(name)
            assert "{" not in operation.http.get("requestUri", "/"), (service, name)
            assert not operation.has_streaming_input, (service, name)


def test_logs_written_in_process_read_the_same_both_ways(moto: Any) -> None:
    inside, outside = _clients(moto, "logs")
    group, stream = f"/aws/lambda/fn-{uuid.uuid4().hex[:6]}", "2026/12/02/[1]abc"
    inside.create_log_group(logGroupName=group)
    inside.create_log_stream(logGroupName=group, logStreamName=stream)
    now = int(datetime.now(UTC).timestamp() * 1000)
    events = [{"timestamp": now + i, "message": f'{{"level":"INFO","n":{i}}} é'} for i in range(5)]
    inside.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
    for read in ("get_log_events", "filter_log_events"):
        arguments: dict[str, Any] = {"logGroupName": group}
        if read == "get_log_events":
            arguments["logStreamName"] = stream
        mine = getattr(inside, read)(**arguments)
        theirs = getattr(outside, read)(**arguments)
        mine.pop("ResponseMetadata"), theirs.pop("ResponseMetadata")
        assert mine == theirs
    messages = [
        e["message"]
        for e in outside.get_log_events(logGroupName=group, **{"logStreamName": stream})["events"]
    ]
    assert messages == [e["message"] for e in events]
    missing = {"logGroupName": "/nowhere", "logStreamName": "s", "logEvents": events[:1]}
    assert _error(inside.put_log_events, **missing) == _error(outside.put_log_events, **missing)
    assert _error(inside.put_log_events, **missing)[0] == "ResourceNotFoundException"


def test_metrics_and_alarms_answer_the_same_both_ways(moto: Any) -> None:
    inside, outside = _clients(moto, "cloudwatch")
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
    dims = [{"Name": "FunctionName", "Value": f"fn-{uuid.uuid4().hex[:6]}"}]
    inside.put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[
            {"MetricName": "Errors", "Dimensions": dims, "Timestamp": at, "Value": v}
            for v in (1.0, 2.0, 4.0)
        ],
    )
    query = {
        "MetricDataQueries": [
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
        "StartTime": at - timedelta(minutes=1),
        "EndTime": at + timedelta(minutes=1),
    }
    mine, theirs = inside.get_metric_data(**query), outside.get_metric_data(**query)
    assert mine["MetricDataResults"] == theirs["MetricDataResults"]
    assert mine["MetricDataResults"][0]["Values"] == [7.0]
    alarm = f"errors-{uuid.uuid4().hex[:6]}"
    inside.put_metric_alarm(
        AlarmName=alarm,
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Dimensions=dims,
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    inside.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="test")
    described = [
        client.describe_alarms(AlarmNames=[alarm])["MetricAlarms"] for client in (inside, outside)
    ]
    assert described[0] == described[1]
    assert described[0][0]["StateValue"] == "ALARM"
    backwards = {**query, "StartTime": query["EndTime"], "EndTime": query["StartTime"]}
    refused = _error(inside.get_metric_data, **backwards)
    assert refused == _error(outside.get_metric_data, **backwards)
    assert refused[2] == 400


def _writes(moto: Any) -> ShipperWrites:
    return ShipperWrites(moto.in_process(), region=REGION, access_key="local")


def test_the_shippers_log_lines_land_as_a_clients_do(moto: Any) -> None:
    """PutLogEvents as JSON without a client: the same events kept, the same refusal."""
    writes, (_inside, client) = _writes(moto), _clients(moto, "logs")
    group = f"/aws/lambda/fn-{uuid.uuid4().hex[:6]}"
    client.create_log_group(logGroupName=group)
    now = int(datetime.now(UTC).timestamp() * 1000)
    events = [
        {"timestamp": now + i, "message": f'{{"n":{i},"s":"é \\u2028 \\""}}'} for i in range(4)
    ]
    for stream, put in (("by-writes", writes.put_log_events), ("by-client", client.put_log_events)):
        client.create_log_stream(logGroupName=group, logStreamName=stream)
        answer = put(logGroupName=group, logStreamName=stream, logEvents=events)
        assert "nextSequenceToken" in answer
    kept = [
        [
            (e["timestamp"], e["message"])
            for e in client.get_log_events(logGroupName=group, logStreamName=stream)["events"]
        ]
        for stream in ("by-writes", "by-client")
    ]
    assert kept[0] == kept[1] == [(e["timestamp"], e["message"]) for e in events]
    missing = {"logGroupName": "/nowhere", "logStreamName": "s", "logEvents": events[:1]}
    refused = _error(writes.put_log_events, **missing)
    assert refused == _error(client.put_log_events, **missing)
    assert refused[0] == "ResourceNotFoundException"


def test_an_empty_log_line_is_kept_where_a_client_refused_its_whole_batch(moto: Any) -> None:
    """A function that prints an empty line: botocore's validation (PutLogEvents takes a
    message of at least one character) refused the batch it was in, every line with it; the
    shipper's JSON write keeps the lines, the empty one too."""
    writes, (_inside, client) = _writes(moto), _clients(moto, "logs")
    group = f"/aws/lambda/fn-{uuid.uuid4().hex[:6]}"
    client.create_log_group(logGroupName=group)
    client.create_log_stream(logGroupName=group, logStreamName="s")
    now = int(datetime.now(UTC).timestamp() * 1000)
    events = [{"timestamp": now, "message": "before"}, {"timestamp": now, "message": ""}]
    with pytest.raises(ParamValidationError):
        client.put_log_events(logGroupName=group, logStreamName="s", logEvents=events)
    writes.put_log_events(logGroupName=group, logStreamName="s", logEvents=events)
    kept = client.get_log_events(logGroupName=group, logStreamName="s")["events"]
    assert [e["message"] for e in kept] == ["before", ""]


def test_the_shippers_metrics_read_as_a_clients_do(moto: Any) -> None:
    """PutMetricData as JSON 1.0 without a client: single values, values with counts and
    statistic sets, aware and naive timestamps, read back the same by every statistic."""
    writes, (_inside, client) = _writes(moto), _clients(moto, "cloudwatch")
    at = datetime.now(UTC).replace(microsecond=250_000) - timedelta(minutes=3)
    naive = (at + timedelta(minutes=1)).replace(tzinfo=None)
    namespaces = {
        "by-writes": f"Test/{uuid.uuid4().hex[:6]}",
        "by-client": f"Test/{uuid.uuid4().hex[:6]}",
    }
    dims = [{"Name": "FunctionName", "Value": "fn"}, {"Name": "Resource", "Value": "fn:live"}]
    data = [
        {
            "MetricName": "Duration",
            "Dimensions": dims,
            "Timestamp": at,
            "Value": 12.5,
            "Unit": "Milliseconds",
        },
        {
            "MetricName": "Duration",
            "Dimensions": dims,
            "Timestamp": naive,
            "Values": [3.0, 40.0, 7.25],
            "Counts": [1.0, 2.0, 1.0],
            "Unit": "Milliseconds",
        },
        {
            "MetricName": "Duration",
            "Dimensions": dims,
            "Timestamp": at,
            "StatisticValues": {"SampleCount": 3.0, "Sum": 6.0, "Minimum": 2.0, "Maximum": 2.0},
            "Unit": "Milliseconds",
        },
    ]
    writes.put_metric_data(Namespace=namespaces["by-writes"], MetricData=data)
    client.put_metric_data(Namespace=namespaces["by-client"], MetricData=data)
    read = {}
    for way, namespace in namespaces.items():
        answer = client.get_metric_statistics(
            Namespace=namespace,
            MetricName="Duration",
            Dimensions=dims,
            StartTime=at - timedelta(minutes=1),
            EndTime=at + timedelta(minutes=3),
            Period=60,
            Statistics=["SampleCount", "Sum", "Minimum", "Maximum", "Average"],
            ExtendedStatistics=["p50", "p99"],
        )
        read[way] = sorted(answer["Datapoints"], key=lambda p: p["Timestamp"])
    assert read["by-writes"] == read["by-client"]
    assert [(p["SampleCount"], p["Sum"]) for p in read["by-writes"]] == [(4.0, 18.5), (4.0, 90.25)]
    refused = {
        "Namespace": "AWS/Lambda",
        "MetricData": [{"MetricName": "x", "Values": [1.0, 2.0], "Counts": [1.0]}],
    }
    assert _error(writes.put_metric_data, **refused) == _error(client.put_metric_data, **refused)


def _stream_table(moto: Any) -> tuple[Any, str]:
    """A DynamoDB client through HTTP and a fresh feedback table with a stream."""
    ddb = boto3.client(
        "dynamodb",
        endpoint_url=moto.url,
        region_name=REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    table = f"fb-{uuid.uuid4().hex[:6]}"
    create_tables(ddb, table, f"an-{uuid.uuid4().hex[:6]}")
    return ddb, table


def test_stream_reads_answer_the_same_both_ways(moto: Any) -> None:
    ddb, table = _stream_table(moto)
    for i in range(3):
        ddb.put_item(TableName=table, Item={"feedbackId": {"S": f"id-{i}"}, "n": {"N": str(i)}})
    arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    inside, outside = _clients(moto, "dynamodbstreams")
    answers = []
    for client in (inside, outside):
        stream = client.describe_stream(StreamArn=arn)["StreamDescription"]
        iterator = client.get_shard_iterator(
            StreamArn=arn,
            ShardId=stream["Shards"][0]["ShardId"],
            ShardIteratorType="TRIM_HORIZON",
        )["ShardIterator"]
        answers.append((stream["Shards"], client.get_records(ShardIterator=iterator)["Records"]))
    assert answers[0] == answers[1]
    assert [r["dynamodb"]["Keys"]["feedbackId"]["S"] for r in answers[0][1]] == [
        "id-0",
        "id-1",
        "id-2",
    ]
    bad = {"ShardIterator": "not-an-iterator"}
    assert _error(inside.get_records, **bad) == _error(outside.get_records, **bad)


def test_stream_records_read_as_sent_are_what_a_client_reads_in_the_wire_shape(
    moto: Any,
) -> None:
    """The poller reads GetRecords' answer as moto sends it (Lambda's event shape); a client's
    parsed answer, put back in the wire shape, is the same records: epoch-second timestamps,
    binary attributes in base64 (as Lambda delivers them), numbers as strings."""
    ddb, table = _stream_table(moto)
    item = {
        "feedbackId": {"S": "id-0"},
        "rating": {"N": "4.5"},
        "blob": {"B": b"\x00\xffpdf"},
        "tags": {"M": {"ui": {"BOOL": True}, "n": {"NS": ["1", "2"]}}},
    }
    ddb.put_item(TableName=table, Item=item)
    arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    _inside, outside = _clients(moto, "dynamodbstreams")
    shard = outside.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]

    def iterator() -> str:
        return str(
            outside.get_shard_iterator(
                StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
        )

    read = in_process_reader(moto.in_process(), region=REGION, access_key="local")
    as_sent = read(iterator(), 10)
    through_client = client_reader(outside)(iterator(), 10)
    assert as_sent["Records"] == through_client["Records"]
    [record] = as_sent["Records"]
    image = record["dynamodb"]["NewImage"]
    assert image["blob"] == {"B": "AP9wZGY="}  # base64, as Lambda's event carries it
    assert image["rating"] == {"N": "4.5"}
    created = record["dynamodb"]["ApproximateCreationDateTime"]
    assert isinstance(created, int | float)
    assert abs(created - datetime.now(UTC).timestamp()) < 60
    assert as_sent["NextShardIterator"]
    # An error is botocore's ClientError with the code and status a client gets.
    with pytest.raises(ClientError) as raised:
        read("not-an-iterator", 10)
    error = raised.value.response
    mine = (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"])
    theirs = _error(outside.get_records, ShardIterator="not-an-iterator")
    assert mine == (theirs[0], theirs[2])


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (
            400,
            b'{"__type":"com.amazonaws.dynamodb.v20120810#ExpiredIteratorException",'
            b'"message":"Iterator expired"}',
        ),
        (
            400,
            b'{"__type":"TrimmedDataAccessException:http://internal.amazon.com/",'
            b'"Message":"Trimmed"}',
        ),
        (500, b""),
        (502, b"<html><body>Bad Gateway</body></html>"),
        (400, b"Bad request, said the proxy"),
    ],
    ids=["namespaced", "suffixed", "empty", "html", "not-json"],
)
def test_a_json_operations_error_reads_as_botocores(status: int, body: bytes) -> None:
    """The answer a server gives, read by `json_operation` and by a botocore client: the same
    code, message and status."""

    def server(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response(f"{status} Error", [("Content-Type", "application/x-amz-json-1.0")])
        return [body]

    client = connect(
        boto3.client(
            "dynamodbstreams",
            endpoint_url=NOWHERE,
            region_name=REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",
            config=Config(retries={"max_attempts": 1}),
        ),
        server,
    )
    theirs = _error(client.get_records, ShardIterator="any")
    read = in_process_reader(server, region=REGION, access_key="local")
    with pytest.raises(ClientError) as raised:
        read("any", 10)
    error = raised.value.response
    mine = (
        error["Error"]["Code"],
        error["Error"]["Message"],
        error["ResponseMetadata"]["HTTPStatusCode"],
    )
    assert mine == theirs
