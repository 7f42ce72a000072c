"""A process that owns a moto server with the local platform's durable state, for
test_local_durable.py: `write FOLDER N` makes N changes of every kind and waits to be killed;
`read FOLDER` restores, prints what it finds as JSON and stops cleanly; `settle FOLDER` restores,
waits for the snapshot the start takes in the background and exits without a clean stop."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import time
import zipfile
from pathlib import Path

import boto3

from feedbackctl.local.durable import Store, install_stable_stream_ids
from feedbackctl.sandbox import start_moto_server

TABLE = "durable-feedback"


def client(service: str, url: str):
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def code() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return 1\n")
    return buffer.getvalue()


def stream_records(url: str) -> list[tuple[str, str]]:
    ddb, streams = client("dynamodb", url), client("dynamodbstreams", url)
    arn = ddb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator, Limit=1000)["Records"]
    return [(r["eventID"], r["dynamodb"]["SequenceNumber"]) for r in records]


def write(url: str, store: Store, count: int) -> dict:
    ddb = client("dynamodb", url)
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    for i in range(count):
        ddb.put_item(TableName=TABLE, Item={"id": {"S": f"item-{i}"}, "n": {"N": str(i)}})
    ddb.update_item(
        TableName=TABLE,
        Key={"id": {"S": "counter"}},
        UpdateExpression="ADD hits :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )
    # Refused by its condition: it must not come back after a restart either.
    with contextlib.suppress(ddb.exceptions.ConditionalCheckFailedException):
        ddb.put_item(
            TableName=TABLE,
            Item={"id": {"S": "item-0"}, "n": {"N": "-1"}},
            ConditionExpression="attribute_not_exists(id)",
        )
    iam = client("iam", url)
    role = iam.create_role(
        RoleName="fn-role",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    s3 = client("s3", url)
    s3.create_bucket(Bucket="durable-code")
    s3.put_object(Bucket="durable-code", Key="fn.zip", Body=code())
    lam = client("lambda", url)
    lam.create_function(
        FunctionName="fn",
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code={"S3Bucket": "durable-code", "S3Key": "fn.zip"},
    )
    first = lam.publish_version(FunctionName="fn")["Version"]
    lam.update_function_configuration(FunctionName="fn", Timeout=9)
    second = lam.publish_version(FunctionName="fn")["Version"]
    lam.create_alias(FunctionName="fn", Name="live", FunctionVersion=first)
    lam.update_alias(
        FunctionName="fn",
        Name="live",
        FunctionVersion=first,
        RoutingConfig={"AdditionalVersionWeights": {second: 0.25}},
    )
    logs = client("logs", url)
    logs.create_log_group(logGroupName="/aws/lambda/fn")
    logs.create_log_stream(logGroupName="/aws/lambda/fn", logStreamName="s")
    logs.put_log_events(
        logGroupName="/aws/lambda/fn",
        logStreamName="s",
        logEvents=[{"timestamp": int(time.time() * 1000), "message": "hello"}],
    )
    cw = client("cloudwatch", url)
    cw.put_metric_alarm(
        AlarmName="fn-errors",
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    cw.set_alarm_state(AlarmName="fn-errors", StateValue="ALARM", StateReason="drill")
    records = stream_records(url)
    store.put_meta("poller", {"after": records[count // 2][1]})
    return {"records": records, "versions": [first, second]}


def read(url: str) -> dict:
    ddb, lam, s3 = client("dynamodb", url), client("lambda", url), client("s3", url)
    items = ddb.scan(TableName=TABLE, ConsistentRead=True)["Items"]
    alias = lam.get_alias(FunctionName="fn", Name="live")
    versions = lam.list_versions_by_function(FunctionName="fn")["Versions"]
    events = client("logs", url).get_log_events(logGroupName="/aws/lambda/fn", logStreamName="s")
    alarm = client("cloudwatch", url).describe_alarms(AlarmNames=["fn-errors"])["MetricAlarms"]
    return {
        "items": len(items),
        "item0": next(i["n"]["N"] for i in items if i["id"]["S"] == "item-0"),
        "hits": next(i["hits"]["N"] for i in items if i["id"]["S"] == "counter"),
        "records": stream_records(url),
        "alias": [alias["FunctionVersion"], alias["RoutingConfig"]["AdditionalVersionWeights"]],
        "timeouts": {v["Version"]: v["Timeout"] for v in versions},
        "code": len(s3.get_object(Bucket="durable-code", Key="fn.zip")["Body"].read()),
        "logs": [e["message"] for e in events["events"]],
        "alarm": alarm[0]["StateValue"],
    }


def main() -> None:
    mode, folder = sys.argv[1], Path(sys.argv[2])
    every = int(sys.argv[4]) if len(sys.argv) > 4 else 5000
    install_stable_stream_ids()
    store = Store(folder, snapshot_every=every)
    server, url = start_moto_server(wrap=store.wrap)
    restored = store.restore(server.app)
    started = {
        "replayed": restored.replayed,
        "snapshot": restored.snapshot,
        "meta": restored.meta,
        "snapshots_written": len(store.snapshots),  # by the start
    }
    if mode == "settle":  # the start's snapshot, taken in the background, then a crash
        deadline = time.monotonic() + 60
        while not store.snapshots and time.monotonic() < deadline:
            time.sleep(0.01)
        segments = sorted(p.name for p in folder.glob("journal.*.log"))
        print(json.dumps({**started, "settled": len(store.snapshots), "segments": segments}))
        sys.stdout.flush()
        os._exit(0)  # no clean stop: what is on disk is what the background left
    if mode == "write":
        written = write(url, store, int(sys.argv[3]))
        print(json.dumps({**started, **written}), flush=True)
        time.sleep(600)  # acknowledged: the test kills this process now
    else:
        print(json.dumps({**started, **read(url)}), flush=True)
        store.close()
        server.stop()


if __name__ == "__main__":
    main()
