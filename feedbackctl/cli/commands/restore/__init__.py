"""`feedbackctl restore`: bring the feedback table back to a backup or a point in time."""

from __future__ import annotations

import typer

from feedbackctl.cli import options


def register(app: typer.Typer) -> None:
    @app.command("restore")
    def restore(
        to_time: str | None = typer.Option(
            None,
            "--to-time",
            metavar="TIME",
            help="Restore the table as it was then: 'latest', 2h, yesterday, ISO-8601, epoch.",
        ),
        backup: str | None = typer.Option(
            None, "--backup", metavar="ARN", help="Restore this backup (`backup list` shows them)."
        ),
        dry_run: bool = typer.Option(
            False,
            "--dry-run",
            help="Restore into a new table, verify it and show what would change; then delete "
            "that table and leave the stage's data alone.",
        ),
        keep_restored: bool = typer.Option(
            False, "--keep-restored", help="Keep the restored table afterwards (it holds PII)."
        ),
        repair_analytics: bool = typer.Option(
            False,
            "--repair-analytics",
            help="Afterwards, set the analytics to a recount of the table if they still differ.",
        ),
        timeout: float = typer.Option(
            300.0,
            "--timeout",
            min=1,
            metavar="SECONDS",
            help="How long to wait for the analytics to follow the copied changes.",
        ),
        yes: bool = options.YES,
        as_json: bool = options.JSON,
        stage: str | None = options.STAGE,
        profile: str | None = options.PROFILE,
        region: str | None = options.REGION,
        endpoint_url: str | None = options.ENDPOINT,
    ) -> None:
        """Restore the feedback table from a backup or a point in time, after confirmation.

        The source is restored into a new table and verified (items, analytics recomputed);
        then, once confirmed, the live table is backed up and the difference is copied back
        into it, so the stream, alarms and analytics carry on and the counters follow exactly.
        Items deleted on request or past their TTL are never brought back (docs/backup.md).
        """
        from feedbackctl.cli.commands.restore.run import run_restore

        aws = options.connect(stage, profile, region, endpoint_url)
        run_restore(
            aws,
            to_time=to_time,
            backup=backup,
            dry_run=dry_run,
            keep_restored=keep_restored,
            repair_analytics=repair_analytics,
            timeout=timeout,
            yes=yes,
            as_json=as_json,
        )
