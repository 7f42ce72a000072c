"""API Gateway's account setting (the CloudWatch Logs role), owned once per account and region.

API Gateway logs every REST API of an account and region through one role, named in the
account's settings (GetAccount/UpdateAccount `cloudwatchRoleArn`). feedbackctl owns it with a
small stack, `feedbackctl-apigateway-account-<region>` (templates/apigateway_account.yaml.j2, the
role only), and one idempotent step that points the setting at that role, retried while a new
role propagates through IAM. Read, plan, execute: `feedbackctl setup-account` (and `--dry-run`)
runs this module; docs/first-deploy.md, "API Gateway's account setting", cites AWS for each rule.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from feedbackctl.aws import apigateway as apigateway_api
from feedbackctl.aws import error_code, stacks
from feedbackctl.errors import FeedbackctlError, RefusedError

STACK_PREFIX = "feedbackctl-apigateway-account-"
ROLE_PREFIX = "feedbackctl-apigateway-cloudwatch-"
# The role the stage stacks declared before this module existed (CloudFormation-named, kept by
# DeletionPolicy Retain): still this project's, so it is replaced without --take-over.
LEGACY_ROLE_MARKER = "-ApiGatewayLoggingRole-"
# UpdateAccount answers a role IAM has not yet propagated with BadRequestException and one of
# these messages (both seen in the field; the code alone is every other bad request too).
RACE_MESSAGES = (
    "The role ARN does not have required permissions",
    "role ARN does not have required permissions",
)
# Seconds to wait before each retry: IAM changes are eventually consistent, usually within
# seconds; about two minutes in all before giving up with what to do.
RACE_DELAYS: tuple[float, ...] = (5, 10, 20, 30, 30, 30)

Owner = Literal["none", "feedbackctl", "feedbackctl-legacy", "other"]
StepKind = Literal["replace-stack", "create-stack", "update-stack", "set-role"]


def stack_name(region: str) -> str:
    return f"{STACK_PREFIX}{region}"


def role_name(region: str) -> str:
    return f"{ROLE_PREFIX}{region}"


def role_arn(partition: str, account: str, region: str) -> str:
    return f"arn:{partition}:iam::{account}:role/{role_name(region)}"


def owner_of(current: str | None, expected: str, stage_stacks: Sequence[str] = ()) -> Owner:
    """Who owns the role the account setting names: nobody, feedbackctl, or someone else."""
    if not current:
        return "none"
    if current == expected:
        return "feedbackctl"
    name = current.rsplit("/", 1)[-1]
    if any(name.startswith(f"{stack}{LEGACY_ROLE_MARKER}"[:64]) for stack in stage_stacks):
        return "feedbackctl-legacy"
    return "other"


@dataclass(frozen=True)
class AccountState:
    """What AWS holds now (read-only calls only)."""

    region: str
    account: str
    partition: str
    stack: stacks.StackInfo | None
    deployed_template: str | None
    current_role: str | None


def read_state(
    cfn_client: Any, apigateway: Any, *, region: str, account: str, partition: str
) -> AccountState:
    name = stack_name(region)
    info = stacks.describe_stack(cfn_client, name)
    deployed = None
    if info is not None and not info.replaceable and not info.busy:
        deployed = stacks.deployed_template(cfn_client, name)
    current = apigateway_api.logging_role(apigateway)
    return AccountState(region, account, partition, info, deployed, current)


@dataclass(frozen=True)
class Step:
    """One thing to do, as the dry run shows it and the executor runs it."""

    kind: StepKind
    description: str


@dataclass(frozen=True)
class AccountPlan:
    region: str
    stack: str
    role_arn: str
    current_role: str | None
    owner: Owner
    steps: tuple[Step, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "stack": self.stack,
            "roleArn": self.role_arn,
            "currentRole": self.current_role,
            "owner": self.owner,
            "steps": [{"kind": s.kind, "description": s.description} for s in self.steps],
        }


def plan(
    state: AccountState,
    template: str,
    *,
    take_over: bool = False,
    stage_stacks: Sequence[str] = (),
) -> AccountPlan:
    """The steps that make the setting name feedbackctl's role (pure)."""
    name = stack_name(state.region)
    wanted = role_arn(state.partition, state.account, state.region)
    owner = owner_of(state.current_role, wanted, stage_stacks)
    if owner == "other" and not take_over:
        raise RefusedError(
            f"API Gateway in {state.region} already logs through {state.current_role}, "
            "a role feedbackctl does not own; nothing was changed",
            doing="planning API Gateway's account setting",
            hint="keep it (the stages log through it), or hand the setting to feedbackctl with "
            "`feedbackctl setup-account --take-over`",
        )
    steps: list[Step] = []
    if state.stack is not None and state.stack.replaceable:
        steps.append(Step("replace-stack", f"delete {name} ({state.stack.status}), then create it"))
    elif state.stack is None:
        steps.append(
            Step("create-stack", f"create stack {name} with role {role_name(state.region)}")
        )
    else:
        stacks.check_deployable(state.stack)
        if state.deployed_template != template:
            steps.append(Step("update-stack", f"update stack {name}"))
    if state.current_role != wanted:
        was = state.current_role or "no role"
        steps.append(
            Step(
                "set-role",
                f"set API Gateway's CloudWatch Logs role in {state.region}: {was} -> {wanted}",
            )
        )
    return AccountPlan(state.region, name, wanted, state.current_role, owner, tuple(steps))


def is_propagation_race(exc: BaseException) -> bool:
    """UpdateAccount rejecting a role IAM has not finished propagating (by code, then text)."""
    if error_code(exc) != "BadRequestException":
        return False
    message = str((getattr(exc, "response", {}).get("Error") or {}).get("Message", ""))
    return any(marker in message for marker in RACE_MESSAGES)


def set_logging_role(
    apigateway: Any,
    arn: str,
    *,
    sleep: Callable[[float], None],
    progress: Callable[[str], None] = lambda _: None,
    delays: Sequence[float] = RACE_DELAYS,
) -> int:
    """UpdateAccount with the role, retried on the propagation race; returns the attempts made."""
    for attempt, delay in enumerate((0.0, *delays), start=1):
        if delay:
            progress(f"the role is still propagating through IAM; retrying in {delay:g} s")
            sleep(delay)
        try:
            apigateway_api.set_logging_role(apigateway, arn)
            return attempt
        except Exception as exc:
            if not is_propagation_race(exc):
                raise
    raise FeedbackctlError(
        f"API Gateway still rejects {arn} after {len(delays) + 1} attempts "
        f"({sum(delays):g} s): the role has not propagated through IAM",
        doing="setting API Gateway's CloudWatch Logs role",
        hint="the role is in place: run `feedbackctl setup-account` again in a few minutes",
    )


def execute(
    account_plan: AccountPlan,
    cfn_client: Any,
    apigateway: Any,
    *,
    template: str,
    waiter: stacks.Waiter,
    progress: Callable[[str], None] = lambda _: None,
    token: Callable[[], str] = lambda: uuid.uuid4().hex[:12],
) -> dict[str, Any]:
    """Run the plan's steps in order; a report of what was done."""
    done: list[str] = []
    attempts = 0
    for step in account_plan.steps:
        progress(step.description)
        if step.kind == "replace-stack":
            stacks.delete_stack(cfn_client, account_plan.stack, waiter)
        if step.kind in {"replace-stack", "create-stack", "update-stack"}:
            change_set = stacks.create_change_set(
                cfn_client,
                account_plan.stack,
                template,
                create=step.kind != "update-stack",
                token=token(),
                waiter=waiter,
            )
            if not change_set.empty:
                stacks.execute_change_set(cfn_client, change_set, waiter)
        elif step.kind == "set-role":
            attempts = set_logging_role(
                apigateway, account_plan.role_arn, sleep=waiter.sleep, progress=progress
            )
        done.append(step.kind)
    return {**account_plan.as_dict(), "done": done, "setRoleAttempts": attempts}
