"""The `feedbackctl` console script (and `python -m feedbackctl`).

The root help (also what a bare `feedbackctl` prints, on stderr with exit 2, as click does) and
`--version` print straight from feedbackctl.cli.catalog; everything else, shell completion
included, runs the Typer app in feedbackctl.cli.app, which imports only the command it runs.
"""

from __future__ import annotations

import os
import sys

from feedbackctl.cli import catalog


def main() -> None:
    """Console-script entry point: answer the root help and version here, else run the app."""
    args = sys.argv[1:]
    if not os.environ.get(catalog.COMPLETE_VAR):
        if args == ["--help"]:
            sys.stdout.write(catalog.root_help() + "\n")
            return
        if args == ["--version"]:
            sys.stdout.write(catalog.version_line() + "\n")
            return
        if not args:
            sys.stderr.write(catalog.root_help() + "\n")
            raise SystemExit(2)
    from feedbackctl.cli.app import main as run_app

    run_app()
