"""Template changes on the local platform: what `deploy --stage local` (and a restart with a
changed template) applies to the running stack, and what it names as not applicable.

The stack the platform provisioned is recorded in its code bucket (`RECORD_KEY`: the template
it was made from and what provisioning made), so a deploy in another process can compare the
newly rendered template with it. Each differing resource is one `Change`:

- applied: a log group added, removed, or its retention changed; an alarm or metric filter
  added, changed (both are upserts in the API) or removed; a function's configuration
  (environment, memory, timeout, handler, runtime, description: its next version is published by
  the release that follows); a table's TTL, and global secondary indexes added or removed
  (UpdateTable, as CloudFormation allows one per update); a bucket's versioning; the API (routes,
  methods, models, validators, gateway responses, the stage's throttling, usage plans and keys:
  the running gateway follows the recorded template, feedbackctl.local.follow); a role (locally
  only its existence matters) and the resources the platform does not emulate (CloudFront,
  policies, permissions, the dashboard).
- not applicable, named: anything else (a new function or table, a stream mapping or
  subscription change, a table's keys, an index changed in place, the API's stage name, an API
  the gateway cannot read ...): the running data plane was built from the old template. The
  deploy refuses before changing anything, and says `local up --fresh` starts from the new
  template.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from feedbackctl.deploy import LOCAL_STACK_RECORD
from feedbackctl.errors import FeedbackctlError, RefusedError

RECORD_KEY = LOCAL_STACK_RECORD
Action = Literal["add", "modify", "remove"]
FUNCTION_SETTINGS = ("Environment", "MemorySize", "Timeout", "Handler", "Runtime", "Description")
NO_EFFECT = {
    "AWS::IAM::Role": "no effect locally (permissions are not enforced)",
    "AWS::Lambda::Permission": "no effect locally (permissions are not enforced)",
    "AWS::S3::BucketPolicy": "no effect locally (permissions are not enforced)",
    "AWS::SNS::TopicPolicy": "no effect locally (permissions are not enforced)",
    "AWS::CloudFront::Distribution": "not emulated locally (the gateway serves the site)",
    "AWS::CloudFront::OriginAccessControl": "not emulated locally",
    "AWS::CloudFront::ResponseHeadersPolicy": "not emulated locally",
    "AWS::CloudWatch::Dashboard": "not emulated locally",
    "AWS::KinesisFirehose::DeliveryStream": "not emulated locally (log archival)",
    "AWS::Logs::SubscriptionFilter": "not emulated locally (log archival)",
    "AWS::Chatbot::SlackChannelConfiguration": "not emulated locally (chat notifications)",
    "AWS::Backup::BackupVault": "not emulated locally (the weekly backup plan)",
    "AWS::Backup::BackupPlan": "not emulated locally (the weekly backup plan)",
    "AWS::Backup::BackupSelection": "not emulated locally (the weekly backup plan)",
}
UPSERTS = {"AWS::CloudWatch::Alarm": "_alarm", "AWS::Logs::MetricFilter": "_metric_filter"}
# Resources a change may add, by the Provisioner method that creates them. A removed secret is
# kept, as its DeletionPolicy (Retain) keeps it on AWS: every stored email hash depends on it.
ADDERS = {"AWS::Logs::LogGroup": "_log_group", "AWS::SecretsManager::Secret": "_secret"}
API_PREFIX = "AWS::ApiGateway::"  # served by the local gateway from the recorded template
SERVED = "served by the local gateway from the new template"
TABLE_SETTINGS = {"TimeToLiveSpecification", "GlobalSecondaryIndexes", "AttributeDefinitions"}


@dataclass(frozen=True)
class Change:
    logical_id: str
    type: str
    action: Action
    applicable: bool
    note: str

    def line(self) -> str:
        return f"{self.action:<6} {self.logical_id} ({self.type}): {self.note}"


def _same(old: Any, new: Any) -> bool:
    return json.dumps(old, sort_keys=True, default=str) == json.dumps(
        new, sort_keys=True, default=str
    )


def _changed_keys(old: dict[str, Any], new: dict[str, Any]) -> set[str]:
    return {k for k in set(old) | set(new) if not _same(old.get(k), new.get(k))}


def is_api(kind: str) -> bool:
    return kind.startswith(API_PREFIX)


def index_changes(
    old: dict[str, Any], new: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[str]] | str:
    """(the index to create, the index to delete) between two tables' properties, or why the
    change cannot be made: an index changed in place, or an attribute retyped."""
    before = {i["IndexName"]: i for i in old.get("GlobalSecondaryIndexes") or []}
    after = {i["IndexName"]: i for i in new.get("GlobalSecondaryIndexes") or []}
    changed = sorted(n for n in before.keys() & after.keys() if not _same(before[n], after[n]))
    if changed:
        return (
            f"index {', '.join(changed)} changed: an index's keys and projection cannot change "
            "(add it under another name, then remove the old one)"
        )
    types = [
        {a["AttributeName"]: a["AttributeType"] for a in props.get("AttributeDefinitions") or []}
        for props in (old, new)
    ]
    retyped = sorted(n for n in types[0].keys() & types[1].keys() if types[0][n] != types[1][n])
    if retyped:
        return f"attribute {', '.join(retyped)} changed its type"
    # Several at once are made one UpdateTable each, as `deploy` makes them one stack update
    # each on AWS (feedbackctl/index_steps.py).
    created = [after[n] for n in after if n not in before]
    deleted = [n for n in before if n not in after]
    return created, deleted


def _modification(logical_id: str, kind: str, old: dict[str, Any], new: dict[str, Any]) -> Change:
    props = _changed_keys(old.get("Properties") or {}, new.get("Properties") or {})
    attributes = _changed_keys(
        {k: v for k, v in old.items() if k != "Properties"},
        {k: v for k, v in new.items() if k != "Properties"},
    )
    what = ", ".join(sorted(props | attributes))
    if kind in NO_EFFECT:
        return Change(logical_id, kind, "modify", True, f"{what}: {NO_EFFECT[kind]}")
    if attributes - {"Metadata", "DependsOn", "DeletionPolicy", "UpdateReplacePolicy"}:
        return Change(logical_id, kind, "modify", False, f"{what} cannot change locally")
    if kind == "AWS::DynamoDB::Table" and props and props <= TABLE_SETTINGS:
        indexes = index_changes(old.get("Properties") or {}, new.get("Properties") or {})
        if isinstance(indexes, str):
            return Change(logical_id, kind, "modify", False, f"{what}: {indexes}")
        created, deleted = indexes
        done = [f"index {i['IndexName']} created" for i in created]
        done += [f"index {name} deleted" for name in deleted]
        return Change(logical_id, kind, "modify", True, f"{what}: {', '.join(done)}")
    if kind == "AWS::S3::Bucket" and "BucketName" not in props:
        # Locally a bucket is its name and versioning; lifecycle, encryption, logging and
        # access blocks are not emulated (moto stores objects, it expires none).
        emulated = "VersioningConfiguration" in props
        return Change(
            logical_id, kind, "modify", True, what if emulated else f"{what}: no effect locally"
        )
    applicable = (
        kind in UPSERTS
        or is_api(kind)
        or (kind == "AWS::Logs::LogGroup" and props <= {"RetentionInDays", "KmsKeyId"})
        or (kind == "AWS::Lambda::Function" and props <= set(FUNCTION_SETTINGS))
        or not props  # metadata or policies only
    )
    note = what if applicable else f"{what} cannot change on the running platform"
    if is_api(kind):
        note = f"{what}: {SERVED}"
    return Change(logical_id, kind, "modify", applicable, note or "attributes only")


def plan(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Every resource that differs between two templates, in the new template's order."""
    before: dict[str, Any] = old.get("Resources") or {}
    after: dict[str, Any] = new.get("Resources") or {}
    changes: list[Change] = []
    addable = {*ADDERS, *UPSERTS}
    for logical_id, resource in after.items():
        kind = resource.get("Type", "")
        if logical_id not in before:
            ok = kind in addable or kind in NO_EFFECT or is_api(kind)
            note = NO_EFFECT.get(kind, "created" if ok else "cannot be added to a running platform")
            changes.append(Change(logical_id, kind, "add", ok, SERVED if is_api(kind) else note))
        elif before[logical_id].get("Type") != kind:
            changes.append(Change(logical_id, kind, "modify", False, "its type changed"))
        elif _changed_keys(before[logical_id], resource):
            changes.append(_modification(logical_id, kind, before[logical_id], resource))
    for logical_id, resource in before.items():
        if logical_id not in after:
            kind = resource.get("Type", "")
            ok = kind in addable or kind in NO_EFFECT or is_api(kind)
            note = NO_EFFECT.get(
                kind, "deleted" if ok else "cannot be removed from a running platform"
            )
            if kind == "AWS::SecretsManager::Secret":
                note = "kept (DeletionPolicy: Retain)"
            changes.append(Change(logical_id, kind, "remove", ok, SERVED if is_api(kind) else note))
    return _api_checked(changes, old, new)


def _api_checked(changes: list[Change], old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """API changes stay applicable only when the gateway can serve the new API where it serves
    the old one (one REST API and stage it can read, under the same stage name)."""
    from feedbackctl.local.apimodel import ApiModel

    if not any(is_api(c.type) and c.applicable for c in changes):
        return changes
    problem: str | None = None
    try:
        stage = ApiModel.from_template(new).stage_name
        served = ApiModel.from_template(old).stage_name
    except FeedbackctlError as exc:
        problem = f"the local gateway cannot serve the new API: {exc.message}"
    else:
        if stage != served:
            problem = f"the API's stage name became {stage!r}: its URL cannot move while it runs"
    if problem is None:
        return changes
    return [
        Change(c.logical_id, c.type, c.action, False, problem)
        if is_api(c.type) and c.applicable
        else c
        for c in changes
    ]


def refuse_unless_applicable(changes: list[Change], stage: str) -> None:
    blocked = [c for c in changes if not c.applicable]
    if blocked:
        raise RefusedError(
            f"{len(blocked)} template change(s) cannot be applied to the running local platform "
            "(nothing was changed): " + "; ".join(c.line() for c in blocked),
            doing="applying the template to the local platform",
            hint=f"stop it and start from the new template with `feedbackctl local up --stage "
            f"{stage} --fresh` (its saved data is deleted)",
        )


def apply(
    changes: list[Change],
    old: dict[str, Any],
    new: dict[str, Any],
    provisioner: Any,
    progress: Callable[[str], None] = lambda _: None,
) -> None:
    """Apply applicable changes through a Provisioner resumed on the recorded stack."""
    before, after = old.get("Resources") or {}, new.get("Resources") or {}
    clients = provisioner.c
    for change in changes:
        if change.type in NO_EFFECT:
            continue
        if is_api(change.type):  # the gateway follows the record written after this
            progress(f"applied: {change.line()}")
            continue
        resource = after.get(change.logical_id) or before[change.logical_id]
        props = provisioner.resolve(resource.get("Properties") or {})
        if change.action == "remove":
            _remove(change, props, clients)
        elif change.type in UPSERTS or change.action == "add":
            method = {**ADDERS, **UPSERTS}[change.type]
            provisioner._create(change.logical_id, change.type, method, resource)
        else:
            was = provisioner.resolve(before[change.logical_id].get("Properties") or {})
            _modify(change, props, was, clients, provisioner.refs)
            _backfill(change, props, was, clients, progress)
        progress(f"applied: {change.line()}")


def _modify(
    change: Change,
    props: dict[str, Any],
    was: dict[str, Any],
    clients: dict[str, Any],
    refs: dict[str, str],
) -> None:
    if change.type == "AWS::Logs::LogGroup":
        if props.get("RetentionInDays"):
            clients["logs"].put_retention_policy(
                logGroupName=props["LogGroupName"],
                retentionInDays=int(props["RetentionInDays"]),
            )
        else:
            clients["logs"].delete_retention_policy(logGroupName=props["LogGroupName"])
    elif change.type == "AWS::Lambda::Function":
        _function_settings(props, clients["lambda"])
    elif change.type == "AWS::S3::Bucket":
        status = (props.get("VersioningConfiguration") or {}).get("Status")
        if status:
            clients["s3"].put_bucket_versioning(
                Bucket=refs[change.logical_id],
                VersioningConfiguration={"Status": status},
            )
    elif change.type == "AWS::DynamoDB::Table":
        if not _same(was.get("TimeToLiveSpecification"), props.get("TimeToLiveSpecification")):
            ttl = props.get("TimeToLiveSpecification") or {}
            clients["dynamodb"].update_time_to_live(
                TableName=props["TableName"],
                TimeToLiveSpecification={
                    "Enabled": bool(ttl.get("Enabled")),
                    "AttributeName": ttl.get("AttributeName", "expiresAt"),
                },
            )
        indexes = index_changes(was, props)
        if not isinstance(indexes, str):  # a change that is not one was refused in the plan
            update_indexes(clients["dynamodb"], props, *indexes)


def _backfill(
    change: Change,
    props: dict[str, Any],
    was: dict[str, Any],
    clients: dict[str, Any],
    progress: Callable[[str], None],
) -> None:
    """After the ratingSentiment-index is added, give the items stored before it their
    `ratingSentiment` (feedbackctl/backfill.py), as a deploy does on AWS."""
    from feedbackctl.aws.stacks import Waiter
    from feedbackctl.backfill import INDEX, backfill_rating_sentiment

    if change.type != "AWS::DynamoDB::Table":
        return
    indexes = index_changes(was, props)
    if isinstance(indexes, str) or INDEX not in {i["IndexName"] for i in indexes[0]}:
        return
    done = backfill_rating_sentiment(
        clients["dynamodb"], props["TableName"], Waiter(interval=0.1), progress
    )
    if done is not None:
        progress(
            f"backfill done: {done.updated} item(s) given ratingSentiment, {done.scanned} read"
        )


def update_indexes(
    dynamodb: Any, props: dict[str, Any], created: list[dict[str, Any]], deleted: list[str]
) -> None:
    """Create and delete global secondary indexes of the table `props` describes (UpdateTable,
    one index per call, as DynamoDB takes them)."""
    for name in deleted:
        dynamodb.update_table(
            TableName=props["TableName"],
            GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": name}}],
        )
    for index in created:
        wanted = {k: index[k] for k in ("IndexName", "KeySchema", "Projection") if k in index}
        dynamodb.update_table(
            TableName=props["TableName"],
            AttributeDefinitions=props["AttributeDefinitions"],
            GlobalSecondaryIndexUpdates=[{"Create": wanted}],
        )


def _remove(change: Change, props: dict[str, Any], clients: dict[str, Any]) -> None:
    if change.type == "AWS::CloudWatch::Alarm":
        clients["cloudwatch"].delete_alarms(AlarmNames=[props["AlarmName"]])
    elif change.type == "AWS::Logs::MetricFilter":
        clients["logs"].delete_metric_filter(
            logGroupName=props["LogGroupName"],
            filterName=props.get("FilterName", change.logical_id),
        )
    elif change.type == "AWS::Logs::LogGroup":
        clients["logs"].delete_log_group(logGroupName=props["LogGroupName"])


def _function_settings(props: dict[str, Any], lambda_client: Any) -> None:
    env = {k: str(v) for k, v in ((props.get("Environment") or {}).get("Variables") or {}).items()}
    lambda_client.update_function_configuration(
        FunctionName=props["FunctionName"],
        Environment={"Variables": env},
        MemorySize=int(props.get("MemorySize", 128)),
        Timeout=int(props.get("Timeout", 3)),
        Handler=props.get("Handler", "index.lambda_handler"),
        Runtime=props.get("Runtime", "python3.12"),
        Description=props.get("Description", ""),
    )


# --- the stack record ---------------------------------------------------------------------------


def write_record(s3: Any, bucket: str, template: dict[str, Any], provisioned: Any) -> str:
    """Record the stack; returns the record's ETag (what the running platform acknowledges)."""
    body = json.dumps(
        {"template": normalised(template), "provisioned": asdict(provisioned)},
        sort_keys=True,
        default=str,
    )
    written = s3.put_object(
        Bucket=bucket, Key=RECORD_KEY, Body=body.encode(), ContentType="application/json"
    )
    return str(written["ETag"])


def read_record(s3: Any, bucket: str, key: str = RECORD_KEY) -> dict[str, Any] | None:
    """{"template": ..., "provisioned": Provisioned} of the stack in `bucket`, or None."""
    from feedbackctl.local.provision import Provisioned, StreamMapping

    try:
        body = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except (s3.exceptions.NoSuchKey, s3.exceptions.NoSuchBucket):  # none, or destroyed with data
        return None
    record = dict(body["provisioned"])
    record["mappings"] = [StreamMapping(**m) for m in record["mappings"]]
    record["skipped"] = [tuple(s) for s in record["skipped"]]
    return {"template": body["template"], "provisioned": Provisioned(**record)}


class LocalStack:
    """The stack a running local platform provisioned, as a deploy in another process sees it
    through the platform's AWS endpoint."""

    def __init__(
        self,
        clients: dict[str, Any],
        bucket: str,
        *,
        stack: str,
        region: str,
        key: str = RECORD_KEY,
    ) -> None:
        self.clients = clients
        self.bucket = bucket
        self.stack = stack
        self.region = region
        self.record = read_record(clients["s3"], bucket, key)
        self.etag: str | None = None  # of the record this object last wrote

    def changes(self, template: dict[str, Any]) -> list[Change]:
        """What differs from the recorded template (nothing when there is no record)."""
        if self.record is None:
            return []
        return plan(self.record["template"], normalised(template))

    def apply(
        self, template: dict[str, Any], progress: Callable[[str], None] = lambda _: None
    ) -> list[Change]:
        """Apply the changes (refused, changing nothing, if any cannot be) and record the new
        template; returns what was applied."""
        if self.record is None:
            return []
        new = normalised(template)
        changes = plan(self.record["template"], new)
        refuse_unless_applicable(changes, "local")
        provisioner = self.provisioner()
        apply(changes, self.record["template"], new, provisioner, progress)
        provisioned = provisioner.result
        provisioned.physical = dict(provisioner.refs)
        self.etag = write_record(self.clients["s3"], self.bucket, new, provisioned)
        self.record = {"template": new, "provisioned": provisioned}
        return changes

    def provisioner(self) -> Any:
        """A Provisioner resumed on the recorded stack: it resolves the template's intrinsics to
        what provisioning made, and creates what a change adds. It has no code store: no
        function is created through it (a new function is refused in the plan)."""
        from feedbackctl.local.provision import Provisioner

        assert self.record is not None, "no recorded stack"
        provisioner = Provisioner(
            self.clients,
            None,  # type: ignore[arg-type]
            stack=self.stack,
            region=self.region,
            account=ACCOUNT,
        )
        provisioner.resume(self.record["provisioned"])
        return provisioner

    def wait_served(self) -> None:
        """Return once the running platform serves the record written last (its gateway
        follows the new API); a FeedbackctlError when it does not in time."""
        from feedbackctl.local.follow import wait_acknowledged

        if self.etag is not None:
            wait_acknowledged(self.clients["s3"], self.bucket, self.etag, "serve the new template")


ACCOUNT = "123456789012"


def normalised(template: dict[str, Any]) -> dict[str, Any]:
    """The template as the record stores it (JSON types only), so the two compare equal."""
    loaded: dict[str, Any] = json.loads(json.dumps(template, sort_keys=True, default=str))
    return loaded
