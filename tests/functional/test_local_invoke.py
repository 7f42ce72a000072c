"""The local invoke service behind the local AWS endpoint, driven through boto3 like any client."""

from __future__ import annotations

import base64
import io
import json
import random
import re
import zipfile
from pathlib import Path

import boto3
import pytest

from feedbackctl.local.endpoint import Endpoint
from feedbackctl.local.invoke import CodeStore, InvokeService

HANDLERS = {
    "ok": "def lambda_handler(event, context):\n    print('hello from', context.function_version)\n"
    "    return {'marker': MARKER, 'version': context.function_version, 'event': event}\n",
    "raise": "def lambda_handler(event, context):\n    raise ValueError('bad input ' + MARKER)\n",
    "sleep": "import time\ndef lambda_handler(event, context):\n    time.sleep(30)\n",
    "crash": "import os\ndef lambda_handler(event, context):\n    os._exit(3)\n",
}


def code(kind: str, marker: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", f"MARKER = {marker!r}\n" + HANDLERS[kind])
    return buffer.getvalue()


class Sink:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    def log_streams(self, streams: list[tuple[str, str, list[tuple[int, str]]]]) -> None:
        for group, stream, events in streams:
            self.events += [(group, stream, message) for _, message in events]


@pytest.fixture
def local(moto_endpoint, tmp_path):
    host, port = moto_endpoint.removeprefix("http://").split(":")
    moto_lambda, logs = (
        boto3.client("lambda", endpoint_url=moto_endpoint),
        boto3.client("logs", endpoint_url=moto_endpoint),
    )
    store, sink = (
        CodeStore(boto3.client("s3", endpoint_url=moto_endpoint), tmp_path / "code"),
        Sink(),
    )
    service = InvokeService(
        moto_lambda,
        logs,
        store,
        worker_env={"AWS_ENDPOINT_URL": moto_endpoint},
        work_dir=tmp_path,
        log_sink=sink,
        rng=random.Random(7),
    )
    endpoint = Endpoint(service, (host, int(port)), port=0)
    endpoint.start()
    client = boto3.client("lambda", endpoint_url=endpoint.url)
    role = boto3.client("iam", endpoint_url=moto_endpoint).create_role(
        RoleName=f"r-{tmp_path.name}", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]

    def add(name: str, versions: list[tuple[str, str]], timeout: int = 3) -> None:
        kind, marker = versions[0]
        first = code(kind, marker)
        store.add_zip(first)
        moto_lambda.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="index.lambda_handler",
            Code={"ZipFile": first},
            Timeout=timeout,
        )
        for i, (kind, marker) in enumerate(versions):
            data = code(kind, marker)
            store.add_zip(data)
            if i:
                moto_lambda.update_function_code(FunctionName=name, ZipFile=data)
            moto_lambda.publish_version(FunctionName=name)
        moto_lambda.create_alias(FunctionName=name, Name="live", FunctionVersion=str(len(versions)))

    yield client, add, service, sink, logs
    service.shutdown()
    endpoint.stop()


def _call(client, target: str, event=None):
    response = client.invoke(FunctionName=target, Payload=json.dumps(event or {"x": 1}).encode())
    return response, json.loads(response["Payload"].read())


def test_each_version_runs_its_own_code_and_reports_it(local, request):
    client, add, *_ = local
    name = f"fn-{request.node.name[:20]}"
    add(name, [("ok", "one"), ("ok", "two")])
    response, body = _call(client, f"{name}:live")
    assert response["StatusCode"] == 200
    assert response["ExecutedVersion"] == "2"
    assert body["marker"] == "two"
    assert body["event"] == {"x": 1}
    assert _call(client, f"{name}:1")[1]["marker"] == "one"
    arn = client.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    assert _call(client, f"{arn}:live")[1]["version"] == "2"


def test_every_json_payload_reaches_the_handler_as_it_was_sent(local, request):
    """A payload goes to the worker as its caller encoded it when it is one ASCII line (what
    the gateway and the pollers send); laid out over lines or with other characters, it is
    encoded again: the handler sees the same event either way."""
    client, add, *_ = local
    name = f"fn-{request.node.name[:20]}"
    add(name, [("ok", "one")])
    event = {"message": "naïve café ✓", "nested": {"list": [1, 2.5, None, True]}, "x": "a\nb"}
    for payload in (
        json.dumps(event).encode(),  # one ASCII line, as json.dumps writes it
        json.dumps(event, indent=2).encode(),  # over lines
        json.dumps(event, ensure_ascii=False).encode("utf-8"),  # UTF-8 beyond ASCII
        b"",  # empty: the empty object
    ):
        response = client.invoke(FunctionName=f"{name}:live", Payload=payload)
        body = json.loads(response["Payload"].read())
        assert body["event"] == (event if payload else {})


def test_a_payload_that_is_not_json_is_refused_as_lambda_refuses_it(local, request):
    """Invoke's API reference: InvalidRequestContentException, 400, "The request body could
    not be parsed as JSON"; for an event invocation too. Nothing runs."""
    client, add, service, *_ = local
    name = f"fn-{request.node.name[:20]}"
    add(name, [("ok", "one")])
    before = service.cold_starts
    for kind in ("RequestResponse", "Event"):
        with pytest.raises(client.exceptions.InvalidRequestContentException) as refused:
            client.invoke(FunctionName=f"{name}:live", Payload=b"not json", InvocationType=kind)
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert "Could not parse request body into json" in str(refused.value)
    assert service.cold_starts == before


def test_cold_start_once_then_warm_with_lambda_style_logs(local):
    client, add, service, sink, logs = local
    add("fn-logs", [("ok", "a")])
    before = service.cold_starts
    _call(client, "fn-logs:live")
    _call(client, "fn-logs:live")
    service.flush()  # logs are shipped off the request path
    assert service.cold_starts == before + 1
    lines = [m for g, s, m in sink.events if g == "/aws/lambda/fn-logs"]
    starts = [m for m in lines if m.startswith("START RequestId:")]
    reports = [m for m in lines if m.startswith("REPORT RequestId:")]
    assert len(starts) == 2
    assert starts[0].endswith("Version: 1")
    assert "Init Duration" in reports[0]
    assert "Init Duration" not in reports[1]
    assert "hello from 1" in lines
    streams = logs.describe_log_streams(logGroupName="/aws/lambda/fn-logs")["logStreams"]
    assert all(
        re.match(r"^\d{4}/\d{2}/\d{2}/\[1\][0-9a-f]{32}$", s["logStreamName"]) for s in streams
    )
    stored = logs.get_log_events(
        logGroupName="/aws/lambda/fn-logs", logStreamName=streams[0]["logStreamName"]
    )
    assert any(e["message"].startswith("END RequestId:") for e in stored["events"])


def test_log_type_tail_returns_the_invocation_log(local):
    client, add, *_ = local
    add("fn-tail", [("ok", "t")])
    response = client.invoke(FunctionName="fn-tail:live", Payload=b"{}", LogType="Tail")
    tail = base64.b64decode(response["LogResult"]).decode()
    assert tail.startswith("START RequestId: ")
    assert "hello from 1" in tail
    assert "REPORT RequestId: " in tail


def test_alias_weights_split_traffic(local):
    client, add, *_ = local
    add("fn-canary", [("ok", "old"), ("ok", "new")])
    client.update_alias(
        FunctionName="fn-canary",
        Name="live",
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.25}},
    )
    versions = [_call(client, "fn-canary:live")[0]["ExecutedVersion"] for _ in range(200)]
    assert 30 <= versions.count("2") <= 70  # 25 % of 200, seeded
    assert versions.count("1") + versions.count("2") == 200


def test_unhandled_error_is_a_function_error(local):
    client, add, *_ = local
    add("fn-raise", [("raise", "x")])
    response, body = _call(client, "fn-raise:live")
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "bad input x"


def test_timeout_kills_the_worker_and_the_next_call_is_cold(local):
    client, add, service, *_ = local
    add("fn-sleep", [("sleep", "x")], timeout=1)
    response, body = _call(client, "fn-sleep:live")
    assert response["FunctionError"] == "Unhandled"
    assert "Task timed out after 1.00 seconds" in body["errorMessage"]
    before = service.cold_starts
    _call(client, "fn-sleep:live")
    assert service.cold_starts == before + 1


def test_a_crashing_worker_does_not_take_the_platform_down(local):
    client, add, *_ = local
    add("fn-crash", [("crash", "x")])
    add("fn-fine", [("ok", "y")])
    response, body = _call(client, "fn-crash:live")
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ExitError"
    assert _call(client, "fn-fine:live")[1]["marker"] == "y"


def test_unknown_function_is_resource_not_found(local):
    client, *_ = local
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName="no-such-function:live", Payload=b"{}")


def test_other_calls_reach_moto(local):
    client, add, *_ = local
    add("fn-list", [("ok", "z")])
    assert client.get_alias(FunctionName="fn-list", Name="live")["FunctionVersion"] == "1"


def test_shutdown_leaves_no_worker_process(local):
    client, add, service, *_ = local
    add("fn-pids", [("ok", "p")])
    _call(client, "fn-pids:live")
    pids = service.worker_pids
    assert pids
    service.shutdown()
    for pid in pids:
        assert (
            not Path(f"/proc/{pid}").exists()
            or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
        )
