"""Operations on a deployed stage that read or act through the engine: building the engine's
ports from the CLI's session, reading the ledger's history, and assembling `status`
(stack, aliases, ledger, alarms, drift). No CLI code; the commands render what this returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from feedbackctl.aws import Aws, alarms, error_code, is_not_found, stacks
from feedbackctl.deploy import LOCAL_PLATFORM, local_stack_standing
from feedbackctl.engine.aws_ports import LambdaOps, build_ports
from feedbackctl.engine.ledger import DynamoLedger
from feedbackctl.engine.model import LedgerEvent
from feedbackctl.engine.rollback import Ports
from feedbackctl.functions import FUNCTION_NAMES


def engine_ports(aws: Aws) -> Ports:
    """The rollback engine's ports over the CLI session's clients."""
    target, names = aws.target, aws.target.names
    topic = names.topic_arn(
        names.notifications_topic, target.region, aws.account(), partition=target.partition
    )
    return build_ports(
        aws.client("lambda"),
        aws.client("dynamodb"),
        aws.client("sns"),
        stack=target.stack_name,
        topic_arn=topic,
    )


def history(aws: Aws, functions: list[str] | None = None, limit: int = 20) -> list[LedgerEvent]:
    """The newest `limit` ledger events across `functions` (all by default), newest first."""
    ledger = DynamoLedger(aws.client("dynamodb"), aws.target.names.ledger_table)
    events: list[LedgerEvent] = []
    with aws.errors("reading the release ledger"):
        for function in functions or FUNCTION_NAMES:
            events += ledger.events(function, limit)
    events.sort(key=lambda e: (e.at, e.event_id), reverse=True)
    return events[:limit]


@dataclass
class FunctionStatus:
    """One function's live state as AWS and the ledger see it."""

    function: str
    live_version: str | None = None
    routing: dict[str, float] = field(default_factory=dict)
    ledger_version: str | None = None
    last_release: LedgerEvent | None = None
    alarm_state: str = "UNKNOWN"
    latched: bool = False
    latch_reason: str = ""
    bad_versions: list[str] = field(default_factory=list)
    problem: str = ""

    @property
    def shifting(self) -> str:
        """A release's traffic shift in progress (`10% on 5`): the alias's primary is the
        version the ledger has live and a weight goes to the new one, as a canary or linear
        release leaves it until it commits the release at 100 %. Not drift."""
        if not self.routing or self.live_version != self.ledger_version:
            return ""
        return ", ".join(f"{weight:.0%} on {version}" for version, weight in self.routing.items())

    @property
    def drift(self) -> str:
        """Why the alias and the ledger disagree, or "" when they agree (a shift in progress
        from the ledger's live version agrees)."""
        if self.live_version is None or self.ledger_version is None:
            return ""
        if self.live_version != self.ledger_version:
            extra = f" (shifting to {next(iter(self.routing))})" if self.routing else ""
            return f"alias on {self.live_version}{extra}, ledger says {self.ledger_version}"
        return ""

    @property
    def unlatch(self) -> str:
        """How a human clears the latch an automatic rollback set ("" when not latched)."""
        if not self.latched:
            return ""
        return (
            f"feedbackctl deploy --function {self.function} (a fixed version), or "
            f"feedbackctl rollback --function {self.function} --force"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "liveVersion": self.live_version,
            "routing": self.routing,
            "ledgerVersion": self.ledger_version,
            "drift": self.drift or None,
            "shifting": self.shifting or None,
            "alarm": self.alarm_state,
            "latched": self.latched,
            "latchReason": self.latch_reason or None,
            "unlatch": self.unlatch or None,
            "badVersions": self.bad_versions,
            "lastRelease": self.last_release.as_dict() if self.last_release else None,
            "problem": self.problem or None,
        }


@dataclass
class StageStatus:
    stage: str
    stack_name: str
    stack_status: str
    functions: list[FunctionStatus]

    def as_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "stack": self.stack_name,
            "stackStatus": self.stack_status,
            "functions": [f.as_dict() for f in self.functions],
        }


def _stack_status(aws: Aws) -> str:
    info = stacks.describe_stack(aws.client("cloudformation"), aws.target.stack_name)
    if info is None:
        # On this machine the stack may be `feedbackctl local up`'s, not CloudFormation's.
        local = aws.target.local and local_stack_standing(aws.client("s3"), aws.target.names)
        return LOCAL_PLATFORM if local else "NOT_DEPLOYED"
    return info.status


def _alarm_states(aws: Aws) -> dict[str, str]:
    names = [aws.target.names.errors_alarm(f) for f in FUNCTION_NAMES]
    return alarms.states(aws.client("cloudwatch"), names)


def _function_status(
    aws: Aws, ops: LambdaOps, ledger: DynamoLedger, function: str, alarms: dict[str, str]
) -> FunctionStatus:
    from feedbackctl.aws import ClientError  # imported here: loads the SDK only when used

    status = FunctionStatus(
        function, alarm_state=alarms.get(aws.target.names.errors_alarm(function), "UNKNOWN")
    )
    try:
        alias = ops.alias(function)
        status.live_version, status.routing = alias.version, alias.routing
    except ClientError as exc:
        # Only a missing alias (or function) is this function's problem; anything else, such as
        # AccessDenied, is the command's error and stops it with AWS's words.
        if not is_not_found(exc):
            raise
        status.problem = f"no live alias ({error_code(exc)})"
    state = ledger.state(function)
    status.ledger_version = state.live_version
    status.latched, status.latch_reason = state.latched, state.latch_reason
    status.bad_versions = sorted(state.bad_versions, key=int)
    status.last_release = next(
        (e for e in ledger.events(function, 20) if e.kind == "release"), None
    )
    return status


def stage_status(aws: Aws) -> StageStatus:
    """Stack status and, per function, alias vs ledger, last release and error alarm."""
    ops = LambdaOps(aws.client("lambda"), aws.target.stack_name)
    ledger = DynamoLedger(aws.client("dynamodb"), aws.target.names.ledger_table)
    with aws.errors("reading the stage's status"):
        stack = _stack_status(aws)
        alarms = _alarm_states(aws)
        functions = [_function_status(aws, ops, ledger, f, alarms) for f in FUNCTION_NAMES]
    return StageStatus(aws.target.stage, aws.target.stack_name, stack, functions)
