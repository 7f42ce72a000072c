"""`feedbackctl doctor`: a stage's preflight checks, as data.

`read_facts` asks AWS what the checks need (read-only calls; a read AWS refuses is kept as the
one-line error the user can act on, never a traceback), and each `check_*` function is pure over
those facts: one Check each, passed, warning, failed or skipped, with what it found and, unless
it passed, the fix (an exact command or config key). `deploy` runs the same checks first. The
AWS behaviours they rest on are cited in docs/first-deploy.md and docs/operating.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from feedbackctl.apigateway_account import LEGACY_ROLE_MARKER, ROLE_PREFIX, STACK_PREFIX
from feedbackctl.aws import (
    Aws,
    alarms,
    apigateway,
    error_code,
    identity,
    is_not_found,
    known_partition,
    objects,
    partition,
    stacks,
    topics,
)
from feedbackctl.errors import FeedbackctlError
from feedbackctl.functions import FUNCTION_NAMES

if TYPE_CHECKING:
    from feedbackctl.config import StageConfig

# CloudFormation's template size limits (https://docs.aws.amazon.com/AWSCloudFormation/latest/
# UserGuide/cloudformation-limits.html): 51,200 bytes in the request (the bootstrap stack's
# CREATE change set), 1 MB read from S3 (the full template, by TemplateURL).
INLINE_TEMPLATE_LIMIT = 51_200
S3_TEMPLATE_LIMIT = 1_048_576
NEAR_LIMIT = 0.9  # a template past 90 % of its limit warns: the next feature may not fit

ORCHESTRATOR = "rollback-orchestrator"
ALIAS = "live"
# A role CloudFormation made carries its stack in this tag when the stack propagates it.
STACK_NAME_TAG = "aws:cloudformation:stack-name"

Status = Literal["pass", "warn", "fail", "skip"]
T = TypeVar("T")

# The CLI waiter that ends with the running operation (AWS CLI `aws cloudformation wait`).
_WAITERS = {
    "CREATE_IN_PROGRESS": "stack-create-complete",
    "UPDATE_IN_PROGRESS": "stack-update-complete",
    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS": "stack-update-complete",
    "UPDATE_ROLLBACK_IN_PROGRESS": "stack-rollback-complete",
    "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS": "stack-rollback-complete",
    "DELETE_IN_PROGRESS": "stack-delete-complete",
    "IMPORT_IN_PROGRESS": "stack-import-complete",
}


@dataclass(frozen=True)
class Check:
    """One check's verdict: what it found, and the fix when it did not pass."""

    name: str
    status: Status
    found: str
    fix: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.name, "status": self.status, "found": self.found, "fix": self.fix}


@dataclass(frozen=True)
class Unreadable:
    """A read AWS refused or could not answer, as the one line the user would see."""

    error: str
    hint: str = ""


@dataclass(frozen=True)
class Identity:
    account: str
    arn: str


BucketState = Literal["reachable", "missing", "denied", "elsewhere"]


@dataclass(frozen=True)
class ApiGatewayRole:
    """The account's API Gateway logging role (GetAccount) and what tells who set it."""

    role_arn: str | None
    role_exists: bool | None = None  # None: IAM would not say
    tags: Mapping[str, str] = field(default_factory=dict)
    stack_roles: frozenset[str] = frozenset()  # physical ids of this stack's IAM roles


@dataclass(frozen=True)
class AlarmWiring:
    """The alarm topic, who is subscribed to it, and where the rollback alarms send."""

    topic_arn: str
    orchestrator_arn: str  # the rollback-orchestrator's `live` alias
    topic_exists: bool
    subscriptions: tuple[tuple[str, str], ...] = ()  # (protocol, endpoint)
    expected_alarms: tuple[str, ...] = ()
    alarm_actions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # found ones
    actions_disabled: tuple[str, ...] = ()


@dataclass(frozen=True)
class Facts:
    """Everything the checks look at, read once."""

    stage: str
    stack_name: str
    config_file: str
    stage_region: str
    session_region: str
    partition: str | None  # None: no AWS partition has the session's region
    manage_api_gateway_account: bool
    template_bytes: int
    bootstrap_bytes: int
    template_sets_account: bool  # the rendered stack declares AWS::ApiGateway::Account
    identity: Identity | Unreadable
    adopt_retained: bool = False
    local_platform: bool = False
    skipped: str = ""  # why the checks that read the stage were not run ("" when they were)
    stack: stacks.StackInfo | Unreadable | None = None  # None: the stack does not exist
    code_bucket: BucketState | Unreadable | None = None  # None: no bucket to look at yet
    retained: tuple[str, ...] | Unreadable = ()  # tables that exist outside the stack
    api_role: ApiGatewayRole | Unreadable | None = None
    alarms: AlarmWiring | Unreadable | None = None  # None: the stack does not have it yet


# --- the checks (pure) ---------------------------------------------------------------------


def _aws_cli(f: Facts, command: str) -> str:
    return f"`aws {command} --region {f.session_region}`"


def _deploy(f: Facts, *flags: str) -> str:
    return "`" + " ".join([f"feedbackctl deploy --stage {f.stage}", *flags]) + "`"


def _setting(f: Facts, key_value: str) -> str:
    return f"set {key_value} under [stages.{f.stage}] in {f.config_file}"


def _unreadable(name: str, value: Unreadable) -> Check:
    return Check(name, "fail", value.error, value.hint)


def _skip(name: str, f: Facts) -> Check | None:
    """The skip verdict when the stage could not be (or need not be) read."""
    if f.skipped:
        return Check(name, "skip", f.skipped)
    if isinstance(f.stack, Unreadable):
        return Check(name, "skip", "not checked: the stack could not be read")
    return None


def check_credentials(f: Facts) -> Check:
    if isinstance(f.identity, Unreadable):
        return _unreadable("credentials", f.identity)
    return Check("credentials", "pass", f"account {f.identity.account} as {f.identity.arn}")


def check_region(f: Facts) -> Check:
    if f.partition is None:
        return Check(
            "region",
            "fail",
            f"{f.session_region} is not an AWS region",
            _setting(f, 'region (e.g. "eu-west-1")'),
        )
    if f.session_region != f.stage_region:
        return Check(
            "region",
            "warn",
            f"the session uses {f.session_region} (--region), but stage {f.stage} is in "
            f"{f.stage_region}",
            "omit --region to use the stage's region",
        )
    return Check(
        "region",
        "pass",
        f"{f.session_region} (partition {f.partition}): the stage's and the session's",
    )


def _stack_fix(f: Facts, status: str) -> str:
    name = f"--stack-name {f.stack_name}"
    if status in _WAITERS:
        return f"wait for it: {_aws_cli(f, f'cloudformation wait {_WAITERS[status]} {name}')}"
    if status.endswith("_IN_PROGRESS"):
        query = "--query Stacks[0].StackStatus"
        return (
            f"wait until it ends: {_aws_cli(f, f'cloudformation describe-stacks {name} {query}')}"
        )
    if status == "UPDATE_ROLLBACK_FAILED":
        return _aws_cli(f, f"cloudformation continue-update-rollback {name}")
    if status == "UPDATE_FAILED":  # an update run with rollback disabled
        return _aws_cli(f, f"cloudformation rollback-stack {name}")
    # A failed create, a failed create's rollback, a failed delete: only deleting it moves on
    # (the tables are retained and adopted by the next deploy).
    return _aws_cli(f, f"cloudformation delete-stack {name}")


# What the deploy does about a stack a first create left behind (Deployer._clear_failed_create).
_REPLACED = {
    "REVIEW_IN_PROGRESS": (
        "a create change set was declined or failed; nothing was created): the deploy deletes "
        "it and creates the stack afresh",
        "",
    ),
    "ROLLBACK_COMPLETE": (
        "its first create failed; it can only be deleted): the deploy asks to delete it and "
        "create it again",
        "confirm at the prompt, or {deploy}",
    ),
}


def check_stack(f: Facts) -> Check:
    name, stack = "stack", f.stack
    if f.skipped:
        return Check(name, "skip", f.skipped)
    if isinstance(stack, Unreadable):
        return _unreadable(name, stack)
    if stack is None:
        return Check(name, "pass", f"{f.stack_name} does not exist: the deploy will create it")
    return _existing_stack(f, stack)


def _existing_stack(f: Facts, stack: stacks.StackInfo) -> Check:
    status = stack.status
    if status in _REPLACED:
        what, fix = _REPLACED[status]
        found = f"{f.stack_name} is {status} ({what}"
        return Check("stack", "warn", found, fix.format(deploy=_deploy(f, "--yes")))
    if stack.busy:
        problem = "an operation is running"
    elif status == "UPDATE_ROLLBACK_FAILED":
        problem = "an update failed and so did its rollback"
    elif status.endswith("_FAILED"):
        problem = "it cannot be updated"
    else:
        return Check("stack", "pass", f"{f.stack_name} is {status}")
    return Check("stack", "fail", f"{f.stack_name} is {status}: {problem}", _stack_fix(f, status))


def check_code_bucket(f: Facts) -> Check:
    name, stack = "code bucket", f.stack
    skipped = _skip(name, f)
    if skipped:
        return skipped
    if not isinstance(stack, stacks.StackInfo) or stack.replaceable:
        return Check(name, "pass", "none yet: the deploy creates it with the stack")
    bucket = stack.outputs.get("CodeBucketName")
    if bucket is None:
        return _no_code_bucket(f, stack)
    if isinstance(f.code_bucket, Unreadable):
        return _unreadable(name, f.code_bucket)
    return _bucket_verdict(f, bucket, f.code_bucket or "reachable")


def _no_code_bucket(f: Facts, stack: stacks.StackInfo) -> Check:
    if stack.busy:  # its outputs appear when the operation ends
        return Check("code bucket", "skip", "not checked until the stack's operation ends")
    found = f"stack {f.stack_name} has no CodeBucketName output: feedbackctl did not make it"
    fix = f"check stack_name under [stages.{f.stage}] in {f.config_file}"
    return Check("code bucket", "fail", found, fix)


def _bucket_verdict(f: Facts, bucket: str, state: BucketState) -> Check:
    named = f"{bucket} (the stack's CodeBucketName)"
    if state == "reachable":
        return Check("code bucket", "pass", f"{named} is reachable")
    drift = _aws_cli(f, f"cloudformation detect-stack-drift --stack-name {f.stack_name}")
    problems = {
        "missing": (
            f"{named} does not exist: deleted outside the stack",
            f"see what else went: {drift}",
        ),
        "elsewhere": (
            f"{named} is not in {f.session_region}",
            "omit --region to use the stage's region",
        ),
        "denied": (
            f"{named} is not reachable: access denied",
            f"allow s3:ListBucket and s3:PutObject on arn:{f.partition}:s3:::{bucket}",
        ),
    }
    found, fix = problems[state]
    return Check("code bucket", "fail", found, fix)


def check_retained(f: Facts) -> Check:
    name = "retained tables"
    skipped = _skip(name, f)
    if skipped:
        return skipped
    if isinstance(f.retained, Unreadable):
        return _unreadable(name, f.retained)
    stack = f.stack_name
    if not f.retained:
        found = f"none of {stack}-feedback, -analytics, -ledger exists outside stack {stack}"
        return Check(name, "pass", found)
    tables = ", ".join(f.retained)
    if f.adopt_retained:
        return Check(name, "pass", f"{tables} exist outside the stack: the deploy adopts them")
    found = (
        f"{tables} exist outside stack {stack} (kept by DeletionPolicy Retain when an earlier "
        "stack went): the deploy refuses to create them"
    )
    deletes = " && ".join(
        f"aws dynamodb delete-table --table-name {t} --region {f.session_region}"
        for t in f.retained
    )
    fix = f"adopt them: {_deploy(f, '--adopt-retained')}, or if their data may go: `{deletes}`"
    return Check(name, "fail", found, fix)


def role_owner(role_arn: str, stack: str, role: ApiGatewayRole) -> tuple[str, str]:
    """Who set the account's logging role: ("this-stack" | "setup-account" | "stack" |
    "unknown", a description), told from this stack's resources, the role's tags and name."""
    role_name = role_arn.rsplit("/", 1)[-1]
    tagged = role.tags.get(STACK_NAME_TAG, "")
    if role_name in role.stack_roles or tagged == stack:
        return "this-stack", "this stage's stack"
    if role_name.startswith(ROLE_PREFIX):
        region = role_name.removeprefix(ROLE_PREFIX)
        return "setup-account", f"feedbackctl setup-account (stack {STACK_PREFIX}{region})"
    owner = tagged or (
        role_name.split(LEGACY_ROLE_MARKER)[0] if LEGACY_ROLE_MARKER in role_name else ""
    )
    if owner == stack:
        return "this-stack", "this stage's stack"
    if owner:
        return "stack", f"stack {owner}"
    return "unknown", "not a feedbackctl stack"


def check_api_gateway_role(f: Facts) -> Check:
    name = "API Gateway logging role"
    skipped = _skip(name, f)
    if skipped:
        return skipped
    role = f.api_role
    if not isinstance(role, ApiGatewayRole):
        return _unreadable(name, role or Unreadable("not read"))
    unmanaged = (
        ""
        if f.manage_api_gateway_account
        else "; manage_api_gateway_account = false: this stage leaves the setting alone"
    )
    setup = f"`feedbackctl setup-account --stage {f.stage}`"
    if not f.manage_api_gateway_account:  # setup-account refuses such a stage: set it by hand
        account = f.identity.account if isinstance(f.identity, Identity) else "ACCOUNT"
        value = f"arn:{f.partition}:iam::{account}:role/ROLE_NAME"
        setup = _aws_cli(
            f,
            "apigateway update-account --patch-operations "
            f"op=replace,path=/cloudwatchRoleArn,value={value}",
        )
    if role.role_arn is None:
        return _role_unset(f, unmanaged, setup)
    if role.role_exists is False:
        found = f"set to {role.role_arn}, which no longer exists"
        return Check(name, "fail", found + unmanaged, setup)
    kind, owner = role_owner(role.role_arn, f.stack_name, role)
    found = f"{role.role_arn}, set by {owner}"
    if f.template_sets_account and kind != "this-stack":
        # One setting per account and region: two owners overwrite each other on every deploy.
        found += "; this stage's stack would set it too"
        return Check(name, "warn", found, _setting(f, "manage_api_gateway_account = false"))
    return Check(name, "pass", found + unmanaged)


def _role_unset(f: Facts, unmanaged: str, setup: str) -> Check:
    name = "API Gateway logging role"
    if f.template_sets_account:
        return Check(name, "pass", f"not set in {f.session_region}: this stage's stack sets it")
    found = f"not set in {f.session_region}: API Gateway cannot write this stage's logs"
    return Check(name, "fail", found + unmanaged, setup)


def check_template_size(f: Facts) -> Check:
    name = "template size"
    if f.local_platform:
        return Check(name, "skip", f.skipped)
    found = (
        f"{f.template_bytes:,} bytes, applied from S3 (limit {S3_TEMPLATE_LIMIT:,}); "
        f"bootstrap {f.bootstrap_bytes:,} bytes, inline (limit {INLINE_TEMPLATE_LIMIT:,})"
    )
    fix = "shorten the templates in templates/ (or split the stack)"
    if f.template_bytes > S3_TEMPLATE_LIMIT or f.bootstrap_bytes > INLINE_TEMPLATE_LIMIT:
        return Check(name, "fail", found, fix)
    near = NEAR_LIMIT * S3_TEMPLATE_LIMIT, NEAR_LIMIT * INLINE_TEMPLATE_LIMIT
    if f.template_bytes > near[0] or f.bootstrap_bytes > near[1]:
        return Check(name, "warn", found + f": over {NEAR_LIMIT:.0%} of a limit", fix)
    return Check(name, "pass", found)


def _alarm_problems(f: Facts, w: AlarmWiring) -> list[tuple[str, str]]:
    drift = _aws_cli(f, f"cloudformation detect-stack-drift --stack-name {f.stack_name}")
    problems = []
    missing = [a for a in w.expected_alarms if a not in w.alarm_actions]
    if missing:
        problems.append((f"rollback alarm(s) missing: {', '.join(missing)}", drift))
    silent = [a for a, actions in w.alarm_actions.items() if w.topic_arn not in actions]
    if silent:
        problems.append((f"alarm(s) not sending to the topic: {', '.join(silent)}", drift))
    if w.actions_disabled:
        names = " ".join(w.actions_disabled)
        enable = _aws_cli(f, f"cloudwatch enable-alarm-actions --alarm-names {names}")
        problems.append((f"alarm actions disabled: {', '.join(w.actions_disabled)}", enable))
    return problems


def check_alarm_topic(f: Facts) -> Check:
    name = "alarm topic"
    skipped = _skip(name, f)
    if skipped:
        return skipped
    wiring = f.alarms
    if isinstance(wiring, Unreadable):
        return _unreadable(name, wiring)
    if wiring is None:
        return Check(name, "pass", "none yet: the deploy creates it with the stack")
    if not wiring.topic_exists:
        drift = _aws_cli(f, f"cloudformation detect-stack-drift --stack-name {f.stack_name}")
        found = f"{wiring.topic_arn} does not exist: deleted outside the stack"
        return Check(name, "fail", found, f"see what else went: {drift}")
    problems = _alarm_problems(f, wiring)
    if ("lambda", wiring.orchestrator_arn) not in wiring.subscriptions:
        subscribe = _aws_cli(
            f,
            f"sns subscribe --topic-arn {wiring.topic_arn} --protocol lambda "
            f"--notification-endpoint {wiring.orchestrator_arn}",
        )
        found = f"{ORCHESTRATOR}'s {ALIAS} alias is not subscribed: alarms roll nothing back"
        problems.insert(0, (found, subscribe))
    if problems:
        fixes = list(dict.fromkeys(fix for _, fix in problems))  # each fix once, in order
        return Check(name, "fail", "; ".join(p for p, _ in problems), "; ".join(fixes))
    count = len(wiring.expected_alarms)
    found = (
        f"{wiring.topic_arn.rsplit(':', 1)[-1]}: {ORCHESTRATOR}'s {ALIAS} alias subscribed, "
        f"{count} rollback alarms send to it"
    )
    return Check(name, "pass", found)


CHECKS: tuple[Callable[[Facts], Check], ...] = (
    check_credentials,
    check_region,
    check_stack,
    check_code_bucket,
    check_retained,
    check_api_gateway_role,
    check_template_size,
    check_alarm_topic,
)


def run_checks(facts: Facts) -> list[Check]:
    return [check(facts) for check in CHECKS]


def failed(checks: list[Check]) -> list[Check]:
    return [c for c in checks if c.status == "fail"]


# --- reading (read-only calls) --------------------------------------------------------------


def _read(aws: Aws, doing: str, call: Callable[[], T]) -> T | Unreadable:
    try:
        with aws.errors(doing):
            return call()
    except FeedbackctlError as exc:
        head = f"{exc.doing}: {exc.message}" if exc.doing else exc.message
        return Unreadable(head, exc.hint or "")


def _identity(aws: Aws) -> Identity:
    caller = identity.caller(aws.client("sts"))
    return Identity(caller.account, caller.arn)


def _bucket_state(s3: Any, bucket: str) -> BucketState:
    try:
        objects.check_bucket(s3, bucket)
    except Exception as exc:
        # HeadBucket has no body: botocore's code is the HTTP status (docs/aws-errors.md).
        code = error_code(exc)
        if is_not_found(exc):
            return "missing"
        if code == "403":
            return "denied"
        if code == "301":  # S3's redirect to the bucket's own region
            return "elsewhere"
        raise
    return "reachable"


def _retained(aws: Aws, stack: stacks.StackInfo | None) -> tuple[str, ...]:
    """The deploy's own search (deploy.retained_tables), so doctor and deploy never differ."""
    from feedbackctl.deploy import retained_tables

    # A stack that a create left behind is replaced, so it owns nothing (as the deploy plans).
    owned = stack.outputs if stack is not None and not stack.replaceable else {}
    return tuple(retained_tables(aws.client("dynamodb"), aws.target.names, owned).values())


def _api_role(aws: Aws, stack: stacks.StackInfo | None) -> ApiGatewayRole:
    role_arn = apigateway.logging_role(aws.client("apigateway"))
    if role_arn is None:
        return ApiGatewayRole(None)
    stack_roles: set[str] = set()
    if stack is not None:
        stack_roles = stacks.physical_ids(
            aws.client("cloudformation"), aws.target.stack_name, "AWS::IAM::Role"
        )
    exists: bool | None = None
    tags: dict[str, str] = {}
    try:
        found = identity.role_tags(aws.client("iam"), role_arn.rsplit("/", 1)[-1])
        exists, tags = found is not None, found or {}
    except Exception as exc:
        if not error_code(exc):
            raise
        # Any other answer (AccessDenied): who owns it is told from its name alone.
    return ApiGatewayRole(role_arn, exists, tags, frozenset(stack_roles))


def _alarm_wiring(aws: Aws, topic_arn: str, account: str) -> AlarmWiring:
    target, names = aws.target, aws.target.names
    function = names.function(ORCHESTRATOR)
    orchestrator = (
        f"arn:{partition(target.region)}:lambda:{target.region}:{account}:function:"
        f"{function}:{ALIAS}"
    )
    sns = aws.client("sns")
    if not topics.exists(sns, topic_arn):
        return AlarmWiring(topic_arn, orchestrator, topic_exists=False)
    subscriptions = topics.subscriptions(sns, topic_arn)
    expected = tuple(a for seed in FUNCTION_NAMES for a in names.rollback_alarms(seed))
    found = list(alarms.metric_alarms(aws.client("cloudwatch"), expected))
    return AlarmWiring(
        topic_arn,
        orchestrator,
        topic_exists=True,
        subscriptions=tuple(subscriptions),
        expected_alarms=expected,
        alarm_actions={a["AlarmName"]: tuple(a.get("AlarmActions", [])) for a in found},
        actions_disabled=tuple(a["AlarmName"] for a in found if not a.get("ActionsEnabled", True)),
    )


def _is_local_platform(aws: Aws) -> bool:
    from feedbackctl.deploy import local_platform_running

    if not aws.target.local:
        return False
    return (
        _read(aws, "", lambda: local_platform_running(aws.client("s3"), aws.target.names)) is True
    )


def read_facts(
    aws: Aws,
    stage: StageConfig,
    template: str,
    bootstrap: str,
    *,
    adopt_retained: bool = False,
    local_platform: bool | None = None,
) -> Facts:
    """What every check needs, by read-only calls only.

    `local_platform` None: the stage is on the local platform when its endpoint is local and
    `feedbackctl local up` provisioned it (the deploy's own test); nothing CloudFormation owns
    is read there.
    """
    target = aws.target
    base = Facts(
        stage=stage.name,
        stack_name=target.stack_name,
        config_file=stage.source.name,
        stage_region=stage.region,
        session_region=target.region,
        partition=known_partition(target.region),
        manage_api_gateway_account=stage.manage_api_gateway_account,
        template_bytes=len(template.encode()),
        bootstrap_bytes=len(bootstrap.encode()),
        template_sets_account="AWS::ApiGateway::Account" in template,
        identity=_read(aws, "", lambda: _identity(aws)),  # the check names what was read
        adopt_retained=adopt_retained,
    )
    if isinstance(base.identity, Unreadable):
        return replace(base, skipped="not checked: no working AWS credentials")
    local = _is_local_platform(aws) if local_platform is None else local_platform
    if local:
        return replace(
            base,
            local_platform=True,
            skipped="not checked on the local platform (`feedbackctl local up` provisions it)",
        )
    return _read_stage(aws, base, base.identity, template, bootstrap)


def _read_stage(aws: Aws, base: Facts, who: Identity, template: str, bootstrap: str) -> Facts:
    name = aws.target.stack_name
    stack = _read(
        aws,
        f"reading stack {name}",
        lambda: stacks.describe_stack(aws.client("cloudformation"), name),
    )
    if isinstance(stack, Unreadable):
        return replace(base, stack=stack)
    bucket = stack.outputs.get("CodeBucketName") if stack and not stack.replaceable else None
    topic = stack.outputs.get("AlarmTopicArn") if stack and not stack.replaceable else None
    return replace(
        base,
        stack=stack,
        code_bucket=_read(
            aws, f"reading bucket {bucket}", lambda: _bucket_state(aws.client("s3"), str(bucket))
        )
        if bucket
        else None,
        retained=_read(
            aws,
            "looking for retained tables",
            lambda: _retained(aws, stack),
        ),
        api_role=_read(
            aws, "reading API Gateway's account settings", lambda: _api_role(aws, stack)
        ),
        alarms=_read(
            aws, f"reading topic {topic}", lambda: _alarm_wiring(aws, str(topic), who.account)
        )
        if topic
        else None,
    )
