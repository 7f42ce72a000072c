"""`feedbackctl forget`: delete one person's feedback on their request, and say what went."""

from __future__ import annotations

import typer

from feedbackctl.cli import options


def register(app: typer.Typer) -> None:
    @app.command("forget")
    def forget(
        email: str = typer.Option(
            ..., "--email", metavar="ADDRESS", help="The address the person wrote from."
        ),
        dry_run: bool = typer.Option(
            False, "--dry-run", help="Say how many items would go; change nothing."
        ),
        yes: bool = options.YES,
        as_json: bool = options.JSON,
        stage: str | None = options.STAGE,
        profile: str | None = options.PROFILE,
        region: str | None = options.REGION,
        endpoint_url: str | None = options.ENDPOINT,
    ) -> None:
        """Delete every feedback item written from an address, after confirmation.

        Items are found through the keyed hash of the address (never a scan), stripped of
        name, email and message, then deleted; the analytics drop their contribution exactly
        once. The request is recorded with a salted hash of the address, never the address.
        Items stored before the hash existed are not found (docs/privacy.md).
        """
        import re
        from datetime import UTC, datetime

        from feedbackctl.cli.console import Terminal
        from feedbackctl.errors import UsageError
        from feedbackctl.forget import forget as run
        from lambdas.common.validation import EMAIL_PATTERN

        if not re.fullmatch(EMAIL_PATTERN, email.strip()):
            raise UsageError(f"--email {email!r} is not an email address")
        aws = options.connect(stage, profile, region, endpoint_url)
        target, term = aws.target, Terminal()

        def confirm(found: list[str]) -> bool:
            options.confirm(
                f"Delete {len(found)} feedback item{'s' if len(found) != 1 else ''} of this "
                f"address from stage {target.stage}?",
                yes=yes,
                production=target.production,
            )
            return True

        clients = {name: aws.client(name) for name in ("dynamodb", "secretsmanager")}
        with aws.errors(f"forgetting an address on stage {target.stage}"):
            report = run(
                clients,
                target.names,
                email,
                actor=aws.caller() if not dry_run else "",
                now=datetime.now(UTC),
                dry_run=dry_run,
                confirm=confirm,
            )
        if as_json:
            term.json(report.as_dict())
            return
        if not report.found:
            term.status(f"no feedback from that address on stage {target.stage}")
            return
        if dry_run:
            term.status(f"would delete {len(report.found)} item(s): {', '.join(report.found)}")
            return
        for item in report.removed:
            term.data(f"removed {item.feedback_id} ({item.created_at}, rating {item.rating})")
        if report.already_gone:
            term.status(f"{report.already_gone} item(s) were already being forgotten")
        term.success(
            f"forgot {len(report.removed)} item(s); request {report.request_id} recorded "
            "without the address"
        )
