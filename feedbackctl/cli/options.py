"""Options shared by every command that talks to AWS, and the target they resolve to.

Imported by the command modules, so by each command's `--help`: it loads nothing beyond typer
(feedbackctl.aws when a command connects).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from feedbackctl.errors import UsageError

if TYPE_CHECKING:
    from feedbackctl.aws import Aws

STAGE = typer.Option(
    None, "--stage", "-s", help="Stage from feedbackctl.toml (default: the project's)."
)
PROFILE = typer.Option(None, "--profile", help="AWS profile (default: AWS_PROFILE).")
REGION = typer.Option(None, "--region", help="AWS region (default: the stage's).")
ENDPOINT = typer.Option(
    None, "--endpoint-url", help="AWS endpoint (default: AWS_ENDPOINT_URL, then the stage's)."
)
JSON = typer.Option(False, "--json", help="Print machine-readable JSON on stdout.")
YES = typer.Option(False, "--yes", "-y", help="Answer yes to the confirmation (for scripts).")


def connect(
    stage: str | None,
    profile: str | None,
    region: str | None,
    endpoint_url: str | None,
    *,
    local_only: str | None = None,
) -> Aws:
    """The command's AWS target, checked and with credentials resolved (one line when not).

    `local_only` names an option that works on the local platform only: any other target is
    refused before credentials are read."""
    from feedbackctl.aws import Aws, resolve_target

    target = resolve_target(stage, profile=profile, region=region, endpoint_url=endpoint_url)
    if local_only and not target.local:
        raise UsageError(
            f"{local_only} works with the local platform only, and stage {target.stage!r} "
            f"deploys to AWS ({target.region})",
            hint=f"drop {local_only}, or run `feedbackctl local up` and use --stage local",
        )
    return Aws(target).open()


def require_answerable(*, yes: bool) -> None:
    """Fail early when a confirmation will be needed and nobody can give it."""
    if not yes and not sys.stdin.isatty():
        raise UsageError("this needs confirmation and stdin is not a terminal", hint="pass --yes")


def confirm(question: str, *, yes: bool, production: bool) -> None:
    """Ask before a production-affecting action; --yes answers; no terminal means no guess."""
    if yes:
        return
    require_answerable(yes=yes)
    suffix = " [production]" if production else ""
    if not typer.confirm(f"{question}{suffix}", default=False, err=True):
        raise typer.Abort()


def selected_functions(names: list[str] | None) -> list[str]:
    """The functions a repeatable `--function` names (each checked), or all six without it."""
    from feedbackctl.functions import FUNCTION_NAMES, UnknownFunctionError
    from feedbackctl.functions import function as lookup

    try:
        return [lookup(n).name for n in names] if names else list(FUNCTION_NAMES)
    except UnknownFunctionError as exc:
        raise UsageError(str(exc)) from None
