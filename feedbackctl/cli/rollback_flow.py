"""The manual rollback flow: read, plan, show, confirm, execute, render, exit code."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from feedbackctl.aws import Aws
from feedbackctl.cli import options, views
from feedbackctl.cli.console import Terminal
from feedbackctl.engine.rollback import RollbackRequest, execute, gather, plan_rollback
from feedbackctl.errors import EXIT_FAILED, EXIT_REFUSED, UsageError
from feedbackctl.functions import UnknownFunctionError
from feedbackctl.functions import function as lookup
from feedbackctl.operations import engine_ports

EXIT_BY_OUTCOME = {"done": 0, "skipped": 0, "refused": EXIT_REFUSED, "failed": EXIT_FAILED}


def run_rollback(
    function: str,
    to_version: str | None,
    steps: int | None,
    reason: str | None,
    *,
    force: bool,
    dry_run: bool,
    yes: bool,
    as_json: bool,
    aws: Aws,
) -> None:
    try:
        lookup(function)
    except UnknownFunctionError as exc:
        raise UsageError(str(exc)) from None
    if to_version is not None and steps is not None:
        raise UsageError("--to-version and --steps cannot be used together")
    term = Terminal()
    with aws.errors(f"reading the state of {function}"):
        ports = engine_ports(aws)
        actor = aws.caller()
        state = gather(function, ports)
    request = RollbackRequest(
        function=function,
        actor=actor,
        reason=reason or f"manual rollback by {actor}",
        now=datetime.now(UTC),
        to_version=to_version,
        steps=steps,
        force=force,
    )
    plan = plan_rollback(state, request)
    if dry_run:
        term.json({"dryRun": True, "plan": views.plan_dict(plan)}) if as_json else views.show_plan(
            term, plan
        )
        if plan.decision == "refuse":
            term.error(f"would be refused ({plan.rule}): {plan.message}")
        raise typer.Exit(EXIT_REFUSED if plan.decision == "refuse" else 0)
    if not as_json:
        views.show_plan(term, plan)
    if plan.decision == "rollback":
        options.confirm(
            f"Roll back {function} from {plan.from_version} to {plan.to_version} "
            f"on stage {aws.target.stage}?",
            yes=yes,
            production=aws.target.production,
        )
    with aws.errors(f"rolling back {function}"):
        result = execute(plan, ports)
    term.json(views.result_dict(result)) if as_json else views.show_result(term, result)
    raise typer.Exit(EXIT_BY_OUTCOME[result.outcome])
