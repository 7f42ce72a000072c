"""`feedbackctl deploy`: stack, artifacts and health-watched releases of the changed functions."""

from __future__ import annotations

import typer

from feedbackctl.cli import options


def register(app: typer.Typer) -> None:
    @app.command("deploy")
    def deploy(
        function: list[str] = typer.Option(
            None, "--function", "-f", help="Release only these functions (repeatable)."
        ),
        strategy: str = typer.Option(
            "all-at-once", "--strategy", help="all-at-once, canary or linear."
        ),
        percent: int = typer.Option(
            10, "--percent", min=1, max=99, help="Canary share / linear step, in %."
        ),
        step_seconds: float | None = typer.Option(
            None,
            "--step-seconds",
            min=0,
            help="Hold at each weighted step (default: the stage's alarm window + metric delay).",
        ),
        bake_seconds: float | None = typer.Option(
            None,
            "--bake-seconds",
            min=0,
            help="Judge the new version after 100% (default as --step-seconds; 0: no bake).",
        ),
        allow_rolled_back: bool = typer.Option(
            False, "--allow-rolled-back", help="Release code identical to a rolled-back version."
        ),
        adopt_retained: bool = typer.Option(
            False,
            "--adopt-retained",
            help="Import tables an earlier stack retained (IMPORT change set) instead of refusing.",
        ),
        dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan; make no change."),
        watch: bool = typer.Option(
            False,
            "--watch",
            help="Local platform only: after the deploy, release each function again whenever "
            "its code under lambdas/ is saved (health-checked first), until Ctrl-C.",
        ),
        yes: bool = options.YES,
        as_json: bool = options.JSON,
        stage: str | None = options.STAGE,
        profile: str | None = options.PROFILE,
        region: str | None = options.REGION,
        endpoint_url: str | None = options.ENDPOINT,
    ) -> None:
        """Render, package, apply the stack through a change set, and release changed functions.

        Each release publishes a version, health-checks it (and runs the stage's smoke tests)
        before any traffic moves, then shifts the `live` alias by the strategy while the new
        version is judged against the stable one on per-version evidence (invocations, AWS/Lambda
        errors, logged errors, throttles, p99). A failing version goes back through the rollback
        engine and the deploy exits 1; a deploy whose functions were held exits 3. A deploy with
        nothing to change makes no change.

        With --watch (`--stage local`), the deploy then watches lambdas/ and the engine as
        `local up --watch` does: each saved change is packaged and released into the running
        platform through the same release engine, until Ctrl-C."""
        from feedbackctl.cli.commands.deploy.run import PolicyRequest, run_deploy
        from feedbackctl.engine.release import STRATEGIES
        from feedbackctl.errors import UsageError

        if strategy not in STRATEGIES:
            raise UsageError(
                f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}"
            )
        if watch and dry_run:
            raise UsageError("--watch releases saved changes; it cannot be used with --dry-run")
        policy = PolicyRequest(strategy, percent, step_seconds, bake_seconds)  # type: ignore[arg-type]
        aws = options.connect(
            stage, profile, region, endpoint_url, local_only="--watch" if watch else None
        )
        run_deploy(
            aws,
            function,
            policy,
            dry_run=dry_run,
            yes=yes,
            as_json=as_json,
            allow_rolled_back=allow_rolled_back,
            adopt_retained=adopt_retained,
            watch=watch,
        )
