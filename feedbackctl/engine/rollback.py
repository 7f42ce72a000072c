"""The one rollback engine: decide (pure) and perform a rollback of one function's `live` alias.

`plan_rollback(state, request)` applies the rules (incident de-duplication, the alias the caller
saw, latch, cooldown, recent rollback, the target: never $LATEST, unpublished or bad unless a
human vouches for it) and returns a plan whose `steps` are the very calls the executor makes:
`HealthCheck`, `CheckAlias`, `Claim`, `MoveAlias`, `RecordOutcome`, `Notify` (frozen
dataclasses). `execute(plan, ports)` runs exactly those steps in order through a small
dispatcher, so `--dry-run` (which renders the same tuple) and the run cannot drift. The CLI,
`watch`, the deploy and the rollback-orchestrator Lambda all call these two functions.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal, Protocol

from feedbackctl.engine.model import (
    AliasMovedError,
    AliasState,
    HealthResult,
    LedgerEvent,
    LedgerState,
    human_duration,
    is_published,
    iso,
)

DEFAULT_COOLDOWN = timedelta(minutes=10)
Decision = Literal["rollback", "refuse", "skip"]
FinalOutcome = Literal["done", "refused", "skipped", "failed"]


@dataclass(frozen=True)
class RollbackRequest:
    """Who asks to roll back which function, and how.

    Every field after `incident` was added later and has a default, so the orchestrator's and
    the deploy's calls keep working unchanged.
    """

    function: str
    actor: str
    reason: str
    now: datetime
    automatic: bool = False
    to_version: str | None = None
    steps: int | None = None
    force: bool = False  # lifts the latch (and, for a human, the recent-rollback rule)
    incident: str = ""  # alarm name + state change time: one incident, one rollback
    ignore_cooldown: bool = False  # lifts the automatic cooldown (watch --ignore-cooldown)
    # The version the caller saw as live (the CLI: the one its plan showed). The rollback is
    # refused (rule alias-moved) when the alias is elsewhere by the time it runs.
    expected_version: str | None = None
    allow_bad_version: bool = False  # a human may choose (to_version) a version marked bad
    # Why, as data: e.g. the per-version evidence behind an automatic rollback (`evidence`, a
    # verdict Check as a dict); merged into the ledger event so `history` shows the figures.
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RollbackState:
    """Everything planning reads, gathered by read-only calls."""

    function: str
    alias: AliasState
    published: tuple[str, ...]  # published version numbers, ascending
    ledger: LedgerState
    cooldown: timedelta = DEFAULT_COOLDOWN


# --- steps: each one is a call the executor makes, with its arguments -------------------------


@dataclass(frozen=True)
class HealthCheck:
    """Invoke `function:version` with the synthetic health event; refuse if it is unhealthy."""

    action: ClassVar[str] = "health-check"
    function: str
    version: str

    def describe(self) -> str:
        return f"invoke {self.function}:{self.version} with the synthetic health event"

    def args(self) -> dict[str, Any]:
        return {"function": self.function, "version": self.version}


@dataclass(frozen=True)
class CheckAlias:
    """Re-read the alias; go on only if it still points where the caller saw it.

    Moving the alias under its RevisionId already fails when it moved, but checking first
    means a moved alias costs no ledger claim, and it also holds where the RevisionId is not
    enforced (moto). `revision_id` "" compares the versions only."""

    action: ClassVar[str] = "check-alias"
    function: str
    version: str
    routing: dict[str, float]
    revision_id: str

    def describe(self) -> str:
        routing = "".join(f" + {v}@{w:.0%}" for v, w in self.routing.items())
        revision = f" (RevisionId {self.revision_id})" if self.revision_id else ""
        return (
            f"read {self.function}:live; go on only if it is still on "
            f"{self.version}{routing}{revision}"
        )

    def args(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "version": self.version,
            "routing": dict(self.routing),
            "revisionId": self.revision_id,
        }


@dataclass(frozen=True)
class Claim:
    """The conditional ledger write that makes one incident (or one caller) move the alias once."""

    action: ClassVar[str] = "claim"
    function: str
    expected_revision: int
    new_state: LedgerState
    incident: str

    def describe(self) -> str:
        state = self.new_state
        marks = ", ".join(sorted(state.bad_versions, key=int)) or "-"
        text = (
            f"ledger: conditional write (revision {self.expected_revision}): live "
            f"{state.live_version}, bad versions {marks}"
        )
        if state.latched:
            text += ", set the latch"
        if self.incident:
            text += f", incident {self.incident}"
        return text

    def args(self) -> dict[str, Any]:
        state = self.new_state
        return {
            "function": self.function,
            "expectedRevision": self.expected_revision,
            "incident": self.incident,
            "newState": {
                "liveVersion": state.live_version,
                "badVersions": sorted(state.bad_versions, key=int),
                "latched": state.latched,
            },
        }


@dataclass(frozen=True)
class MoveAlias:
    """Point `live` at `version` (plus `weights`), only if its RevisionId is still `revision_id`."""

    action: ClassVar[str] = "move-alias"
    function: str
    version: str
    weights: dict[str, float]
    revision_id: str

    def describe(self) -> str:
        routing = "".join(f" + {v}@{w:.0%}" for v, w in self.weights.items()) or ", no weights"
        return (
            f"point {self.function}:live at {self.version}{routing} "
            f"(RevisionId {self.revision_id or 'n/a'})"
        )

    def args(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "version": self.version,
            "weights": dict(self.weights),
            "revisionId": self.revision_id,
        }


@dataclass(frozen=True)
class RecordOutcome:
    """Write the decision's ledger event with its outcome (and the rule, for a refusal/skip)."""

    action: ClassVar[str] = "record"
    function: str
    outcome: FinalOutcome
    rule: str = ""

    def describe(self) -> str:
        rule = f" ({self.rule})" if self.rule else ""
        return f"ledger: record the rollback of {self.function} as {self.outcome}{rule}"

    def args(self) -> dict[str, Any]:
        return {"function": self.function, "outcome": self.outcome, "rule": self.rule}


@dataclass(frozen=True)
class Notify:
    """Publish the outcome to the notifications topic (always, even when a step stopped)."""

    action: ClassVar[str] = "notify"
    function: str

    def describe(self) -> str:
        return "publish the outcome to the notifications topic"

    def args(self) -> dict[str, Any]:
        return {"function": self.function}


Step = HealthCheck | CheckAlias | Claim | MoveAlias | RecordOutcome | Notify


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
    overrides: tuple[str, ...] = ()  # rules a flag lifted, e.g. "bad-version-override"


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
    executed: tuple[Step, ...] = ()  # the plan's steps that ran, in order


class LambdaPort(Protocol):
    """Lambda calls the engine makes (seed function names; the port maps to physical names)."""

    def alias(self, function: str) -> AliasState: ...
    def published_versions(self, function: str) -> list[str]: ...
    def invoke_health(self, function: str, version: str) -> HealthResult: ...
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
        self, claimed: LedgerState, restore: LedgerState, event: LedgerEvent, incident: str = ""
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


# --- planning (pure) ------------------------------------------------------------------------


def _not_rolling_back(
    state: RollbackState,
    request: RollbackRequest,
    current: str,
    *,
    decision: Literal["refuse", "skip"],
    rule: str,
    message: str,
    target: str | None = None,
    notes: tuple[str, ...] = (),
) -> RollbackPlan:
    """A plan that changes nothing: its steps record the decision and announce it."""
    outcome: FinalOutcome = "refused" if decision == "refuse" else "skipped"
    return RollbackPlan(
        decision,
        request,
        state,
        current,
        target,
        rule=rule,
        message=message,
        notes=notes,
        steps=(RecordOutcome(state.function, outcome, rule), Notify(state.function)),
    )


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


def _last_rollback(state: RollbackState, current: str) -> datetime | None:
    """When the function was last rolled back, if that rollback still stands.

    The cooldown and the recent-rollback rule guard against rolling the same situation back
    twice. Once a release has replaced the version that rollback put live, a rollback is about
    a new release and neither applies. (A state written before `last_rollback_to` existed has
    it empty: the rules apply, the safe side.)"""
    ledger = state.ledger
    times = [t for t in (ledger.last_rollback_at, ledger.last_auto_rollback_at) if t is not None]
    if not times:
        return None
    if ledger.last_rollback_to is not None and ledger.last_rollback_to != current:
        return None
    return max(times)


def _by(ledger: LedgerState) -> str:
    return ledger.last_rollback_by or "an earlier rollback (who is not recorded)"


def _check_loop_rules(
    state: RollbackState, request: RollbackRequest, current: str, overrides: list[str]
) -> RollbackPlan | None:
    """Duplicates, the alias the caller saw, the latch, then the cooldown and recent rollbacks.

    Appends to `overrides` each rule a flag lifted, so the ledger event says so."""
    ledger, alias, fn = state.ledger, state.alias, state.function
    if request.incident and request.incident == ledger.last_incident:
        message = f"incident {request.incident} was already handled"
        return _not_rolling_back(
            state, request, current, decision="skip", rule="duplicate-incident", message=message
        )
    expected = request.expected_version
    if expected is not None and expected not in (alias.version, alias.shifting_to):
        message = (
            f"the live alias of {fn} is on version {current}, not {expected} as expected: "
            "someone else moved it; nothing was changed (look again, then re-run)"
        )
        return _not_rolling_back(
            state,
            request,
            current,
            decision="skip" if request.automatic else "refuse",
            rule="alias-moved",
            message=message,
        )
    if ledger.latched:
        if not request.force:
            who = "automatic rollbacks wait" if request.automatic else "confirm with --force"
            message = (
                f"an automatic rollback already happened ({ledger.latch_reason}); {who} for a human"
            )
            return _not_rolling_back(
                state, request, current, decision="refuse", rule="latch", message=message
            )
        overrides.append("latch-override")
    return _check_recent(state, request, current, overrides)


def _check_recent(
    state: RollbackState, request: RollbackRequest, current: str, overrides: list[str]
) -> RollbackPlan | None:
    """The cooldown (automatic callers) and the recent-rollback rule (humans)."""
    ledger, fn = state.ledger, state.function
    last = _last_rollback(state, current)
    if last is None or request.now - last >= state.cooldown:
        return None
    age, left = request.now - last, state.cooldown - (request.now - last)
    when = f"by {_by(ledger)} at {iso(last)} ({human_duration(age.total_seconds())} ago)"
    if request.automatic:
        if request.ignore_cooldown:
            overrides.append("cooldown-override")
            return None
        rule, message = (
            "cooldown",
            (
                f"cooldown: {fn} was rolled back {when}; automatic rollbacks wait "
                f"{human_duration(left.total_seconds())} more (--ignore-cooldown overrides)"
            ),
        )
    elif request.to_version is not None:
        # An explicit --to-version is idempotent (run twice, it is already live); a relative
        # rollback (the previous release, --steps N) run twice would undo two releases.
        return None
    elif request.force:
        overrides.append("recent-rollback-override")
        return None
    else:
        rule, message = (
            "recent-rollback",
            (
                f"{fn} was rolled back to {ledger.last_rollback_to or current} {when}, within "
                f"the {human_duration(state.cooldown.total_seconds())} cooldown; another "
                "rollback now would undo an older release as well. Pass --force to roll back again"
            ),
        )
    return _not_rolling_back(state, request, current, decision="refuse", rule=rule, message=message)


def _check_target(
    state: RollbackState,
    request: RollbackRequest,
    current: str,
    target: str | None,
    overrides: list[str],
) -> tuple[str, str] | None:
    """The target rules; returns (rule, message) when the target is not acceptable."""
    if target is None:
        return "no-target", f"no earlier good version of {state.function} to roll back to"
    if target == "$LATEST" or not is_published(target):
        return "not-published", f"version {target!r} is not a published version (never $LATEST)"
    if target not in state.published:
        return "not-published", f"version {target} does not exist for {state.function}"
    if target == current:
        return "already-live", f"{state.function} already runs version {target}"
    return _check_bad(state, request, target, overrides)


def _check_bad(
    state: RollbackState, request: RollbackRequest, target: str, overrides: list[str]
) -> tuple[str, str] | None:
    """Never a version marked bad, unless a human names it and vouches for it."""
    if target not in state.ledger.bad_versions:
        return None
    # Automation never vouches; a human must name the version (--to-version) and say so.
    if request.allow_bad_version and request.to_version == target and not request.automatic:
        overrides.append("bad-version-override")
        return None
    return "bad-version", (
        f"version {target} is marked bad in the ledger "
        "(a human may choose it with --to-version N --allow-bad-version)"
    )


def plan_rollback(state: RollbackState, request: RollbackRequest) -> RollbackPlan:
    """Decide what a rollback would do. Pure: no AWS calls, deterministic for its inputs."""
    alias = state.alias
    shifting = alias.shifting_to
    current = shifting or alias.version  # during a shift, the new version is what we undo
    overrides: list[str] = []
    loop = _check_loop_rules(state, request, current, overrides)
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
    problem = _check_target(
        state, request, alias.version if not shifting else current, target, overrides
    )
    if problem is not None:
        rule, message = problem
        decision: Literal["refuse", "skip"] = "skip" if rule == "already-live" else "refuse"
        return _not_rolling_back(
            state,
            request,
            current,
            decision=decision,
            rule=rule,
            message=message,
            target=target,
            notes=tuple(notes),
        )
    assert target is not None
    if "bad-version-override" in overrides:
        notes.append(f"version {target} is marked bad; going there because you said so")
    fn = state.function
    claimed = state.ledger.with_rollback(
        current,
        target,
        request.now,
        automatic=request.automatic,
        reason=request.reason,
        incident=request.incident,
        actor=request.actor,
        vouched="bad-version-override" in overrides,
    )
    steps: tuple[Step, ...] = (
        HealthCheck(fn, target),
        CheckAlias(fn, alias.version, dict(alias.routing), alias.revision_id),
        Claim(fn, state.ledger.revision, claimed, request.incident),
        MoveAlias(fn, target, {}, alias.revision_id),
        RecordOutcome(fn, "done"),
        Notify(fn),
    )
    return RollbackPlan(
        "rollback",
        request,
        state,
        current,
        target,
        message=f"roll back {fn} from {current} to {target}",
        notes=tuple(notes),
        steps=steps,
        overrides=tuple(overrides),
    )


# --- execution: run the plan's steps, in order ------------------------------------------------


def _event(plan: RollbackPlan, outcome: str, **extra: Any) -> LedgerEvent:
    request = plan.request
    details = {
        "incident": request.incident,
        "notes": list(plan.notes),
        "overrides": list(plan.overrides),
        "expectedVersion": request.expected_version,
        **request.details,
        **extra,
    }
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
        rule=plan.rule,
        details={k: v for k, v in details.items() if v},
    )


class _StoppedError(Exception):
    """A step ended the run early (unhealthy target, alias moved, claim lost, move failed)."""

    def __init__(self, outcome: FinalOutcome, rule: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.outcome, self.rule, self.message, self.details = outcome, rule, message, details


class _Run:
    """One execution of a plan: the dispatcher from step types to port calls, and what the
    steps have done so far (the event, whether the ledger is claimed, the outcome)."""

    def __init__(self, plan: RollbackPlan, ports: Ports) -> None:
        self.plan, self.ports = plan, ports
        self.started = ports.clock()
        self.event = _event(plan, "in-progress")
        self.claimed: Claim | None = None
        self.outcome: FinalOutcome = "refused" if plan.decision == "refuse" else "skipped"
        self.rule = plan.rule
        self.message = plan.message
        self.details: dict[str, Any] = {}
        self.executed: list[Step] = []
        self.handlers: dict[type, Callable[[Any], None]] = {
            HealthCheck: self._health_check,
            CheckAlias: self._check_alias,
            Claim: self._claim,
            MoveAlias: self._move_alias,
            RecordOutcome: self._record,
            Notify: self._notify,
        }

    def run(self) -> RollbackResult:
        steps = self.plan.steps
        for index, step in enumerate(steps):
            try:
                self._dispatch(step)
            except _StoppedError as stop:
                self._stopped(stop)
                # The outcome is announced whatever stopped the run.
                for rest in steps[index + 1 :]:
                    if isinstance(rest, Notify):
                        self._dispatch(rest)
                break
        return self.result()

    def _dispatch(self, step: Step) -> None:
        self.executed.append(step)
        self.handlers[type(step)](step)

    def result(self) -> RollbackResult:
        return RollbackResult(
            self.outcome,
            self.plan.state.function,
            self.plan.from_version,
            self.plan.to_version,
            self.rule,
            self.message,
            event=self.event if self.event.outcome != "in-progress" else None,
            duration_s=self.ports.clock() - self.started,
            details=dict(self.details),
            executed=tuple(self.executed),
        )

    # step handlers ---------------------------------------------------------------------
    def _health_check(self, step: HealthCheck) -> None:
        health = self.ports.lambda_.invoke_health(step.function, step.version)
        if not health.healthy:
            raise _StoppedError(
                "refused",
                "health-check",
                f"version {step.version} failed its health check ({health.detail}); "
                f"alias left on {self.plan.from_version}",
                health=health.detail,
            )

    def _moved(self, detail: str) -> _StoppedError:
        # A human is told "refused" (exit 3): what they confirmed is no longer true. For an
        # automatic caller someone else has acted, which is nothing to alarm anyone about.
        outcome: FinalOutcome = "skipped" if self.plan.request.automatic else "refused"
        return _StoppedError(
            outcome,
            "alias-moved",
            f"the live alias of {self.plan.state.function} moved since it was read "
            f"({detail}): someone else moved it; nothing was changed",
        )

    def _check_alias(self, step: CheckAlias) -> None:
        now = self.ports.lambda_.alias(step.function)
        if now.version != step.version or now.routing != step.routing:
            routing = "".join(f" + {v}@{w:.0%}" for v, w in now.routing.items())
            raise self._moved(f"it is on {now.version}{routing} now, was {step.version}")
        if step.revision_id and now.revision_id != step.revision_id:
            # Same version, yet updated (and maybe moved and back): what was confirmed is stale.
            raise self._moved(f"its RevisionId is {now.revision_id} now, was {step.revision_id}")

    def _claim(self, step: Claim) -> None:
        if not self.ports.ledger.claim(
            step.expected_revision, step.new_state, self.event, step.incident
        ):
            raise _StoppedError(
                "skipped",
                "concurrent",
                "another rollback or release of this function committed first; nothing changed",
            )
        self.claimed = step

    def _move_alias(self, step: MoveAlias) -> None:
        try:
            self.ports.lambda_.set_alias(
                step.function, step.version, step.weights, step.revision_id
            )
        except AliasMovedError as exc:
            raise self._moved(f"RevisionId {exc.revision_id} is stale") from None
        except Exception as exc:  # noqa: BLE001 - whatever stopped the alias, undo the claim
            raise _StoppedError(
                "failed",
                "alias-update",
                f"the alias could not be moved ({type(exc).__name__}); "
                f"it still points at {self.plan.from_version}",
                error=f"{type(exc).__name__}: {exc}",
            ) from None

    def _record(self, step: RecordOutcome) -> None:
        self.outcome, self.rule = step.outcome, step.rule
        if step.outcome == "done":
            plan = self.plan
            self.message = (
                f"{plan.state.function} rolled back from {plan.from_version} to {plan.to_version}"
            )
            self.event = replace(self.event, outcome="done", rule="")
        else:
            self.event = self._final_event(step.outcome, step.rule, self.message)
        self.ports.ledger.finish(self.event)

    def _notify(self, step: Notify) -> None:
        if self.ports.notifier is None:
            return
        event = self.event
        self.ports.notifier.publish(
            f"feedbackctl rollback {self.outcome}: {step.function}",
            {
                "type": "rollback",
                "outcome": self.outcome,
                "function": step.function,
                "from": self.plan.from_version,
                "to": self.plan.to_version,
                "rule": self.rule,
                "message": self.message,
                "actor": event.actor,
                "reason": event.reason,
                "at": event.at,
            },
        )

    # endings -------------------------------------------------------------------------
    def _final_event(self, outcome: str, rule: str, message: str, **extra: Any) -> LedgerEvent:
        details = {**self.event.details, "message": message, **extra}
        return replace(self.event, outcome=outcome, rule=rule, details=details)  # type: ignore[arg-type]

    def _stopped(self, stop: _StoppedError) -> None:
        self.outcome, self.rule, self.message = stop.outcome, stop.rule, stop.message
        self.details = dict(stop.details)
        self.event = self._final_event(stop.outcome, stop.rule, stop.message, **stop.details)
        if self.claimed is None:
            self.ports.ledger.record(self.event)
            return
        # The ledger says "rolled back" but the alias did not move: put the state back and
        # drop the incident marker, so a retry of the same incident is judged afresh.
        state = self.plan.state.ledger
        self.ports.ledger.release_claim(
            replace(self.claimed.new_state, revision=self.claimed.expected_revision),
            state,
            self.event,
            self.claimed.incident,
        )


def execute(plan: RollbackPlan, ports: Ports) -> RollbackResult:
    """Run `plan.steps` in order; every path leaves a ledger record and the alias where it
    should be, and never raises for a rule (an AliasMovedError is an outcome, not a crash)."""
    return _Run(plan, ports).run()


def rollback(
    request: RollbackRequest, ports: Ports, cooldown: timedelta = DEFAULT_COOLDOWN
) -> RollbackResult:
    """Gather, plan and execute: the whole engine in one call (orchestrator, watch, deploy)."""
    return execute(plan_rollback(gather(request.function, ports, cooldown), request), ports)
