"""`feedbackctl setup-account`: own API Gateway's CloudWatch Logs role for an account and region."""

from __future__ import annotations

import typer

from feedbackctl.cli import options


def register(app: typer.Typer) -> None:
    @app.command("setup-account")
    def setup_account(
        take_over: bool = typer.Option(
            False, "--take-over", help="Replace a logging role feedbackctl does not own."
        ),
        dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan; make no change."),
        yes: bool = options.YES,
        as_json: bool = options.JSON,
        stage: str | None = options.STAGE,
        profile: str | None = options.PROFILE,
        region: str | None = options.REGION,
        endpoint_url: str | None = options.ENDPOINT,
    ) -> None:
        """Create the account's API Gateway logging role (one stack per account and region) and
        point API Gateway's setting at it, retrying while the new role propagates. Run it once
        per account and region before the first deploy there; running it again changes nothing."""
        from feedbackctl import apigateway_account as account
        from feedbackctl.aws import stacks
        from feedbackctl.cli.console import Terminal
        from feedbackctl.config import load_config
        from feedbackctl.errors import RefusedError
        from feedbackctl.templating import render_apigateway_account

        config = load_config()
        if not config.stage(stage).manage_api_gateway_account:
            raise RefusedError(
                f"stage {config.stage(stage).name!r} sets manage_api_gateway_account = false: "
                "API Gateway's logging role there is managed elsewhere; nothing was changed",
                hint="remove that line from feedbackctl.toml to let feedbackctl own the setting",
            )
        aws = options.connect(stage, profile, region, endpoint_url)
        term, where = Terminal(), aws.target.region
        template = render_apigateway_account()
        stage_stacks = [config.stage(name).stack_name for name in config.stage_names]
        cfn_client, apigateway = aws.client("cloudformation"), aws.client("apigateway")
        with aws.errors(f"setting up API Gateway's account setting in {where}"):
            state = account.read_state(
                cfn_client,
                apigateway,
                region=where,
                account=aws.account(),
                partition=aws.target.partition,
            )
            plan = account.plan(state, template, take_over=take_over, stage_stacks=stage_stacks)
            for step in plan.steps:
                term.status(f"plan: {step.description}")
            if not plan.steps or dry_run:
                report = {**plan.as_dict(), "done": [], "dryRun": dry_run}
            else:
                options.confirm(f"Apply this to API Gateway in {where}?", yes=yes, production=True)
                report = account.execute(
                    plan,
                    cfn_client,
                    apigateway,
                    template=template,
                    waiter=stacks.Waiter(),
                    progress=term.status,
                )
        if as_json:
            term.json(report)
            return
        if not plan.steps:
            term.success(f"API Gateway in {where} already logs through {plan.role_arn}")
        elif dry_run:
            term.status("dry run: nothing was changed")
        else:
            term.success(f"API Gateway in {where} logs through {plan.role_arn}")
        if plan.owner == "feedbackctl-legacy" and not dry_run:
            term.warn(f"{plan.current_role} (a stage stack's old role, retained) is unused now")
