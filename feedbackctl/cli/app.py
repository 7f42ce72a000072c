"""The `feedbackctl` Typer application: global flags, command discovery, the one exit path.

Commands live one per module in `feedbackctl.cli.commands`; each exposes `register(app)`.
Errors from the FeedbackctlError family print as one line and exit with their code, in the
app itself, so tests through CliRunner see exactly what a user sees.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import typer
from typer.core import TyperGroup

from feedbackctl import __version__
from feedbackctl.cli import commands
from feedbackctl.errors import FeedbackctlError


class _Group(TyperGroup):
    """The one exit path: a FeedbackctlError becomes one line on stderr and its exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except FeedbackctlError as exc:
            from feedbackctl.cli.console import Terminal

            Terminal().error(str(exc))
            ctx.exit(exc.exit_code)


app = typer.Typer(
    cls=_Group,
    name="feedbackctl",
    help=(
        "Deploy, release, roll back and observe the serverless feedback platform.\n\n"
        "Exit codes: 0 done, 1 failed, 2 usage error, 3 refused by a safety rule."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"feedbackctl {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", help="Print the version and exit.", callback=_version, is_eager=True
    ),
) -> None:
    """Deploy, release, roll back and observe the serverless feedback platform."""


def _register_commands() -> None:
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(app)


_register_commands()


def main() -> None:
    """Console-script entry point (Ctrl-C prints "Aborted!" and exits 1, as click does)."""
    app()
