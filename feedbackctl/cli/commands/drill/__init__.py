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
        function: str | None = typer.Option(
            None, "--function", "-f", help="The function to break, e.g. create-feedback."
        ),
        restore: bool = typer.Option(
            False,
            "--restore",
            help="Drill a restore instead: back the feedback table up, damage it, restore it, "
            "check it, and time it (no --function).",
        ),
        items: int = typer.Option(
            1000, "--items", min=1, max=1_000_000, help="--restore: items the table holds first."
        ),
        damage: int = typer.Option(
            10,
            "--damage",
            min=1,
            max=50,
            metavar="PERCENT",
            help="--restore: share of items deleted, and as many overwritten, past the API.",
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
        (latch, cooldown, firing alarm, production) refuses. With --restore, time a restore of
        the feedback table from a backup after damage (the recovery time, RTO)."""
        from feedbackctl.errors import UsageError

        aws = options.connect(stage, profile, region, endpoint_url)
        if restore:
            from feedbackctl.cli.commands.drill.restore import run_restore_drill

            if function is not None:
                raise UsageError("--restore drills the feedback table; leave out --function")
            run_restore_drill(
                aws, items=items, damage=damage, allow_production=allow_production,
                dry_run=dry_run, yes=yes, as_json=as_json,
            )  # fmt: skip
            return
        if function is None:
            raise UsageError("give --function FUNCTION (or --restore)")
        from feedbackctl.cli.commands.drill.run import run_drill

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
