"""The manual rollback flow: read, plan, show, confirm, execute, render, exit code.

The plan shown (or printed by `--dry-run`) is the plan executed: its steps are the engine's
calls. The request carries the version the operator was shown as live, so a rollback confirmed
after someone else moved the alias is refused instead of undoing one more release.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import typer

from feedbackctl.aws import Aws
from feedbackctl.cli import options
from feedbackctl.cli.commands.rollback.views import plan_dict, show_plan
from feedbackctl.cli.console import Terminal
from feedbackctl.cli.views import result_dict, show_result
from feedbackctl.engine.rollback import (
    RollbackPlan,
    RollbackRequest,
    execute,
    gather,
    plan_rollback,
)
from feedbackctl.errors import EXIT_FAILED, EXIT_REFUSED, UsageError
from feedbackctl.functions import UnknownFunctionError
from feedbackctl.functions import function as lookup
from feedbackctl.operations import engine_ports

EXIT_BY_OUTCOME = {"done": 0, "skipped": 0, "refused": EXIT_REFUSED, "failed": EXIT_FAILED}

# The wall clock the request is stamped with; tests replace it to put two runs 1.5 s apart.
clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


@dataclass(frozen=True)
class RollbackArgs:
    """What the operator asked for on the command line."""

    function: str
    to_version: str | None = None
    steps: int | None = None
    reason: str | None = None
    expect_version: str | None = None
    force: bool = False
    allow_bad_version: bool = False
    dry_run: bool = False
    yes: bool = False
    as_json: bool = False

    def check(self) -> None:
        try:
            lookup(self.function)
        except UnknownFunctionError as exc:
            raise UsageError(str(exc)) from None
        if self.to_version is not None and self.steps is not None:
            raise UsageError("--to-version and --steps cannot be used together")
        if self.allow_bad_version and self.to_version is None:
            raise UsageError(
                "--allow-bad-version needs --to-version: name the bad version you vouch for"
            )


def _request(args: RollbackArgs, actor: str, seen_live: str) -> RollbackRequest:
    return RollbackRequest(
        function=args.function,
        actor=actor,
        reason=args.reason or f"manual rollback by {actor}",
        now=clock(),
        to_version=args.to_version,
        steps=args.steps,
        force=args.force,
        # A script states what it saw (--expect-version); otherwise it is what we show now.
        expected_version=args.expect_version or seen_live,
        allow_bad_version=args.allow_bad_version,
    )


def _dry_run(term: Terminal, plan: RollbackPlan, as_json: bool) -> None:
    if as_json:
        term.json({"dryRun": True, "plan": plan_dict(plan)})
    else:
        show_plan(term, plan)
    if plan.decision == "refuse":
        term.error(f"would be refused ({plan.rule}): {plan.message}")
    elif plan.decision == "skip":
        term.status(f"nothing to do: {plan.message}")
    raise typer.Exit(EXIT_REFUSED if plan.decision == "refuse" else 0)


def run_rollback(args: RollbackArgs, aws: Aws) -> None:
    args.check()
    term = Terminal()
    with aws.errors(f"reading the state of {args.function}"):
        ports = engine_ports(aws)
        actor = aws.caller()
        state = gather(args.function, ports)
    plan = plan_rollback(
        state, _request(args, actor, state.alias.shifting_to or state.alias.version)
    )
    if args.dry_run:
        _dry_run(term, plan, args.as_json)
    if plan.decision == "rollback":
        if not args.as_json:
            show_plan(term, plan)
        options.confirm(
            f"Roll back {args.function} from {plan.from_version} to {plan.to_version} "
            f"on stage {aws.target.stage}?",
            yes=args.yes,
            production=aws.target.production,
        )
    with aws.errors(f"rolling back {args.function}"):
        result = execute(plan, ports)
    term.json(result_dict(result)) if args.as_json else show_result(term, result)
    raise typer.Exit(EXIT_BY_OUTCOME[result.outcome])
