"""`feedbackctl logs`: every function's logs interleaved, labelled by function and version."""

from __future__ import annotations

import typer

from feedbackctl.cli import options


def register(app: typer.Typer) -> None:
    @app.command("logs")
    def logs(
        functions: list[str] = typer.Argument(
            None, metavar="FUNCTION", help="Functions to show (default: all)."
        ),
        follow: bool = typer.Option(
            False,
            "--follow",
            "--tail",
            "-t",
            help="Keep printing new events (`-f` means --function in every command).",
        ),
        since: str = typer.Option(
            "10m",
            "--since",
            metavar="TIME",
            help="Start: 10m, '5 minutes', '10min ago', today, yesterday, ISO-8601 or epoch.",
        ),
        until: str | None = typer.Option(
            None, "--until", metavar="TIME", help="End, in the same forms (default: now)."
        ),
        level: str | None = typer.Option(
            None, "--level", help="ERROR, WARNING, INFO or DEBUG: this level and above."
        ),
        request_id: str | None = typer.Option(None, "--request-id", help="One invocation."),
        version: str | None = typer.Option(
            None, "--version", help="Only this version (or $LATEST)."
        ),
        pattern: str | None = typer.Option(None, "--filter", help="A CloudWatch filter pattern."),
        platform: bool = typer.Option(
            True, "--platform/--no-platform", help="Show START/END/REPORT lines (dimmed)."
        ),
        local_time: bool = typer.Option(False, "--local-time", help="Local time, not UTC."),
        no_color: bool = typer.Option(False, "--no-color", help="No colour (also NO_COLOR)."),
        as_json: bool = options.JSON,
        stage: str | None = options.STAGE,
        profile: str | None = options.PROFILE,
        region: str | None = options.REGION,
        endpoint_url: str | None = options.ENDPOINT,
    ) -> None:
        """Show the stage's function logs, oldest first; JSON lines in full with --json."""
        from feedbackctl.cli.commands.logs.run import LogsRequest, run_logs

        request = LogsRequest(
            list(functions or []), follow, since, until, level, request_id, version, pattern,
            platform, as_json, no_color, local_time,
        )  # fmt: skip
        run_logs(options.connect(stage, profile, region, endpoint_url), request)
