"""moto with its per-request overheads removed answers as moto does: GetRecords of every kind
of stream record and attribute type, through boto3, with and without the patch."""

from __future__ import annotations

import uuid

import boto3
import pytest

from feedbackctl.local import moto_overhead
from feedbackctl.sandbox import create_tables


def _read(streams, arn: str) -> list[dict]:
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    answer = streams.get_records(ShardIterator=iterator, Limit=100)
    assert answer["NextShardIterator"]
    return answer["Records"]


def test_get_records_answers_as_motos_own_serializer(moto_endpoint) -> None:
    ddb = boto3.client("dynamodb", endpoint_url=moto_endpoint)
    streams = boto3.client("dynamodbstreams", endpoint_url=moto_endpoint)
    table = f"fb-{uuid.uuid4().hex[:6]}"
    create_tables(ddb, table, f"an-{uuid.uuid4().hex[:6]}")
    item = {
        "feedbackId": {"S": "a"},
        "rating": {"N": "4"},
        "score": {"N": "-0.125"},
        "tags": {"SS": ["x", "y"]},
        "counts": {"NS": ["1", "2.5"]},
        "blob": {"B": b"\x00\x01\xff"},
        "blobs": {"BS": [b"\x02", b"\x03"]},
        "nested": {"M": {"ok": {"BOOL": True}, "none": {"NULL": True}, "l": {"L": [{"N": "1"}]}}},
        "message": {"S": 'héllo "quoted" \u2603'},
    }
    ddb.put_item(TableName=table, Item=item)
    ddb.update_item(
        TableName=table,
        Key={"feedbackId": {"S": "a"}},
        UpdateExpression="SET rating = :r",
        ExpressionAttributeValues={":r": {"N": "5"}},
    )
    ddb.delete_item(TableName=table, Key={"feedbackId": {"S": "a"}})
    arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    fast = _read(streams, arn)
    moto_overhead.uninstall()
    try:
        own = _read(streams, arn)
    finally:
        moto_overhead.install()
    assert [r["eventName"] for r in fast] == ["INSERT", "MODIFY", "REMOVE"]
    assert fast[0]["dynamodb"]["NewImage"]["blob"] == {"B": b"\x00\x01\xff"}
    assert fast == own


def _conditional_writes(ddb, table: str) -> list:
    """A run of conditional writes, each twice where a kept tree would answer the second:
    what each answered (the item's attributes returned, or the error's code and message)."""
    new = {"ConditionExpression": "attribute_not_exists(feedbackId)"}
    at_least = {
        "ConditionExpression": "#r >= :min",
        "ExpressionAttributeNames": {"#r": "rating"},
    }
    calls = [
        ("put_item", {"Item": {"feedbackId": {"S": "a"}, "rating": {"N": "3"}}, **new}),
        (
            "put_item",
            {
                "Item": {"feedbackId": {"S": "a"}, "rating": {"N": "5"}},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                **new,
            },
        ),
        # The same expression and names, other values: the values decide.
        *[
            (
                "update_item",
                {
                    "Key": {"feedbackId": {"S": "a"}},
                    "UpdateExpression": "SET note = :n",
                    "ExpressionAttributeValues": {":min": {"N": minimum}, ":n": {"S": minimum}},
                    "ReturnValues": "ALL_NEW",
                    **at_least,
                },
            )
            for minimum in ("2", "4", "2", "4")
        ],
        # A name the expression does not use is refused, the second time too.
        *[
            (
                "put_item",
                {
                    "Item": {"feedbackId": {"S": "b"}},
                    "ExpressionAttributeNames": {"#unused": "x"},
                    **new,
                },
            )
        ]
        * 2,
        (
            "delete_item",
            {
                "Key": {"feedbackId": {"S": "a"}},
                "ConditionExpression": "rating = :v",
                "ExpressionAttributeValues": {":v": {"N": "3"}},
            },
        ),
    ]
    answers = []
    for method, arguments in calls:
        try:
            answer = getattr(ddb, method)(TableName=table, **arguments)
            answers.append(("ok", answer.get("Attributes")))
        except ddb.exceptions.ClientError as exc:
            error = exc.response["Error"]
            answers.append((error["Code"], error["Message"], exc.response.get("Item")))
    return answers


def test_conditional_writes_answer_as_moto_does_with_kept_condition_trees(moto_endpoint) -> None:
    ddb = boto3.client("dynamodb", endpoint_url=moto_endpoint)

    def run() -> list:
        table = f"fb-{uuid.uuid4().hex[:6]}"
        create_tables(ddb, table, f"an-{uuid.uuid4().hex[:6]}")
        return _conditional_writes(ddb, table)

    kept = run()
    moto_overhead.uninstall()
    try:
        own = run()
    finally:
        moto_overhead.install()
    assert kept == own
    codes = [answer[0] for answer in kept]
    assert codes == [
        "ok",
        "ConditionalCheckFailedException",
        "ok",
        "ConditionalCheckFailedException",
        "ok",
        "ConditionalCheckFailedException",
        "ValidationException",
        "ValidationException",
        "ok",
    ]
    assert kept[1][2] == {"feedbackId": {"S": "a"}, "rating": {"N": "3"}}  # ALL_OLD
    assert kept[2][1]["note"] == {"S": "2"}


def test_kept_condition_trees_are_bounded() -> None:
    from moto.dynamodb.comparisons import ConditionExpressionParser

    for n in range(moto_overhead.PARSED_KEPT + 50):
        parser = ConditionExpressionParser(f"attribute_exists(a{n})", {}, {})
        assert parser.parse().expr(None) is False
    assert len(moto_overhead._parsed) == moto_overhead.PARSED_KEPT


def test_a_condition_that_does_not_parse_is_refused_as_dynamodb_refuses_it(moto_endpoint) -> None:
    """DynamoDB answers 400 ValidationException; moto answered 500, which botocore retries."""
    from botocore.config import Config

    ddb = boto3.client(
        "dynamodb", endpoint_url=moto_endpoint, config=Config(retries={"max_attempts": 1})
    )
    table = f"fb-{uuid.uuid4().hex[:6]}"
    create_tables(ddb, table, f"an-{uuid.uuid4().hex[:6]}")
    item = {"feedbackId": {"S": "a"}, "rating": {"N": "3"}}
    cases = {
        "a = =": "Invalid ConditionExpression: Syntax error; ",
        "rating = :nope": (
            "Invalid ConditionExpression: An expression attribute value used in expression is "
            "not defined; attribute value: :nope"
        ),
        "#nope = :v": (
            "Invalid ConditionExpression: An expression attribute name used in the document "
            "path is not defined; attribute name: #nope"
        ),
    }
    for expression, message in cases.items():
        values = {":v": {"N": "1"}} if ":v" in expression else {}
        for _ in range(2):  # refused again: nothing was kept of it
            with pytest.raises(ddb.exceptions.ClientError) as refused:
                ddb.put_item(
                    TableName=table,
                    Item=item,
                    ConditionExpression=expression,
                    **({"ExpressionAttributeValues": values} if values else {}),
                )
            error = refused.value.response
            assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
            assert error["Error"]["Code"] == "ValidationException"
            assert error["Error"]["Message"].startswith(message)
    assert "Item" not in ddb.get_item(TableName=table, Key={"feedbackId": {"S": "a"}})
    # A filter that does not parse keeps moto's own words, still a 400.
    with pytest.raises(ddb.exceptions.ClientError) as refused:
        ddb.scan(TableName=table, FilterExpression="a = =")
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert refused.value.response["Error"]["Message"].startswith("Bad Filter Expression: ")
