"""A function's DynamoDB calls travel through a Unix socket to the AWS process that `local up`
runs (worker.AwsChannel, inprocess.channel_answer, aws_process.ChannelServer): the function's
boto3 sees what it would see over HTTP, answers and errors alike, with no socket to the
endpoint."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest

from feedbackctl.local.aws_process import ChannelServer
from feedbackctl.local.inprocess import channel_answer
from feedbackctl.local.invoke import CodeStore, InvokeService
from tests.conftest import create_keyed_table

REGION = "us-east-1"
NOWHERE = "http://127.0.0.1:9"  # nothing listens: a call that used a socket would fail

HANDLER = """
import base64, threading
import boto3

ddb = boto3.client("dynamodb")  # made at import, before the channel is installed


def lambda_handler(event, context):
    if event.get("explode"):
        try:
            ddb.describe_table(TableName="explode")
        except Exception as exc:
            error, meta = exc.response["Error"], exc.response["ResponseMetadata"]
            return {"error": error["Code"], "status": meta["HTTPStatusCode"]}
    table, key = event["table"], event["key"]
    ddb.put_item(TableName=table, Item={"pk": {"S": key}, "b": {"B": bytes([0, 255, 7])}})
    got = ddb.get_item(TableName=table, Key={"pk": {"S": key}})["Item"]
    try:
        ddb.put_item(
            TableName=table,
            Item={"pk": {"S": key}},
            ConditionExpression="attribute_not_exists(pk)",
        )
        refused = None
    except ddb.exceptions.ConditionalCheckFailedException as exc:
        error = exc.response
        refused = [error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]]
    done = []

    def put(i):
        boto3.client("dynamodb").put_item(TableName=table, Item={"pk": {"S": f"{key}-{i}"}})
        done.append(i)

    threads = [threading.Thread(target=put, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    buckets = boto3.client("s3").list_buckets()  # not a JSON call: over HTTP as before
    return {
        "binary": base64.b64encode(got["b"]["B"]).decode(),
        "refused": refused,
        "threads": sorted(done),
        "s3": "Buckets" in buckets,
    }
"""


def _failing_on(marker: str, answer: Any) -> Any:
    """`answer`, raising for a call whose body names `marker` (an answerer's own failure)."""

    def maybe(call: dict[str, Any]) -> dict[str, Any]:
        if marker in call["body"]:
            raise RuntimeError("the answerer failed")
        return answer(call)

    return maybe


@pytest.fixture
def invoker(moto_server: Any, tmp_path: Path) -> Any:
    """The channel on the AWS process's socket (its `ChannelServer`, here in this process), as
    `local up` runs it."""
    url = moto_server.url
    server = ChannelServer(_failing_on("explode", channel_answer(moto_server.in_process())))
    moto_lambda = boto3.client("lambda", endpoint_url=url, region_name=REGION)
    store = CodeStore(boto3.client("s3", endpoint_url=url, region_name=REGION), tmp_path / "code")
    service = InvokeService(
        moto_lambda,
        boto3.client("logs", endpoint_url=url, region_name=REGION),
        store,
        worker_env={
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_MAX_ATTEMPTS": "1",
            "AWS_ENDPOINT_URL": url,
            "AWS_ENDPOINT_URL_DYNAMODB": NOWHERE,
        },
        work_dir=tmp_path,
        aws_socket=(NOWHERE, server.path),
    )
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("index.py", HANDLER)
    name = f"channel-{uuid.uuid4().hex[:8]}"
    store.add_zip(archive.getvalue())
    role = boto3.client("iam", endpoint_url=url, region_name=REGION).create_role(
        RoleName=name, AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    moto_lambda.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="index.lambda_handler",
        Code={"ZipFile": archive.getvalue()},
        Timeout=10,
    )
    yield service, name
    service.shutdown()
    server.close()


def test_a_functions_dynamodb_calls_are_answered_through_its_worker(
    invoker: Any, moto_server: Any
) -> None:
    service, name = invoker
    ddb = boto3.client("dynamodb", endpoint_url=moto_server.url, region_name=REGION)
    table = f"t-{uuid.uuid4().hex[:8]}"
    create_keyed_table(ddb, table)
    for key in ("first", "second"):  # the first call installs the channel, the second reuses it
        answer = service.invoke(name, json.dumps({"table": table, "key": key}).encode())
        assert answer.function_error is None, answer.payload
        result = json.loads(answer.payload)
        assert result == {
            "binary": "AP8H",
            "refused": ["ConditionalCheckFailedException", 400],
            "threads": [0, 1, 2, 3],
            "s3": True,
        }
        kept = ddb.get_item(TableName=table, Key={"pk": {"S": key}})["Item"]
        assert kept["b"]["B"] == bytes([0, 255, 7])
    keys = {item["pk"]["S"] for item in ddb.scan(TableName=table)["Items"]}
    assert keys == {"first", "second", *(f"{k}-{i}" for k in ("first", "second") for i in range(4))}


def test_a_call_the_platform_fails_to_answer_gets_a_500_and_the_worker_serves_on(
    invoker: Any,
) -> None:
    """The function gets the 500 a server gives for what raises, not a hang; the same worker
    answers the next invocation."""
    service, name = invoker
    answer = service.invoke(name, json.dumps({"explode": True}).encode())
    assert json.loads(answer.payload) == {"error": "InternalFailure", "status": 500}
    again = service.invoke(name, json.dumps({"explode": True}).encode())
    assert json.loads(again.payload) == {"error": "InternalFailure", "status": 500}
    assert service.cold_starts == 1
