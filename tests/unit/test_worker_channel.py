"""The worker's AWS channel (feedbackctl.local.worker.AwsChannel) carries only what it should:
JSON-protocol calls to its endpoint, the answer read back as botocore's."""

from __future__ import annotations

import io
import json
from typing import Any

from botocore.awsrequest import AWSPreparedRequest

from feedbackctl.local.worker import AwsChannel

ENDPOINT = "http://127.0.0.1:4566"
TARGET = {"X-Amz-Target": "DynamoDB_20120810.PutItem", "Content-Type": "application/x-amz-json-1.0"}


def _request(
    url: str = ENDPOINT + "/", headers: dict[str, str] | None = None, body: Any = b"{}"
) -> Any:
    return AWSPreparedRequest("POST", url, TARGET if headers is None else headers, body, None)


def _channel(replies: list[dict[str, Any]]) -> tuple[AwsChannel, io.StringIO]:
    out = io.StringIO()
    lines = io.StringIO("".join(json.dumps(reply) + "\n" for reply in replies))
    return AwsChannel(out, lines, ENDPOINT), out


def test_a_json_call_to_the_endpoint_goes_through_the_channel() -> None:
    reply = {
        "status": 400,
        "headers": [["x-amzn-RequestId", "r1"]],
        "body": '{"__type": "x\u00ff"}',
    }
    channel, out = _channel([reply])
    answer = channel.send(_request(body='{"TableName": "t\u00e9"}'))
    sent = json.loads(out.getvalue())["aws"]
    assert sent["url"] == ENDPOINT + "/"
    assert ["X-Amz-Target", "DynamoDB_20120810.PutItem"] in sent["headers"]
    assert sent["body"].encode("latin-1") == '{"TableName": "t\u00e9"}'.encode()
    assert answer.status_code == 400
    assert answer.headers["x-amzn-requestid"] == "r1"
    assert answer.content == '{"__type": "x\u00ff"}'.encode("latin-1")


def test_other_calls_go_over_http() -> None:
    channel, out = _channel([])
    assert channel.send(_request(url="http://127.0.0.1:45660/")) is None  # another endpoint
    assert channel.send(_request(headers={"Content-Type": "application/xml"})) is None
    assert channel.send(_request(body=io.BytesIO(b"streamed"))) is None
    assert out.getvalue() == ""
