"""The single console wrapper: data to stdout, status/progress/warnings to stderr.

Colour and live widgets are off when NO_COLOR is set or the stream is not a terminal.
User-supplied strings are printed with markup disabled so `[x]` in a message stays text.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from rich.console import Console


def _color_allowed(stream: Any) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Terminal:
    """What commands print through. `out` carries data, `err` carries everything else."""

    def __init__(self, *, no_color: bool = False) -> None:
        self.out = Console(
            file=sys.stdout,
            no_color=no_color or not _color_allowed(sys.stdout),
            highlight=False,
            soft_wrap=True,
        )
        self.err = Console(
            file=sys.stderr,
            no_color=no_color or not _color_allowed(sys.stderr),
            highlight=False,
            soft_wrap=True,
        )

    @property
    def interactive(self) -> bool:
        """True when live widgets (spinners, progress bars) may be drawn on stderr."""
        return _color_allowed(sys.stderr)

    def data(self, text: str) -> None:
        self.out.print(text, markup=False)

    def json(self, value: Any) -> None:
        sys.stdout.write(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")
        sys.stdout.flush()

    def status(self, text: str) -> None:
        self.err.print(text, markup=False)

    def success(self, text: str) -> None:
        self.err.print(f"[green]✓[/green] {_escape(text)}")

    def warn(self, text: str) -> None:
        self.err.print(f"[yellow]warning:[/yellow] {_escape(text)}")

    def error(self, text: str) -> None:
        self.err.print(f"[red bold]error:[/red bold] {_escape(text)}")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
