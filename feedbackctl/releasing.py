"""One function's release as executable data: the steps (publish, pre-traffic checks, shift,
record, hold) and the executor that runs exactly those steps.

`release_steps` is pure: `deploy --dry-run` renders the list it returns, and `ReleaseRun` runs
the same list, so the dry run and the run cannot drift. While a step holds, the executor judges
the new version against the stable one on per-version evidence (feedbackctl/engine/evidence.py,
feedbackctl/engine/verdict.py) and hands a failing version to the one rollback engine. Every
alias move goes through the engine's port under the alias RevisionId; every ending — released,
rolled back, failed, interrupted — is in the ledger with the figures behind it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from feedbackctl.aws import functions, is_not_found
from feedbackctl.engine.evidence import MetricsEvidence
from feedbackctl.engine.ledger import ConcurrentUpdateError, DynamoLedger
from feedbackctl.engine.model import AliasMovedError, AliasState, LedgerEvent, LedgerState, iso
from feedbackctl.engine.release import ReleasePolicy, schedule
from feedbackctl.engine.rollback import Ports, RollbackRequest, rollback
from feedbackctl.engine.verdict import Analysis, Check, VerdictRules, VersionEvidence, check
from feedbackctl.functions import function as function_spec
from feedbackctl.sandbox import api_event

Outcome = Literal[
    "released", "unchanged", "held", "rolled-back", "failed", "interrupted", "planned"
]


# --- the steps (data) -------------------------------------------------------------------


@dataclass(frozen=True)
class Publish:
    """Update $LATEST's code if it differs, then publish a version (CodeSha256 precondition)."""

    function: str
    code_update: bool
    s3_key: str
    code_sha256: str

    def describe(self) -> str:
        code = f"update code from {self.s3_key}, " if self.code_update else ""
        return f"{code}publish a version with CodeSha256 {self.code_sha256[:12]}…"


@dataclass(frozen=True)
class PreTraffic:
    """Invoke the new version itself (not the alias) with the health event and smoke tests."""

    function: str
    smoke_tests: tuple[str, ...] = ()

    def describe(self) -> str:
        smoke = f" and {len(self.smoke_tests)} smoke test(s)" if self.smoke_tests else ""
        return f"invoke the new version with the health event{smoke}; any failure stops here"


@dataclass(frozen=True)
class Shift:
    """Move `live`: `weight` of the traffic to the new version, under the alias RevisionId."""

    function: str
    weight: float

    def describe(self) -> str:
        if self.weight >= 1.0:
            return "point live at the new version (100%)"
        return f"route {self.weight:.0%} of live's traffic to the new version"


@dataclass(frozen=True)
class Record:
    """Commit the release to the ledger, conditional on the state read when it started."""

    function: str

    def describe(self) -> str:
        return "record the release in the ledger (refused if an incident changed it meanwhile)"


@dataclass(frozen=True)
class Hold:
    """Hold for `seconds`, judging the new version against the stable one."""

    function: str
    seconds: float
    phase: str

    def describe(self) -> str:
        return f"hold {self.seconds:g} s ({self.phase}), judging per-version evidence"


Step = Publish | PreTraffic | Shift | Record | Hold


def release_steps(
    function: str,
    *,
    s3_key: str,
    code_sha256: str,
    code_update: bool,
    first: bool,
    policy: ReleasePolicy,
    smoke_tests: tuple[str, ...] = (),
) -> tuple[Step, ...]:
    """The steps of one release (pure). A first release has no traffic to protect: it is
    health-checked, then made live at once."""
    steps: list[Step] = [
        Publish(function, code_update, s3_key, code_sha256),
        PreTraffic(function, smoke_tests_for(function, smoke_tests)),
    ]
    if first:
        return (*steps, Shift(function, 1.0), Record(function))
    for shift in schedule(policy):
        steps.append(Shift(function, shift.weight))
        if shift.final:
            steps.append(Record(function))
        if shift.hold_s > 0:
            phase = "bake at 100%" if shift.final else f"{shift.weight:.0%} of traffic"
            steps.append(Hold(function, shift.hold_s, phase))
    return tuple(steps)


def smoke_tests_for(function: str, smoke_tests: tuple[str, ...]) -> tuple[str, ...]:
    """The stage's smoke tests that address this function's API route."""
    route = function_spec(function).route
    if route is None:
        return ()
    return tuple(t for t in smoke_tests if tuple(t.split(" ", 2)[:2]) == route)


def smoke_event(test: str) -> tuple[dict[str, Any], int]:
    """`POST /feedback 201 {"name": ...}` → (the API Gateway proxy event, expected status)."""
    method, path, rest = test.split(" ", 2)
    status, _, body = rest.partition(" ")
    headers = {"Content-Type": "application/json"} if body else {}
    return api_event(method, path, body=body or None, headers=headers), int(status)


# --- judging ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Judging:
    """How holds are judged: the stage's verdict rules and metric resolution."""

    rules: VerdictRules = field(default_factory=VerdictRules)
    period_s: int = 60  # GetMetricData period: the stage's alarm period, at most 60
    metric_delay_s: float = 60.0
    smoke_tests: tuple[str, ...] = ()


@dataclass
class FunctionOutcome:
    function: str
    outcome: Outcome
    from_version: str | None = None
    to_version: str | None = None
    size: int = 0
    detail: str = ""
    verdict: dict[str, Any] | None = None
    by: str = ""  # who ended it, when someone else (the orchestrator) rolled it back

    def as_dict(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "outcome": self.outcome,
            "from": self.from_version,
            "to": self.to_version,
            "codeSize": self.size,
            "detail": self.detail,
            "verdict": self.verdict,
            "by": self.by or None,
        }


@dataclass
class RunDeps:
    """What a release run calls: raw Lambda for publishing, the engine's ports for the rest."""

    lambda_: Any
    ports: Ports
    ledger: DynamoLedger
    evidence: MetricsEvidence
    physical: Callable[[str], str]
    actor: str
    git_commit: str
    progress: Callable[[str], None]
    sleep: Callable[[float], None]
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    wait_updated: Callable[[str], None] = lambda _physical: None


class InvokingPort(Protocol):
    """The engine's Lambda port plus a direct invocation of one version (smoke tests)."""

    def invoke_event(
        self, function: str, version: str, event: dict[str, Any]
    ) -> tuple[str, Any]: ...


class _Stop(Exception):  # noqa: N818 - control flow inside the executor, never escapes it
    def __init__(self, outcome: FunctionOutcome) -> None:
        super().__init__(outcome.detail)
        self.outcome = outcome


class ReleaseRun:
    """Runs one function's steps; `run()` always returns an outcome the ledger also holds."""

    def __init__(
        self,
        deps: RunDeps,
        steps: tuple[Step, ...],
        *,
        bucket: str,
        reason: str,
        size: int,
        policy: ReleasePolicy,
        judging: Judging,
        first: bool = False,
    ) -> None:
        self.d = deps
        self.first = first
        self.steps = steps
        self.bucket = bucket
        self.reason = reason
        self.size = size
        self.policy = policy
        self.judging = judging
        self.function = steps[0].function
        self.version = ""
        self.previous: str | None = None
        self.alias: AliasState | None = None
        self.ledger_at_start = LedgerState(self.function)
        self.started = deps.now()
        self.analysis = Analysis(judging.rules)
        self.recorded = False
        self.recorded_event: LedgerEvent | None = None
        self.unverified = ""
        self._baseline: VersionEvidence | None = None

    # driving ---------------------------------------------------------------------------
    def run(self) -> FunctionOutcome:
        try:
            for step in self.steps:
                self._dispatch(step)
        except _Stop as stop:
            return stop.outcome
        except KeyboardInterrupt:
            return self._interrupted()
        except Exception as exc:  # noqa: BLE001 - an AWS error mid-release: leave no split behind
            return self._aborted(exc)
        detail = self.reason + (f"; {self.unverified}" if self.unverified else "")
        verdict = self._verdict("promoted" if not self.unverified else "unverified")
        if self.recorded_event is not None:
            # The release event was written when traffic reached 100 %; the bake's verdict
            # completes it (same event, same sort key), so `history` shows the figures.
            details = {**self.recorded_event.details, "verdict": verdict}
            self.d.ledger.finish(replace(self.recorded_event, details=details))
        return FunctionOutcome(
            self.function, "released", self.previous, self.version, self.size, detail, verdict
        )

    def _dispatch(self, step: Step) -> None:
        if isinstance(step, Publish):
            self._publish(step)
        elif isinstance(step, PreTraffic):
            self._pre_traffic(step)
        elif isinstance(step, Shift):
            self._shift(step)
        elif isinstance(step, Record):
            self._record()
        else:
            self._hold(step)

    @property
    def _lambda_ops(self) -> InvokingPort:
        return self.d.ports.lambda_  # type: ignore[return-value]  # LambdaOps, or a test fake

    # steps -----------------------------------------------------------------------------
    def _publish(self, step: Publish) -> None:
        physical = self.d.physical(self.function)
        if step.code_update:
            self.d.progress(f"{self.function}: updating code")
            functions.update_code(self.d.lambda_, physical, self.bucket, step.s3_key)
        self.d.wait_updated(physical)
        description = f"code {step.s3_key.rsplit('/', 1)[-1][:12]}" + (
            f" commit {self.d.git_commit}" if self.d.git_commit else ""
        )
        self.version = functions.publish_version(
            self.d.lambda_, physical, step.code_sha256, description
        ).version
        self.ledger_at_start = self.d.ledger.state(self.function)
        try:
            self.alias = self.d.ports.lambda_.alias(self.function)
        except Exception as exc:
            if not is_not_found(exc):  # no alias yet (a first release) is the only expected miss
                raise
        # A first release replaces the stack's bootstrap version: nothing to compare or return to.
        if self.alias is not None and not self.first and self.alias.version != self.version:
            self.previous = self.alias.version
        self.started = self.d.now()
        self.d.progress(f"{self.function}: published version {self.version}")

    def _pre_traffic(self, step: PreTraffic) -> None:
        health = self.d.ports.lambda_.invoke_health(self.function, self.version)
        if not health.healthy:
            self._fail(f"version {self.version} failed its health check ({health.detail})")
        for test in step.smoke_tests:
            event, expected = smoke_event(test)
            error, answer = self._lambda_ops.invoke_event(self.function, self.version, event)
            status = answer.get("statusCode") if isinstance(answer, dict) else None
            if error or status != expected:
                got = f"FunctionError {error}" if error else f"status {status}"
                self._fail(f"smoke test `{test.split(' {')[0]}` got {got}, expected {expected}")
        checks = 1 + len(step.smoke_tests)
        self.d.progress(
            f"{self.function}: version {self.version} passed {checks} pre-traffic check(s)"
        )

    def _shift(self, step: Shift) -> None:
        revision = self.alias.revision_id if self.alias else ""
        if step.weight >= 1.0 or self.previous is None:
            target, weights = self.version, {}
        else:
            target, weights = self.previous, {self.version: step.weight}
        try:
            if self.alias is None:
                self.alias = self._create_alias()
            else:
                self.alias = self.d.ports.lambda_.set_alias(
                    self.function, target, weights, revision
                )
        except AliasMovedError:
            self._moved_by_someone_else()
        shown = f"{self.previous} + {self.version}@{step.weight:.0%}" if weights else self.version
        self.d.progress(f"{self.function}: live → {shown}")

    def _create_alias(self) -> AliasState:
        functions.create_alias(self.d.lambda_, self.d.physical(self.function), self.version)
        return self.d.ports.lambda_.alias(self.function)

    def _record(self) -> None:
        event = self._event("done", f"deploy ({self.reason}, {self.policy.strategy})")
        start = self.ledger_at_start
        try:
            self.d.ledger.commit_release(
                start.revision, start.with_release(self.version, self.previous), event
            )
        except ConcurrentUpdateError:
            event = self._record_after_conflict(event)
        self.recorded = True
        self.recorded_event = event

    def _record_after_conflict(self, event: LedgerEvent) -> LedgerEvent:
        """The ledger changed since the release began. If the alias moved, someone else acted;
        if an incident latched the function meanwhile, its verdict stands: traffic goes back;
        otherwise (an unrelated write) the release is recorded on the state as it now is."""
        current = self.d.ports.lambda_.alias(self.function)
        if not self._is_ours(current):
            self._moved_by_someone_else(current)
        fresh = self.d.ledger.state(self.function)
        if fresh.latched and not self.ledger_at_start.latched:
            self._undo_shift()
            why = f"the function was latched while releasing ({fresh.latch_reason})"
            self.d.ledger.record(self._event("failed", why))
            raise _Stop(
                FunctionOutcome(
                    self.function, "failed", self.version, self.previous, self.size,
                    f"{why}; live restored to {self.previous}",
                )
            )  # fmt: skip
        try:
            self.d.ledger.commit_release(
                fresh.revision, fresh.with_release(self.version, self.previous), event
            )
        except ConcurrentUpdateError:
            self._moved_by_someone_else()
        return event

    def _hold(self, step: Hold) -> None:
        analysis = self.analysis.next_step()
        limit, waited = step.seconds, 0.0
        while True:
            self._still_ours()
            result = self._check()
            analysis, decision = analysis.after(result)
            self.analysis = analysis
            left = max(0.0, limit - waited)
            self.d.progress(
                f"{self.function}: {step.phase}, {left:.0f} s left: {result.summary()} "
                f"[{result.status}]"
            )
            if decision == "rollback":
                self._roll_back(result)
            if waited >= limit:
                analysis, decision = analysis.at_end_of_hold()
                self.analysis = analysis
                if decision == "promote":
                    return
                if decision == "rollback":
                    self._roll_back(result)
                if decision != "extend":  # inconclusive to the end
                    if self.judging.rules.on_inconclusive == "rollback":
                        self._roll_back(result)
                    self.unverified = f"unverified: {result.reasons[0]} ({step.phase})"
                    self.d.progress(f"{self.function}: warning: {self.unverified}")
                    return
                # One more window, judged on new data: the next check comes after a poll.
                limit += step.seconds
                self.d.progress(
                    f"{self.function}: {result.reasons[0]}; holding {step.seconds:g} s more "
                    f"(extension {analysis.extensions} of "
                    f"{self.judging.rules.inconclusive_extensions})"
                )
            pause = min(self.policy.poll_s, limit - waited)
            self.d.sleep(pause)
            waited += pause

    # evidence --------------------------------------------------------------------------
    def _check(self) -> Check:
        now = self.d.now()
        versions = [self.version] + ([self.previous] if self.previous else [])
        found = self.d.evidence.collect(self.function, versions, self.started, now)
        new = found.get(self.version, VersionEvidence(self.version))
        stable = found.get(self.previous) if self.previous else None
        rules = self.judging.rules
        if self.previous and (stable is None or stable.invocations < rules.min_invocations):
            stable = self._baseline_of(self.previous, now - self.started) or stable
        return check(new, stable, rules)

    def _baseline_of(self, version: str, span: timedelta) -> VersionEvidence | None:
        """The stable version's evidence just before the release (same length, at least one
        metric period and the delay), when it gets too little traffic during it."""
        if self._baseline is None:
            hold = max(self.policy.step_s, self.policy.bake_s)
            length = max(span, timedelta(seconds=max(hold, self.judging.period_s * 5)))
            found = self.d.evidence.collect(
                self.function, [version], self.started - length, self.started
            ).get(version, VersionEvidence(version))
            # Datapoints arrive up to the metric delay late: an empty answer before then is
            # asked again at the next check rather than kept as "no baseline".
            settled = span.total_seconds() >= self.judging.metric_delay_s
            if found.invocations or settled:
                self._baseline = found
            return found if found.invocations else None
        return self._baseline if self._baseline.invocations else None

    def _verdict(self, decision: str) -> dict[str, Any]:
        checks = self.analysis.checks
        return {
            "decision": decision,
            "status": checks[-1].status if checks else "not-judged",
            "checks": len(checks),
            "last": checks[-1].as_dict() if checks else None,
            "rules": {
                "minInvocations": self.judging.rules.min_invocations,
                "maxErrorRateIncrease": self.judging.rules.max_error_rate_increase,
                "maxP99Ratio": self.judging.rules.max_p99_ratio,
                "failedChecks": self.judging.rules.failed_checks,
            },
        }

    # endings ---------------------------------------------------------------------------
    def _event(self, outcome: str, reason: str, **details: Any) -> LedgerEvent:
        return LedgerEvent(
            function=self.function,
            kind="release",
            outcome=outcome,  # type: ignore[arg-type]
            at=iso(self.d.now()),
            actor=self.d.actor,
            reason=reason[:500],
            version=self.version or None,
            previous_version=self.previous,
            code_sha256=next((s.code_sha256 for s in self.steps if isinstance(s, Publish)), ""),
            git_commit=self.d.git_commit,
            details={"strategy": self.policy.strategy, **details},
        )

    def _fail(self, why: str) -> None:
        """Stop before traffic moved: record it, leave live where it is."""
        self.d.ledger.record(self._event("failed", f"pre-traffic check: {why}"))
        live = self.previous or "-"
        raise _Stop(
            FunctionOutcome(
                self.function, "failed", self.previous, self.previous, self.size,
                f"{why}; no traffic moved, live stays on {live}",
            )
        )  # fmt: skip

    def _roll_back(self, result: Check) -> None:
        why = "; ".join(result.reasons)
        self.d.progress(f"{self.function}: version {self.version} is failing ({why}); rolling back")
        verdict = self._verdict("rollback")
        request = RollbackRequest(
            function=self.function,
            actor=f"deploy:{self.d.actor}",
            reason=f"release verdict: {why} ({result.summary()})"[:500],
            now=self.d.now(),
            automatic=True,
            force=True,  # the deploy undoes its own release; the latch guards alarms
            ignore_cooldown=True,
            incident=f"release:{self.version}@{int(self.started.timestamp())}",
            expected_version=self.version,
            details={"evidence": result.as_dict()},
        )
        outcome = rollback(request, self.d.ports)
        if outcome.outcome == "skipped":
            # Someone else (the orchestrator, on the same failures) rolled it back first.
            self._moved_by_someone_else()
        self.d.ledger.record(self._event("failed", f"release verdict: {why}", verdict=verdict))
        done = outcome.outcome == "done"
        raise _Stop(
            FunctionOutcome(
                self.function,
                "rolled-back" if done else "failed",
                self.version,
                outcome.to_version if done else self.version,
                self.size,
                f"version {self.version} failed its verdict ({why}); {outcome.message}",
                verdict,
                by=f"deploy:{self.d.actor}",
            )
        )

    def _is_ours(self, current: AliasState) -> bool:
        """True while the alias is where this release last put it."""
        mine = self.alias
        return mine is None or (
            current.revision_id == mine.revision_id
            and current.version == mine.version
            and set(current.routing) == set(mine.routing)
        )

    def _still_ours(self) -> None:
        """Stop judging when someone else (the orchestrator, an operator) moved the alias."""
        current = self.d.ports.lambda_.alias(self.function)
        if not self._is_ours(current):
            self._moved_by_someone_else(current)

    def _undo_shift(self) -> str:
        """Put all traffic back on the previous version (under the RevisionId); what was done."""
        if self.previous is None or self.alias is None:
            return "no traffic had moved"
        try:
            self.alias = self.d.ports.lambda_.set_alias(
                self.function, self.previous, {}, self.alias.revision_id
            )
        except AliasMovedError:
            return "live had already been moved by someone else"
        return f"live restored to {self.previous}"

    def _moved_by_someone_else(self, current: AliasState | None = None) -> None:
        current = current or self.d.ports.lambda_.alias(self.function)
        rollbacks = (e for e in self.d.ledger.events(self.function, 5) if e.kind == "rollback")
        latest = next((e for e in rollbacks if e.outcome == "done"), None)
        by = latest.actor if latest else "someone else"
        detail = (
            f"live moved to {current.version} by {by} while version {self.version} was "
            f"being released; the deploy stopped and left it there"
        )
        self.d.ledger.record(self._event("failed", detail, verdict=self._verdict("superseded")))
        raise _Stop(
            FunctionOutcome(
                self.function, "rolled-back", self.version, current.version, self.size, detail,
                self._verdict("superseded"), by=by,
            )
        )  # fmt: skip

    def _aborted(self, exc: Exception) -> FunctionOutcome:
        """An error (AWS refused a call, the network went) stopped the release: traffic goes
        back unless the release was already recorded, and the ledger says why."""
        error = f"{type(exc).__name__}: {exc}"[:300]
        if self.recorded:
            done = f"version {self.version} stays live, unjudged"
            to: str | None = self.version
        else:
            try:
                done = self._undo_shift()
            except Exception as again:  # noqa: BLE001 - say what happened; the alias is as it is
                done = f"the alias could not be restored ({type(again).__name__})"
            to = self.previous
        detail = f"stopped by an error ({error}); {done}"
        # The ledger may be what failed; then the outcome alone says it.
        with contextlib.suppress(Exception):
            self.d.ledger.record(self._event("failed", detail, verdict=self._verdict("aborted")))
        return FunctionOutcome(
            self.function, "failed", self.previous, to, self.size, detail,
            self._verdict("aborted"),
        )  # fmt: skip

    def _interrupted(self) -> FunctionOutcome:
        """Ctrl-C: before the release is recorded, traffic goes back to the previous version
        (through the same port, under the RevisionId); after it, the new version stays live."""
        if not self.recorded and self.previous is not None and self.alias is not None:
            detail = f"interrupted; {self._undo_shift()}"
            to: str | None = self.previous
        elif self.recorded:
            detail = f"interrupted during the bake; version {self.version} stays live, unjudged"
            to = self.version
        else:
            detail, to = "interrupted before any traffic moved", self.previous
        self.d.ledger.record(
            self._event("interrupted", detail, verdict=self._verdict("interrupted"))
        )
        return FunctionOutcome(
            self.function, "interrupted", self.previous, to, self.size, detail,
            self._verdict("interrupted"),
        )  # fmt: skip


def describe_steps(steps: tuple[Step, ...]) -> list[str]:
    """The plan lines `--dry-run` prints, one per step the executor will run."""
    return [f"{type(s).__name__.lower()}: {s.describe()}" for s in steps]


def steps_json(steps: tuple[Step, ...]) -> list[dict[str, Any]]:
    return [
        {"step": type(s).__name__.lower(), "description": s.describe(), **_fields(s)} for s in steps
    ]


def _fields(step: Step) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(step).items()}
