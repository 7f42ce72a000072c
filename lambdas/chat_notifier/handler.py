"""The chat notifier: each message of the stage's notifications topic as one chat message.

SNS delivers the topic's messages here: the rollback engine's decisions (rolled back, refused,
skipped, failed) and the CloudWatch alarms that need a human. Each becomes one Slack
incoming-webhook message naming the function, the versions, the outcome and the feedbackctl
commands to look further. The webhook's URL is a Secrets Manager secret, cached for a few
minutes and never logged. A message the chat does not take raises, so Lambda retries the event
and then keeps it in the dead-letter queue; a record that is no such message is logged and
skipped. CloudFormation inlines this file as the function's whole code, so it imports only the
standard library and the runtime's boto3 (docs/notifications.md).
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

SERVICE = "chat-notifier"
WEBHOOK_ENV = "CHAT_WEBHOOK_SECRET_ID"  # the secret's name or ARN (the template sets it)
SECRET_TTL_S = 300.0  # a rotated URL is read again within five minutes, or after any failure
POST_TIMEOUT_S = 5.0  # connect and read, each; the function's timeout leaves room for both
LOOK_BACK = "15m"  # how far back the suggested `feedbackctl logs` command reads
MAX_VALUE = 500  # characters of one fact (a Slack section holds 3000)
MAX_TITLE = 150  # Slack's limit for a header block's text
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})  # plain http is accepted only here
OUTCOMES = {"done": "rolled back", "refused": "refused", "skipped": "skipped", "failed": "failed"}
# lambdas/common/log.py's pattern (a test keeps the two equal): this file can import neither it
# nor anything else of the repository.
_EMAIL_RE = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")  # a function or stage name safe in a command
_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40}


class SkippedError(Exception):
    """A record that is no notification this function posts: logged with why, never posted."""


class WebhookError(RuntimeError):
    """The chat did not take a message. Its text never holds the URL, which is a secret."""


# --- the message ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    """One chat message: a title, labelled facts and the commands that look further."""

    kind: str  # "rollback" or "alarm" (logged, never posted)
    title: str
    facts: tuple[tuple[str, str], ...]
    commands: tuple[str, ...]

    def payload(self) -> dict[str, Any]:
        """Slack's incoming-webhook body: `text` (the notification's fallback) and blocks."""
        facts = "\n".join(f"*{label}:* {_escape(_clip(value))}" for label, value in self.facts)
        commands = "\n".join(self.commands)
        header = {"type": "plain_text", "text": _clip(self.title, MAX_TITLE)}
        return {
            "text": _escape(self.title),
            "blocks": [
                {"type": "header", "text": header},
                {"type": "section", "text": {"type": "mrkdwn", "text": facts}},
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": f"Look further:\n```{commands}```"},
                },
            ],
        }


def notice_for(record: Any, stage: str, stack: str) -> Notice:
    """The chat message for one SNS record; SkippedError says why there is none."""
    sns = record.get("Sns") if isinstance(record, dict) else None
    if not isinstance(sns, dict) or not isinstance(sns.get("Message"), str):
        raise SkippedError("not an SNS notification")
    try:
        body = json.loads(sns["Message"])
    except ValueError:
        raise SkippedError("the message is not JSON") from None
    if not isinstance(body, dict):
        raise SkippedError("the message is not a JSON object")
    if "AlarmName" in body:
        return alarm_notice(body, stage, stack)
    if body.get("type") == "rollback":
        return rollback_notice(body, stage)
    raise SkippedError("neither a CloudWatch alarm nor a rollback decision")


def rollback_notice(body: dict[str, Any], stage: str) -> Notice:
    """A rollback decision, as the engine publishes it (feedbackctl/engine/rollback.py `_notify`,
    or a skip on the evidence: feedbackctl/engine/incident.py, a ledger event's fields)."""
    function = _text(body.get("function"))
    if not function:
        raise SkippedError("the rollback decision names no function")
    raw = body.get("details")
    details: dict[str, Any] = raw if isinstance(raw, dict) else {}
    outcome = _text(body.get("outcome")) or "unknown"
    current = _text(body.get("from")) or _text(body.get("previousVersion"))
    target = _text(body.get("to")) or _text(body.get("version"))
    rule = _text(body.get("rule"))
    versions = f"{current} → {target}" if current and target else current or target or "unknown"
    said = OUTCOMES.get(outcome, outcome)
    if outcome == "done":
        title = f"{function} rolled back from version {current} to {target}"
    else:
        title = f"{function}: rollback {said}" + (f" ({rule})" if rule else "")
    facts = [("Function", function), ("Versions", versions), ("Outcome", said)]
    optional = [
        ("Rule", rule),
        ("Detail", _text(body.get("message")) or _text(details.get("message"))),
        ("Why", _text(body.get("reason"))),
        ("By", _text(body.get("actor"))),
        ("At", _text(body.get("at"))),
    ]
    facts += [(label, value) for label, value in optional if value]
    return Notice("rollback", _staged(stage, title), tuple(facts), _commands(stage, function))


def alarm_notice(alarm: dict[str, Any], stage: str, stack: str) -> Notice:
    """A CloudWatch alarm's state change, as CloudWatch publishes it to SNS."""
    name = _text(alarm.get("AlarmName"))
    state = _text(alarm.get("NewStateValue")) or "unknown"
    before = _text(alarm.get("OldStateValue"))
    function = _function_of(alarm, stack)
    facts = [
        ("Alarm", name),
        ("State", f"{before} → {state}" if before else state),
        ("Reason", _text(alarm.get("NewStateReason"))),
        ("Function", function or ""),
        ("What", _text(alarm.get("AlarmDescription"))),
        ("At", _text(alarm.get("StateChangeTime"))),
    ]
    return Notice(
        "alarm",
        _staged(stage, f"{state}: {name}"),
        tuple((label, value) for label, value in facts if value),
        _commands(stage, function),
    )


def _function_of(alarm: dict[str, Any], stack: str) -> str | None:
    """The seed name an alarm's dimensions name: `Function` (our metrics) or `FunctionName`
    (AWS/Lambda's, `<stack>-<seed>`), in a plain alarm or in a metric-math alarm's metrics."""
    trigger = alarm.get("Trigger")
    if not isinstance(trigger, dict):
        return None
    dimensions = _list(trigger.get("Dimensions"))
    for metric in _list(trigger.get("Metrics")):
        stat = metric.get("MetricStat") if isinstance(metric, dict) else None
        if isinstance(stat, dict) and isinstance(stat.get("Metric"), dict):
            dimensions += _list(stat["Metric"].get("Dimensions"))
    for dimension in dimensions:
        if not isinstance(dimension, dict):
            continue
        # CloudWatch writes lower-case keys in notifications; its API capitalises them.
        key = dimension.get("name", dimension.get("Name"))
        value = _text(dimension.get("value", dimension.get("Value")))
        if key == "Function" and value:
            return value
        if key == "FunctionName" and value:
            return value.removeprefix(f"{stack}-") if stack else value
    return None


def _commands(stage: str, function: str | None) -> tuple[str, ...]:
    """What to run next; a name that could not be typed safely is left out of the command."""
    where = f" --stage {stage}" if _NAME.fullmatch(stage) else ""
    if function and _NAME.fullmatch(function):
        return (
            f"feedbackctl history --function {function}{where}",
            f"feedbackctl logs {function} --since {LOOK_BACK}{where}",
        )
    return (f"feedbackctl status{where}", f"feedbackctl logs --since {LOOK_BACK}{where}")


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _staged(stage: str, title: str) -> str:
    return f"[{stage}] {title}" if stage else title


def _text(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return ""
    return str(value).strip() if isinstance(value, str | int | float) else ""


def _clip(text: str, limit: int = MAX_VALUE) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _escape(text: str) -> str:
    """The three characters Slack's mrkdwn reserves, as the entities it expects."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- the webhook ------------------------------------------------------------------------------

_cached_url: tuple[str, float] | None = None  # (URL, when it was read: time.monotonic)
_secrets_client: Any = None


def webhook_url(clock: Callable[[], float] = time.monotonic) -> str:
    """The webhook URL from the secret named by CHAT_WEBHOOK_SECRET_ID, cached SECRET_TTL_S."""
    global _cached_url  # noqa: PLW0603 - one read per container and TTL is the point
    now = clock()
    if _cached_url is not None and now - _cached_url[1] < SECRET_TTL_S:
        return _cached_url[0]
    secret_id = os.environ.get(WEBHOOK_ENV, "").strip()
    if not secret_id:
        raise WebhookError(f"environment variable {WEBHOOK_ENV} is not set")
    answer = _secrets().get_secret_value(SecretId=secret_id)
    url = _url_from(answer.get("SecretString"))
    _cached_url = (url, now)
    return url


def forget_webhook() -> None:
    """Drop the cached URL: after a failed post (the secret may have been rotated), and in tests."""
    global _cached_url  # noqa: PLW0603
    _cached_url = None


def _secrets() -> Any:
    global _secrets_client  # noqa: PLW0603 - one client per container
    if _secrets_client is None:
        config = Config(
            connect_timeout=2, read_timeout=3, retries={"max_attempts": 3, "mode": "standard"}
        )
        _secrets_client = boto3.client("secretsmanager", config=config)
    return _secrets_client


def reset() -> None:
    """Forget the URL and the client (tests that point at another secret or endpoint)."""
    global _secrets_client  # noqa: PLW0603
    forget_webhook()
    _secrets_client = None


def _url_from(value: Any) -> str:
    """The secret's value: the URL itself, or a JSON object whose `url` is it."""
    text = str(value or "").strip()
    if text.startswith("{"):
        try:
            text = str(json.loads(text).get("url") or "").strip()
        except (ValueError, AttributeError):
            text = ""
    parts = urlsplit(text)
    if (parts.scheme == "https" and parts.hostname) or (
        parts.scheme == "http" and parts.hostname in LOOPBACK
    ):
        return text
    raise WebhookError('the webhook secret holds no https URL (write the URL, or {"url": ...})')


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A webhook that redirects is misconfigured: never resend the message somewhere else."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises HTTPError with the 3xx status


# No proxies from the environment: the message goes to the URL in the secret and nowhere else.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def post(url: str, payload: dict[str, Any]) -> int:
    """POST the JSON payload; the HTTP status, or WebhookError for anything but a 2xx."""
    request = urllib.request.Request(  # noqa: S310 - the scheme was checked by _url_from
        url,
        data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    try:
        with _OPENER.open(request, timeout=POST_TIMEOUT_S) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        status = exc.code
        exc.close()
    except OSError as exc:  # URLError, timeouts, refused connections
        reason = getattr(exc, "reason", exc)
        raise WebhookError(
            f"the chat webhook could not be reached ({type(reason).__name__})"
        ) from None
    if not 200 <= status < 300:
        raise WebhookError(f"the chat webhook answered HTTP {status}")
    return status


# --- logging: JSON lines with the platform's key names, emails redacted -------------------------

_context: dict[str, Any] = {}
_cold = True


def log(level: str, message: str, **fields: Any) -> None:
    """One JSON line on stdout (CloudWatch Logs), as lambdas/common/log.py writes them."""
    threshold = _LEVELS.get(os.environ.get("LOG_LEVEL", "INFO").strip().upper(), 20)
    if _LEVELS[level] < threshold:
        return
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"
    record = {"level": level, "message": message, "timestamp": stamp, "service": SERVICE}
    line = json.dumps({**record, **_context, **fields}, default=str, separators=(",", ":"))
    sys.stdout.write(_EMAIL_RE.sub("[REDACTED_EMAIL]", line) + "\n")
    sys.stdout.flush()


def _begin(context: Any) -> None:
    global _cold  # noqa: PLW0603 - per container
    _context.clear()
    _context.update(
        cold_start=_cold,
        function_name=getattr(context, "function_name", SERVICE),
        function_version=getattr(context, "function_version", "$LATEST"),
        function_request_id=getattr(context, "aws_request_id", None),
    )
    _cold = False


def _message_id(record: Any) -> str | None:
    sns = record.get("Sns") if isinstance(record, dict) else None
    value = sns.get("MessageId") if isinstance(sns, dict) else None
    return value if isinstance(value, str) else None


# --- the handler ------------------------------------------------------------------------------


def lambda_handler(event: Any, context: Any) -> dict[str, int]:
    """Post every record's message; raise when any could not be delivered (Lambda retries)."""
    _begin(context)
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        log("WARNING", "event has no Records: nothing to post")
        return {"posted": 0, "skipped": 0}
    stage, stack = os.environ.get("STAGE", "").strip(), os.environ.get("STACK_NAME", "").strip()
    posted, skipped, failed = 0, 0, []
    for record in records:
        message_id = _message_id(record)
        try:
            notice = notice_for(record, stage, stack)
        except SkippedError as why:
            skipped += 1
            log("WARNING", "record skipped", reason=str(why), message_id=message_id)
            continue
        try:
            status = post(webhook_url(), notice.payload())
        except WebhookError as exc:
            forget_webhook()
            failed.append(str(exc))
            log("ERROR", "chat message not delivered", error=str(exc), message_id=message_id)
            continue
        posted += 1
        log("INFO", "chat message posted", kind=notice.kind, status=status, message_id=message_id)
    if failed:
        raise WebhookError(f"{len(failed)} of {len(records)} messages not delivered: {failed[0]}")
    return {"posted": posted, "skipped": skipped}
