"""`feedbackctl drill`: prove that a bad release heals itself, on any stage.

Read (read-only calls), plan (pure: the refusal rules, the faulty version's configuration, the
windows), execute. The faulty version is the live version's code and configuration plus
FEEDBACKCTL_FAULT (the shared runtime's fault kinds); $LATEST is restored as soon as it is
published. The drill records it as a release, moves `live` through the engine's alias port under
the alias RevisionId, drives traffic and watches every rollback alarm until the alias leaves the
faulty version. Whatever the alarms miss, the drill heals itself through the rollback engine. It
clears the incident latch only when its own faulty version's automatic rollback set it.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from feedbackctl.aws import alarms, functions, objects, stacks
from feedbackctl.engine.ledger import ConcurrentUpdateError, DynamoLedger
from feedbackctl.engine.model import AliasMovedError, AliasState, LedgerEvent, LedgerState, iso
from feedbackctl.engine.rollback import (
    DEFAULT_COOLDOWN,
    Ports,
    RollbackPlan,
    RollbackRequest,
    RollbackState,
    plan_rollback,
    rollback,
)
from feedbackctl.engine.verdict import Windows
from feedbackctl.errors import FeedbackctlError, RefusedError, UsageError
from feedbackctl.naming import StackNames
from feedbackctl.sandbox import api_event

FAULT_ENV = "FEEDBACKCTL_FAULT"  # lambdas/common/runtime.py reads it (a test keeps them in step)
DRILL_ENV = "FEEDBACKCTL_DRILL"  # the drill id: each drill publishes a new version
# `error` is the handled path (a logged ERROR and a 500); the others are what bad releases do.
FAULT_KINDS = ("exception", "timeout", "import-error", "crash", "memory", "latency", "error")
DEFAULT_FAULT = "exception"
DEFAULT_LATENCY_MS = 3000
TIMEOUT_FAULT_S = 3  # the `timeout` version's Timeout cap: each request fails in seconds
CONFIG_KEYS = ("Handler", "Runtime", "MemorySize", "Timeout", "Environment")
UPDATE_POLL_S = 0.5
UPDATE_TIMEOUT_S = 300.0  # a Lambda update normally settles within seconds
ROUTES = {
    "create-feedback": ("POST", "/feedback"),
    "list-feedback": ("GET", "/feedback"),
    "get-analytics": ("GET", "/analytics"),
    "health": ("GET", "/health"),
}


def fault_setting(fault: str) -> str:
    """FEEDBACKCTL_FAULT for a --fault value: `latency` → `latency:3000`; UsageError if unknown."""
    kind, _, argument = fault.partition(":")
    if kind not in FAULT_KINDS or (argument and (kind != "latency" or not argument.isdigit())):
        raise UsageError(
            f"unknown fault {fault!r}; choose one of {', '.join(FAULT_KINDS)} (latency:<ms>)"
        )
    if kind == "latency":
        return f"latency:{argument or DEFAULT_LATENCY_MS}"
    return kind


def artifact_key(function: str, code_sha256: str) -> str:
    """Where the deploy uploaded the code whose CodeSha256 this is (packaging.Artifact.s3_key:
    artifacts are stored under the hex of the same sha256 that CodeSha256 is the base64 of)."""
    return f"artifacts/{function}/{base64.b64decode(code_sha256).hex()}.zip"


def traffic_event(function: str) -> dict[str, Any]:
    """A representative request for `function` (its API route, or an empty batch)."""
    if function not in ROUTES:
        return {"Records": []}
    method, path = ROUTES[function]
    body = None
    if method == "POST":
        body = json.dumps(
            {"name": "Drill", "email": "drill@example.com", "rating": 3, "message": "drill traffic"}
        )
    return api_event(method, path, body=body, headers={"Content-Type": "application/json"})


@dataclass(frozen=True)
class Step:
    """One thing the drill will do, described for --dry-run (execute follows the same order)."""

    action: str
    description: str


@dataclass(frozen=True)
class DrillRequest:
    """Who drills which function with which fault, on which stage and with which windows."""

    function: str
    fault: str  # the FEEDBACKCTL_FAULT value, from fault_setting()
    actor: str
    now: datetime
    windows: Windows
    stage: str = ""
    timeout_s: float | None = None  # None: the windows' drill timeout
    production: bool = False
    allow_production: bool = False
    cooldown: timedelta = DEFAULT_COOLDOWN
    drill_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    @property
    def kind(self) -> str:
        return self.fault.partition(":")[0]


@dataclass(frozen=True)
class DrillFacts:
    """Everything planning reads, gathered by read-only calls."""

    function: str
    physical: str
    alias: AliasState
    published: tuple[str, ...]  # published version numbers, ascending
    live: dict[str, Any]  # the live version's configuration (empty when not published)
    latest: dict[str, Any]  # $LATEST's configuration
    ledger: LedgerState
    alarms: dict[str, str | None]  # every rollback alarm → its state (None: it does not exist)
    bucket: str | None
    artifacts: frozenset[str]  # keys present in the code bucket (of the live and $LATEST code)


@dataclass(frozen=True)
class DrillPlan:
    """The refusals (empty: the drill may run), the faulty version and the steps."""

    request: DrillRequest
    facts: DrillFacts
    refusals: tuple[tuple[str, str], ...]
    version_config: dict[str, Any]  # what $LATEST gets before the faulty version is published
    restore_config: dict[str, Any]  # what $LATEST gets back
    code_key: str  # the live version's artifact
    restore_key: str | None  # $LATEST's artifact, when its code differs from the live code
    timeout_s: float
    steps: tuple[Step, ...]
    notes: tuple[str, ...] = ()

    @property
    def refused(self) -> bool:
        return bool(self.refusals)

    @property
    def refusal_message(self) -> str:
        rule, message = self.refusals[0]
        return f"drill refused ({rule}): {message}"

    def as_dict(self) -> dict[str, Any]:
        facts, request = self.facts, self.request
        return {
            "function": facts.function,
            "fault": request.fault,
            "drillId": request.drill_id,
            "goodVersion": facts.alias.version,
            "liveCodeSha256": facts.live.get("CodeSha256"),
            "latestCodeSha256": facts.latest.get("CodeSha256"),
            "codeBucket": facts.bucket,
            "faultyTimeout": self.version_config.get("Timeout"),
            "faultyMemorySize": self.version_config.get("MemorySize"),
            "timeoutSeconds": self.timeout_s,
            "windows": request.windows.as_dict(),
            "alarms": {name: state or "missing" for name, state in facts.alarms.items()},
            "refusals": [{"rule": rule, "message": message} for rule, message in self.refusals],
            "steps": [{"action": s.action, "description": s.description} for s in self.steps],
            "notes": list(self.notes),
        }


def _config(configuration: dict[str, Any]) -> dict[str, Any]:
    """The UpdateFunctionConfiguration arguments that reproduce a version's configuration."""
    wanted = {key: configuration[key] for key in CONFIG_KEYS if key in configuration}
    variables = (configuration.get("Environment") or {}).get("Variables") or {}
    wanted["Environment"] = {"Variables": dict(variables)}
    return wanted


def _refusals(
    facts: DrillFacts, request: DrillRequest, restore_key: str | None
) -> list[tuple[str, str]]:
    """Every safety rule that forbids this drill now, each with when it lifts."""
    fn, ledger = facts.function, facts.ledger
    found: list[tuple[str, str]] = []
    if request.production and not request.allow_production:
        found.append(
            (
                "production",
                f"stage {request.stage} is marked production and a drill breaks {fn} on purpose; "
                "pass --allow-production if you really mean it",
            )
        )
    if not facts.live:
        found.append(
            (
                "not-published",
                f"{fn}:live points at {facts.alias.version}, not a published version; "
                "lifts after a release",
            )
        )
    if facts.alias.routing:
        found.append(
            (
                "shifting",
                f"a release is shifting {fn} to version {facts.alias.shifting_to}; "
                "lifts when that release finishes or is rolled back",
            )
        )
    if ledger.latched:
        found.append(
            (
                "latch",
                f"{fn} is latched by an automatic rollback ({ledger.latch_reason or 'no reason'}) "
                "and the orchestrator would not heal the drill; lifts when a human clears it "
                "(the next release of the function does)",
            )
        )
    if facts.live and not facts.alias.routing:
        found += _orchestrator_refusals(facts, request)
    for name, state in facts.alarms.items():
        if state == "ALARM":
            found.append(
                (
                    "alarm-firing",
                    f"alarm {name} is already in ALARM, so the drill's failures would raise no "
                    "new alarm; lifts when it returns to OK",
                )
            )
    found += _artifact_refusals(facts, restore_key)
    return found


def orchestrator_preview(facts: DrillFacts, request: DrillRequest) -> RollbackPlan:
    """What the rollback engine would decide for the orchestrator once the faulty version is
    live: the engine's own pure planner on the state the drill is about to create, so the
    drill's rules cannot drift from the orchestrator's."""
    faulty = str(max((int(v) for v in facts.published), default=0) + 1)
    state = RollbackState(
        facts.function,
        AliasState(faulty),
        (*facts.published, faulty),
        facts.ledger.with_release(faulty, facts.alias.version),
        request.cooldown,
    )
    alarm = RollbackRequest(
        facts.function,
        "alarm:preview",
        "the drill's preview of the orchestrator",
        request.now,
        automatic=True,
        incident=f"drill-preview-{request.drill_id}",
    )
    return plan_rollback(state, alarm)


def _orchestrator_refusals(facts: DrillFacts, request: DrillRequest) -> list[tuple[str, str]]:
    preview = orchestrator_preview(facts, request)
    live = facts.alias.version
    if preview.decision == "rollback" and preview.to_version != live:
        return [
            (
                "orchestrator",
                f"the orchestrator would heal the drill onto version {preview.to_version}, not "
                f"the live version {live} ({'; '.join(preview.notes) or 'its ledger chain'}), "
                "undoing a release; lifts after the next release",
            )
        ]
    if preview.decision != "refuse":
        return []
    fn, ledger = facts.function, facts.ledger
    last = ledger.last_auto_rollback_at or ledger.last_rollback_at
    if preview.rule == "cooldown" and last is not None:
        left = max(int((request.cooldown - (request.now - last)).total_seconds()) + 1, 1)
        return [
            (
                "cooldown",
                f"an automatic rollback of {fn} happened at {iso(last)}, so the orchestrator "
                f"would refuse to heal the drill for {left}s more; "
                f"lifts at {iso(last + request.cooldown)}",
            )
        ]
    return [
        (
            "orchestrator",
            f"the orchestrator would refuse to heal the drill ({preview.rule}): {preview.message}",
        )
    ]


def _artifact_refusals(facts: DrillFacts, restore_key: str | None) -> list[tuple[str, str]]:
    if not facts.live:
        return []
    if facts.bucket is None:
        return [
            (
                "no-code-bucket",
                f"stack {facts.physical.rsplit('-', 1)[0]} has no code bucket to build the faulty "
                "version from; lifts after `feedbackctl deploy`",
            )
        ]
    found: list[tuple[str, str]] = []
    key = artifact_key(facts.function, facts.live["CodeSha256"])
    if key not in facts.artifacts:
        found.append(
            (
                "no-artifact",
                f"the live version {facts.alias.version}'s code is not at "
                f"s3://{facts.bucket}/{key}, so the faulty version cannot be built on it; "
                "lifts when a deploy uploads it",
            )
        )
    if restore_key is not None and restore_key not in facts.artifacts:
        found.append(
            (
                "no-artifact",
                f"$LATEST's code is not at s3://{facts.bucket}/{restore_key}, so the drill could "
                "not restore $LATEST afterwards; lifts when $LATEST runs deployed code",
            )
        )
    return found


def plan_drill(facts: DrillFacts, request: DrillRequest) -> DrillPlan:
    """Decide what the drill would do. Pure: no AWS calls, deterministic for its inputs."""
    fn, alias, notes = facts.function, facts.alias, []
    live_sha = str(facts.live.get("CodeSha256", ""))
    latest_sha = str(facts.latest.get("CodeSha256", ""))
    restore_key = artifact_key(fn, latest_sha) if latest_sha and latest_sha != live_sha else None
    code_key = artifact_key(fn, live_sha) if live_sha else ""
    version_config = _config(facts.live)
    version_config["Environment"]["Variables"].update(
        {FAULT_ENV: request.fault, DRILL_ENV: request.drill_id}
    )
    if request.kind == "timeout" and int(version_config.get("Timeout", 3)) > TIMEOUT_FAULT_S:
        notes.append(
            f"the faulty version's Timeout is lowered from {version_config['Timeout']} s to "
            f"{TIMEOUT_FAULT_S} s, so each timed-out request fails in seconds, not minutes"
        )
        version_config["Timeout"] = TIMEOUT_FAULT_S
    missing = [name for name, state in facts.alarms.items() if state is None]
    if missing:
        notes.append(
            f"alarm(s) {', '.join(missing)} do not exist on this stage; what they would catch "
            "is healed by the drill itself at the timeout"
        )
    timeout_s = float(request.timeout_s or request.windows.drill_timeout_s)
    watched = ", ".join(name for name, state in facts.alarms.items() if state is not None)
    w = request.windows
    steps = (
        Step(
            "update-code",
            f"$LATEST ← version {alias.version}'s code (s3://{facts.bucket}/{code_key}, "
            f"CodeSha256 {live_sha})"
            if restore_key
            else f"none: $LATEST already runs version {alias.version}'s code ({live_sha})",
        ),
        Step(
            "configure",
            f"$LATEST ← version {alias.version}'s configuration + {FAULT_ENV}={request.fault} "
            f"(Timeout {version_config.get('Timeout')} s, MemorySize "
            f"{version_config.get('MemorySize')} MB)",
        ),
        Step("publish", f"publish the faulty version (CodeSha256 {live_sha} required)"),
        Step("restore", "$LATEST ← its own code and configuration again (always)"),
        Step(
            "record",
            f"ledger: release of the faulty version after {alias.version} "
            f"(conditional on revision {facts.ledger.revision})",
        ),
        Step(
            "move-alias",
            f"point {fn}:live at the faulty version (RevisionId {alias.revision_id or 'n/a'})",
        ),
        Step(
            "watch",
            f"drive traffic to {fn}:live and watch {watched or 'no alarm'} for up to "
            f"{timeout_s:g} s (alarm period {w.minimum_s - w.metric_delay_s:g} s, "
            f"metric delay {w.metric_delay_s:g} s)",
        ),
        Step(
            "heal",
            f"if live is still on the faulty version: roll back to {alias.version} through the "
            "rollback engine (forced), reported as healed by the drill itself",
        ),
        Step(
            "latch",
            "clear the latch only if the automatic rollback of the faulty version set it; "
            "record the drill in the ledger",
        ),
    )
    return DrillPlan(
        request,
        facts,
        tuple(_refusals(facts, request, restore_key)),
        version_config,
        _config(facts.latest),
        code_key,
        restore_key,
        timeout_s,
        steps,
        tuple(notes),
    )


@dataclass
class DrillReport:
    function: str
    fault: str
    good_version: str
    drill_id: str = ""
    faulty_version: str = ""
    faulty_code_sha256: str = ""
    timeout_s: float = 0.0
    alarms: list[str] = field(default_factory=list)
    alarm_fired: str = ""
    requests: int = 0
    errors: int = 0
    detect_s: float | None = None
    recover_s: float | None = None
    healed_by: str = ""
    latch: str = "none"  # none, cleared, left
    outcome: str = "running"
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "fault": self.fault,
            "drillId": self.drill_id,
            "goodVersion": self.good_version,
            "faultyVersion": self.faulty_version,
            "faultyCodeSha256": self.faulty_code_sha256,
            "timeoutSeconds": self.timeout_s,
            "alarms": self.alarms,
            "alarmFired": self.alarm_fired or None,
            "requests": self.requests,
            "errors": self.errors,
            "detectSeconds": None if self.detect_s is None else round(self.detect_s, 2),
            "recoverSeconds": None if self.recover_s is None else round(self.recover_s, 2),
            "healedBy": self.healed_by,
            "latch": self.latch,
            "outcome": self.outcome,
            "notes": self.notes,
        }


@dataclass
class DrillRun:
    """The clients and effects a drill uses (injected, so tests can drive time and traffic)."""

    lambda_: Any
    cloudwatch: Any
    s3: Any
    cloudformation: Any
    ledger: DynamoLedger
    ports: Ports
    names: StackNames
    progress: Callable[[str], None] = lambda _: None
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    wall: Callable[[], datetime] = lambda: datetime.now(UTC)
    interval_s: float = 0.25
    traffic: Callable[[str], bool] | None = None  # one request; True when it failed

    # reading -------------------------------------------------------------------------
    def gather(self, function: str) -> DrillFacts:
        """Read what a plan needs (read-only calls)."""
        physical = self.names.function(function)
        alias = self.ports.lambda_.alias(function)
        live: dict[str, Any] = {}
        if alias.version.isdigit():
            live = functions.configuration(self.lambda_, physical, alias.version) or {}
        latest = functions.configuration(self.lambda_, physical) or {}
        names = self.names.rollback_alarms(function)
        states = alarms.states(self.cloudwatch, names)
        bucket = self._code_bucket()
        shas = {str(c["CodeSha256"]) for c in (live, latest) if c.get("CodeSha256")}
        keys = {artifact_key(function, sha) for sha in shas}
        return DrillFacts(
            function,
            physical,
            alias,
            tuple(self.ports.lambda_.published_versions(function)),
            live,
            latest,
            self.ports.ledger.state(function),
            {name: states.get(name) for name in names},
            bucket,
            frozenset(k for k in keys if bucket and self._stored(bucket, k)),
        )

    def _code_bucket(self) -> str | None:
        # Imported here: the deploy module pulls packaging and templating the drill never uses.
        from feedbackctl.deploy import local_platform_running

        stack = stacks.describe_stack(self.cloudformation, self.names.stack)
        if stack is not None and "CodeBucketName" in stack.outputs:
            return stack.outputs["CodeBucketName"]
        if local_platform_running(self.s3, self.names):
            return self.names.local_bucket("CodeBucket")
        return None

    def _stored(self, bucket: str, key: str) -> bool:
        return objects.exists(self.s3, bucket, key)

    # executing -----------------------------------------------------------------------
    def execute(self, plan: DrillPlan) -> DrillReport:
        """Run a plan that refuses nothing; the alias is back on a good version on every path."""
        if plan.refused:
            raise RefusedError(plan.refusal_message)
        request, facts = plan.request, plan.facts
        report = DrillReport(
            facts.function,
            request.fault,
            facts.alias.version,
            drill_id=request.drill_id,
            timeout_s=plan.timeout_s,
            alarms=[name for name, state in facts.alarms.items() if state is not None],
            notes=list(plan.notes),
        )
        self._publish(plan, report)
        started_at, started = self.wall(), self.clock()
        self._shift(plan, report)
        try:
            self._watch(plan, report, started, started_at)
        finally:
            self._heal(plan, report, started, started_at)
            self._settle(plan, report, started_at)
        return report

    def _wait_updated(self, physical: str) -> None:
        waiter = stacks.Waiter(self.sleep, self.clock, UPDATE_POLL_S, UPDATE_TIMEOUT_S)
        functions.wait_updated(self.lambda_, physical, waiter)

    def _set_latest(self, plan: DrillPlan, key: str | None, config: dict[str, Any]) -> None:
        physical = plan.facts.physical
        if key is not None:
            functions.update_code(self.lambda_, physical, str(plan.facts.bucket), key)
            self._wait_updated(physical)
        functions.update_configuration(self.lambda_, physical, config)
        self._wait_updated(physical)

    def _publish(self, plan: DrillPlan, report: DrillReport) -> None:
        facts, request = plan.facts, plan.request
        live_sha = str(facts.live["CodeSha256"])
        code_changes = plan.restore_key is not None
        try:
            self._set_latest(plan, plan.code_key if code_changes else None, plan.version_config)
            published = functions.publish_version(
                self.lambda_,
                facts.physical,
                live_sha,  # AWS refuses if $LATEST's code is not the live code
                f"drill {request.drill_id}: {FAULT_ENV}={request.fault}",
            )
        finally:
            # $LATEST is what the next deploy compares with: give it back at once, always.
            self._set_latest(plan, plan.restore_key, plan.restore_config)
        report.faulty_version = published.version
        report.faulty_code_sha256 = published.code_sha256
        if report.faulty_version == facts.alias.version or report.faulty_code_sha256 != live_sha:
            raise FeedbackctlError(
                f"the published version {report.faulty_version} (CodeSha256 "
                f"{report.faulty_code_sha256}) is not a new version of the live code {live_sha}",
                doing=f"drilling {facts.function}",
                hint="nothing was shifted; re-run the drill",
            )
        self.progress(
            f"{facts.function}: published faulty version {report.faulty_version} "
            f"({FAULT_ENV}={request.fault}) on version {facts.alias.version}'s code"
        )

    def _shift(self, plan: DrillPlan, report: DrillReport) -> None:
        facts, request = plan.facts, plan.request
        state = facts.ledger.with_release(report.faulty_version, facts.alias.version)
        event = LedgerEvent(
            function=facts.function,
            kind="release",
            outcome="done",
            at=iso(self.wall()),
            actor=request.actor,
            reason=f"drill {request.drill_id}: version with {FAULT_ENV}={request.fault}",
            version=report.faulty_version,
            previous_version=facts.alias.version,
            code_sha256=report.faulty_code_sha256,
            details={"drill": True, "drillId": request.drill_id, "fault": request.fault},
        )
        doing = f"drilling {facts.function}"
        try:
            self.ledger.commit_release(facts.ledger.revision, state, event)
        except ConcurrentUpdateError:
            raise FeedbackctlError(
                f"the ledger of {facts.function} changed since the drill read it; nothing was "
                f"shifted (faulty version {report.faulty_version} stays unused)",
                doing=doing,
                hint="re-run the drill",
            ) from None
        try:
            self.ports.lambda_.set_alias(
                facts.function, report.faulty_version, {}, facts.alias.revision_id
            )
        except AliasMovedError as exc:
            failed = replace(
                event,
                outcome="failed",
                rule="alias-moved",
                details={**event.details, "error": str(exc)},
            )
            self.ledger.release_claim(state, facts.ledger, failed)
            raise FeedbackctlError(
                f"{exc}; nothing was shifted", doing=doing, hint="re-run the drill"
            ) from None
        self.progress(
            f"{facts.function}: live → {report.faulty_version} (fault {request.fault}); "
            f"watching for up to {plan.timeout_s:g}s"
        )

    def _send(self, function: str) -> bool:
        """One request to `function:live`; True when it failed as a client would see it."""
        from feedbackctl.aws import BotoCoreError, ClientError

        payload = json.dumps(traffic_event(function)).encode()
        try:
            result = functions.invoke(
                self.lambda_, f"{self.names.function(function)}:live", payload
            )
        except (BotoCoreError, ClientError):
            return True  # throttled, or the service itself failed: a failed request either way
        body = result.payload
        return bool(
            result.function_error or b'"statusCode": 5' in body or b'"statusCode":5' in body
        )

    def _fired(self, names: list[str]) -> str:
        if not names:
            return ""
        states = alarms.states(self.cloudwatch, names)
        return next((name for name in names if states.get(name) == "ALARM"), "")

    def _watch(
        self, plan: DrillPlan, report: DrillReport, started: float, started_at: datetime
    ) -> None:
        function = report.function
        send = self.traffic or self._send
        while self.clock() - started < plan.timeout_s:
            report.requests += 1
            report.errors += int(send(function))
            if report.detect_s is None and (fired := self._fired(report.alarms)):
                report.detect_s, report.alarm_fired = self.clock() - started, fired
                self.progress(f"alarm {fired} fired after {report.detect_s:.1f}s")
            live = self.ports.lambda_.alias(function)
            if live.version != report.faulty_version and not live.routing:
                report.recover_s = self.clock() - started
                report.healed_by = self._healer(report, started_at, live.version)
                self.progress(
                    f"live is back on {live.version} after {report.recover_s:.1f}s "
                    f"({report.healed_by})"
                )
                return
            refusal = self._orchestrator_refusal(report, started_at) if report.detect_s else None
            if refusal is not None:
                report.notes.append(
                    f"the automatic rollback was {refusal.outcome} ({refusal.rule}): "
                    f"{refusal.reason}; the drill heals it now"
                )
                return
            self.sleep(self.interval_s)
        report.notes.append(
            f"no automatic rollback within {plan.timeout_s:g}s"
            + ("" if report.detect_s else " and no alarm fired")
        )

    def _own_events(self, report: DrillReport, started_at: datetime) -> list[LedgerEvent]:
        """Rollback events of the faulty version since the drill started, newest first."""
        since = iso(started_at)
        return [
            e
            for e in self.ledger.events(report.function, 50)
            if e.kind == "rollback"
            and e.previous_version == report.faulty_version
            and e.at >= since
        ]

    def _automatic_rollback(self, report: DrillReport, started_at: datetime) -> LedgerEvent | None:
        """The automatic rollback of the faulty version since the drill started, if any (an
        in-progress one too: the engine moves the alias between its claim and its finish)."""
        return next(
            (
                e
                for e in self._own_events(report, started_at)
                if e.automatic and e.outcome in ("done", "in-progress")
            ),
            None,
        )

    def _healer(self, report: DrillReport, started_at: datetime, live: str) -> str:
        if self._automatic_rollback(report, started_at) is not None:
            return "automatic rollback"
        return f"someone else (live moved to {live} without an automatic rollback)"

    def _orchestrator_refusal(
        self, report: DrillReport, started_at: datetime
    ) -> LedgerEvent | None:
        for event in self._own_events(report, started_at):
            if (
                event.automatic
                and event.outcome in ("refused", "failed")
                and self.ports.lambda_.alias(report.function).version == report.faulty_version
            ):
                return event
        return None

    def _heal(
        self, plan: DrillPlan, report: DrillReport, started: float, started_at: datetime
    ) -> None:
        """Roll back through the engine when the platform did not (or the drill was cut short)."""
        if report.recover_s is not None or not report.faulty_version:
            return
        live = self.ports.lambda_.alias(report.function)
        if live.version != report.faulty_version and report.faulty_version not in live.routing:
            report.recover_s = self.clock() - started
            report.healed_by = self._healer(report, started_at, live.version)
            return
        request = RollbackRequest(
            report.function,
            plan.request.actor,
            f"drill {plan.request.drill_id}: the platform did not heal faulty version "
            f"{report.faulty_version}",
            self.wall(),
            to_version=plan.facts.alias.version,
            force=True,
        )
        before = self.ledger.state(report.function)
        result = rollback(request, self.ports)
        if result.outcome == "done":
            report.recover_s = self.clock() - started
            report.healed_by = "the drill itself"
            self.progress(f"healed by the drill itself: {result.message}")
            if before.latched:
                self._keep_latch(plan, report, before)
        else:
            report.notes.append(
                f"the drill's own rollback was {result.outcome} ({result.rule}): {result.message}"
            )

    def _keep_latch(self, plan: DrillPlan, report: DrillReport, before: LedgerState) -> None:
        """A manual rollback lifts the latch in the engine; one the drill did not set stays."""
        after = self.ledger.state(report.function)
        if after.latched:
            return
        event = LedgerEvent(
            function=report.function,
            kind="drill",
            outcome="done",
            at=iso(self.wall()),
            actor=plan.request.actor,
            reason=f"drill {plan.request.drill_id}: latch kept ({before.latch_reason}); the "
            "drill's own rollback never clears a latch the drill did not set",
            version=after.live_version,
            previous_version=report.faulty_version,
        )
        kept = replace(after, latched=True, latch_reason=before.latch_reason)
        try:
            self.ledger.commit_release(after.revision, kept, event)
        except ConcurrentUpdateError:
            report.notes.append("the ledger changed while keeping the latch; check `status`")

    def _settle(self, plan: DrillPlan, report: DrillReport, started_at: datetime) -> None:
        """Clear the latch only if our faulty version's automatic rollback set it; record."""
        function, before = report.function, plan.facts.ledger
        state = self.ledger.state(function)
        ours = self._automatic_rollback(report, started_at)
        set_by_us = (
            state.latched
            and ours is not None
            and state.last_auto_rollback_at is not None
            and iso(state.last_auto_rollback_at) == ours.at
        )
        if report.healed_by == "automatic rollback":
            report.outcome = "healed"
        elif report.healed_by:
            report.outcome = "healed-by-drill"
        else:
            report.outcome = "not-healed"
        if set_by_us and ours is not None:
            report.latch = "cleared"
            reason = (
                f"drill {plan.request.drill_id} finished; latch cleared: it was set by the "
                f"automatic rollback of drill version {report.faulty_version} at {ours.at}"
            )
        elif state.latched:
            report.latch = "left"
            reason = f"drill {plan.request.drill_id} finished; latch left set"
            report.notes.append(
                f"the latch was left set: the automatic rollback of drill version "
                f"{report.faulty_version} did not set it ({state.latch_reason or 'no reason'}); "
                "a human must clear it"
            )
        else:
            reason = f"drill {plan.request.drill_id} finished"
        event = LedgerEvent(
            function=function,
            kind="drill",
            outcome="done" if report.outcome != "not-healed" else "failed",
            at=iso(self.wall()),
            actor=plan.request.actor,
            reason=reason,
            version=self.ports.lambda_.alias(function).version,
            previous_version=report.faulty_version,
            code_sha256=report.faulty_code_sha256,
            details=report.as_dict(),
        )
        if not set_by_us:
            self.ledger.record(event)
            return
        # The drill's own rollback must not hold back the next real one: the cooldown goes
        # back to what it was before the drill (the ledger's events keep the history).
        cleared = replace(
            state,
            latched=False,
            latch_reason="",
            last_auto_rollback_at=before.last_auto_rollback_at,
        )
        try:
            self.ledger.commit_release(state.revision, cleared, event)
        except ConcurrentUpdateError:
            report.latch = "left"
            report.notes.append("the ledger changed while clearing the latch; it was left set")
            self.ledger.record(replace(event, reason=f"{reason} (not: the ledger changed)"))
