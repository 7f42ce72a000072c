"""`feedbackctl backup list|create`: the feedback and analytics tables' backups."""

from __future__ import annotations

import typer

from feedbackctl.cli import options

group = typer.Typer(
    name="backup",
    help="List or take backups of the feedback and analytics tables (restore: `restore`).",
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
)


@group.command("list")
def list_backups(
    as_json: bool = options.JSON,
    stage: str | None = options.STAGE,
    profile: str | None = options.PROFILE,
    region: str | None = options.REGION,
    endpoint_url: str | None = options.ENDPOINT,
) -> None:
    """Every backup of the two tables, newest first (on-demand, AWS Backup's weekly and
    DynamoDB's own), and the window point-in-time recovery can restore to."""
    from feedbackctl.cli.commands.backup.run import run_list

    run_list(options.connect(stage, profile, region, endpoint_url), as_json=as_json)


@group.command("create")
def create(
    as_json: bool = options.JSON,
    stage: str | None = options.STAGE,
    profile: str | None = options.PROFILE,
    region: str | None = options.REGION,
    endpoint_url: str | None = options.ENDPOINT,
) -> None:
    """Take an on-demand backup of both tables now and wait until each is AVAILABLE."""
    from feedbackctl.cli.commands.backup.run import run_create

    run_create(options.connect(stage, profile, region, endpoint_url), as_json=as_json)


def register(app: typer.Typer) -> None:
    app.add_typer(group)
