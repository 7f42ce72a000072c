"""`feedbackctl status`: the stack, and per function its live version, ledger and alarm."""

from __future__ import annotations

import typer

from feedbackctl.cli import options


def register(app: typer.Typer) -> None:
    @app.command("status")
    def status(
        as_json: bool = options.JSON,
        stage: str | None = options.STAGE,
        profile: str | None = options.PROFILE,
        region: str | None = options.REGION,
        endpoint_url: str | None = options.ENDPOINT,
    ) -> None:
        """Stack status, live versions and weights, last releases, error alarms, ledger drift."""
        from feedbackctl.cli import views
        from feedbackctl.cli.console import Terminal
        from feedbackctl.operations import stage_status

        result = stage_status(options.connect(stage, profile, region, endpoint_url))
        term = Terminal()
        if as_json:
            term.json(result.as_dict())
            return
        term.data(f"stage {result.stage}: stack {result.stack_name} {result.stack_status}")
        term.out.print(views.status_table(result))
        drifted = [f.function for f in result.functions if f.drift]
        if drifted:
            term.warn(f"alias and ledger disagree for: {', '.join(drifted)}")
