"""CloudFormation through change sets: read a stack, create and describe a change set, execute
it and wait, each wait a loop with injected sleep and clock that backs off on throttling.

Over an injected `cloudformation` client; the exact call sequence is tested with Stubber.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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


@dataclass(frozen=True)
class StackInfo:
    """What a deploy needs to know about an existing stack."""

    name: str
    status: str
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def busy(self) -> bool:
        return self.status.endswith("_IN_PROGRESS")


@dataclass(frozen=True)
class Change:
    """One resource change of a change set, as shown before confirming."""

    action: str
    logical_id: str
    resource_type: str
    replacement: str = ""


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
    code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
    return code in {"Throttling", "ThrottlingException", "TooManyRequestsException"}


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


def describe_stack(cfn: Any, name: str) -> StackInfo | None:
    """The stack, or None when it does not exist (or was deleted)."""
    try:
        stacks = cfn.describe_stacks(StackName=name)["Stacks"]
    except Exception as exc:
        if "does not exist" in str(exc):
            return None
        raise
    if not stacks or stacks[0]["StackStatus"] == "DELETE_COMPLETE":
        return None
    stack = stacks[0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", []) or []}
    return StackInfo(name, stack["StackStatus"], outputs)


def deployed_template(cfn: Any, name: str) -> str:
    body = cfn.get_template(StackName=name, TemplateStage="Original")["TemplateBody"]
    # CloudFormation returns YAML as text and JSON templates parsed; compare text either way.
    return body if isinstance(body, str) else json.dumps(body)


def create_change_set(
    cfn: Any,
    stack: str,
    template: str | None,
    *,
    template_url: str | None = None,
    create: bool,
    token: str,
    waiter: Waiter,
) -> ChangeSet:
    """Create a change set (template inline, or read from S3) and wait until it is ready."""
    name = f"feedbackctl-{token}"
    source = {"TemplateURL": template_url} if template_url else {"TemplateBody": template}
    cfn.create_change_set(
        StackName=stack,
        ChangeSetName=name,
        ChangeSetType="CREATE" if create else "UPDATE",
        Capabilities=CAPABILITIES,
        Description="feedbackctl deploy",
        **source,
    )
    result = poll(
        lambda: cfn.describe_change_set(StackName=stack, ChangeSetName=name),
        lambda r: r["Status"] in {"CREATE_COMPLETE", "FAILED"},
        waiter,
        f"change set {name}",
    )
    if result["Status"] == "FAILED":
        reason = result.get("StatusReason", "")
        if any(marker in reason for marker in NO_CHANGES):
            cfn.delete_change_set(StackName=stack, ChangeSetName=name)
            return ChangeSet(name, stack, (), empty=True)
        raise FeedbackctlError(
            f"CloudFormation rejected the change set: {reason}", doing=f"planning {stack}"
        )
    changes = tuple(
        Change(
            c["ResourceChange"]["Action"],
            c["ResourceChange"]["LogicalResourceId"],
            c["ResourceChange"]["ResourceType"],
            c["ResourceChange"].get("Replacement", ""),
        )
        for c in result.get("Changes", [])
        if c.get("Type") == "Resource"
    )
    return ChangeSet(name, stack, changes)


def discard_change_set(cfn: Any, change_set: ChangeSet) -> None:
    cfn.delete_change_set(StackName=change_set.stack, ChangeSetName=change_set.name)


def _failure_reasons(cfn: Any, stack: str) -> str:
    try:
        events = cfn.describe_stack_events(StackName=stack)["StackEvents"][:50]
    except Exception:  # noqa: BLE001 - the reasons are a courtesy; the failure itself is known
        return ""
    reasons = [
        f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason', '')}"
        for e in events
        if e.get("ResourceStatus", "").endswith("_FAILED")
    ]
    return "; ".join(reasons[:3])


def execute_change_set(cfn: Any, change_set: ChangeSet, waiter: Waiter) -> StackInfo:
    """Execute and wait for the stack to settle; a rollback or failure is a FeedbackctlError."""
    cfn.execute_change_set(StackName=change_set.stack, ChangeSetName=change_set.name)
    poll(
        lambda: describe_stack(cfn, change_set.stack),
        lambda s: s is not None and not s.busy,
        waiter,
        f"stack {change_set.stack}",
    )
    info = describe_stack(cfn, change_set.stack)
    if info is None or info.status not in OK_STATES or info.status == "UPDATE_ROLLBACK_COMPLETE":
        status = info.status if info else "DELETED"
        reasons = _failure_reasons(cfn, change_set.stack)
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


def delete_stack(cfn: Any, name: str, waiter: Waiter) -> None:
    cfn.delete_stack(StackName=name)
    poll(
        lambda: describe_stack(cfn, name),
        lambda s: s is None or s.status == "DELETE_FAILED",
        waiter,
        f"deleting {name}",
    )
    info = describe_stack(cfn, name)
    if info is not None:
        raise FeedbackctlError(
            f"stack {name} is {info.status}: {_failure_reasons(cfn, name)}",
            doing="deleting the stack",
        )
