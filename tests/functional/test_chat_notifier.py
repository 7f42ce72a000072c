"""The chat notifier end to end: the webhook URL in a Secrets Manager secret (moto server), a chat
that is a real HTTP server on 127.0.0.1, and messages as SNS delivers them: CloudWatch's alarm
JSON (tests/events) and a rollback the engine performed and published through moto's SNS."""

from __future__ import annotations

import json
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest

from feedbackctl.engine.ledger import DynamoLedger
from feedbackctl.engine.model import LedgerEvent, LedgerState
from feedbackctl.engine.rollback import RollbackRequest, rollback
from lambdas.chat_notifier import handler
from lambdas.chat_notifier.handler import WebhookError, lambda_handler
from tests.conftest import load_event
from tests.functional.engine_fixtures import EngineWorld, make_world

FN = "create-feedback"
ALARM = "feedback-events-create-feedback-lambda-errors"


class Chat:
    """A chat's incoming webhook: keeps every POST and answers `status` (and `location`)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.status = 200
        self.location: str | None = None
        chat = self

        class Webhook(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                chat.received.append(
                    {
                        "path": self.path,
                        "content_type": self.headers.get("Content-Type"),
                        "body": json.loads(body),
                    }
                )
                answer = b"ok" if chat.status == 200 else b"no_service"
                self.send_response(chat.status)
                if chat.location:
                    self.send_header("Location", chat.location)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:  # quiet: the test reads `received`
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def chat() -> Iterator[Chat]:
    server = Chat()
    yield server
    server.close()


@pytest.fixture
def token() -> str:
    """The secret part of the webhook's URL, as in a Slack incoming webhook's path."""
    return f"hush{uuid.uuid4().hex}"


def use_webhook(url: str, monkeypatch: pytest.MonkeyPatch, stack: str = "feedback-events") -> str:
    """A secret holding `url`; the notifier's environment names it. Returns the secret's ARN."""
    secrets = boto3.client("secretsmanager")
    arn = str(secrets.create_secret(Name=f"chat-{uuid.uuid4().hex[:8]}", SecretString=url)["ARN"])
    monkeypatch.setenv("CHAT_WEBHOOK_SECRET_ID", arn)
    monkeypatch.setenv("STAGE", "prod")
    monkeypatch.setenv("STACK_NAME", stack)
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    handler.reset()
    return arn


@pytest.fixture
def webhook(
    moto_endpoint: str, chat: Chat, token: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    url = f"http://127.0.0.1:{chat.port}/services/T0001/B0002/{token}"
    use_webhook(url, monkeypatch)
    yield url
    handler.reset()


def secret_reads() -> list[str]:
    """Every GetSecretValue the notifier's client makes from now on."""
    calls: list[str] = []
    handler._secrets().meta.events.register(
        "provide-client-params.secrets-manager.GetSecretValue",
        lambda params, **_: calls.append(params["SecretId"]),
    )
    return calls


def alarm_event() -> dict[str, Any]:
    return load_event("sns_alarm_lambda_errors.json")


def delivered(world: EngineWorld) -> list[dict[str, Any]]:
    """The engine's publications as SNS hands them to a Lambda subscriber (from the probe)."""
    records = []
    while got := world.sqs.receive_message(QueueUrl=world.queue_url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        for message in got:
            envelope = json.loads(message["Body"])
            records.append(
                {
                    "EventSource": "aws:sns",
                    "EventVersion": "1.0",
                    "EventSubscriptionArn": f"{envelope['TopicArn']}:{uuid.uuid4()}",
                    "Sns": {
                        "Type": envelope["Type"],
                        "MessageId": envelope["MessageId"],
                        "TopicArn": envelope["TopicArn"],
                        "Subject": envelope["Subject"],
                        "Message": envelope["Message"],
                        "Timestamp": envelope["Timestamp"],
                        "SignatureVersion": envelope["SignatureVersion"],
                        "Signature": envelope["Signature"],
                        "SigningCertUrl": envelope["SigningCertURL"],
                        "UnsubscribeUrl": envelope["UnsubscribeURL"],
                        "MessageAttributes": {},
                    },
                }
            )
            world.sqs.delete_message(
                QueueUrl=world.queue_url, ReceiptHandle=message["ReceiptHandle"]
            )
    return records


@pytest.fixture
def world(moto_endpoint: str) -> EngineWorld:
    """create-feedback with versions 1-3, 3 live after releases 2 and 3 (the ledger says so)."""
    w = make_world()
    w.add_function(FN, versions=3)
    state = LedgerState(FN).with_release("2", "1").with_release("3", "2")
    release = LedgerEvent(
        FN, "release", "done", "2026-11-01T10:00:00.000Z", "deployer", "r", "3", "2"
    )
    assert DynamoLedger(w.ddb, w.ledger_table).claim(0, state, release, "")
    return w


# --- what the chat receives ----------------------------------------------------------------------


def test_a_rollback_the_engine_made_reaches_the_chat_as_this_message(
    world: EngineWorld, chat: Chat, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_webhook(
        f"http://127.0.0.1:{chat.port}/services/T0001/B0002/{token}", monkeypatch, world.stack
    )
    asked = RollbackRequest(
        FN, actor="alice", reason="5xx after the release", now=datetime.now(UTC)
    )
    assert rollback(asked, world.ports()).outcome == "done"
    [record] = delivered(world)
    at = json.loads(record["Sns"]["Message"])["at"]

    assert lambda_handler({"Records": [record]}, None) == {"posted": 1, "skipped": 0}

    title = "[prod] create-feedback rolled back from version 3 to 2"
    assert chat.received == [
        {
            "path": f"/services/T0001/B0002/{token}",
            "content_type": "application/json; charset=utf-8",
            "body": {
                "text": title,
                "blocks": [
                    {"type": "header", "text": {"type": "plain_text", "text": title}},
                    {
                        "type": "section",
                        "text": {
                            "type": "mrkdwn",
                            "text": "*Function:* create-feedback\n"
                            "*Versions:* 3 → 2\n"
                            "*Outcome:* rolled back\n"
                            "*Detail:* create-feedback rolled back from 3 to 2\n"
                            "*Why:* 5xx after the release\n"
                            "*By:* alice\n"
                            f"*At:* {at}",
                        },
                    },
                    {
                        "type": "section",
                        "text": {
                            "type": "mrkdwn",
                            "text": "Look further:\n```"
                            "feedbackctl history --function create-feedback --stage prod\n"
                            "feedbackctl logs create-feedback --since 15m --stage prod```",
                        },
                    },
                ],
            },
        }
    ]


def test_an_alarm_reaches_the_chat_as_this_message(webhook: str, chat: Chat, token: str) -> None:
    assert lambda_handler(alarm_event(), None) == {"posted": 1, "skipped": 0}
    title = f"[prod] ALARM: {ALARM}"
    [received] = chat.received
    assert received["path"] == f"/services/T0001/B0002/{token}"
    assert received["body"] == {
        "text": title,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": title}},
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"*Alarm:* {ALARM}\n"
                    "*State:* OK → ALARM\n"
                    "*Reason:* Threshold Crossed: 1 out of the last 1 datapoints [20.0 (25/11/26 "
                    "10:04:00)] was greater than the threshold (5.0) (minimum 1 datapoint for OK "
                    "-&gt; ALARM transition).\n"
                    "*Function:* create-feedback\n"
                    "*What:* More than 5 failed invocations of "
                    "feedback-events-create-feedback:live in 60 s\n"
                    "*At:* 2026-11-25T10:05:00.000+0000",
                },
            },
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "Look further:\n```"
                    "feedbackctl history --function create-feedback --stage prod\n"
                    "feedbackctl logs create-feedback --since 15m --stage prod```",
                },
            },
        ],
    }


def test_a_malformed_record_is_skipped_and_the_rest_of_the_batch_posted(
    webhook: str, chat: Chat, capsys: pytest.CaptureFixture[str]
) -> None:
    [alarm] = alarm_event()["Records"]
    junk = {"EventSource": "aws:sns", "Sns": {"MessageId": "m-junk", "Message": "{truncated"}}
    assert lambda_handler({"Records": [junk, alarm]}, None) == {"posted": 1, "skipped": 1}
    assert len(chat.received) == 1
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(line["level"], line["message"]) for line in lines] == [
        ("WARNING", "record skipped"),
        ("INFO", "chat message posted"),
    ]
    assert (lines[0]["reason"], lines[0]["message_id"]) == ("the message is not JSON", "m-junk")
    assert (lines[1]["kind"], lines[1]["status"]) == ("alarm", 200)


# --- failures: retried by Lambda, the URL never told ---------------------------------------------


def test_a_500_from_the_chat_raises_so_lambda_retries_and_the_url_is_never_logged(
    webhook: str, chat: Chat, token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    reads = secret_reads()
    chat.status = 500
    with pytest.raises(WebhookError) as failed:
        lambda_handler(alarm_event(), None)
    assert str(failed.value) == "1 of 1 messages not delivered: the chat webhook answered HTTP 500"
    assert len(chat.received) == 1  # one attempt per invocation: Lambda does the retrying
    shown = "".join(traceback.format_exception(failed.value))
    out, err = capsys.readouterr()
    for text in (shown, out, err):
        assert token not in text
        assert f"127.0.0.1:{chat.port}" not in text
    [line] = [json.loads(line) for line in out.splitlines()]
    assert (line["level"], line["message"], line["error"]) == (
        "ERROR",
        "chat message not delivered",
        "the chat webhook answered HTTP 500",
    )

    chat.status = 200  # Lambda's retry: the secret is read again (it may have been rotated)
    assert lambda_handler(alarm_event(), None) == {"posted": 1, "skipped": 0}
    assert len(reads) == 2
    assert token not in capsys.readouterr().out


def test_an_unreachable_chat_raises_without_the_url(
    moto_endpoint: str,
    token: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as probe:  # a port nothing listens on once it is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    use_webhook(f"http://127.0.0.1:{port}/services/T0001/B0002/{token}", monkeypatch)
    with pytest.raises(WebhookError) as failed:
        lambda_handler(alarm_event(), None)
    assert str(failed.value) == (
        "1 of 1 messages not delivered: "
        "the chat webhook could not be reached (ConnectionRefusedError)"
    )
    assert token not in "".join(traceback.format_exception(failed.value)) + capsys.readouterr().out
    handler.reset()


def test_a_redirecting_webhook_is_not_followed(webhook: str, chat: Chat, token: str) -> None:
    chat.status, chat.location = 302, f"http://127.0.0.1:{chat.port}/elsewhere"
    with pytest.raises(WebhookError, match=r"answered HTTP 302$"):
        lambda_handler(alarm_event(), None)
    assert [r["path"] for r in chat.received] == [f"/services/T0001/B0002/{token}"]


def test_an_actors_email_reaches_the_chat_but_never_the_logs(
    world: EngineWorld,
    chat: Chat,
    token: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    use_webhook(
        f"http://127.0.0.1:{chat.port}/services/T0001/B0002/{token}", monkeypatch, world.stack
    )
    asked = RollbackRequest(FN, actor="alice@example.com", reason="5xx", now=datetime.now(UTC))
    rollback(asked, world.ports())
    capsys.readouterr()
    lambda_handler({"Records": delivered(world)}, None)
    assert "*By:* alice@example.com" in chat.received[0]["body"]["blocks"][1]["text"]["text"]
    assert "alice@example.com" not in capsys.readouterr().out


# --- the secret ---------------------------------------------------------------------------------


def test_the_secret_is_read_once_and_again_after_its_ttl(webhook: str, chat: Chat) -> None:
    reads = secret_reads()
    lambda_handler(alarm_event(), None)
    lambda_handler(alarm_event(), None)
    assert len(reads) == 1
    assert handler.webhook_url(clock=lambda: time.monotonic() + handler.SECRET_TTL_S) == webhook
    assert len(reads) == 2
    assert len(chat.received) == 2


def test_a_secret_as_a_json_object_works_too(
    moto_endpoint: str, chat: Chat, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://127.0.0.1:{chat.port}/services/T0001/B0002/{token}"
    use_webhook(json.dumps({"url": url}), monkeypatch)
    assert lambda_handler(alarm_event(), None) == {"posted": 1, "skipped": 0}
    assert chat.received[0]["path"] == f"/services/T0001/B0002/{token}"
    handler.reset()
