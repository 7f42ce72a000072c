"""`feedbackctl watch`: roll a function back when its alarm fires and the evidence blames it."""

from __future__ import annotations

import typer

from feedbackctl.cli import options


def register(app: typer.Typer) -> None:
    @app.command("watch")
    def watch(
        function: list[str] = typer.Option(
            None, "--function", "-f", help="Guard only these functions (repeatable)."
        ),
        interval: float = typer.Option(
            10.0, "--interval", min=1, help="Seconds between alarm polls."
        ),
        force: bool = typer.Option(
            False, "--force", help="Act even when a function is latched (the cooldown still holds)."
        ),
        ignore_cooldown: bool = typer.Option(
            False, "--ignore-cooldown", help="Act even within a function's rollback cooldown."
        ),
        as_json: bool = options.JSON,
        stage: str | None = options.STAGE,
        profile: str | None = options.PROFILE,
        region: str | None = options.REGION,
        endpoint_url: str | None = options.ENDPOINT,
    ) -> None:
        """Poll the rollback alarms; on ALARM act as the orchestrator does. Ctrl-C stops.

        A rollback happens only when per-version evidence blames the live version; errors the
        version before it shares are recorded as a skip.
        """
        from feedbackctl.cli.commands.watch.run import run_watch

        aws = options.connect(stage, profile, region, endpoint_url)
        run_watch(
            aws,
            options.selected_functions(function),
            interval,
            force=force,
            ignore_cooldown=ignore_cooldown,
            as_json=as_json,
        )
