"""`feedbackctl drill`: break a function on purpose and time how fast the platform heals."""

from __future__ import annotations

import typer

from feedbackctl.cli import options


def register(app: typer.Typer) -> None:
    @app.command("drill")
    def drill(
        function: str = typer.Option(
            ..., "--function", "-f", help="The function to break, e.g. create-feedback."
        ),
        fault: str = typer.Option(
            "error", "--fault", help="error (handler raises) or latency (3 s delay)."
        ),
        timeout: float = typer.Option(
            120.0, "--timeout", min=5, help="Seconds to wait for the platform to heal."
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
        """Publish a faulty version, shift to it, drive traffic, and report detect/recover times.

        Works on AWS and locally; refused on a production stage without --allow-production."""
        from feedbackctl.cli.drill_flow import run_drill

        aws = options.connect(stage, profile, region, endpoint_url)
        run_drill(
            aws,
            function,
            fault,
            timeout,
            allow_production=allow_production,
            yes=yes,
            as_json=as_json,
        )
