"""`feedbackctl doctor`: a stage's preflight checks, one line each, and `preflight`, the same
checks as `deploy` runs them first (warnings and failures only, a failure stops it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from feedbackctl.cli import options

if TYPE_CHECKING:
    from feedbackctl.aws import Aws
    from feedbackctl.cli.console import Terminal
    from feedbackctl.doctor import Check

SYMBOLS = {
    "pass": ("✓", "green"),
    "warn": ("!", "yellow"),
    "fail": ("✗", "red"),
    "skip": ("-", "dim"),
}


def stage_checks(
    aws: Aws, *, adopt_retained: bool = False, local_platform: bool | None = None
) -> list[Check]:
    """Render the stage's templates (their sizes are a check), read the stage, judge."""
    from feedbackctl import doctor
    from feedbackctl.config import load_config
    from feedbackctl.templating import render_bootstrap, render_stack

    stage = load_config().stage(aws.target.stage)
    template, bootstrap = render_stack(stage), render_bootstrap(stage)
    facts = doctor.read_facts(
        aws,
        stage,
        template,
        bootstrap,
        adopt_retained=adopt_retained,
        local_platform=local_platform,
    )
    return doctor.run_checks(facts)


def show(console: Terminal, check: Check, *, stderr: bool = False) -> None:
    """`✓ name: found`, and under anything that did not pass, its fix."""
    from rich.markup import escape

    symbol, colour = SYMBOLS[check.status]
    target = console.err if stderr else console.out
    target.print(f"[{colour}]{symbol}[/{colour}] {escape(check.name)}: {escape(check.found)}")
    if check.fix and check.status != "pass":
        target.print(f"    fix: {escape(check.fix)}")


def counts(checks: list[Check]) -> str:
    words = {"pass": "passed", "warn": "warning(s)", "fail": "failed", "skip": "skipped"}
    tally = {s: sum(c.status == s for c in checks) for s in words}
    return ", ".join(f"{n} {words[s]}" for s, n in tally.items() if n)


def preflight(aws: Aws, console: Terminal, *, adopt_retained: bool) -> None:
    """Before a deploy plans: the checks that apply (on the local platform only credentials and
    region), their warnings and failures on stderr; any failure stops the deploy (exit 1)."""
    from feedbackctl.errors import EXIT_FAILED

    checks = stage_checks(aws, adopt_retained=adopt_retained, local_platform=aws.target.local)
    for check in checks:
        if check.status in ("warn", "fail"):
            show(console, check, stderr=True)
    failures = sum(c.status == "fail" for c in checks)
    if failures:
        stage = aws.target.stage
        console.error(
            f"deploy stopped: {failures} preflight check(s) failed "
            f"(all of them: `feedbackctl doctor --stage {stage}`)"
        )
        raise typer.Exit(EXIT_FAILED)


def register(app: typer.Typer) -> None:
    @app.command("doctor")
    def doctor(
        as_json: bool = options.JSON,
        stage: str | None = options.STAGE,
        profile: str | None = options.PROFILE,
        region: str | None = options.REGION,
        endpoint_url: str | None = options.ENDPOINT,
    ) -> None:
        """Preflight checks of a stage, each with a fix: credentials, region, stack state, code
        bucket, retained tables, API Gateway's logging role, template size, alarm topic.

        Exit 0 when no check failed (warnings do not fail), 1 when one did."""
        from feedbackctl.aws import Aws, resolve_target
        from feedbackctl.cli.console import Terminal
        from feedbackctl.errors import EXIT_FAILED

        target = resolve_target(stage, profile=profile, region=region, endpoint_url=endpoint_url)
        # Not opened first: a missing or expired credential is the first check's finding.
        checks = stage_checks(Aws(target))
        term, ok = Terminal(), not any(c.status == "fail" for c in checks)
        if as_json:
            report = {"stage": target.stage, "stack": target.stack_name, "ok": ok}
            term.json({**report, "checks": [c.as_dict() for c in checks]})
        else:
            for check in checks:
                show(term, check)
            summary = f"stage {target.stage}: {counts(checks)}"
            if ok:
                term.success(summary)
            else:
                term.error(summary)
        if not ok:
            raise typer.Exit(EXIT_FAILED)
