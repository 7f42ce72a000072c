"""`feedbackctl drill`: break a function on purpose and time how fast the platform heals."""

from __future__ import annotations

import typer

from feedbackctl.cli import options

FAULT_HELP = (
    "exception (escapes the handler), timeout, import-error, crash, memory, latency[:<ms>], "
    "or error (a logged ERROR and a 500)."
)


def register(app: typer.Typer) -> None:
    @app.command("drill")
    def drill(
        function: str = typer.Option(
            ..., "--function", "-f", help="The function to break, e.g. create-feedback."
        ),
        fault: str = typer.Option("exception", "--fault", help=FAULT_HELP),
        timeout: float | None = typer.Option(
            None, "--timeout", min=5, help="Seconds to wait (default: from the alarm windows)."
        ),
        dry_run: bool = typer.Option(
            False, "--dry-run", help="Print what the drill would do; change nothing."
        ),
        allow_production: bool = typer.Option(
            False, "--allow-production", help="Run on a production stage."
        ),
        yes: bool = options.YES,
        as_json: bool = options.JSON,
        stage: str | None = options.STAGE,
        profile: str | None = options.PROFILE,
        region: str | None = options.REGION,
        endpoint_url: str | None = options.ENDPOINT,
    ) -> None:
        """Publish a faulty version of the live code, shift to it, drive traffic, and report
        detect/recover times. Exit 1 unless the platform healed itself; 3 when a safety rule
        (latch, cooldown, firing alarm, production) refuses."""
        from feedbackctl.cli.commands.drill.run import run_drill

        aws = options.connect(stage, profile, region, endpoint_url)
        run_drill(
            aws,
            function,
            fault,
            timeout,
            allow_production=allow_production,
            dry_run=dry_run,
            yes=yes,
            as_json=as_json,
        )
