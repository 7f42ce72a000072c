"""An alarm in ALARM → maybe a rollback: the one path the orchestrator Lambda (SNS) and
`feedbackctl watch` (DescribeAlarms) share. `alarm_facts` (pure) reads either shape: the one
function the alarm's metrics name (never its name), its window, the incident key. `respond`
blames per-version evidence (blame.py), then records the skip or runs the rollback engine.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from feedbackctl.engine.blame import (
    AlarmWindow,
    Blame,
    EvidenceSource,
    blame,
    release_time,
    suspects,
)
from feedbackctl.engine.evidence import MetricsEvidence, logged_errors_namespace
from feedbackctl.engine.model import LedgerEvent, LedgerState, iso
from feedbackctl.engine.release import incident_key
from feedbackctl.engine.rollback import Ports, RollbackRequest, RollbackResult, rollback
from feedbackctl.engine.verdict import VerdictRules

# The function list and the naming rule are plain, standard-library modules shipped in the
# orchestrator's zip beside the engine (packaging.py), so the CLI and the Lambda share them.
from feedbackctl.functions import FUNCTION_NAMES
from feedbackctl.naming import function_name

__all__ = [
    "AlarmFacts",
    "Responder",
    "Response",
    "alarm_facts",
    "alarm_window",
    "function_for_alarm",
    "ignore_reason",
    "metrics_evidence",
    "respond",
]

HISTORY_LIMIT = 50  # ledger events searched for the current version's release time
ALARM = "ALARM"
ResponseOutcome = Literal["ignored", "skipped", "done", "refused", "failed"]


# --- the facts an alarm carries (pure) --------------------------------------------------------


@dataclass(frozen=True)
class AlarmFacts:
    """One alarm state as either source reports it, reduced to what a decision reads."""

    name: str
    state: str
    reason: str
    function: str | None  # the one seed function its metrics name; None for none or several
    window: AlarmWindow | None  # None when the alarm carries no period or evaluation periods
    changed_at: datetime  # when it entered `state`: SNS StateChangeTime, or the API's timestamp

    @property
    def incident(self) -> str:
        """The same key from SNS and from DescribeAlarms: one transition, one rollback."""
        return incident_key(self.name, self.changed_at)


def _trigger(alarm: Mapping[str, Any]) -> Mapping[str, Any]:
    """Where the metric settings sit: SNS nests them in `Trigger`, DescribeAlarms does not."""
    trigger = alarm.get("Trigger")
    return trigger if isinstance(trigger, Mapping) else alarm


def _named(dimensions: Any, namespace: Any, stack: str, functions: Collection[str]) -> set[str]:
    """Seed functions of this stack that one metric's dimensions name (a lookup, no parsing)."""
    physical = {function_name(stack, seed): seed for seed in functions}
    found: set[str] = set()
    for dimension in dimensions if isinstance(dimensions, list) else []:
        if not isinstance(dimension, Mapping):
            continue
        # CloudWatch writes lower-case keys in alarm notifications, the API capitalised ones.
        name = dimension.get("name", dimension.get("Name"))
        value = dimension.get("value", dimension.get("Value"))
        if name == "FunctionName" and value in physical:
            found.add(physical[value])
        elif (
            name == "Function"
            and value in functions
            and namespace == logged_errors_namespace(stack)
        ):
            found.add(str(value))
    return found


def _metrics(trigger: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The metric a threshold alarm watches, and every metric a metric-math alarm reads."""
    yield {"Dimensions": trigger.get("Dimensions"), "Namespace": trigger.get("Namespace")}
    for query in trigger.get("Metrics") or []:
        stat = query.get("MetricStat") if isinstance(query, Mapping) else None
        metric = stat.get("Metric") if isinstance(stat, Mapping) else None
        if isinstance(metric, Mapping):
            yield metric


def function_for_alarm(
    alarm: Mapping[str, Any], stack: str, functions: Collection[str] = FUNCTION_NAMES
) -> str | None:
    """The one seed function of this stack the alarm's metrics name; None for none or several.

    Accepts an SNS alarm message (`Trigger`, lower-case `name`/`value`) and a DescribeAlarms
    `MetricAlarms` entry (`Dimensions` with `Name`/`Value`, `Metrics` for a math alarm)."""
    named: set[str] = set()
    for metric in _metrics(_trigger(alarm)):
        named |= _named(metric.get("Dimensions"), metric.get("Namespace"), stack, functions)
    return named.pop() if len(named) == 1 else None


def _period(trigger: Mapping[str, Any]) -> Any:
    """The alarm's period; a math alarm may carry it only on its metrics."""
    if trigger.get("Period"):
        return trigger["Period"]
    periods = [
        (q.get("MetricStat") or {}).get("Period")
        for q in trigger.get("Metrics") or []
        if isinstance(q, Mapping)
    ]
    return max((int(p) for p in periods if p), default=0)


def alarm_window(alarm: Mapping[str, Any], changed_at: datetime) -> AlarmWindow | None:
    """Period × EvaluationPeriods ending at `changed_at`; None when the alarm lacks either."""
    trigger = _trigger(alarm)
    try:
        period, evaluations = int(_period(trigger)), int(trigger.get("EvaluationPeriods") or 0)
    except (TypeError, ValueError):
        return None
    if period <= 0 or evaluations <= 0:
        return None
    return AlarmWindow(changed_at, period, evaluations)


def _moment(raw: Any) -> datetime | None:
    """A timestamp as SNS writes it (2026-11-25T10:05:00.000+0000) or as boto3 returns it."""
    if isinstance(raw, datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=UTC)
    text = str(raw or "")
    for pattern in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _changed_at(alarm: Mapping[str, Any]) -> datetime | None:
    # StateTransitionedTimestamp is the API's twin of SNS's StateChangeTime; StateUpdatedTimestamp
    # also moves on a reason-only update, so it is only the fallback (moto reports just that).
    for key in ("StateChangeTime", "StateTransitionedTimestamp", "StateUpdatedTimestamp"):
        moment = _moment(alarm.get(key))
        if moment is not None:
            return moment
    return None


def alarm_facts(
    alarm: Mapping[str, Any],
    stack: str,
    *,
    received_at: datetime,
    functions: Collection[str] = FUNCTION_NAMES,
) -> AlarmFacts:
    """The facts of an SNS alarm message or a DescribeAlarms entry (pure).

    `received_at` stands in only for an alarm that carries no state-change time at all."""
    changed_at = _changed_at(alarm) or received_at
    return AlarmFacts(
        name=str(alarm.get("AlarmName", "")),
        state=str(alarm.get("NewStateValue", alarm.get("StateValue", ""))),
        reason=str(alarm.get("NewStateReason", alarm.get("StateReason", ""))),
        function=function_for_alarm(alarm, stack, functions),
        window=alarm_window(alarm, changed_at),
        changed_at=changed_at,
    )


# --- acting on the facts ----------------------------------------------------------------------


def metrics_evidence(cloudwatch: Any, stack: str) -> Callable[[int], EvidenceSource]:
    """Evidence readers over an injected CloudWatch client, one per alarm period."""

    def reader(period: int) -> EvidenceSource:
        return MetricsEvidence(cloudwatch, stack, lambda seed: function_name(stack, seed), period)

    return reader


@dataclass(frozen=True)
class Responder:
    """What acting on an incident needs: the engine's ports, evidence and the stage's rules."""

    ports: Ports
    evidence: Callable[[int], EvidenceSource]  # an alarm's period (s) → a reader at that step
    rules: VerdictRules = field(default_factory=VerdictRules)


@dataclass(frozen=True)
class Response:
    """What became of one alarm state: ignored, or the engine's (or the evidence's) result."""

    alarm: str
    outcome: ResponseOutcome
    function: str | None = None
    reason: str = ""  # why it was ignored
    result: RollbackResult | None = None  # set unless ignored; a skip by evidence included
    verdict: Blame | None = None  # None when ignored or a redelivered incident

    def as_dict(self) -> dict[str, Any]:
        """The orchestrator's per-record result (and a log line's fields)."""
        if self.result is None:
            return {"alarm": self.alarm, "outcome": self.outcome, "reason": self.reason}
        r = self.result
        return {
            "alarm": self.alarm,
            "function": r.function,
            "outcome": r.outcome,
            "from": r.from_version,
            "to": r.to_version,
            "rule": r.rule,
            "detail": r.message,
        }


def ignore_reason(facts: AlarmFacts) -> str | None:
    """Why these facts call for no decision at all (pure); None when they do."""
    if facts.state != ALARM:
        return f"state {facts.state}"
    if facts.function is None:
        return "names no function of this stack"
    if facts.window is None:
        return "no evaluation window"
    return None


def _judge(function: str, window: AlarmWindow, ledger: LedgerState, r: Responder) -> Blame:
    # DynamoLedger can list events; the port does not promise it, and a bare port may not.
    history = getattr(r.ports.ledger, "events", None)

    def released_at(version: str) -> datetime | None:
        if not callable(history):
            return None
        return release_time(history(function, HISTORY_LIMIT), version)

    who = suspects(r.ports.lambda_.alias(function), ledger)
    source = r.evidence(window.period)
    return blame(source, function, who, window, rules=r.rules, released_at=released_at)


def _skip(
    facts: AlarmFacts, function: str, verdict: Blame, r: Responder, *, actor: str, now: datetime
) -> RollbackResult:
    """Record (and announce) an automatic rollback the evidence did not support."""
    evidence = verdict.check.as_dict()
    event = LedgerEvent(
        function=function,
        kind="rollback",
        outcome="skipped",
        at=iso(now),
        actor=actor,
        reason=f"{facts.name}: {verdict.reason}"[:500],
        previous_version=verdict.check.new.version,
        automatic=True,
        rule=verdict.rule,
        details={
            "incident": facts.incident,
            "evidence": evidence,
            "baseline": verdict.baseline,
            "windows": verdict.windows,
        },
    )
    r.ports.ledger.record(event)
    if r.ports.notifier is not None:
        r.ports.notifier.publish(
            f"feedbackctl rollback skipped: {function}", {"type": "rollback", **event.as_dict()}
        )
    return RollbackResult(
        "skipped",
        function,
        verdict.check.new.version,
        None,
        verdict.rule,
        verdict.reason,
        event=event,
        details={"evidence": evidence},
    )


def respond(
    facts: AlarmFacts,
    responder: Responder,
    *,
    now: datetime,
    actor: str | None = None,
    force: bool = False,
    ignore_cooldown: bool = False,
) -> Response:
    """Blame, then skip (recorded with the figures) or roll back the blamed version.

    `actor` defaults to `alarm:<name>` (the orchestrator); `force` lifts only the latch and
    `ignore_cooldown` only the cooldown, as for `feedbackctl rollback`."""
    name, function, window = facts.name, facts.function, facts.window
    why = ignore_reason(facts)
    if why is not None or function is None or window is None:
        return Response(name, "ignored", function, reason=why or "")
    who = actor or f"alarm:{name}"
    reason = f"{name}: {facts.reason or ALARM}"
    verdict: Blame | None = None
    # A redelivery of a handled incident goes straight to the engine, which records it as a
    # duplicate: after the rollback the alias points elsewhere and the evidence would mislead.
    ledger = responder.ports.ledger.state(function)
    if facts.incident != ledger.last_incident:
        verdict = _judge(function, window, ledger, responder)
        if verdict.decision == "skip":
            skipped = _skip(facts, function, verdict, responder, actor=who, now=now)
            return Response(name, "skipped", function, result=skipped, verdict=verdict)
        # The figures go into the reason: `history` shows why this version was blamed.
        reason = f"{name}: {verdict.reason}"
    request = RollbackRequest(
        function=function,
        actor=who,
        reason=reason[:500],
        now=now,
        automatic=True,
        force=force,
        incident=facts.incident,
        ignore_cooldown=ignore_cooldown,
        # Roll back the version the evidence blamed, or nothing: if the alias moved meanwhile
        # (a deploy's own rollback, a human), the engine refuses with rule alias-moved.
        expected_version=verdict.check.new.version if verdict else None,
        details={"evidence": verdict.check.as_dict()} if verdict else {},
    )
    result = rollback(request, responder.ports)
    return Response(name, result.outcome, function, result=result, verdict=verdict)
