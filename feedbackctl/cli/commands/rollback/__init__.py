"""`feedbackctl rollback`: put a function's last good version back, through the one engine."""

from __future__ import annotations

import typer

from feedbackctl.cli import options


def register(app: typer.Typer) -> None:
    @app.command("rollback")
    def rollback(
        function: str = typer.Option(
            ..., "--function", "-f", help="Function to roll back, e.g. create-feedback."
        ),
        to_version: str | None = typer.Option(
            None, "--to-version", help="Published version to return (or go forward) to."
        ),
        steps: int | None = typer.Option(
            None, "--steps", min=1, help="Go back this many releases."
        ),
        reason: str | None = typer.Option(None, "--reason", help="Why; recorded in the ledger."),
        expect_version: str | None = typer.Option(
            None, "--expect-version", help="Refuse unless this version is live (for scripts)."
        ),
        force: bool = typer.Option(
            False, "--force", help="Override the latch, or a rollback made minutes ago."
        ),
        allow_bad_version: bool = typer.Option(
            False, "--allow-bad-version", help="Allow --to-version onto a version marked bad."
        ),
        dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan and change nothing."),
        yes: bool = options.YES,
        as_json: bool = options.JSON,
        stage: str | None = options.STAGE,
        profile: str | None = options.PROFILE,
        region: str | None = options.REGION,
        endpoint_url: str | None = options.ENDPOINT,
    ) -> None:
        """Roll a function's `live` alias back to its previous good version (health-checked first).

        Exit codes: 0 rolled back (or nothing to do), 1 failed, 2 usage error, 3 refused by a
        safety rule (latch, recent rollback, alias moved, bad or unhealthy target, no earlier
        version)."""
        from feedbackctl.cli.commands.rollback.run import RollbackArgs, run_rollback

        args = RollbackArgs(
            function=function, to_version=to_version, steps=steps, reason=reason,
            expect_version=expect_version, force=force, allow_bad_version=allow_bad_version,
            dry_run=dry_run, yes=yes, as_json=as_json,
        )  # fmt: skip
        run_rollback(args, options.connect(stage, profile, region, endpoint_url))
