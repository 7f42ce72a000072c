"""The rollback orchestrator: an error alarm's SNS message in, the shared rollback engine out.

Only ALARM transitions act. The function comes from data the alarm carries, never its name:
`Trigger.Dimensions` (`Function` in this stack's namespace, or `FunctionName` = one of this
stack's functions), or for a metric-math alarm the dimensions of its `Trigger.Metrics`; an alarm
naming no function, or several, is ignored. Before the engine runs, per-version evidence over
the alarm's window must blame the current version (feedbackctl.engine.blame); otherwise the
skip is recorded in the ledger with the figures. The incident key (alarm name + state change
time) makes a duplicate delivery a no-op, and the engine's conditional claim moves the alias once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import boto3

from feedbackctl.engine.aws_ports import LambdaOps, SnsNotifier
from feedbackctl.engine.blame import AlarmWindow, Blame, blame, release_time, suspects
from feedbackctl.engine.evidence import MetricsEvidence, logged_errors_namespace
from feedbackctl.engine.ledger import DynamoLedger
from feedbackctl.engine.model import LedgerEvent, LedgerState, iso
from feedbackctl.engine.release import incident_key
from feedbackctl.engine.rollback import Ports, RollbackRequest, RollbackResult, rollback
from feedbackctl.engine.verdict import VerdictRules
from feedbackctl.functions import FUNCTION_NAMES
from lambdas.common.runtime import Runtime

runtime = Runtime("rollback-orchestrator")
log = runtime.logger
HISTORY_LIMIT = 50  # ledger events searched for the current version's release time
_ports: Ports | None = None
_cloudwatch: Any = None


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
    )


# --- which function an alarm is about --------------------------------------------------------


def _named(dimensions: Any, namespace: Any, stack: str) -> set[str]:
    """Seed functions of this stack that one metric's dimensions name (a lookup, no parsing)."""
    physical = {f"{stack}-{seed}": seed for seed in FUNCTION_NAMES}
    found: set[str] = set()
    for dimension in dimensions if isinstance(dimensions, list) else []:
        if not isinstance(dimension, dict):
            continue
        # CloudWatch writes lower-case keys in alarm notifications; accept the API's too.
        name = dimension.get("name", dimension.get("Name"))
        value = dimension.get("value", dimension.get("Value"))
        if name == "FunctionName" and value in physical:
            found.add(physical[value])
        elif (
            name == "Function"
            and value in FUNCTION_NAMES
            and namespace == logged_errors_namespace(stack)
        ):
            found.add(str(value))
    return found


def _metrics(trigger: dict[str, Any]) -> Iterable[dict[str, Any]]:
    """The metric a threshold alarm watches, and every metric a metric-math alarm reads."""
    yield {"Dimensions": trigger.get("Dimensions"), "Namespace": trigger.get("Namespace")}
    for query in trigger.get("Metrics") or []:
        stat = query.get("MetricStat") if isinstance(query, dict) else None
        metric = stat.get("Metric") if isinstance(stat, dict) else None
        if isinstance(metric, dict):
            yield metric


def function_for_alarm(alarm: dict[str, Any], stack: str) -> str | None:
    """The one seed function of this stack the alarm's metrics name; None for none or several."""
    trigger = alarm.get("Trigger")
    if not isinstance(trigger, dict):
        return None
    named: set[str] = set()
    for metric in _metrics(trigger):
        named |= _named(metric.get("Dimensions"), metric.get("Namespace"), stack)
    return named.pop() if len(named) == 1 else None


def alarm_window(alarm: dict[str, Any]) -> AlarmWindow | None:
    """Period × EvaluationPeriods ending at StateChangeTime (a math alarm's period may sit on
    its metrics only)."""
    trigger = alarm.get("Trigger") or {}
    period = trigger.get("Period")
    if not period:
        periods = [
            (q.get("MetricStat") or {}).get("Period")
            for q in trigger.get("Metrics") or []
            if isinstance(q, dict)
        ]
        period = max((int(p) for p in periods if p), default=0)
    try:
        period, evaluations = int(period), int(trigger.get("EvaluationPeriods") or 0)
    except (TypeError, ValueError):
        return None
    if period <= 0 or evaluations <= 0:
        return None
    return AlarmWindow(_changed_at(alarm), period, evaluations)


# --- handling ---------------------------------------------------------------------------------


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


def _judge(function: str, window: AlarmWindow, ledger: LedgerState, p: Ports) -> Blame:
    stack = os.environ["STACK_NAME"]
    history = getattr(p.ledger, "events", None)  # DynamoLedger keeps it; a bare port may not

    def released_at(version: str) -> datetime | None:
        if history is None:
            return None
        return release_time(history(function, HISTORY_LIMIT), version)

    source = MetricsEvidence(cloudwatch(), stack, lambda seed: f"{stack}-{seed}", window.period)
    who = suspects(p.lambda_.alias(function), ledger)
    return blame(source, function, who, window, rules=verdict_rules(), released_at=released_at)


def _skip(name: str, function: str, verdict: Blame, incident: str, p: Ports) -> dict[str, Any]:
    """Record (and announce) an automatic rollback the evidence did not support."""
    event = LedgerEvent(
        function=function,
        kind="rollback",
        outcome="skipped",
        at=iso(datetime.now(UTC)),
        actor=f"alarm:{name}",
        reason=f"{name}: {verdict.reason}"[:500],
        previous_version=verdict.check.new.version,
        automatic=True,
        rule=verdict.rule,
        details={
            "incident": incident,
            "evidence": verdict.check.as_dict(),
            "baseline": verdict.baseline,
            "windows": verdict.windows,
        },
    )
    p.ledger.record(event)
    if p.notifier is not None:
        p.notifier.publish(
            f"feedbackctl rollback skipped: {function}",
            {"type": "rollback", **event.as_dict()},
        )
    fields = {
        "function": function,
        "outcome": "skipped",
        "from": verdict.check.new.version,
        "to": None,
        "rule": verdict.rule,
        "detail": verdict.reason,
    }
    log.warning("automatic rollback skipped", evidence=verdict.check.as_dict(), **fields)
    return {"alarm": name, **fields}


def handle_alarm(alarm: dict[str, Any]) -> dict[str, Any]:
    name = str(alarm["AlarmName"])
    state = alarm.get("NewStateValue")
    if state != "ALARM":
        log.info("alarm transition ignored", alarm=name, state=state)
        return {"alarm": name, "outcome": "ignored", "reason": f"state {state}"}
    function = function_for_alarm(alarm, os.environ["STACK_NAME"])
    if function is None:
        log.warning("alarm names no single function of this stack; ignored", alarm=name)
        return {"alarm": name, "outcome": "ignored", "reason": "names no function of this stack"}
    window = alarm_window(alarm)
    if window is None:
        log.warning("alarm carries no evaluation window; ignored", alarm=name)
        return {"alarm": name, "outcome": "ignored", "reason": "no evaluation window"}
    p = ports()
    incident = incident_key(name, window.end)
    ledger = p.ledger.state(function)
    reason = f"{name}: {alarm.get('NewStateReason', 'ALARM')}"
    verdict: Blame | None = None
    blamed: str | None = None
    # A redelivery of a handled incident goes straight to the engine, which records it as a
    # duplicate: after the rollback the alias points elsewhere and the evidence would mislead.
    if incident != ledger.last_incident:
        verdict = _judge(function, window, ledger, p)
        if verdict.decision == "skip":
            return _skip(name, function, verdict, incident, p)
        # The figures go into the reason: `history` shows why this version was blamed.
        reason = f"{name}: {verdict.reason}"
        blamed = verdict.check.new.version
    request = RollbackRequest(
        function=function,
        actor=f"alarm:{name}",
        reason=reason[:500],
        now=datetime.now(UTC),
        automatic=True,
        incident=incident,
        # Roll back the version the evidence blamed, or nothing: if the alias moved meanwhile
        # (a deploy's own rollback, a human), the engine refuses with rule alias-moved.
        expected_version=blamed,
        details={"evidence": verdict.check.as_dict()} if verdict else {},
    )
    result = rollback(request, p)
    fields = _summary(result)
    if result.outcome == "failed":
        log.error("automatic rollback failed", **fields)
    elif result.outcome == "refused":
        log.warning("automatic rollback refused", **fields)
    else:
        evidence = verdict.check.as_dict() if verdict else None
        log.info("automatic rollback " + result.outcome, evidence=evidence, **fields)
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
