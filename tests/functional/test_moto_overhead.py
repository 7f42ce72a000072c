"""moto with its per-request overheads removed answers as moto does: GetRecords of every kind
of stream record and attribute type, through boto3, with and without the patch."""

from __future__ import annotations

import uuid

import boto3

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
