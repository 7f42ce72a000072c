"""The drill flow: read, plan, refuse or show the plan, confirm, run, render, exit code."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from feedbackctl.aws import Aws
from feedbackctl.cli import options
from feedbackctl.cli.console import Terminal
from feedbackctl.drill import (
    DrillPlan,
    DrillReport,
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


def show_plan(term: Terminal, plan: DrillPlan) -> None:
    facts, request = plan.facts, plan.request
    term.data(
        f"Plan: drill {facts.function} with {request.fault} on version {facts.alias.version}'s "
        f"code, for up to {plan.timeout_s:g}s"
    )
    for number, step in enumerate(plan.steps, 1):
        term.data(f"  {number}. {step.action:<11} {step.description}")
    for note in plan.notes:
        term.warn(note)
    for rule, message in plan.refusals:
        term.error(f"would be refused ({rule}): {message}")


def show_report(term: Terminal, report: DrillReport) -> None:
    term.data(f"drill of {report.function} ({report.fault}): {report.outcome}")
    term.data(f"  versions     good {report.good_version}, faulty {report.faulty_version}")
    term.data(f"  traffic      {report.requests} requests, {report.errors} failed")
    term.data(
        f"  detected     {report.detect_s:.1f}s after the shift ({report.alarm_fired})"
        if report.detect_s is not None
        else f"  detected     never (watched {', '.join(report.alarms) or 'no alarm'})"
    )
    term.data(
        f"  recovered    {report.recover_s:.1f}s after the shift (healed by {report.healed_by})"
        if report.recover_s is not None
        else "  recovered    no: the alias is still on the faulty version"
    )
    term.data(f"  latch        {report.latch}")
    for note in report.notes:
        term.warn(note)
