"""`feedbackctl local up`: run the whole platform on this machine until Ctrl-C."""

from __future__ import annotations

from pathlib import Path

import typer

local_app = typer.Typer(
    help="Run the platform on this machine: no AWS account, no docker.", no_args_is_help=True
)


@local_app.command("up")
def up(
    api_port: int = typer.Option(
        8000, "--api-port", min=0, max=65535, help="Port of the API and the web app."
    ),
    aws_port: int = typer.Option(
        4566, "--aws-port", min=0, max=65535, help="Port of the local AWS endpoint."
    ),
    seed: int = typer.Option(
        0, "--seed", min=0, max=10000, help="Submit this many sample feedback items."
    ),
    site_dir: Path | None = typer.Option(
        None, "--site-dir", help="The built SPA (default: frontend/dist)."
    ),
    stage: str = typer.Option(
        "local", "--stage", "-s", help="The stage to run (its endpoint must be local)."
    ),
    watch: bool = typer.Option(
        False,
        "--watch",
        help="Release a function again whenever its code under lambdas/ is saved "
        "(health-checked first; a version that fails it is not served).",
    ),
    state_dir: Path | None = typer.Option(
        None,
        "--state-dir",
        metavar="DIR",
        help="Keep the platform's state under DIR instead of .feedbackctl/ beside "
        "feedbackctl.toml (the same as FEEDBACKCTL_STATE_DIR).",
    ),
    fresh: bool = typer.Option(
        False, "--fresh", help="Delete the saved state first and start empty."
    ),
) -> None:
    """Start moto, provision the stage, release the code, serve the API and app until Ctrl-C.

    Tables, streams and their positions, functions, versions, aliases, the ledger, alarms and
    logs are kept in the stage's state folder and survive Ctrl-C and a killed process; the next
    `local up` carries on where this one stopped."""
    from feedbackctl.cli.commands.local.run import run_local_up

    run_local_up(
        stage,
        api_port=api_port,
        aws_port=aws_port,
        seed=seed,
        site_dir=site_dir,
        watch=watch,
        state_dir=state_dir,
        fresh=fresh,
    )


@local_app.command("reset")
def reset(
    stage: str = typer.Option("local", "--stage", "-s", help="The stage whose state goes."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete the local platform's saved state (tables, versions, ledger, logs) for a stage."""
    from feedbackctl.cli.commands.local.run import run_local_reset

    run_local_reset(stage, yes=yes)


def register(app: typer.Typer) -> None:
    app.add_typer(local_app, name="local")
