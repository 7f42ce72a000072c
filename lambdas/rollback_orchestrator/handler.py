"""The rollback orchestrator: an error alarm's SNS message in, the shared rollback engine out.

This handler only parses SNS records, reads the container's clients and the stage's verdict
rules, and logs. The decision is feedbackctl/engine/incident.py, the path `feedbackctl watch`
takes too: the function from the alarm's dimensions (never its name), per-version evidence that
must blame the current version, then a recorded skip or the engine's once-per-incident rollback.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any

import boto3

from feedbackctl.engine.aws_ports import build_ports
from feedbackctl.engine.incident import (
    Responder,
    Response,
    alarm_facts,
    function_for_alarm,
    ignore_reason,
    metrics_evidence,
    respond,
)
from feedbackctl.engine.rollback import Ports
from feedbackctl.engine.verdict import VerdictRules
from lambdas.common.runtime import Runtime

runtime = Runtime("rollback-orchestrator")
log = runtime.logger
# The mapping is the engine's; re-exported because the local platform's tests read it here.
__all__ = ["function_for_alarm", "lambda_handler"]
_ports: Ports | None = None
_cloudwatch: Any = None


def ports() -> Ports:
    """The engine's ports over this container's clients (created on first use)."""
    global _ports  # noqa: PLW0603 - one set of clients per container
    if _ports is None:
        topic = os.environ.get("NOTIFICATIONS_TOPIC_ARN", "")
        _ports = build_ports(
            boto3.client("lambda"),
            boto3.client("dynamodb"),
            boto3.client("sns") if topic else None,  # no topic: no SNS client to create
            stack=os.environ["STACK_NAME"],
            topic_arn=topic,
            ledger_table=os.environ["LEDGER_TABLE_NAME"],
        )
    return _ports


def cloudwatch() -> Any:
    """This container's CloudWatch client (evidence reads)."""
    global _cloudwatch  # noqa: PLW0603 - one client per container
    if _cloudwatch is None:
        _cloudwatch = boto3.client("cloudwatch")
    return _cloudwatch


def reset_ports() -> None:
    global _ports, _cloudwatch  # noqa: PLW0603
    _ports = None
    _cloudwatch = None


def verdict_rules() -> VerdictRules:
    """The stage's `[stages.S.release]` thresholds, set by the template; defaults otherwise."""
    default = VerdictRules()
    env = os.environ.get
    return VerdictRules(
        min_invocations=int(env("VERDICT_MIN_INVOCATIONS", default.min_invocations)),
        max_error_rate_increase=float(
            env("VERDICT_MAX_ERROR_RATE_INCREASE", default.max_error_rate_increase)
        ),
        max_p99_ratio=float(env("VERDICT_MAX_P99_RATIO", default.max_p99_ratio)),
        p99_floor_ms=float(env("VERDICT_P99_FLOOR_MS", default.p99_floor_ms)),
        p99_min_invocations=int(env("VERDICT_P99_MIN_INVOCATIONS", default.p99_min_invocations)),
    )


# --- handling ---------------------------------------------------------------------------------


def _alarm(record: dict[str, Any]) -> dict[str, Any] | None:
    try:
        message = json.loads(record["Sns"]["Message"])
    except (KeyError, TypeError, ValueError):
        return None
    return message if isinstance(message, dict) and "AlarmName" in message else None


def _log(response: Response) -> None:
    fields = response.as_dict()
    if response.outcome == "ignored":
        # OK and INSUFFICIENT_DATA are routine; an ALARM we cannot place is worth a look.
        routine = response.reason.startswith("state ")
        (log.info if routine else log.warning)("alarm transition ignored", **fields)
        return
    evidence = response.verdict.check.as_dict() if response.verdict else None
    if response.outcome == "failed":
        log.error("automatic rollback failed", **fields)
    elif response.outcome == "refused":
        log.warning("automatic rollback refused", **fields)
    elif response.outcome == "skipped" and response.verdict is not None:
        log.warning("automatic rollback skipped", evidence=evidence, **fields)
    else:
        log.info("automatic rollback " + response.outcome, evidence=evidence, **fields)


def handle_alarm(alarm: dict[str, Any]) -> dict[str, Any]:
    """One alarm message through the shared engine path (feedbackctl.engine.incident)."""
    stack, now = os.environ["STACK_NAME"], datetime.now(UTC)
    facts = alarm_facts(alarm, stack, received_at=now)
    why = ignore_reason(facts)
    if why is not None:  # decided on the message alone: no client is created for it
        response = Response(facts.name, "ignored", facts.function, reason=why)
    else:
        responder = Responder(ports(), metrics_evidence(cloudwatch(), stack), verdict_rules())
        response = respond(facts, responder, now=now)
    _log(response)
    return response.as_dict()


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
