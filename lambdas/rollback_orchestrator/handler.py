"""The rollback orchestrator: an error alarm's SNS message in, the shared rollback engine out.

Only ALARM transitions of a function's `<stack>-<function>-errors` alarm act; OK and
INSUFFICIENT_DATA, other alarms and unknown functions are logged and ignored. The incident key
(alarm name + state change time) makes a duplicate SNS delivery a no-op, and the engine's
conditional ledger claim makes concurrent deliveries move the alias once.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any

import boto3

from feedbackctl.engine.aws_ports import LambdaOps, SnsNotifier
from feedbackctl.engine.ledger import DynamoLedger
from feedbackctl.engine.release import incident_key
from feedbackctl.engine.rollback import Ports, RollbackRequest, RollbackResult, rollback
from feedbackctl.functions import FUNCTION_NAMES
from lambdas.common.runtime import Runtime

runtime = Runtime("rollback-orchestrator")
log = runtime.logger
ERRORS_ALARM_SUFFIX = "-errors"
_ports: Ports | None = None


def ports() -> Ports:
    """The engine's ports over this container's clients (created on first use)."""
    global _ports  # noqa: PLW0603 - one set of clients per container
    if _ports is None:
        stack = os.environ["STACK_NAME"]
        topic = os.environ.get("NOTIFICATIONS_TOPIC_ARN", "")
        _ports = Ports(
            lambda_=LambdaOps(boto3.client("lambda"), stack),
            ledger=DynamoLedger(boto3.client("dynamodb"), os.environ["LEDGER_TABLE_NAME"]),
            notifier=SnsNotifier(boto3.client("sns"), topic) if topic else None,
        )
    return _ports


def reset_ports() -> None:
    global _ports  # noqa: PLW0603
    _ports = None


def function_for_alarm(alarm_name: str, stack: str) -> str | None:
    """The seed function whose error alarm this is, or None."""
    prefix = f"{stack}-"
    if not alarm_name.startswith(prefix) or not alarm_name.endswith(ERRORS_ALARM_SUFFIX):
        return None
    name = alarm_name[len(prefix) : -len(ERRORS_ALARM_SUFFIX)]
    return name if name in FUNCTION_NAMES else None


def _alarm(record: dict[str, Any]) -> dict[str, Any] | None:
    try:
        message = json.loads(record["Sns"]["Message"])
    except (KeyError, TypeError, ValueError):
        return None
    return message if isinstance(message, dict) and "AlarmName" in message else None


def _summary(result: RollbackResult) -> dict[str, Any]:
    return {
        "function": result.function,
        "outcome": result.outcome,
        "from": result.from_version,
        "to": result.to_version,
        "rule": result.rule,
        "detail": result.message,
    }


def _changed_at(alarm: dict[str, Any]) -> datetime:
    """StateChangeTime as CloudWatch writes it in SNS: 2026-11-25T10:05:00.000+0000."""
    raw = str(alarm.get("StateChangeTime", ""))
    for pattern in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(raw, pattern)
        except ValueError:
            continue
    return datetime.now(UTC)


def handle_alarm(alarm: dict[str, Any]) -> dict[str, Any]:
    name = str(alarm["AlarmName"])
    state = alarm.get("NewStateValue")
    if state != "ALARM":
        log.info("alarm transition ignored", alarm=name, state=state)
        return {"alarm": name, "outcome": "ignored", "reason": f"state {state}"}
    function = function_for_alarm(name, os.environ["STACK_NAME"])
    if function is None:
        log.warning("alarm is not a function error alarm of this stack; ignored", alarm=name)
        return {"alarm": name, "outcome": "ignored", "reason": "not a function error alarm"}
    request = RollbackRequest(
        function=function,
        actor=f"alarm:{name}",
        reason=f"{name}: {alarm.get('NewStateReason', 'ALARM')}"[:500],
        now=datetime.now(UTC),
        automatic=True,
        incident=incident_key(name, _changed_at(alarm)),
    )
    result = rollback(request, ports())
    fields = _summary(result)
    if result.outcome == "failed":
        log.error("automatic rollback failed", **fields)
    elif result.outcome == "refused":
        log.warning("automatic rollback refused", **fields)
    else:
        log.info("automatic rollback " + result.outcome, **fields)
    return {"alarm": name, **fields}


@runtime.events
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    results = []
    for record in event.get("Records") or []:
        alarm = _alarm(record) if isinstance(record, dict) else None
        if alarm is None:
            log.warning("SNS record is not a CloudWatch alarm message; ignored")
            results.append({"outcome": "ignored", "reason": "not an alarm message"})
            continue
        results.append(handle_alarm(alarm))
    return {"results": results}
