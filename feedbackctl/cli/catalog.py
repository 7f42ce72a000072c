"""The command catalog: each command's name, the module under feedbackctl.cli.commands that
defines it and its one-line summary, the root options, and the root help rendered from them.

This module imports nothing but `os`, `sys` and the package version, so `feedbackctl`,
`feedbackctl --help` and `feedbackctl --version` print from here without loading typer or any
command (see docs/cli-startup.md). The root group of the Typer app renders its help through
`root_help` too, so both paths print the same text; tests/unit/test_cli_catalog.py keeps the
table equal to what the command modules register.
"""

from __future__ import annotations

import os
import sys

from feedbackctl import __version__

PROG = "feedbackctl"
COMPLETE_VAR = "_FEEDBACKCTL_COMPLETE"

DESCRIPTION = (
    "Deploy, release, roll back and observe the serverless feedback platform.",
    "Exit codes: 0 done, 1 failed, 2 usage error, 3 refused by a safety rule.",
)

# (command, module in feedbackctl.cli.commands, one-line summary: the first sentence of its help)
COMMANDS: tuple[tuple[str, str, str], ...] = (
    (
        "analytics",
        "analytics",
        "Show the feedback analytics; verify (and repair) them against the feedback table.",
    ),
    (
        "backup",
        "backup",
        "List or take backups of the feedback and analytics tables (restore: `restore`).",
    ),
    (
        "demo",
        "demo",
        "Run every handler for real against moto on 127.0.0.1: submit, aggregate, list.",
    ),
    (
        "deploy",
        "deploy",
        "Render, package, apply the stack through a change set, and release changed functions.",
    ),
    (
        "destroy",
        "destroy",
        "Delete the stage's stack after confirmation; tables and buckets survive it by default.",
    ),
    (
        "doctor",
        "doctor",
        "Preflight checks of a stage, each with a fix: credentials, region, stack state, code "
        "bucket, retained tables, API Gateway's logging role, template size, alarm topic.",
    ),
    (
        "drill",
        "drill",
        "Publish a faulty version of the live code, shift to it, drive traffic, and report "
        "detect/recover times.",
    ),
    (
        "forget",
        "forget",
        "Delete every feedback item written from an address, after confirmation.",
    ),
    (
        "history",
        "history",
        "Show releases and rollbacks (done, refused, skipped, failed) with who, why and when.",
    ),
    ("local", "local", "Run the platform on this machine: no AWS account, no docker."),
    (
        "logs",
        "logs",
        "Show the stage's function logs, oldest first; JSON lines in full with --json.",
    ),
    (
        "package",
        "package",
        "Build one deterministic zip per function and manifest.json (sha256, CodeSha256).",
    ),
    ("render", "render", "Render the stage's CloudFormation template (YAML)."),
    (
        "restore",
        "restore",
        "Restore the feedback table from a backup or a point in time, after confirmation.",
    ),
    (
        "rollback",
        "rollback",
        "Roll a function's `live` alias back to its previous good version (health-checked first).",
    ),
    (
        "sentiment",
        "sentiment",
        "Classify a feedback message as the platform does and show the words and rules that "
        "decided.",
    ),
    (
        "setup-account",
        "setup_account",
        "Create the account's API Gateway logging role (one stack per account and region) and "
        "point API Gateway's setting at it, retrying while the new role propagates.",
    ),
    (
        "status",
        "status",
        "Stack status, live versions and weights, last releases, error alarms, ledger drift.",
    ),
    ("validate", "validate", "Render the stage's template and run cfn-lint and checkov on it."),
    ("watch", "watch", "Poll the rollback alarms; on ALARM act as the orchestrator does."),
)

# The root group's options as its help lists them (the Typer app defines and handles them).
OPTIONS: tuple[tuple[str, str], ...] = (
    ("--version", "Print the version and exit."),
    ("--install-completion", "Install completion for the current shell."),
    (
        "--show-completion",
        "Show completion for the current shell, to copy it or customize the installation.",
    ),
    ("--help", "Show this message and exit."),
)

_MAX_WIDTH = 80  # as click: help is wrapped to the terminal, at most 80 columns, less 2
_MIN_WIDTH = 50
_FIRST_COLUMN = 30  # as click: a longer term goes on its own line


def module_of(command: str) -> str:
    """The module under feedbackctl.cli.commands that defines `command` (KeyError if none)."""
    for name, module, _summary in COMMANDS:
        if name == command:
            return module
    raise KeyError(command)


def help_width() -> int:
    """The width click wraps help to: the terminal's columns (COLUMNS first), at most 80, less 2."""
    columns = 0
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0 and sys.__stdout__ is not None:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return max(min(columns or _MAX_WIDTH, _MAX_WIDTH) - 2, _MIN_WIDTH)


# The root help's sections, in the order an on-call engineer reaches for them; each command is
# in exactly one (tests/unit/test_cli_catalog.py).
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Release", ("deploy", "rollback", "status", "history", "watch", "drill")),
    ("Observe", ("logs", "analytics", "sentiment", "doctor")),
    ("Local", ("local", "demo")),
    ("Templates", ("render", "validate", "package")),
    ("Data and account", ("backup", "restore", "forget", "destroy", "setup-account")),
)


def root_help(prog: str = PROG, width: int | None = None) -> str:
    """The root help: usage, description, options and every command with its whole summary."""
    width = help_width() if width is None else width
    lines = [f"Usage: {prog} [OPTIONS] COMMAND [ARGS]...", ""]
    for paragraph in DESCRIPTION:
        lines += [*_wrap(paragraph, width - 2, "  "), ""]
    lines.append("Options:")
    lines += _definitions(OPTIONS, width)
    summaries = {name: summary for name, _module, summary in COMMANDS}
    column = min(max(len(name) for name in summaries), _FIRST_COLUMN) + 2
    for title, names in GROUPS:
        lines += ["", f"{title} commands:"]
        lines += _definitions(tuple((name, summaries[name]) for name in names), width, column)
    return "\n".join(lines)


def version_line() -> str:
    return f"{PROG} {__version__}"


def _definitions(
    rows: tuple[tuple[str, str], ...], width: int, column: int | None = None
) -> list[str]:
    """Two columns as click's definition lists: terms indented 2, texts aligned and wrapped
    (at `column`, else after the longest term)."""
    if column is None:
        column = min(max(len(term) for term, _text in rows), _FIRST_COLUMN) + 2
    text_width = max(width - column - 2, 10)
    lines = []
    for term, text in rows:
        wrapped = _wrap(text, text_width, " " * (column + 2))
        if len(term) <= column - 2:
            lines.append(f"  {term.ljust(column)}{wrapped[0].lstrip()}")
            lines += wrapped[1:]
        else:
            lines += [f"  {term}", *wrapped]
    return lines


def _wrap(text: str, width: int, indent: str) -> list[str]:
    """Greedy word wrap of one paragraph; each line starts with `indent`."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(indent + current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    lines.append(indent + current)
    return lines
