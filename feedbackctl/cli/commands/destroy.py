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
        dry_run: bool = typer.Option(
            False, "--dry-run", help="Say what would be deleted and kept; change nothing."
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
        if dry_run:
            _dry_run(aws, delete_data, as_json, term)
            return
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


def _dry_run(aws: Any, delete_data: bool, as_json: bool, term: Any) -> None:
    """Print what `destroy` would delete and keep, from reads alone."""
    from feedbackctl.deploy import local_stack_standing
    from feedbackctl.destroy import plan_destroy

    target = aws.target
    services = ("cloudformation", "logs") if delete_data else ("cloudformation",)
    clients = {name: aws.client(name) for name in services}
    with aws.errors(f"planning the destroy of stage {target.stage}"):
        report = plan_destroy(clients, target.stack_name, delete_data=delete_data)
        if target.local and not report["deleted"]:
            standing = local_stack_standing(aws.client("s3"), target.names)
            report.update(deleted=standing, localPlatform=standing)
    if as_json:
        term.json(report)
        return
    if not report["deleted"]:
        term.status(f"dry run: nothing to delete: {report['reason']}")
        return
    if report.get("localPlatform"):
        term.data(
            f"would tear down the local platform's stack {target.stack_name}: functions, "
            "aliases, alarms, metric filters, log groups, topics, queues and roles"
        )
        kept = "deleted" if delete_data else "kept"
        term.data(f"its tables and buckets would be {kept}")
    else:
        term.data(f"would delete stack {target.stack_name}")
        for name in report.get("deletedData", []):
            term.data(f"would delete: {name}")
        for name in report["retained"]:
            term.data(f"would keep: {name}")
    term.status("dry run: nothing was changed")
