"""The drill flow: read, plan, refuse or show the plan, confirm, run, render, exit code."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from feedbackctl.aws import Aws
from feedbackctl.cli import options
from feedbackctl.cli.commands.drill.views import show_plan, show_report
from feedbackctl.cli.console import Terminal
from feedbackctl.drill import (
    DrillRequest,
    DrillRun,
    fault_setting,
    plan_drill,
)
from feedbackctl.engine.ledger import DynamoLedger
from feedbackctl.errors import EXIT_FAILED, EXIT_REFUSED, RefusedError, UsageError
from feedbackctl.functions import UnknownFunctionError
from feedbackctl.functions import function as lookup
from feedbackctl.operations import engine_ports


def run_drill(
    aws: Aws,
    function: str,
    fault: str,
    timeout: float | None,
    *,
    allow_production: bool,
    dry_run: bool,
    yes: bool,
    as_json: bool,
) -> None:
    from feedbackctl.config import load_config
    from feedbackctl.engine.verdict import windows

    try:
        lookup(function)
    except UnknownFunctionError as exc:
        raise UsageError(str(exc)) from None
    setting = fault_setting(fault)
    target = aws.target
    stage = load_config().stage(target.stage)
    term = Terminal()
    with aws.errors(f"reading the state of {function}"):
        ports = engine_ports(aws)
        run = DrillRun(
            aws.client("lambda"),
            aws.client("cloudwatch"),
            aws.client("s3"),
            aws.client("cloudformation"),
            DynamoLedger(aws.client("dynamodb"), target.names.ledger_table),
            ports,
            target.names,
            progress=term.status,
        )
        facts = run.gather(function)
        actor = f"drill:{aws.caller()}"
    request = DrillRequest(
        function,
        setting,
        actor,
        datetime.now(UTC),
        windows(
            stage.alarms.period_seconds,
            stage.alarms.evaluation_periods,
            stage.release.metric_delay_seconds,
        ),
        stage=target.stage,
        timeout_s=timeout,
        production=target.production,
        allow_production=allow_production,
    )
    plan = plan_drill(facts, request)
    if dry_run:
        term.json({"dryRun": True, "plan": plan.as_dict()}) if as_json else show_plan(term, plan)
        raise typer.Exit(EXIT_REFUSED if plan.refused else 0)
    if plan.refused:
        raise RefusedError(plan.refusal_message)
    options.confirm(
        f"Break {function} on stage {target.stage} with a {setting} fault for a drill?",
        yes=yes,
        production=target.production,
    )
    with aws.errors(f"drilling {function}"):
        report = run.execute(plan)
    term.json(report.as_dict()) if as_json else show_report(term, report)
    if report.outcome != "healed":
        raise typer.Exit(EXIT_FAILED)
