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
) -> None:
    """Start moto, provision the stage, release the code, serve the API and app until Ctrl-C."""
    from feedbackctl.cli.local_flow import run_local_up

    run_local_up(
        stage, api_port=api_port, aws_port=aws_port, seed=seed, site_dir=site_dir, watch=watch
    )


def register(app: typer.Typer) -> None:
    app.add_typer(local_app, name="local")
