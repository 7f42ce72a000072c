"""`feedbackctl deploy` as data: read the stage (read-only calls), plan, then execute.

The plan has two halves. Infrastructure: create or update the stack through change sets
(a new stack is created with only its code bucket first, because the full template is larger
than CloudFormation accepts inline and must be read from S3), and upload each artifact under its
content hash unless it is already there. Releases: for each function whose code or
configuration differs from what its `live` alias runs, update $LATEST, publish a version with the
CodeSha256 precondition, shift the alias by the strategy while the bake judge watches, and
record the release in the ledger; on failure the one rollback engine puts the old version back.
A deploy that finds nothing to do makes no mutating call. Code whose hash matches a version that
was rolled back is held, so a deploy of unrelated changes never undoes a rollback.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from feedbackctl import cfn
from feedbackctl.engine.evidence import MetricsEvidence
from feedbackctl.engine.ledger import DynamoLedger
from feedbackctl.engine.model import LedgerState
from feedbackctl.engine.release import ReleasePolicy
from feedbackctl.engine.rollback import Ports
from feedbackctl.errors import FeedbackctlError
from feedbackctl.naming import StackNames
from feedbackctl.packaging import Artifact, Manifest
from feedbackctl.releasing import (
    FunctionOutcome,
    Judging,
    Outcome,
    ReleaseRun,
    RunDeps,
    Step,
    release_steps,
)

CONFIG_KEYS = (
    "Runtime",
    "Handler",
    "MemorySize",
    "Timeout",
    "Role",
    "EphemeralStorage",
    "TracingConfig",
)
FAULT_ENV = "FEEDBACKCTL_FAULT"  # set only on drill versions (lambdas/common/runtime.py)
LOCAL_PLATFORM = "LOCAL_PLATFORM"  # the status of a stack `feedbackctl local up` provisioned
Action = Literal["release", "unchanged", "held"]
__all__ = ["FunctionOutcome", "Judging", "Outcome"]  # re-exported for the CLI and tests


def config_fingerprint(configuration: dict[str, Any]) -> str:
    """A hash of the configuration a published version freezes (not code, not metadata)."""
    relevant = {k: configuration.get(k) for k in CONFIG_KEYS}
    relevant["Environment"] = (configuration.get("Environment") or {}).get("Variables", {})
    relevant["Layers"] = sorted(layer["Arn"] for layer in configuration.get("Layers", []) or [])
    return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()[
        :16
    ]


@dataclass(frozen=True)
class FunctionFacts:
    """One function as AWS and the ledger have it (absent before the stack creates it)."""

    name: str
    exists: bool = False
    latest_sha: str | None = None
    latest_config: str | None = None
    live_version: str | None = None
    live_sha: str | None = None
    live_config: str | None = None
    routing: dict[str, float] = field(default_factory=dict)
    bad_shas: dict[str, str] = field(default_factory=dict)  # CodeSha256 -> bad version
    ledger: LedgerState | None = None


@dataclass(frozen=True)
class DeployFacts:
    stack: cfn.StackInfo | None
    template_changed: bool
    uploaded: frozenset[str]
    functions: dict[str, FunctionFacts]


@dataclass(frozen=True)
class Release:
    """What the deploy will do for one function, and why."""

    function: str
    action: Action
    reason: str
    artifact: Artifact
    code_update: bool = False
    from_version: str | None = None
    steps: tuple[Step, ...] = ()  # what the executor will run (empty unless action is release)


@dataclass(frozen=True)
class DeployPlan:
    stack_action: Literal["create", "update", "none"]
    uploads: tuple[Artifact, ...]
    releases: tuple[Release, ...]
    policy: ReleasePolicy
    allow_rolled_back: bool = False
    smoke_tests: tuple[str, ...] = ()

    @property
    def mutating(self) -> bool:
        return (
            self.stack_action != "none"
            or bool(self.uploads)
            or any(r.action == "release" for r in self.releases)
        )


def plan_function(facts: FunctionFacts, artifact: Artifact, *, allow_rolled_back: bool) -> Release:
    """Release, leave alone, or hold one function (pure)."""
    sha = artifact.code_sha256
    if not facts.exists:
        return Release(
            facts.name,
            "release",
            "new function: first release after the stack creates it",
            artifact,
            True,
        )
    same_code = facts.live_sha == sha
    same_config = facts.live_config == facts.latest_config
    if facts.live_version is not None and same_code and same_config and not facts.routing:
        # What runs is what would be released: nothing to release, so nothing to hold either
        # (a version with this code may have been rolled back for its configuration).
        return Release(
            facts.name,
            "unchanged",
            f"version {facts.live_version} runs this code",
            artifact,
            False,
            facts.live_version,
        )
    if sha in facts.bad_shas and not allow_rolled_back:
        version = facts.bad_shas[sha]
        return Release(
            facts.name,
            "held",
            f"code is identical to version {version}, which was rolled back; change the code "
            "(or pass --allow-rolled-back to release it again)",
            artifact,
            from_version=facts.live_version,
        )
    if facts.live_version is None:
        return Release(
            facts.name, "release", "the live alias is missing", artifact, facts.latest_sha != sha
        )
    reason = (
        "code changed"
        if not same_code
        else "configuration changed"
        if not same_config
        else "a shift was left unfinished"
    )
    return Release(
        facts.name, "release", reason, artifact, facts.latest_sha != sha, facts.live_version
    )


def plan_deploy(
    facts: DeployFacts,
    manifest: Manifest,
    functions: list[str],
    policy: ReleasePolicy,
    *,
    allow_rolled_back: bool = False,
    smoke_tests: tuple[str, ...] = (),
) -> DeployPlan:
    """The whole deploy as steps (pure)."""
    if facts.stack is None:
        stack_action: Literal["create", "update", "none"] = "create"
    else:
        stack_action = "update" if facts.template_changed else "none"
    uploads = tuple(
        manifest.artifacts[f]
        for f in functions
        if manifest.artifacts[f].s3_key not in facts.uploaded
    )
    releases = tuple(
        _with_steps(
            plan_function(
                facts.functions.get(f, FunctionFacts(f)),
                manifest.artifacts[f],
                allow_rolled_back=allow_rolled_back,
            ),
            policy,
            smoke_tests,
        )
        for f in functions
    )
    return DeployPlan(stack_action, uploads, releases, policy, allow_rolled_back, smoke_tests)


def replan_releases(plan: DeployPlan, facts: dict[str, FunctionFacts]) -> DeployPlan:
    """The releases again, from the functions as the stack update left them (pure): a memory,
    timeout or environment change the update made to $LATEST is released in the same deploy."""
    releases = tuple(
        r
        if r.action == "release" and r.from_version is None  # a first release stays one
        else _with_steps(
            plan_function(
                facts.get(r.function, FunctionFacts(r.function)),
                r.artifact,
                allow_rolled_back=plan.allow_rolled_back,
            ),
            plan.policy,
            plan.smoke_tests,
        )
        for r in plan.releases
    )
    return replace(plan, releases=releases)


def steps_for(
    release: Release, policy: ReleasePolicy, smoke_tests: tuple[str, ...]
) -> tuple[Step, ...]:
    """The steps the executor runs for one release (pure; --dry-run prints them)."""
    return release_steps(
        release.function,
        s3_key=release.artifact.s3_key,
        code_sha256=release.artifact.code_sha256,
        code_update=release.code_update,
        first=release.from_version is None,
        policy=policy,
        smoke_tests=smoke_tests,
    )


def _with_steps(release: Release, policy: ReleasePolicy, smoke_tests: tuple[str, ...]) -> Release:
    if release.action != "release":
        return release
    return replace(release, steps=steps_for(release, policy, smoke_tests))


# --- reading ----------------------------------------------------------------------------


@dataclass
class DeployClients:
    """The clients a deploy uses (the CLI's session, or moto/Stubber in tests)."""

    cfn: Any
    s3: Any
    lambda_: Any
    cloudwatch: Any
    ledger: DynamoLedger
    names: StackNames
    engine: Ports


def _not_found(exc: Exception) -> bool:
    return "ResourceNotFoundException" in str(exc) or "404" in str(exc) or "Not Found" in str(exc)


def read_function(c: DeployClients, name: str) -> FunctionFacts:
    physical = c.names.function(name)
    try:
        latest = c.lambda_.get_function_configuration(FunctionName=physical)
    except Exception as exc:
        if _not_found(exc):
            return FunctionFacts(name)
        raise
    ledger = c.ledger.state(name)
    facts = FunctionFacts(
        name, True, latest["CodeSha256"], config_fingerprint(latest), ledger=ledger
    )
    try:
        alias = c.engine.lambda_.alias(name)
    except Exception as exc:
        if _not_found(exc):
            return facts
        raise
    live = c.lambda_.get_function_configuration(FunctionName=physical, Qualifier=alias.version)
    bad: dict[str, str] = {}
    for version in sorted(ledger.bad_versions, key=int):
        try:
            config = c.lambda_.get_function_configuration(FunctionName=physical, Qualifier=version)
        except Exception as exc:
            if not _not_found(exc):
                raise
            continue
        # A drill version failed because of the fault its configuration injects, not its code:
        # its code is the good live code, which must stay releasable.
        if FAULT_ENV not in ((config.get("Environment") or {}).get("Variables") or {}):
            bad[config["CodeSha256"]] = version
    return replace(
        facts,
        live_version=alias.version,
        live_sha=live["CodeSha256"],
        live_config=config_fingerprint(live),
        routing=alias.routing,
        bad_shas=bad,
    )


def _uploaded(
    c: DeployClients, bucket: str | None, manifest: Manifest, functions: list[str]
) -> frozenset[str]:
    if bucket is None:
        return frozenset()
    present = set()
    for name in functions:
        key = manifest.artifacts[name].s3_key
        try:
            c.s3.head_object(Bucket=bucket, Key=key)
            present.add(key)
        except Exception as exc:
            if not _not_found(exc):
                raise
    return frozenset(present)


def local_platform_running(s3: Any, names: StackNames) -> bool:
    """True when `feedbackctl local up` provisioned this stack (its code bucket exists)."""
    try:
        s3.head_bucket(Bucket=names.local_bucket("CodeBucket"))
    except Exception:  # noqa: BLE001 - any answer but success means: not the local platform
        return False
    return True


def read_facts(
    c: DeployClients,
    template: str,
    manifest: Manifest,
    functions: list[str],
    *,
    local_platform: bool = False,
) -> DeployFacts:
    """Everything the plan needs, by read-only calls only.

    On the local platform (a local endpoint, no CloudFormation stack, the code bucket `local up`
    provisioned) `local up` owns the infrastructure: the plan then only releases code.
    """
    bucket: str | None
    stack = cfn.describe_stack(c.cfn, c.names.stack)
    if stack is None and local_platform and local_platform_running(c.s3, c.names):
        bucket = c.names.local_bucket("CodeBucket")
        stack = cfn.StackInfo(c.names.stack, LOCAL_PLATFORM, {"CodeBucketName": bucket})
        changed = False
    else:
        cfn.check_deployable(stack)
        deployed = cfn.deployed_template(c.cfn, c.names.stack) if stack else ""
        changed = stack is None or deployed.strip() != template.strip()
        bucket = stack.outputs.get("CodeBucketName") if stack else None
    return DeployFacts(
        stack=stack,
        template_changed=changed,
        uploaded=_uploaded(c, bucket, manifest, functions),
        functions={f: read_function(c, f) for f in functions} if stack else {},
    )


# --- executing --------------------------------------------------------------------------


@dataclass
class DeployContext:
    """Who deploys what, and the injected effects (confirmation, progress, time)."""

    actor: str
    git_commit: str
    template: str
    bootstrap_template: str
    confirm: Callable[[str], bool]
    progress: Callable[[str], None]
    waiter: cfn.Waiter = field(default_factory=cfn.Waiter)
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    judging: Judging = field(default_factory=Judging)


class Deployer:
    """Carries out a DeployPlan; every release ends recorded and every alias where intended."""

    def __init__(
        self,
        clients: DeployClients,
        context: DeployContext,
        *,
        local_stack: cfn.StackInfo | None = None,
    ) -> None:
        self.c = clients
        self.ctx = context
        self.local_stack = local_stack  # the local platform's stand-in for stack outputs

    # infrastructure ------------------------------------------------------------------
    def _template_url(self, bucket: str) -> str:
        key = f"templates/{hashlib.sha256(self.ctx.template.encode()).hexdigest()}.yaml"
        self.c.s3.put_object(
            Bucket=bucket, Key=key, Body=self.ctx.template.encode(), ContentType="text/yaml"
        )
        return f"https://{bucket}.s3.amazonaws.com/{key}"

    def _change_set(self, template: str | None, url: str | None, *, create: bool) -> cfn.ChangeSet:
        token = uuid.uuid4().hex[:10]
        return cfn.create_change_set(
            self.c.cfn,
            self.c.names.stack,
            template,
            template_url=url,
            create=create,
            token=token,
            waiter=self.ctx.waiter,
        )

    def _apply(self, change_set: cfn.ChangeSet, question: str) -> cfn.StackInfo | None:
        if change_set.empty:
            self.ctx.progress("the stack is up to date (the change set was empty)")
            return None
        lines = [
            f"  {c.action:<7} {c.logical_id} ({c.resource_type})"
            + (f" replacement: {c.replacement}" if c.replacement not in ("", "False") else "")
            for c in change_set.changes
        ]
        try:
            confirmed = self.ctx.confirm(question + "\n" + "\n".join(lines))
        except BaseException:  # a refused prompt or Ctrl-C: leave no change set behind
            cfn.discard_change_set(self.c.cfn, change_set)
            raise
        if not confirmed:
            cfn.discard_change_set(self.c.cfn, change_set)
            raise FeedbackctlError(
                "deploy cancelled; the change set was deleted", doing="confirming the stack changes"
            )
        self.ctx.progress(f"applying {len(change_set.changes)} stack change(s)…")
        return cfn.execute_change_set(self.c.cfn, change_set, self.ctx.waiter)

    def infrastructure(self, plan: DeployPlan) -> str:
        """Create/update the stack and upload artifacts; returns the code bucket."""
        if plan.stack_action == "create":
            self.ctx.progress(f"creating stack {self.c.names.stack} (code bucket first)…")
            self._apply(
                self._change_set(self.ctx.bootstrap_template, None, create=True),
                "Create the stack's code bucket?",
            )
        info = self.local_stack or cfn.describe_stack(self.c.cfn, self.c.names.stack)
        if info is None or "CodeBucketName" not in info.outputs:
            raise FeedbackctlError(
                f"stack {self.c.names.stack} has no CodeBucketName output",
                doing="reading the stack",
            )
        bucket = info.outputs["CodeBucketName"]
        if plan.stack_action != "none":
            change_set = self._change_set(None, self._template_url(bucket), create=False)
            self._apply(change_set, f"Apply these changes to {self.c.names.stack}?")
        for artifact in plan.uploads:
            self.ctx.progress(
                f"uploading {artifact.function} ({artifact.size / 1024:.1f} KB) → s3://{bucket}/{artifact.s3_key}"
            )
            self.c.s3.put_object(
                Bucket=bucket,
                Key=artifact.s3_key,
                Body=artifact.path.read_bytes(),
                ContentType="application/zip",
                Metadata={"codesha256": artifact.code_sha256},
            )
        return bucket

    # releases ------------------------------------------------------------------------
    def _wait_updated(self, physical: str) -> None:
        cfn.poll(
            lambda: self.c.lambda_.get_function_configuration(FunctionName=physical),
            lambda r: r.get("LastUpdateStatus", "Successful") != "InProgress",
            self.ctx.waiter,
            f"{physical} to finish updating",
        )

    def _deps(self) -> RunDeps:
        period = self.ctx.judging.period_s
        return RunDeps(
            lambda_=self.c.lambda_,
            ports=self.c.engine,
            ledger=self.c.ledger,
            evidence=MetricsEvidence(
                self.c.cloudwatch, self.c.names.stack, self.c.names.function, period
            ),
            physical=self.c.names.function,
            actor=self.ctx.actor,
            git_commit=self.ctx.git_commit,
            progress=self.ctx.progress,
            sleep=self.ctx.waiter.sleep,
            now=self.ctx.now,
            wait_updated=self._wait_updated,
        )

    def release(self, release: Release, bucket: str, policy: ReleasePolicy) -> FunctionOutcome:
        """Run one function's release steps; a failing version goes back through the engine."""
        size = release.artifact.size
        if release.action != "release":
            outcome: Outcome = "held" if release.action == "held" else "unchanged"
            return FunctionOutcome(
                release.function,
                outcome,
                release.from_version,
                release.from_version,
                size,
                release.reason,
            )
        steps = release.steps or steps_for(release, policy, self.ctx.judging.smoke_tests)
        run = ReleaseRun(
            self._deps(),
            steps,
            bucket=bucket,
            reason=release.reason,
            size=size,
            policy=policy,
            judging=self.ctx.judging,
            first=release.from_version is None,
        )
        return run.run()

    @staticmethod
    def _untouched(release: Release, detail: str | None = None) -> FunctionOutcome:
        outcome: Outcome = "held" if release.action == "held" else "unchanged"
        if release.action == "release":
            outcome = "planned"
        v = release.from_version
        return FunctionOutcome(
            release.function, outcome, v, v, release.artifact.size, detail or release.reason
        )

    def run(self, plan: DeployPlan) -> list[FunctionOutcome]:
        """Infrastructure, then each release in order; the first failed release stops the rest."""
        if not plan.mutating:
            return [self._untouched(r) for r in plan.releases]
        bucket = self.infrastructure(plan)
        if plan.stack_action == "update":
            # The update may have changed configuration (memory, timeout, environment) that
            # only reaches a published version if the release plan sees it: plan again.
            fresh = {r.function: read_function(self.c, r.function) for r in plan.releases}
            plan = replan_releases(plan, fresh)
        outcomes: list[FunctionOutcome] = []
        for index, release in enumerate(plan.releases):
            outcome = self.release(release, bucket, plan.policy)
            outcomes.append(outcome)
            if outcome.outcome in ("rolled-back", "failed", "interrupted"):
                stopped = "not released: an earlier release failed"
                outcomes += [
                    self._untouched(r, stopped if r.action == "release" else None)
                    for r in plan.releases[index + 1 :]
                ]
                break
        return outcomes
