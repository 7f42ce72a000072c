"""CloudFormation through change sets: read a stack, create (or import) and describe a change set,
execute it and wait, each wait a loop with injected sleep and clock that backs off on throttling.

Over an injected `cloudformation` client; the exact call sequence is tested with Stubber. The AWS
behaviours these calls rely on are listed, with their sources, in docs/first-deploy.md.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from feedbackctl import cfnyaml
from feedbackctl.aws import error_code
from feedbackctl.errors import FeedbackctlError

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
FAILED_STATES = {
    "ROLLBACK_COMPLETE",
    "ROLLBACK_FAILED",
    "UPDATE_ROLLBACK_FAILED",
    "DELETE_FAILED",
    "CREATE_FAILED",
}
OK_STATES = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE"}
# A stack whose first create never ran (a declined or failed CREATE change set leaves it in
# REVIEW_IN_PROGRESS) or failed and rolled back (ROLLBACK_COMPLETE, which can only be deleted):
# it holds nothing but retained resources, so a deploy deletes it and creates the stack afresh.
REPLACEABLE_STATES = {"REVIEW_IN_PROGRESS", "ROLLBACK_COMPLETE"}
# Versions and aliases belong to the release engine: a stack update that changes or removes one
# would move production traffic behind its back (docs/release.md, "Code ownership").
RELEASE_OWNED_TYPES = {"AWS::Lambda::Version", "AWS::Lambda::Alias"}
RELEASE_OWNED_ACTIONS = {"Modify", "Remove"}


@dataclass(frozen=True)
class StackInfo:
    """What a deploy needs to know about an existing stack."""

    name: str
    status: str
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def busy(self) -> bool:
        return self.status.endswith("_IN_PROGRESS")

    @property
    def replaceable(self) -> bool:
        """A failed or never-run first create: nothing to update, only to delete and recreate."""
        return self.status in REPLACEABLE_STATES


@dataclass(frozen=True)
class Change:
    """One resource change of a change set, as shown before confirming."""

    action: str
    logical_id: str
    resource_type: str
    replacement: str = ""


@dataclass(frozen=True)
class ImportTarget:
    """One existing resource an IMPORT change set brings under the stack."""

    logical_id: str
    resource_type: str
    identifier: dict[str, str]


@dataclass(frozen=True)
class ChangeSet:
    name: str
    stack: str
    changes: tuple[Change, ...]
    empty: bool = False


@dataclass
class Waiter:
    """Sleep and clock for polling loops (tests inject fakes)."""

    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    interval: float = 5.0
    timeout: float = 3600.0


def _is_throttle(exc: Exception) -> bool:
    return error_code(exc) in {"Throttling", "ThrottlingException", "TooManyRequestsException"}


def poll(call: Callable[[], Any], done: Callable[[Any], bool], waiter: Waiter, what: str) -> Any:
    """Call until `done`, sleeping `interval` (doubling on throttling, to 60 s)."""
    deadline = waiter.clock() + waiter.timeout
    delay = waiter.interval
    while True:
        try:
            result = call()
            delay = waiter.interval
            if done(result):
                return result
        except Exception as exc:
            if not _is_throttle(exc):
                raise
            delay = min(delay * 2, 60.0)
        if waiter.clock() >= deadline:
            raise FeedbackctlError(
                f"timed out waiting for {what}", hint="check the AWS console and retry"
            )
        waiter.sleep(delay)


def describe_stack(client: Any, name: str) -> StackInfo | None:
    """The stack, or None when it does not exist (or was deleted)."""
    try:
        stacks = client.describe_stacks(StackName=name)["Stacks"]
    except Exception as exc:
        # CloudFormation has no not-found code: a missing stack is a ValidationError saying
        # "Stack with id X does not exist". An AccessDenied never means "missing".
        if error_code(exc) == "ValidationError" and "does not exist" in str(exc):
            return None
        raise
    if not stacks or stacks[0]["StackStatus"] == "DELETE_COMPLETE":
        return None
    stack = stacks[0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", []) or []}
    return StackInfo(name, stack["StackStatus"], outputs)


def deployed_template(client: Any, name: str) -> str:
    body = client.get_template(StackName=name, TemplateStage="Original")["TemplateBody"]
    # CloudFormation returns YAML as text and JSON templates parsed; compare text either way.
    return body if isinstance(body, str) else json.dumps(body)


ChangeSetType = Literal["CREATE", "UPDATE", "IMPORT"]


def create_change_set(
    client: Any,
    stack: str,
    template: str | None,
    *,
    template_url: str | None = None,
    create: bool = False,
    token: str,
    waiter: Waiter,
    imports: tuple[ImportTarget, ...] = (),
) -> ChangeSet:
    """Create a change set (template inline, or read from S3) and wait until it is ready.

    With `imports` it is an IMPORT change set: those existing resources join the stack and
    nothing else may change (CloudFormation rejects any other difference)."""
    name = f"feedbackctl-{token}"
    source = {"TemplateURL": template_url} if template_url else {"TemplateBody": template}
    kind: ChangeSetType = "IMPORT" if imports else "CREATE" if create else "UPDATE"
    extra: dict[str, Any] = {}
    if imports:
        extra["ResourcesToImport"] = [
            {
                "ResourceType": target.resource_type,
                "LogicalResourceId": target.logical_id,
                "ResourceIdentifier": target.identifier,
            }
            for target in imports
        ]
    client.create_change_set(
        StackName=stack,
        ChangeSetName=name,
        ChangeSetType=kind,
        Capabilities=CAPABILITIES,
        Description="feedbackctl deploy",
        **source,
        **extra,
    )
    result = poll(
        lambda: client.describe_change_set(StackName=stack, ChangeSetName=name),
        lambda r: r["Status"] in {"CREATE_COMPLETE", "FAILED"},
        waiter,
        f"change set {name}",
    )
    if result["Status"] == "FAILED":
        reason = result.get("StatusReason", "")
        if any(marker in reason for marker in NO_CHANGES):
            client.delete_change_set(StackName=stack, ChangeSetName=name)
            return ChangeSet(name, stack, (), empty=True)
        raise FeedbackctlError(
            f"CloudFormation rejected the change set: {reason}", doing=f"planning {stack}"
        )
    raw = list(result.get("Changes", []))
    # A large change set comes in pages; every change must be seen (the release-owned guard).
    while result.get("NextToken"):
        result = client.describe_change_set(
            StackName=stack, ChangeSetName=name, NextToken=result["NextToken"]
        )
        raw += result.get("Changes", [])
    changes = tuple(
        Change(
            c["ResourceChange"]["Action"],
            c["ResourceChange"]["LogicalResourceId"],
            c["ResourceChange"]["ResourceType"],
            c["ResourceChange"].get("Replacement", ""),
        )
        for c in raw
        if c.get("Type") == "Resource"
    )
    return ChangeSet(name, stack, changes)


def release_owned(change_set: ChangeSet) -> tuple[Change, ...]:
    """The changes that would modify, replace or remove a Lambda version or alias."""
    return tuple(
        c
        for c in change_set.changes
        if c.resource_type in RELEASE_OWNED_TYPES and c.action in RELEASE_OWNED_ACTIONS
    )


def discard_change_set(client: Any, change_set: ChangeSet) -> None:
    client.delete_change_set(StackName=change_set.stack, ChangeSetName=change_set.name)


def _failure_reasons(client: Any, stack: str) -> str:
    try:
        events = client.describe_stack_events(StackName=stack)["StackEvents"][:50]
    except Exception:  # noqa: BLE001 - the reasons are a courtesy; the failure itself is known
        return ""
    reasons = [
        f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason', '')}"
        for e in events
        if e.get("ResourceStatus", "").endswith("_FAILED")
    ]
    return "; ".join(reasons[:3])


def execute_change_set(client: Any, change_set: ChangeSet, waiter: Waiter) -> StackInfo:
    """Execute and wait for the stack to settle; a rollback or failure is a FeedbackctlError.

    RetainExceptOnCreate: a failed operation rolls back and deletes what it newly created, even
    resources marked Retain, while resources that existed before stay; without it a failed
    first update keeps the new fixed-name tables and every later deploy fails on them."""
    client.execute_change_set(
        StackName=change_set.stack, ChangeSetName=change_set.name, RetainExceptOnCreate=True
    )
    poll(
        lambda: describe_stack(client, change_set.stack),
        lambda s: s is not None and not s.busy,
        waiter,
        f"stack {change_set.stack}",
    )
    info = describe_stack(client, change_set.stack)
    if info is None or info.status not in OK_STATES or info.status == "UPDATE_ROLLBACK_COMPLETE":
        status = info.status if info else "DELETED"
        reasons = _failure_reasons(client, change_set.stack)
        raise FeedbackctlError(
            f"stack {change_set.stack} ended in {status}: {reasons}",
            doing="applying the change set",
            hint="fix the template or configuration and deploy again",
        )
    return info


def check_deployable(info: StackInfo | None) -> None:
    """Refuse to deploy onto a stack that is busy or stuck in a failed state."""
    if info is None:
        return
    if info.status == "REVIEW_IN_PROGRESS":
        raise FeedbackctlError(
            f"stack {info.name} is {info.status}: a create change set was declined or failed "
            "and no operation is running",
            hint="`feedbackctl deploy` deletes it and creates the stack afresh",
        )
    if info.busy:
        raise FeedbackctlError(
            f"stack {info.name} is {info.status}",
            hint="wait for the running operation to finish, then deploy",
        )
    if info.status == "ROLLBACK_COMPLETE":
        raise FeedbackctlError(
            f"stack {info.name} failed to create and is {info.status}",
            hint="delete it with `feedbackctl destroy`, then deploy again",
        )
    if info.status in FAILED_STATES:
        raise FeedbackctlError(
            f"stack {info.name} is {info.status}",
            hint="recover it in CloudFormation (continue-update-rollback or delete), then deploy",
        )


def delete_stack(client: Any, name: str, waiter: Waiter) -> None:
    client.delete_stack(StackName=name)
    poll(
        lambda: describe_stack(client, name),
        lambda s: s is None or s.status == "DELETE_FAILED",
        waiter,
        f"deleting {name}",
    )
    info = describe_stack(client, name)
    if info is not None:
        raise FeedbackctlError(
            f"stack {name} is {info.status}: {_failure_reasons(client, name)}",
            doing="deleting the stack",
        )


def _long_form_conditions(value: Any) -> Any:
    # cfnyaml reads `!Condition X` as {"Fn::Condition": X}; CloudFormation's JSON spells it
    # {"Condition": X}.
    if isinstance(value, dict):
        return {
            ("Condition" if k == "Fn::Condition" else k): _long_form_conditions(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_long_form_conditions(v) for v in value]
    return value


def import_template(deployed: str, full: str, logical_ids: tuple[str, ...]) -> str:
    """The template of an IMPORT change set: the deployed template unchanged (resources,
    parameters, outputs: an import may change nothing else) plus `logical_ids` from `full`."""
    template = cfnyaml.load(deployed)
    wanted = cfnyaml.load(full)["Resources"]
    resources = dict(template.get("Resources") or {})
    for logical_id in logical_ids:
        resource = wanted[logical_id]
        if "DeletionPolicy" not in resource:  # CloudFormation refuses an import without it
            raise FeedbackctlError(
                f"{logical_id} has no DeletionPolicy, so it cannot be imported",
                doing="adopting retained resources",
            )
        resources[logical_id] = resource
    template["Resources"] = resources
    return json.dumps(_long_form_conditions(template), indent=1, sort_keys=True, default=str)


def physical_ids(client: Any, name: str, resource_type: str) -> set[str]:
    """The physical ids of the stack's resources of one type (every page)."""
    pages = client.get_paginator("list_stack_resources").paginate(StackName=name)
    return {
        r.get("PhysicalResourceId", "")
        for page in pages
        for r in page["StackResourceSummaries"]
        if r["ResourceType"] == resource_type
    }


def new_log_groups(deployed: str, full: str, physical: dict[str, str]) -> dict[str, str]:
    """Logical id -> name of the log groups `full` declares and `deployed` does not, with their
    names resolved (a literal, or `!Sub` over the stack's own resources as in `physical`);
    a name that refers to anything else is left out (it cannot be looked up before the update)."""
    have = set(cfnyaml.load(deployed).get("Resources") or {})
    found = {}
    for logical_id, resource in (cfnyaml.load(full).get("Resources") or {}).items():
        if resource.get("Type") != "AWS::Logs::LogGroup" or logical_id in have:
            continue
        name = _resolve_name((resource.get("Properties") or {}).get("LogGroupName"), physical)
        if name is not None:
            found[logical_id] = name
    return found


def _resolve_name(value: Any, physical: dict[str, str]) -> str | None:
    if isinstance(value, str):
        return value
    sub = value.get("Fn::Sub") if isinstance(value, dict) else None
    if not isinstance(sub, str):
        return None
    unresolved = False

    def ref(match: re.Match[str]) -> str:
        nonlocal unresolved
        if match.group(1) in physical:
            return physical[match.group(1)]
        unresolved = True
        return ""

    resolved = re.sub(r"\$\{([A-Za-z0-9]+)\}", ref, sub)
    return None if unresolved else resolved


def resource_ids(client: Any, name: str) -> dict[str, str]:
    """Logical id -> physical id of every resource of the stack (every page)."""
    pages = client.get_paginator("list_stack_resources").paginate(StackName=name)
    return {
        r["LogicalResourceId"]: r.get("PhysicalResourceId", "")
        for page in pages
        for r in page["StackResourceSummaries"]
    }
