"""`feedbackctl destroy`: delete a stage's stack; its data is kept unless --delete-data."""

from __future__ import annotations

import typer

from feedbackctl.cli import options


def register(app: typer.Typer) -> None:
    @app.command("destroy")
    def destroy(
        delete_data: bool = typer.Option(
            False, "--delete-data", help="Also delete the retained tables and buckets."
        ),
        yes: bool = options.YES,
        as_json: bool = options.JSON,
        stage: str | None = options.STAGE,
        profile: str | None = options.PROFILE,
        region: str | None = options.REGION,
        endpoint_url: str | None = options.ENDPOINT,
    ) -> None:
        """Delete the stage's stack after confirmation; tables and buckets survive it by default."""
        from feedbackctl.aws import stacks
        from feedbackctl.cli.console import Terminal
        from feedbackctl.destroy import destroy as run

        aws = options.connect(stage, profile, region, endpoint_url)
        target, term = aws.target, Terminal()
        what = (
            "stack AND ITS DATA (tables, buckets, log groups)"
            if delete_data
            else "stack (data is retained)"
        )
        options.confirm(
            f"Delete the {what} of stage {target.stage} ({target.stack_name})?",
            yes=yes,
            production=target.production,
        )
        clients = {name: aws.client(name) for name in ("cloudformation", "s3", "dynamodb", "logs")}
        with aws.errors(f"destroying stage {target.stage}"):
            report = run(
                clients,
                target.stack_name,
                delete_data=delete_data,
                waiter=stacks.Waiter(),
                progress=term.status,
            )
        if as_json:
            term.json(report)
        elif not report["deleted"]:
            term.status(f"nothing to delete: {report['reason']}")
        else:
            term.success(f"deleted stack {target.stack_name}")
            for name in report["retained"]:
                term.data(f"retained: {name}")
