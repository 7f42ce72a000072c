"""The restore drill's flow and rendering: refuse production unless allowed, confirm, run with
one line per step, report the recovery time and each check."""

from __future__ import annotations

import typer

from feedbackctl import restore_drill
from feedbackctl.aws import Aws
from feedbackctl.aws.stacks import Waiter
from feedbackctl.cli import options
from feedbackctl.cli.console import Terminal
from feedbackctl.engine.model import human_duration
from feedbackctl.errors import EXIT_FAILED, RefusedError


def run_restore_drill(
    aws: Aws,
    *,
    items: int,
    damage: int,
    allow_production: bool,
    dry_run: bool,
    yes: bool,
    as_json: bool,
) -> None:
    term, target = Terminal(), aws.target
    if target.production and not allow_production:
        raise RefusedError(
            f"stage {target.stage} is production: a restore drill deletes and overwrites items",
            hint="pass --allow-production to drill it anyway",
        )
    plan = (
        f"restore drill on stage {target.stage}: bring {target.names.feedback_table} to "
        f"{items} items, back it up, delete {damage}% of them and overwrite as many messages "
        "past the API, restore the backup, check the table, the analytics and GET /analytics"
    )
    if dry_run:
        if as_json:
            term.json({"dryRun": True, "plan": plan})
        else:
            term.data(plan)
        return
    options.confirm(f"Run the {plan}?", yes=yes, production=target.production)
    clients = {name: aws.client(name) for name in ("dynamodb", "lambda")}
    with aws.errors(f"drilling a restore on stage {target.stage}"):
        report = restore_drill.run(
            clients,
            target.names,
            items=items,
            damage=damage / 100,
            actor=f"drill:{aws.caller()}",
            waiter=Waiter(interval=0.2 if target.local else 2.0, timeout=3600),
            step=term.status,
        )
    if as_json:
        term.json(report.as_dict())
    else:
        show(term, report)
    if not report.healed:
        raise typer.Exit(EXIT_FAILED)


def show(term: Terminal, report: restore_drill.RestoreDrillReport) -> None:
    def mark(ok: bool) -> str:
        return "yes" if ok else "NO"

    restored = report.restore
    steps = ", ".join(
        f"{n} {human_duration(s)}" for n, s in (restored.seconds if restored else {}).items()
    )
    term.data(
        f"{report.items} items; damage: {report.deleted} deleted, {report.altered} overwritten"
    )
    term.data(f"restore steps: {steps}")
    term.data(
        f"table equals the backup: {mark(report.table_matches)}; analytics equal a recount: "
        f"{mark(report.analytics_exact)}; GET /analytics serves {report.served_total} items"
    )
    line = f"recovery time (RTO) {human_duration(report.rto_seconds)} for {report.items} items"
    if report.healed:
        term.success(line)
    else:
        term.error(f"{line}; the restore did not bring the stage back whole")
