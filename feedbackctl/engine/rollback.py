"""The one rollback engine: decide (pure) and perform a rollback of one function's `live` alias.

`plan_rollback(state, request)` applies the rules (target from the ledger or the request, never
$LATEST or a bad or unpublished version, incident de-duplication, latch and cooldown) and
returns a plan; `execute(plan, ports)` health-checks the target, claims the rollback with a
conditional ledger write (so one incident moves the alias once), moves the alias under its
RevisionId, records the outcome and notifies. The CLI, `watch`, the deploy's bake and the
rollback-orchestrator Lambda all call these two functions.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from feedbackctl.engine.model import (
    AliasState,
    HealthResult,
    LedgerEvent,
    LedgerState,
    is_published,
    iso,
)

DEFAULT_COOLDOWN = timedelta(minutes=10)
Decision = Literal["rollback", "refuse", "skip"]
FinalOutcome = Literal["done", "refused", "skipped", "failed"]


@dataclass(frozen=True)
class RollbackRequest:
    """Who asks to roll back which function, and how."""

    function: str
    actor: str
    reason: str
    now: datetime
    automatic: bool = False
    to_version: str | None = None
    steps: int | None = None
    force: bool = False
    incident: str = ""  # alarm name + state change time: one incident, one rollback


@dataclass(frozen=True)
class RollbackState:
    """Everything planning reads, gathered by read-only calls."""

    function: str
    alias: AliasState
    published: tuple[str, ...]  # published version numbers, ascending
    ledger: LedgerState
    cooldown: timedelta = DEFAULT_COOLDOWN


@dataclass(frozen=True)
class Step:
    """One call the executor will make, described for --dry-run."""

    action: str
    description: str


@dataclass(frozen=True)
class RollbackPlan:
    """The decision, the versions involved and the steps that carry it out."""

    decision: Decision
    request: RollbackRequest
    state: RollbackState
    from_version: str
    to_version: str | None
    rule: str = ""  # for refuse/skip: the rule that decided
    message: str = ""
    notes: tuple[str, ...] = ()
    steps: tuple[Step, ...] = ()


@dataclass(frozen=True)
class RollbackResult:
    """What happened, for the caller to render, exit on, and test."""

    outcome: FinalOutcome
    function: str
    from_version: str
    to_version: str | None
    rule: str
    message: str
    event: LedgerEvent | None = None
    duration_s: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)


class LambdaPort(Protocol):
    """Lambda calls the engine makes (seed function names; the port maps to physical names)."""

    def alias(self, function: str) -> AliasState: ...
    def published_versions(self, function: str) -> list[str]: ...
    def invoke_health(self, function: str, version: str) -> HealthResult: ...
    def update_alias(self, function: str, version: str, revision_id: str) -> None: ...
    def set_alias(
        self, function: str, version: str, weights: dict[str, float], revision_id: str
    ) -> AliasState: ...


class LedgerPort(Protocol):
    """The ledger operations the engine needs."""

    def state(self, function: str) -> LedgerState: ...
    def record(self, event: LedgerEvent) -> None: ...
    def claim(
        self, expected_revision: int, new_state: LedgerState, event: LedgerEvent, incident: str
    ) -> bool: ...
    def release_claim(
        self, claimed: LedgerState, restore: LedgerState, event: LedgerEvent
    ) -> None: ...
    def finish(self, event: LedgerEvent) -> None: ...


class NotifierPort(Protocol):
    def publish(self, subject: str, message: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class Ports:
    lambda_: LambdaPort
    ledger: LedgerPort
    notifier: NotifierPort | None = None
    clock: Any = time.monotonic


def gather(function: str, ports: Ports, cooldown: timedelta = DEFAULT_COOLDOWN) -> RollbackState:
    """Read the state a plan needs (read-only calls)."""
    published = sorted(
        (v for v in ports.lambda_.published_versions(function) if is_published(v)), key=int
    )
    return RollbackState(
        function=function,
        alias=ports.lambda_.alias(function),
        published=tuple(published),
        ledger=ports.ledger.state(function),
        cooldown=cooldown,
    )


def _refuse(
    state: RollbackState, request: RollbackRequest, current: str, rule: str, message: str
) -> RollbackPlan:
    return RollbackPlan("refuse", request, state, current, None, rule=rule, message=message)


def _walk_back(state: RollbackState, start: str, steps: int) -> tuple[str | None, list[str]]:
    """Follow the ledger's release chain `steps` times from `start`, skipping bad versions."""
    notes: list[str] = []
    version: str | None = start
    remaining = steps
    seen = {start}
    while remaining > 0 and version is not None:
        version = state.ledger.previous_of.get(version)
        if version is None or version in seen:
            return None, notes
        seen.add(version)
        if version in state.ledger.bad_versions:
            notes.append(f"skipped version {version}: marked bad in the ledger")
            continue
        remaining -= 1
    return version, notes


def _fallback_target(state: RollbackState, current: str) -> str | None:
    """Without a ledger record: the newest published version older than `current`, not bad."""
    older = [
        v for v in state.published if int(v) < int(current) and v not in state.ledger.bad_versions
    ]
    return older[-1] if older else None


def _choose_target(
    state: RollbackState, request: RollbackRequest, current: str
) -> tuple[str | None, list[str]]:
    if request.to_version is not None:
        return request.to_version, []
    target, notes = _walk_back(state, current, request.steps or 1)
    if target is None and current not in state.ledger.previous_of and request.steps in (None, 1):
        target = _fallback_target(state, current)
        if target is not None:
            notes.append(
                f"the ledger has no release record for version {current}; "
                f"chose the newest older published version, {target}"
            )
    return target, notes


def _check_loop_rules(
    state: RollbackState, request: RollbackRequest, current: str
) -> RollbackPlan | None:
    """Incident de-duplication, the latch and the cooldown (loop protection)."""
    ledger = state.ledger
    if request.incident and request.incident == ledger.last_incident:
        return RollbackPlan(
            "skip",
            request,
            state,
            current,
            None,
            rule="duplicate-incident",
            message=f"incident {request.incident} was already handled",
        )
    if ledger.latched and not request.force:
        who = "automatic rollbacks wait" if request.automatic else "confirm with --force"
        return _refuse(
            state,
            request,
            current,
            "latch",
            f"an automatic rollback already happened ({ledger.latch_reason}); {who} for a human",
        )
    last = ledger.last_auto_rollback_at
    if request.automatic and not request.force and last and request.now - last < state.cooldown:
        wait = int((state.cooldown - (request.now - last)).total_seconds())
        return _refuse(
            state,
            request,
            current,
            "cooldown",
            f"cooldown: last automatic rollback {iso(last)}, {wait}s left",
        )
    return None


def _check_target(state: RollbackState, current: str, target: str | None) -> tuple[str, str] | None:
    """The target rules; returns (rule, message) when the target is not acceptable."""
    if target is None:
        return "no-target", f"no earlier good version of {state.function} to roll back to"
    if target == "$LATEST" or not is_published(target):
        return "not-published", f"version {target!r} is not a published version (never $LATEST)"
    if target not in state.published:
        return "not-published", f"version {target} does not exist for {state.function}"
    if target in state.ledger.bad_versions:
        return "bad-version", f"version {target} is marked bad in the ledger"
    if target == current:
        return "already-live", f"{state.function} already runs version {target}"
    return None


def plan_rollback(state: RollbackState, request: RollbackRequest) -> RollbackPlan:
    """Decide what a rollback would do. Pure: no AWS calls, deterministic for its inputs."""
    alias = state.alias
    shifting = alias.shifting_to
    current = shifting or alias.version  # during a shift, the new version is what we undo
    loop = _check_loop_rules(state, request, current)
    if loop is not None:
        return loop
    if shifting and request.to_version is None and request.steps in (None, 1):
        target: str | None = alias.version
        notes = [
            f"a shift to version {shifting} is in progress; "
            f"returning all traffic to {alias.version}"
        ]
    else:
        target, notes = _choose_target(state, request, alias.version)
    problem = _check_target(state, alias.version if not shifting else current, target)
    if problem is not None:
        rule, message = problem
        decision: Literal["refuse", "skip"] = "skip" if rule == "already-live" else "refuse"
        return RollbackPlan(
            decision,
            request,
            state,
            current,
            target,
            rule=rule,
            message=message,
            notes=tuple(notes),
        )
    assert target is not None
    steps = (
        Step("health-check", f"invoke {state.function}:{target} with the synthetic health event"),
        Step(
            "claim",
            f"ledger: conditional write (revision {state.ledger.revision}) "
            f"recording {current} → {target}, "
            f"marking {current} bad" + (", setting the latch" if request.automatic else ""),
        ),
        Step(
            "update-alias",
            f"point {state.function}:live at {target}"
            + (" and drop the weighted routing" if alias.routing else "")
            + f" (RevisionId {alias.revision_id or 'n/a'})",
        ),
        Step("notify", "publish the outcome to the notifications topic"),
    )
    return RollbackPlan(
        "rollback",
        request,
        state,
        current,
        target,
        message=f"roll back {state.function} from {current} to {target}",
        notes=tuple(notes),
        steps=steps,
    )


def _event(plan: RollbackPlan, outcome: str, **extra: Any) -> LedgerEvent:
    request = plan.request
    return LedgerEvent(
        function=plan.state.function,
        kind="rollback",
        outcome=outcome,  # type: ignore[arg-type]
        at=iso(request.now),
        actor=request.actor,
        reason=request.reason,
        version=plan.to_version,
        previous_version=plan.from_version,
        automatic=request.automatic,
        rule=extra.pop("rule", plan.rule),
        details={
            k: v
            for k, v in {"incident": request.incident, "notes": list(plan.notes), **extra}.items()
            if v
        },
    )


def _notify(ports: Ports, result: RollbackResult) -> None:
    if ports.notifier is None:
        return
    ports.notifier.publish(
        f"feedbackctl rollback {result.outcome}: {result.function}",
        {
            "type": "rollback",
            "outcome": result.outcome,
            "function": result.function,
            "from": result.from_version,
            "to": result.to_version,
            "rule": result.rule,
            "message": result.message,
            "actor": result.event.actor if result.event else "",
            "reason": result.event.reason if result.event else "",
            "at": result.event.at if result.event else "",
        },
    )


def _finish(
    ports: Ports,
    plan: RollbackPlan,
    outcome: FinalOutcome,
    message: str,
    started: float,
    **extra: Any,
) -> RollbackResult:
    rule = extra.pop("rule", plan.rule)
    event = _event(plan, outcome, rule=rule, **extra)
    ports.ledger.record(event)
    result = RollbackResult(
        outcome,
        plan.state.function,
        plan.from_version,
        plan.to_version,
        rule,
        message,
        event=event,
        duration_s=ports.clock() - started,
        details=extra,
    )
    _notify(ports, result)
    return result


def execute(plan: RollbackPlan, ports: Ports) -> RollbackResult:
    """Carry out a plan; every path leaves a ledger record and the alias where it should be."""
    started = ports.clock()
    if plan.decision != "rollback":
        final: FinalOutcome = "skipped" if plan.decision == "skip" else "refused"
        return _finish(ports, plan, final, plan.message, started)
    assert plan.to_version is not None
    state, request = plan.state, plan.request
    health = ports.lambda_.invoke_health(state.function, plan.to_version)
    if not health.healthy:
        message = (
            f"version {plan.to_version} failed its health check ({health.detail}); "
            f"alias left on {plan.from_version}"
        )
        return _finish(
            ports, plan, "refused", message, started, rule="health-check", health=health.detail
        )
    claimed = state.ledger.with_rollback(
        plan.from_version,
        plan.to_version,
        request.now,
        automatic=request.automatic,
        reason=request.reason,
        incident=request.incident,
    )
    event = _event(plan, "in-progress")
    if not ports.ledger.claim(state.ledger.revision, claimed, event, request.incident):
        message = "another rollback or release of this function committed first; nothing changed"
        return _finish(ports, plan, "skipped", message, started, rule="concurrent")
    try:
        ports.lambda_.update_alias(state.function, plan.to_version, state.alias.revision_id)
    except Exception as exc:  # noqa: BLE001 - whatever stopped the alias, undo the claim
        failed = replace(
            event,
            outcome="failed",
            rule="alias-update",
            details={**event.details, "error": f"{type(exc).__name__}: {exc}"},
        )
        ports.ledger.release_claim(claimed, state.ledger, failed)
        result = RollbackResult(
            "failed",
            state.function,
            plan.from_version,
            plan.to_version,
            "alias-update",
            f"the alias could not be moved ({type(exc).__name__}); "
            f"it still points at {plan.from_version}",
            event=failed,
            duration_s=ports.clock() - started,
        )
        _notify(ports, result)
        return result
    done = replace(event, outcome="done")
    ports.ledger.finish(done)
    result = RollbackResult(
        "done",
        state.function,
        plan.from_version,
        plan.to_version,
        "",
        f"{state.function} rolled back from {plan.from_version} to {plan.to_version}",
        event=done,
        duration_s=ports.clock() - started,
    )
    _notify(ports, result)
    return result


def rollback(
    request: RollbackRequest, ports: Ports, cooldown: timedelta = DEFAULT_COOLDOWN
) -> RollbackResult:
    """Gather, plan and execute: the whole engine in one call (orchestrator, watch, bake)."""
    return execute(plan_rollback(gather(request.function, ports, cooldown), request), ports)
