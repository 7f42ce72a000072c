"""The stream aggregator on a real moto stream: counts, retries, malformed records, cost."""

from __future__ import annotations

import copy
import json

import boto3
import pytest

from feedbackctl.sandbox import InvocationContext, StreamPump
from lambdas.common import dynamo
from lambdas.create_feedback import handler as create
from lambdas.get_analytics import handler as get_analytics
from lambdas.stream_aggregator import handler as aggregator
from tests.conftest import load_event
from tests.functional.handlers import VALID, body_of, invoke, post_event

CONTEXT = InvocationContext(function_name="stream-aggregator", function_version="4")


def _analytics() -> dict:
    return body_of(invoke(get_analytics, load_event("get_analytics.json")))


@pytest.fixture
def pump(tables, ddb, moto_endpoint):
    arn = ddb.describe_table(TableName=tables["feedback"])["Table"]["LatestStreamArn"]
    return StreamPump(boto3.client("dynamodbstreams", endpoint_url=moto_endpoint), arn)


@pytest.fixture
def calls():
    """Every DynamoDB operation the aggregator's client makes, by name."""
    made: list[str] = []

    def record(model, params, **kwargs):
        made.append(model.name)

    client = dynamo.client()
    client.meta.events.register("before-call.dynamodb", record)
    yield made
    client.meta.events.unregister("before-call.dynamodb", record)


def _submit(ratings: list[int]) -> None:
    for i, rating in enumerate(ratings):
        message = (
            "I love it, excellent"
            if rating >= 4
            else "terrible and broken"
            if rating <= 2
            else "I use it on my tablet"
        )
        body = {**VALID, "rating": rating, "message": f"{message} #{i}"}
        assert invoke(create, post_event(body))["statusCode"] == 201


def test_stream_updates_analytics(pump, tables):
    _submit([5, 4, 1, 3, 5])
    records = pump.poll()
    assert len(records) == 5
    result = aggregator.lambda_handler({"Records": records}, CONTEXT)
    assert result == {"batchItemFailures": []}
    body = _analytics()
    assert body["totalFeedback"] == 5
    assert body["averageRating"] == 3.6
    assert body["ratings"] == {"1": 1, "2": 0, "3": 1, "4": 1, "5": 2}
    assert body["sentiment"] == {"positive": 3, "neutral": 1, "negative": 1}
    assert body["daily"][-1]["count"] == 5
    assert body["lastUpdated"] is not None


def test_a_99_record_batch_costs_one_read_and_one_write(pump, calls):
    _submit([1 + i % 5 for i in range(100)])
    records = pump.poll()
    assert len(records) == 100
    calls.clear()
    aggregator.lambda_handler({"Records": records[:99]}, CONTEXT)
    assert calls == ["BatchGetItem", "TransactWriteItems"]  # 99 markers + the counters
    calls.clear()
    aggregator.lambda_handler({"Records": records}, CONTEXT)
    assert calls == ["BatchGetItem", "TransactWriteItems"]  # only the 100th is new
    assert _analytics()["totalFeedback"] == 100


def test_a_bisected_batch_after_a_crash_past_the_commit_counts_each_record_once(pump):
    """The function counted the batch and then died (a timeout after the commit): Lambda
    bisects and re-delivers both halves, each of which starts at a record of its own."""
    _submit([5, 4, 3, 2, 1, 5])
    records = pump.poll()
    aggregator.lambda_handler({"Records": copy.deepcopy(records)}, CONTEXT)
    aggregator.lambda_handler({"Records": copy.deepcopy(records[:3])}, CONTEXT)
    aggregator.lambda_handler({"Records": copy.deepcopy(records[3:])}, CONTEXT)
    aggregator.lambda_handler({"Records": copy.deepcopy(records[4:5])}, CONTEXT)
    body = _analytics()
    assert body["totalFeedback"] == 6
    assert body["ratings"] == {"1": 1, "2": 1, "3": 1, "4": 1, "5": 2}


def test_a_half_applied_bisection_applies_only_the_rest(pump):
    _submit([5, 4, 3, 2])
    records = pump.poll()
    aggregator.lambda_handler({"Records": copy.deepcopy(records[2:3])}, CONTEXT)  # one half
    aggregator.lambda_handler({"Records": copy.deepcopy(records)}, CONTEXT)  # whole, re-delivered
    assert _analytics()["ratings"] == {"1": 0, "2": 1, "3": 1, "4": 1, "5": 1}


def test_a_concurrent_delivery_that_counted_first_cancels_and_the_retry_skips(pump, monkeypatch):
    _submit([5, 1])
    records = pump.poll()
    real = aggregator.applied_markers
    reads: list[str] = []

    def stale_then_real(table, event_ids):
        if not reads:  # the other delivery commits between this one's read and its write
            reads.append("stale")
            monkeypatch.setattr(aggregator, "applied_markers", real)
            aggregator.lambda_handler({"Records": copy.deepcopy(records)}, CONTEXT)
            monkeypatch.setattr(aggregator, "applied_markers", stale_then_real)
            return set()
        reads.append("fresh")
        return real(table, event_ids)

    monkeypatch.setattr(aggregator, "applied_markers", stale_then_real)
    aggregator.lambda_handler({"Records": copy.deepcopy(records)}, CONTEXT)
    assert reads == [
        "stale",
        "fresh",
    ]  # cancelled (ConditionalCheckFailed), read again, nothing left
    assert _analytics()["totalFeedback"] == 2


def test_each_transaction_carries_a_token_of_its_records_and_moment(pump, calls, monkeypatch):
    tokens: list[str] = []

    def keep(params, **kwargs):
        tokens.append(params["ClientRequestToken"])

    client = dynamo.client()
    client.meta.events.register("provide-client-params.dynamodb.TransactWriteItems", keep)
    try:
        _submit([5, 4])
        records = pump.poll()
        aggregator.lambda_handler({"Records": records}, CONTEXT)
    finally:
        client.meta.events.unregister("provide-client-params.dynamodb.TransactWriteItems", keep)
    [token] = tokens
    assert 1 <= len(token) <= 36  # TransactWriteItems' limit
    from datetime import UTC, datetime

    changes = aggregator.plan_batch(records).changes
    moment = datetime(2026, 11, 25, 10, tzinfo=UTC)
    first = aggregator.transaction("t", changes, moment)["ClientRequestToken"]
    assert aggregator.transaction("t", changes, moment)["ClientRequestToken"] == first
    assert aggregator.transaction("t", changes[:1], moment)["ClientRequestToken"] != first


def test_a_deletion_on_request_is_taken_back_and_an_expiry_is_not(pump, tables, ddb):
    _submit([5, 1, 3])
    aggregator.lambda_handler({"Records": pump.poll()}, CONTEXT)
    items = ddb.scan(TableName=tables["feedback"])["Items"]
    gone = next(i for i in items if i["rating"]["N"] == "1")
    kept = next(i for i in items if i["rating"]["N"] == "3")
    key = {"feedbackId": gone["feedbackId"]}
    # `forget`'s tombstone, then the delete; and an item the TTL process removes.
    ddb.update_item(
        TableName=tables["feedback"],
        Key=key,
        UpdateExpression="SET #s = :f",
        ConditionExpression="#s = :a",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":f": {"S": "forgotten"}, ":a": {"S": "active"}},
    )
    ddb.delete_item(TableName=tables["feedback"], Key=key)
    ddb.delete_item(TableName=tables["feedback"], Key={"feedbackId": kept["feedbackId"]})
    records = pump.poll()
    assert [r["eventName"] for r in records] == ["MODIFY", "REMOVE", "REMOVE"]
    records[2]["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    aggregator.lambda_handler({"Records": copy.deepcopy(records)}, CONTEXT)
    aggregator.lambda_handler({"Records": copy.deepcopy(records)}, CONTEXT)  # re-delivered
    body = _analytics()
    assert body["totalFeedback"] == 2
    assert body["ratings"] == {"1": 0, "2": 0, "3": 1, "4": 0, "5": 1}
    assert body["daily"][-1]["count"] == 2


def test_a_retried_batch_is_not_counted_twice(pump):
    _submit([5, 2, 4])
    records = pump.poll()
    event = {"Records": records}
    aggregator.lambda_handler(copy.deepcopy(event), CONTEXT)
    aggregator.lambda_handler(copy.deepcopy(event), CONTEXT)  # Lambda re-delivers the batch
    body = _analytics()
    assert body["totalFeedback"] == 3
    assert body["ratings"] == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1}


def _malformed(record: dict) -> dict:
    broken = copy.deepcopy(record)
    broken["dynamodb"]["NewImage"]["rating"] = {"S": "five"}
    return broken


def test_malformed_record_is_reported_and_the_rest_applied(pump):
    _submit([5, 4, 3, 2])
    records = pump.poll()
    records[1] = _malformed(records[1])
    result = aggregator.lambda_handler({"Records": records}, CONTEXT)
    assert result == {
        "batchItemFailures": [{"itemIdentifier": records[1]["dynamodb"]["SequenceNumber"]}]
    }
    assert _analytics()["totalFeedback"] == 3


def test_retry_from_the_failed_record_counts_only_new_records(pump):
    _submit([5, 4, 3])
    records = pump.poll()
    records[1] = _malformed(records[1])
    aggregator.lambda_handler({"Records": records}, CONTEXT)
    assert _analytics()["totalFeedback"] == 2
    # Lambda retries from the reported record; by now one more item has arrived.
    _submit([1])
    retry = records[1:] + pump.poll()
    result = aggregator.lambda_handler({"Records": retry}, CONTEXT)
    assert [f["itemIdentifier"] for f in result["batchItemFailures"]] == [
        records[1]["dynamodb"]["SequenceNumber"]
    ]
    body = _analytics()
    assert body["totalFeedback"] == 3
    assert body["ratings"] == {"1": 1, "2": 0, "3": 1, "4": 0, "5": 1}


def test_non_insert_records_are_ignored(tables):
    event = load_event("stream_batch.json")
    result = aggregator.lambda_handler(event, CONTEXT)
    assert result == {"batchItemFailures": []}
    body = _analytics()
    assert body["totalFeedback"] == 2  # the REMOVE record is not a submission
    assert body["sentiment"] == {"positive": 1, "neutral": 0, "negative": 1}


def test_record_without_sequence_number_is_reported(tables):
    event = load_event("stream_batch.json")
    del event["Records"][0]["dynamodb"]["SequenceNumber"]
    result = aggregator.lambda_handler(event, CONTEXT)
    assert result["batchItemFailures"] == [{"itemIdentifier": event["Records"][0]["eventID"]}]
    assert _analytics()["totalFeedback"] == 1


def test_empty_batch_makes_no_call(tables, calls):
    assert aggregator.lambda_handler({"Records": []}, CONTEXT) == {"batchItemFailures": []}
    assert calls == []


def test_storage_failure_raises_so_lambda_retries(tables, monkeypatch, capsys):
    from lambdas.common.config import reload_settings

    monkeypatch.setenv("ANALYTICS_TABLE_NAME", "missing-analytics")
    reload_settings()
    with pytest.raises(Exception, match="ResourceNotFound"):
        aggregator.lambda_handler(load_event("stream_batch.json"), CONTEXT)
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    # Logged with its type, below ERROR: the re-raised failure is Lambda's to count (Errors).
    assert any(
        x["level"] == "WARNING" and x["errorType"] == "ResourceNotFoundException" for x in lines
    )
