"""The `feedbackctl` Typer application: global flags, command discovery, the one exit path.

Commands live one per module in `feedbackctl.cli.commands`; each exposes `register(app)`.
Errors from the FeedbackctlError family print as one line and exit with their code.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer

from feedbackctl import __version__
from feedbackctl.cli import commands
from feedbackctl.errors import FeedbackctlError

app = typer.Typer(
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
    """Console-script entry point: run the app, turning user errors into one line + exit code."""
    try:
        app(standalone_mode=False)
    except FeedbackctlError as exc:
        from feedbackctl.cli.console import Terminal

        Terminal().error(str(exc))
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.stderr.write("Aborted.\n")
        sys.exit(1)
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        sys.exit(130)
    except Exception as exc:
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
