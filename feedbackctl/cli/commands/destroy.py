"""`feedbackctl destroy`: delete a stage's stack; its data is kept unless --delete-data."""

from __future__ import annotations

from typing import Any

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
        """Delete the stage's stack after confirmation; tables and buckets survive it by default.

        On the local platform (`--stage local`) the running platform's stack is torn down through
        its AWS endpoint: functions, aliases, alarms, metric filters, log groups, topics, queues
        and roles are deleted, the gateway stops serving the API; `local up` provisions it again."""
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
        services = ["cloudformation", "s3", "dynamodb", "logs"]
        if target.local:  # the local platform's stack is deleted resource by resource
            services += ["lambda", "cloudwatch", "sns", "sqs", "iam"]
        clients = {name: aws.client(name) for name in services}
        with aws.errors(f"destroying stage {target.stage}"):
            report = run(
                clients,
                target.stack_name,
                delete_data=delete_data,
                waiter=stacks.Waiter(),
                progress=term.status,
            )
            if target.local and not report["deleted"]:  # the running local platform's stack?
                report = _local_teardown(clients, target.stack_name, delete_data, term)
        if as_json:
            term.json(report)
        elif not report["deleted"]:
            term.status(f"nothing to delete: {report['reason']}")
        else:
            local = bool(report.get("localPlatform"))
            where = " from the local platform (its gateway no longer serves it)" if local else ""
            term.success(f"deleted stack {target.stack_name}{where}")
            for name in report["retained"]:
                term.data(f"retained: {name}")
            if local:
                term.status(
                    "to provision it again, stop the platform (Ctrl-C) and start "
                    f"`feedbackctl local up --stage {target.stage}`"
                )


def _local_teardown(
    clients: dict[str, Any], stack: str, delete_data: bool, term: Any
) -> dict[str, Any]:
    """Tear down the stack the running local platform provisioned (it has no CloudFormation
    record); a report saying so when the platform holds none."""
    from feedbackctl.aws import stacks
    from feedbackctl.local.teardown import teardown

    report = teardown(
        clients, stack, delete_data=delete_data, waiter=stacks.Waiter(), progress=term.status
    )
    if report is None:
        reason = f"the local platform holds no stack {stack} (none provisioned, or destroyed)"
        return {"stack": stack, "deleted": False, "reason": reason, "retained": []}
    return report
