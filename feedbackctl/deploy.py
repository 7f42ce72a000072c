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

from feedbackctl.aws import functions, is_not_found, logs, objects, stacks, tables
from feedbackctl.engine.evidence import MetricsEvidence
from feedbackctl.engine.ledger import DynamoLedger
from feedbackctl.engine.model import LedgerState
from feedbackctl.engine.release import ReleasePolicy
from feedbackctl.engine.rollback import Ports
from feedbackctl.errors import FeedbackctlError, RefusedError
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
# In its code bucket, the record of the stack `local up` provisioned (feedbackctl.local.changes).
LOCAL_STACK_RECORD = "feedbackctl/stack.json"
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
    stack: stacks.StackInfo | None
    template_changed: bool
    uploaded: frozenset[str]
    functions: dict[str, FunctionFacts]
    # The status of a stack a failed or declined first create left behind (REVIEW_IN_PROGRESS,
    # ROLLBACK_COMPLETE): planned as a create, which deletes it first.
    leftover: str | None = None


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
    leftover: str | None = None  # a create first deletes the stack left in this status

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
    if sha in facts.bad_shas and not same_code and not allow_rolled_back:
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
    return DeployPlan(
        stack_action,
        uploads,
        releases,
        policy,
        allow_rolled_back,
        smoke_tests,
        leftover=facts.leftover if stack_action == "create" else None,
    )


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
    # Finds tables an earlier stack retained before a change set would collide with them;
    # needed only when the stack is created or lacks its tables.
    dynamodb: Any = None
    # Finds log groups AWS created before the stack declared them (API Gateway's execution log
    # group of a stage deployed earlier), which an update adopts instead of failing on.
    logs: Any = None


def read_function(c: DeployClients, name: str) -> FunctionFacts:
    physical = c.names.function(name)
    latest = functions.configuration(c.lambda_, physical)
    if latest is None:
        return FunctionFacts(name)
    ledger = c.ledger.state(name)
    facts = FunctionFacts(
        name, True, latest["CodeSha256"], config_fingerprint(latest), ledger=ledger
    )
    try:
        alias = c.engine.lambda_.alias(name)
    except Exception as exc:
        if is_not_found(exc):
            return facts
        raise
    live = functions.configuration(c.lambda_, physical, alias.version)
    if live is None:
        raise FeedbackctlError(
            f"{physical}'s live alias points at version {alias.version}, which does not exist",
            doing="reading the function",
        )
    bad: dict[str, str] = {}
    for version in sorted(ledger.bad_versions, key=int):
        config = functions.configuration(c.lambda_, physical, version)
        if config is None:
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
        # A 403 here is S3 hiding a missing key from a caller without s3:ListBucket: the
        # artifact is uploaded, and the upload succeeds or fails with its own clear error.
        if objects.exists(c.s3, bucket, key):
            present.add(key)
    return frozenset(present)


def local_platform_running(s3: Any, names: StackNames) -> bool:
    """True when `feedbackctl local up` provisioned this stack (its code bucket exists)."""
    return objects.bucket_reachable(s3, names.local_bucket("CodeBucket"))


def local_stack_standing(s3: Any, names: StackNames) -> bool:
    """True when the local platform's stack stands: its record is in its code bucket
    (`destroy --stage local` keeps the bucket, not the record)."""
    bucket = names.local_bucket("CodeBucket")
    try:
        return objects.exists(s3, bucket, LOCAL_STACK_RECORD)
    except Exception:  # noqa: BLE001 - any failure means: no local stack here
        return False


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
    stack = stacks.describe_stack(c.cfn, c.names.stack)
    leftover = None
    if stack is not None and stack.replaceable:
        # A first create that never ran or rolled back holds nothing to update: plan a create;
        # the deployer deletes the leftover stack first (Deployer._clear_failed_create).
        leftover = stack.status
        stack = None
    if stack is None and local_platform and local_stack_standing(c.s3, c.names):
        bucket = c.names.local_bucket("CodeBucket")
        stack = stacks.StackInfo(c.names.stack, LOCAL_PLATFORM, {"CodeBucketName": bucket})
        changed = False
    else:
        stacks.check_deployable(stack)
        deployed = stacks.deployed_template(c.cfn, c.names.stack) if stack else ""
        changed = stack is None or deployed.strip() != template.strip()
        bucket = stack.outputs.get("CodeBucketName") if stack else None
    return DeployFacts(
        stack=stack,
        template_changed=changed,
        uploaded=_uploaded(c, bucket, manifest, functions),
        functions={f: read_function(c, f) for f in functions} if stack else {},
        leftover=leftover,
    )


# --- executing --------------------------------------------------------------------------


def regional_s3_url(bucket: str, key: str, region: str | None) -> str:
    """The virtual-hosted, regional URL of an object. The legacy global endpoint
    (`bucket.s3.amazonaws.com`) answers a bucket just created outside us-east-1 with a 307
    until DNS catches up, which CloudFormation reports as an unreadable template."""
    region = "us-east-1" if region in (None, "aws-global") else region
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://{bucket}.s3.{region}.{suffix}/{key}"


@dataclass
class DeployContext:
    """Who deploys what, and the injected effects (confirmation, progress, time)."""

    actor: str
    git_commit: str
    template: str
    bootstrap_template: str
    confirm: Callable[[str], bool]
    progress: Callable[[str], None]
    waiter: stacks.Waiter = field(default_factory=stacks.Waiter)
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    judging: Judging = field(default_factory=Judging)
    adopt_retained: bool = False  # import tables an earlier stack retained (--adopt-retained)
    stage: str = ""  # named in the commands a refusal prints
    # On the local platform, a template change is applied by the platform's own provisioner
    # (feedbackctl.local.changes), not by change sets: the CLI passes it in.
    apply_local: Callable[[], None] | None = None


def retained_table_names(names: StackNames) -> dict[str, tuple[str, str]]:
    """Logical id -> (stack output, physical name) of the fixed-name, retained tables."""
    return {
        "FeedbackTable": ("FeedbackTableName", names.feedback_table),
        "AnalyticsTable": ("AnalyticsTableName", names.analytics_table),
        "LedgerTable": ("LedgerTableName", names.ledger_table),
    }


def retained_tables(dynamodb: Any, names: StackNames, owned: dict[str, str]) -> dict[str, str]:
    """Logical id -> name of the stack's tables that exist outside it (an earlier stack
    retained them): a change set adding them would fail on their fixed names. `owned` is the
    stack's outputs; a table it names is the stack's own. The one search deploy and doctor use."""
    found: dict[str, str] = {}
    for logical_id, (output, table) in retained_table_names(names).items():
        if owned.get(output) != table and tables.exists(dynamodb, table):
            found[logical_id] = table
    return found


class Deployer:
    """Carries out a DeployPlan; every release ends recorded and every alias where intended."""

    def __init__(
        self,
        clients: DeployClients,
        context: DeployContext,
        *,
        local_stack: stacks.StackInfo | None = None,
    ) -> None:
        self.c = clients
        self.ctx = context
        self.local_stack = local_stack  # the local platform's stand-in for stack outputs
        self.index_added = False  # this deploy's stack update added the ratingSentiment-index

    # infrastructure ------------------------------------------------------------------
    def _command(self, *flags: str) -> str:
        stage = f" --stage {self.ctx.stage}" if self.ctx.stage else ""
        return " ".join([f"feedbackctl deploy{stage}", *flags])

    def _template_url(self, bucket: str, body: str | None = None) -> str:
        text = self.ctx.template if body is None else body
        key = f"templates/{hashlib.sha256(text.encode()).hexdigest()}.yaml"
        objects.put(self.c.s3, bucket, key, text.encode(), content_type="text/yaml")
        return regional_s3_url(bucket, key, self.c.s3.meta.region_name)

    def _index_steps(self) -> list[dict[str, Any]]:
        """The intermediate templates that add new indexes one per table (index_steps.py),
        from the tables' indexes as DescribeTable reports them now; notes whether the update
        adds the ratingSentiment-index to an existing feedback table (`index_added`)."""
        from feedbackctl.backfill import INDEX
        from feedbackctl.cfnyaml import load
        from feedbackctl.index_steps import index_steps, table_names

        if self.c.dynamodb is None:
            return []
        template = load(self.ctx.template)
        live: dict[str, set[str]] = {}
        for logical, name in table_names(template).items():
            info = tables.describe(self.c.dynamodb, name)
            if info is not None:
                live[logical] = {i["IndexName"] for i in info.get("GlobalSecondaryIndexes", [])}
        self.index_added = "FeedbackTable" in live and INDEX not in live["FeedbackTable"]
        return index_steps(template, live)

    def _change_set(
        self,
        template: str | None,
        url: str | None,
        *,
        create: bool,
        imports: tuple[stacks.ImportTarget, ...] = (),
    ) -> stacks.ChangeSet:
        token = uuid.uuid4().hex[:10]
        return stacks.create_change_set(
            self.c.cfn,
            self.c.names.stack,
            template,
            template_url=url,
            create=create,
            token=token,
            waiter=self.ctx.waiter,
            imports=imports,
        )

    def _refuse_release_owned(self, change_set: stacks.ChangeSet) -> None:
        touched = stacks.release_owned(change_set)
        if not touched:
            return
        stacks.discard_change_set(self.c.cfn, change_set)
        listed = ", ".join(f"{c.action} {c.logical_id} ({c.resource_type})" for c in touched)
        raise RefusedError(
            f"the change set would change what the release engine owns ({listed}), which would "
            "move production traffic; the change set was deleted",
            doing="checking the stack changes",
            hint="keep each function's BootstrapVersion and LiveAlias exactly as they are in "
            "templates/_functions.yaml.j2 and deploy again; releases move the alias",
        )

    def _apply(self, change_set: stacks.ChangeSet, question: str) -> stacks.StackInfo | None:
        if change_set.empty:
            self.ctx.progress("the stack is up to date (the change set was empty)")
            return None
        self._refuse_release_owned(change_set)
        lines = [
            f"  {c.action:<7} {c.logical_id} ({c.resource_type})"
            + (f" replacement: {c.replacement}" if c.replacement not in ("", "False") else "")
            for c in change_set.changes
        ]
        try:
            confirmed = self.ctx.confirm(question + "\n" + "\n".join(lines))
        except BaseException:  # a refused prompt or Ctrl-C: leave no change set behind
            stacks.discard_change_set(self.c.cfn, change_set)
            raise
        if not confirmed:
            stacks.discard_change_set(self.c.cfn, change_set)
            raise FeedbackctlError(
                "deploy cancelled; the change set was deleted", doing="confirming the stack changes"
            )
        self.ctx.progress(f"applying {len(change_set.changes)} stack change(s)…")
        return stacks.execute_change_set(self.c.cfn, change_set, self.ctx.waiter)

    def _retained_tables(self, owned: dict[str, str]) -> tuple[str, ...]:
        return tuple(retained_tables(self.c.dynamodb, self.c.names, owned))

    def _tables(self) -> dict[str, tuple[str, str]]:
        return retained_table_names(self.c.names)

    def _refuse_unless_adopting(self, retained: tuple[str, ...]) -> None:
        if not retained or self.ctx.adopt_retained:
            return
        tables = [self._tables()[logical_id][1] for logical_id in retained]
        region = self.c.cfn.meta.region_name
        deletes = " && ".join(
            f"aws dynamodb delete-table --table-name {t} --region {region}" for t in tables
        )
        raise RefusedError(
            f"table(s) {', '.join(tables)} already exist outside stack {self.c.names.stack} "
            "(kept by DeletionPolicy Retain when an earlier stack went); the stack cannot "
            "create them",
            doing="checking for retained resources",
            hint=f"adopt them with `{self._command('--adopt-retained')}`, or if their data may "
            f"go: `{deletes}`",
        )

    def _orphan_log_groups(self) -> dict[str, str]:
        """Logical id -> name of the log groups the update adds that exist already: AWS made
        them before the stack declared them (API Gateway creates its execution log group when a
        stage logs). Their names carry the stack's own resources' ids (the REST API's), so they
        can only be this stack's: the update imports them rather than fail "already exists"."""
        if self.c.logs is None:
            return {}
        stack = self.c.names.stack
        wanted = stacks.new_log_groups(
            stacks.deployed_template(self.c.cfn, stack),
            self.ctx.template,
            stacks.resource_ids(self.c.cfn, stack),
        )
        existing = set(logs.log_groups(self.c.logs, wanted.values()))
        return {logical_id: name for logical_id, name in wanted.items() if name in existing}

    def _adopt(self, retained: tuple[str, ...], log_groups: dict[str, str]) -> None:
        """Bring retained tables and orphaned log groups into the stack with an IMPORT change
        set (the stack's deployed template plus exactly those resources), before the update."""
        stack = self.c.names.stack
        tables = self._tables()
        adopted = [f"table {tables[t][1]}" for t in retained]
        adopted += [f"log group {name}" for name in log_groups.values()]
        self.ctx.progress(f"adopting {', '.join(adopted)} into {stack} (IMPORT change set)…")
        body = stacks.import_template(
            stacks.deployed_template(self.c.cfn, stack),
            self.ctx.template,
            retained + tuple(log_groups),
        )
        targets = tuple(
            stacks.ImportTarget(t, "AWS::DynamoDB::Table", {"TableName": tables[t][1]})
            for t in retained
        ) + tuple(
            stacks.ImportTarget(logical_id, "AWS::Logs::LogGroup", {"LogGroupName": name})
            for logical_id, name in log_groups.items()
        )
        what = "tables" if not log_groups else "resources"
        self._apply(
            self._change_set(body, None, create=False, imports=targets),
            f"Import these existing {what} into {stack}?",
        )

    def _clear_failed_create(self) -> None:
        """Before a create: delete a stack that a declined or failed first create left behind;
        refuse a stack that exists in any other state (it changed since the plan was made)."""
        stack = self.c.names.stack
        info = stacks.describe_stack(self.c.cfn, stack)
        if info is None:
            return
        if not info.replaceable:
            stacks.check_deployable(info)
            raise FeedbackctlError(
                f"stack {stack} was created ({info.status}) while this deploy was planning",
                doing="creating the stack",
                hint=f"run `{self._command()}` again",
            )
        if info.status == "ROLLBACK_COMPLETE":
            question = (
                f"Stack {stack} is ROLLBACK_COMPLETE: its first create failed and it can only be "
                "deleted. Delete it and create the stack again?"
            )
            if not self.ctx.confirm(question):
                region = self.c.cfn.meta.region_name
                raise RefusedError(
                    f"stack {stack} is ROLLBACK_COMPLETE (its first create failed) and was not "
                    "replaced",
                    doing="creating the stack",
                    hint=f"confirm the replacement (`{self._command('--yes')}`), or delete it: "
                    f"`aws cloudformation delete-stack --stack-name {stack} --region {region}`",
                )
            self.ctx.progress(f"deleting stack {stack} (ROLLBACK_COMPLETE) to create it again…")
        else:
            self.ctx.progress(
                f"stack {stack} is REVIEW_IN_PROGRESS (a create change set was declined or failed; "
                "nothing was created): deleting it and creating the stack afresh…"
            )
        stacks.delete_stack(self.c.cfn, stack, self.ctx.waiter)

    def _upload(self, plan: DeployPlan, bucket: str) -> None:
        for artifact in plan.uploads:
            self.ctx.progress(
                f"uploading {artifact.function} ({artifact.size / 1024:.1f} KB) → s3://{bucket}/{artifact.s3_key}"
            )
            objects.upload_artifact(
                self.c.s3,
                bucket,
                artifact.s3_key,
                artifact.path.read_bytes(),
                artifact.code_sha256,
            )

    def infrastructure(self, plan: DeployPlan) -> str:
        """Create/update the stack and upload artifacts; returns the code bucket."""
        if self.local_stack is not None:
            if plan.stack_action == "update" and self.ctx.apply_local is not None:
                self.ctx.apply_local()
            bucket = self.local_stack.outputs["CodeBucketName"]
            self._upload(plan, bucket)
            return bucket
        stack = self.c.names.stack
        retained: tuple[str, ...] = ()
        if plan.stack_action == "create":
            # Everything that could refuse is asked before the first change.
            retained = self._retained_tables({})
            self._refuse_unless_adopting(retained)
            self._clear_failed_create()
            self.ctx.progress(f"creating stack {stack} (code bucket first)…")
            self._apply(
                self._change_set(self.ctx.bootstrap_template, None, create=True),
                "Create the stack's code bucket?",
            )
        info = self.local_stack or stacks.describe_stack(self.c.cfn, stack)
        if info is None or "CodeBucketName" not in info.outputs:
            raise FeedbackctlError(
                f"stack {stack} has no CodeBucketName output",
                doing="reading the stack",
            )
        bucket = info.outputs["CodeBucketName"]
        if plan.stack_action != "none":
            orphans: dict[str, str] = {}
            if plan.stack_action == "update":
                # A stack without its tables (a first update that failed) adds them next.
                retained = self._retained_tables(info.outputs)
                self._refuse_unless_adopting(retained)
                orphans = self._orphan_log_groups()
            if retained or orphans:
                self._adopt(retained, orphans)
            # An adopted feedback table may predate the ratingSentiment-index (the update path
            # finds out in _index_steps); its items get the attribute after the releases.
            self.index_added = plan.stack_action == "create" and "FeedbackTable" in retained
            steps = self._index_steps() if plan.stack_action == "update" else []
            for number, step in enumerate(steps, 1):
                # CloudFormation adds one index per table per update: the new ones in turn.
                self.ctx.progress(
                    f"stack update {number} of {len(steps) + 1}: one more index per table"
                )
                url = self._template_url(bucket, json.dumps(step))
                self._apply(
                    self._change_set(None, url, create=False),
                    f"Apply step {number} of {len(steps) + 1} to {stack}?",
                )
            change_set = self._change_set(None, self._template_url(bucket), create=False)
            self._apply(change_set, f"Apply these changes to {stack}?")
        self._upload(plan, bucket)
        return bucket

    def backfill(self, outcomes: list[FunctionOutcome]) -> None:
        """Set `ratingSentiment` on the items stored without it (feedbackctl/backfill.py) when
        this deploy added its index, or released a create-feedback whose predecessor may have
        written items without it; after the releases, so that no item the previous code wrote
        during them is missed."""
        from feedbackctl.backfill import backfill_rating_sentiment

        released = any(
            o.function == "create-feedback" and o.outcome == "released" for o in outcomes
        )
        if self.c.dynamodb is None or not (self.index_added or released):
            return
        done = backfill_rating_sentiment(
            self.c.dynamodb, self.c.names.feedback_table, self.ctx.waiter, self.ctx.progress
        )
        if done is not None:
            self.ctx.progress(
                f"backfill done: {done.updated} item(s) given ratingSentiment, {done.scanned} read"
            )

    # releases ------------------------------------------------------------------------
    def _wait_updated(self, physical: str) -> None:
        functions.wait_updated(self.c.lambda_, physical, self.ctx.waiter)

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
        self.backfill(outcomes)
        return outcomes
