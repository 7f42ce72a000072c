"""The drill flow: refuse where it must, run the drill, print the report and its exit code."""

from __future__ import annotations

import typer

from feedbackctl.aws import Aws
from feedbackctl.cli import options
from feedbackctl.cli.console import Terminal
from feedbackctl.drill import FAULTS, DrillRun
from feedbackctl.engine.ledger import DynamoLedger
from feedbackctl.errors import EXIT_FAILED, RefusedError, UsageError
from feedbackctl.functions import UnknownFunctionError
from feedbackctl.functions import function as lookup
from feedbackctl.operations import engine_ports


def run_drill(
    aws: Aws,
    function: str,
    fault: str,
    timeout: float,
    *,
    allow_production: bool,
    yes: bool,
    as_json: bool,
) -> None:
    try:
        lookup(function)
    except UnknownFunctionError as exc:
        raise UsageError(str(exc)) from None
    if fault not in FAULTS:
        raise UsageError(f"unknown fault {fault!r}; choose one of {', '.join(FAULTS)}")
    target = aws.target
    if target.production and not allow_production:
        raise RefusedError(
            f"stage {target.stage} is marked production; a drill breaks {function} on purpose",
            hint="pass --allow-production if you really mean it",
        )
    options.confirm(
        f"Break {function} on stage {target.stage} for a drill?",
        yes=yes,
        production=target.production,
    )
    term = Terminal()
    with aws.errors(f"drilling {function}"):
        ledger = DynamoLedger(aws.client("dynamodb"), target.names.ledger_table)
        run = DrillRun(
            aws.client("lambda"),
            aws.client("cloudwatch"),
            ledger,
            engine_ports(aws),
            target.names,
            f"drill:{aws.caller()}",
            progress=term.status,
            timeout_s=timeout,
        )
        report = run.run(function, fault)
    if as_json:
        term.json(report.as_dict())
    else:
        term.data(f"drill of {function} ({fault}): {report.outcome}")
        term.data(f"  versions     good {report.good_version}, faulty {report.faulty_version}")
        term.data(f"  traffic      {report.requests} requests, {report.errors} failed")
        term.data(
            f"  detected     {report.detect_s:.1f}s after the shift"
            if report.detect_s is not None
            else "  detected     never"
        )
        term.data(
            f"  recovered    {report.recover_s:.1f}s after the shift ({report.healed_by})"
            if report.recover_s is not None
            else f"  recovered    no ({report.healed_by})"
        )
        for note in report.notes:
            term.warn(note)
    if report.outcome != "healed":
        raise typer.Exit(EXIT_FAILED)
