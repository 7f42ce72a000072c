"""`feedbackctl history`: the release ledger, newest first."""

from __future__ import annotations

import typer

from feedbackctl.cli import options


def register(app: typer.Typer) -> None:
    @app.command("history")
    def history(
        function: list[str] = typer.Option(
            None, "--function", "-f", help="Only these functions (repeatable)."
        ),
        limit: int = typer.Option(20, "--limit", "-n", min=1, max=1000, help="How many events."),
        as_json: bool = options.JSON,
        stage: str | None = options.STAGE,
        profile: str | None = options.PROFILE,
        region: str | None = options.REGION,
        endpoint_url: str | None = options.ENDPOINT,
    ) -> None:
        """Show releases and rollbacks (done, refused, skipped, failed) with who, why and when."""
        from feedbackctl.cli.commands.history import views
        from feedbackctl.cli.console import Terminal
        from feedbackctl.errors import UsageError
        from feedbackctl.functions import UnknownFunctionError
        from feedbackctl.functions import function as lookup
        from feedbackctl.operations import history as read_history

        try:
            names = [lookup(f).name for f in function or []]
        except UnknownFunctionError as exc:
            raise UsageError(str(exc)) from None
        events = read_history(
            options.connect(stage, profile, region, endpoint_url), names or None, limit
        )
        term = Terminal()
        if as_json:
            term.json([e.as_dict() for e in events])
        elif not events:
            term.status("the ledger has no releases or rollbacks yet")
        else:
            views.print_table(term, views.history_table(events))
