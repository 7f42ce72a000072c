"""`feedbackctl analytics`: the aggregate at a glance, and `analytics verify [--repair]`."""

from __future__ import annotations

import typer

from feedbackctl.cli import options

group = typer.Typer(
    name="analytics",
    help="Show the feedback analytics; verify (and repair) them against the feedback table.",
    add_completion=False,
    rich_markup_mode=None,
)


@group.callback(invoke_without_command=True)
def show(
    ctx: typer.Context,
    watch: float | None = typer.Option(
        None, "--watch", min=1, metavar="SECONDS", help="Re-render every SECONDS; Ctrl-C stops."
    ),
    as_json: bool = options.JSON,
    stage: str | None = options.STAGE,
    profile: str | None = options.PROFILE,
    region: str | None = options.REGION,
    endpoint_url: str | None = options.ENDPOINT,
) -> None:
    """Totals, average rating, sentiment and rating bars, the daily trend, the last update."""
    if ctx.invoked_subcommand is not None:
        return
    from feedbackctl.cli.commands.analytics.run import run_show

    run_show(options.connect(stage, profile, region, endpoint_url), as_json=as_json, watch=watch)


@group.command("verify")
def verify(
    repair: bool = typer.Option(
        False, "--repair", help="Write the recomputed counters (only if they did not move)."
    ),
    segments: int = typer.Option(4, "--segments", min=1, max=64, help="Parallel scan segments."),
    yes: bool = options.YES,
    as_json: bool = options.JSON,
    stage: str | None = options.STAGE,
    profile: str | None = options.PROFILE,
    region: str | None = options.REGION,
    endpoint_url: str | None = options.ENDPOINT,
) -> None:
    """Recount the feedback table and compare every counter; exit 1 when they differ."""
    from feedbackctl.cli.commands.analytics.run import run_verify

    aws = options.connect(stage, profile, region, endpoint_url)
    run_verify(aws, repair=repair, segments=segments, yes=yes, as_json=as_json)


def register(app: typer.Typer) -> None:
    app.add_typer(group)
