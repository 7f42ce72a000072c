"""`feedbackctl status`: the stack, and per function its live version, ledger and alarm."""

from __future__ import annotations

import typer

from feedbackctl.cli import options


def register(app: typer.Typer) -> None:
    @app.command("status")
    def status(
        report_only: bool = typer.Option(
            False, "--report-only", help="Exit 0 even when an alias and the ledger disagree."
        ),
        as_json: bool = options.JSON,
        stage: str | None = options.STAGE,
        profile: str | None = options.PROFILE,
        region: str | None = options.REGION,
        endpoint_url: str | None = options.ENDPOINT,
    ) -> None:
        """Stack status, live versions and weights, last releases, error alarms, ledger drift.

        Exits 1 when an alias and the ledger disagree (someone moved an alias by hand, or a
        release was interrupted mid-shift), unless --report-only; a release's traffic shift in
        progress is shown, not counted as drift. A latched function's line says how to clear it.
        """
        from feedbackctl.cli.commands.status import views
        from feedbackctl.cli.console import Terminal
        from feedbackctl.operations import stage_status

        result = stage_status(options.connect(stage, profile, region, endpoint_url))
        term = Terminal()
        drifted = [f.function for f in result.functions if f.drift]
        if as_json:
            term.json(result.as_dict())
        else:
            term.data(f"stage {result.stage}: stack {result.stack_name} {result.stack_status}")
            term.out.print(views.status_table(result))
            for f in result.functions:
                if f.shifting:
                    term.status(f"{f.function}: release in progress, {f.shifting}")
                if f.latched:
                    term.warn(
                        f"{f.function} is latched ({f.latch_reason or 'automatic rollback'}): "
                        f"automatic rollbacks wait for a human; to clear it: {f.unlatch}"
                    )
            if drifted:
                term.warn(f"alias and ledger disagree for: {', '.join(drifted)}")
        if drifted and not report_only:
            raise typer.Exit(1)
