"""Template changes on the local platform: what `deploy --stage local` (and a restart with a
changed template) applies to the running stack, and what it names as not applicable.

The stack the platform provisioned is recorded in its code bucket (`RECORD_KEY`: the template
it was made from and what provisioning made), so a deploy in another process can compare the
newly rendered template with it. Each differing resource is one `Change`:

- applied: a log group added, removed, or its retention changed; an alarm or metric filter
  added, changed (both are upserts in the API) or removed; a function's configuration
  (environment, memory, timeout, handler, runtime, description: its next version is published by
  the release that follows); a table's TTL; a role (locally only its existence matters) and the
  resources the platform does not emulate (CloudFront, policies, permissions, the dashboard).
- not applicable, named: anything else (an API change, a new function or table, a stream
  mapping or subscription change ...): the running data plane was built from the old template.
  The deploy refuses before changing anything, and says `local up --fresh` starts from the new
  template.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from feedbackctl.errors import RefusedError

RECORD_KEY = "feedbackctl/stack.json"
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
}
UPSERTS = {"AWS::CloudWatch::Alarm": "_alarm", "AWS::Logs::MetricFilter": "_metric_filter"}


@dataclass(frozen=True)
class Change:
    logical_id: str
    type: str
    action: Action
    applicable: bool
    note: str

    def line(self) -> str:
        return f"{self.action:<6} {self.logical_id} ({self.type}): {self.note}"


def _changed_keys(old: dict[str, Any], new: dict[str, Any]) -> set[str]:
    keys = set(old) | set(new)
    return {
        k
        for k in keys
        if json.dumps(old.get(k), sort_keys=True, default=str)
        != json.dumps(new.get(k), sort_keys=True, default=str)
    }


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
    if kind == "AWS::S3::Bucket" and "BucketName" not in props:
        # Locally a bucket is its name and versioning; lifecycle, encryption, logging and
        # access blocks are not emulated (moto stores objects, it expires none).
        emulated = "VersioningConfiguration" in props
        return Change(
            logical_id, kind, "modify", True, what if emulated else f"{what}: no effect locally"
        )
    applicable = (
        kind in UPSERTS
        or (kind == "AWS::Logs::LogGroup" and props <= {"RetentionInDays", "KmsKeyId"})
        or (kind == "AWS::Lambda::Function" and props <= set(FUNCTION_SETTINGS))
        or (kind == "AWS::DynamoDB::Table" and props <= {"TimeToLiveSpecification"})
        or not props  # metadata or policies only
    )
    note = what if applicable else f"{what} cannot change on the running platform"
    return Change(logical_id, kind, "modify", applicable, note or "attributes only")


def plan(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Every resource that differs between two templates, in the new template's order."""
    before: dict[str, Any] = old.get("Resources") or {}
    after: dict[str, Any] = new.get("Resources") or {}
    changes: list[Change] = []
    addable = {"AWS::Logs::LogGroup", *UPSERTS}
    for logical_id, resource in after.items():
        kind = resource.get("Type", "")
        if logical_id not in before:
            ok = kind in addable or kind in NO_EFFECT
            note = NO_EFFECT.get(kind, "created" if ok else "cannot be added to a running platform")
            changes.append(Change(logical_id, kind, "add", ok, note))
        elif before[logical_id].get("Type") != kind:
            changes.append(Change(logical_id, kind, "modify", False, "its type changed"))
        elif _changed_keys(before[logical_id], resource):
            changes.append(_modification(logical_id, kind, before[logical_id], resource))
    for logical_id, resource in before.items():
        if logical_id not in after:
            kind = resource.get("Type", "")
            ok = kind in addable or kind in NO_EFFECT
            note = NO_EFFECT.get(
                kind, "deleted" if ok else "cannot be removed from a running platform"
            )
            changes.append(Change(logical_id, kind, "remove", ok, note))
    return changes


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
        resource = after.get(change.logical_id) or before[change.logical_id]
        props = provisioner.resolve(resource.get("Properties") or {})
        if change.action == "remove":
            _remove(change, props, clients)
        elif change.type in UPSERTS or change.action == "add":
            method = UPSERTS.get(change.type, "_log_group")
            provisioner._create(change.logical_id, change.type, method, resource)
        else:
            _modify(change, props, clients, provisioner.refs)
        progress(f"applied: {change.line()}")


def _modify(
    change: Change, props: dict[str, Any], clients: dict[str, Any], refs: dict[str, str]
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
        ttl = props.get("TimeToLiveSpecification") or {}
        clients["dynamodb"].update_time_to_live(
            TableName=props["TableName"],
            TimeToLiveSpecification={
                "Enabled": bool(ttl.get("Enabled")),
                "AttributeName": ttl.get("AttributeName", "expiresAt"),
            },
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


def write_record(s3: Any, bucket: str, template: dict[str, Any], provisioned: Any) -> None:
    body = json.dumps(
        {"template": normalised(template), "provisioned": asdict(provisioned)},
        sort_keys=True,
        default=str,
    )
    s3.put_object(Bucket=bucket, Key=RECORD_KEY, Body=body.encode(), ContentType="application/json")


def read_record(s3: Any, bucket: str) -> dict[str, Any] | None:
    """{"template": ..., "provisioned": Provisioned} of the stack in `bucket`, or None."""
    from feedbackctl.local.provision import Provisioned, StreamMapping

    try:
        body = json.loads(s3.get_object(Bucket=bucket, Key=RECORD_KEY)["Body"].read())
    except s3.exceptions.NoSuchKey:
        return None
    record = dict(body["provisioned"])
    record["mappings"] = [StreamMapping(**m) for m in record["mappings"]]
    record["skipped"] = [tuple(s) for s in record["skipped"]]
    return {"template": body["template"], "provisioned": Provisioned(**record)}


class LocalStack:
    """The stack a running local platform provisioned, as a deploy in another process sees it
    through the platform's AWS endpoint."""

    def __init__(self, clients: dict[str, Any], bucket: str, *, stack: str, region: str) -> None:
        self.clients = clients
        self.bucket = bucket
        self.stack = stack
        self.region = region
        self.record = read_record(clients["s3"], bucket)

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
        from feedbackctl.local.provision import Provisioner

        if self.record is None:
            return []
        new = normalised(template)
        changes = plan(self.record["template"], new)
        refuse_unless_applicable(changes, "local")
        # No code store: no function is created here (a new function is refused above).
        provisioner = Provisioner(
            self.clients,
            None,  # type: ignore[arg-type]
            stack=self.stack,
            region=self.region,
            account=ACCOUNT,
        )
        provisioner.resume(self.record["provisioned"])
        apply(changes, self.record["template"], new, provisioner, progress)
        provisioned = provisioner.result
        provisioned.physical = dict(provisioner.refs)
        write_record(self.clients["s3"], self.bucket, new, provisioned)
        self.record = {"template": new, "provisioned": provisioned}
        return changes


ACCOUNT = "123456789012"


def normalised(template: dict[str, Any]) -> dict[str, Any]:
    """The template as the record stores it (JSON types only), so the two compare equal."""
    loaded: dict[str, Any] = json.loads(json.dumps(template, sort_keys=True, default=str))
    return loaded
