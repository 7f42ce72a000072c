"""A deploy's release progress on stderr: on a terminal, a live table with one row per function
(its current step: the weight it runs at, the time left in a hold, each version's invocations
and failures, the verdict so far) above which every event still prints as a line; elsewhere
(a pipe, CI, NO_COLOR) the lines alone, so a log keeps every step.

The releases report progress as `<function>: <what happened>` lines (feedbackctl.releasing);
the board keeps each function's latest line as its row, and adds when it changed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from feedbackctl.cli.console import Terminal


class ReleaseBoard:
    """Callable as the deploy's progress sink; a context manager around the releases (the
    table goes when they end: the lines above it and the outcomes stay)."""

    def __init__(
        self,
        term: Terminal,
        functions: list[str],
        *,
        live: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.term = term
        self.functions = list(functions)
        self.live = term.interactive if live is None else live
        self.clock = clock
        self.rows: dict[str, tuple[str, float]] = {}
        self._live: Any = None

    def __enter__(self) -> ReleaseBoard:
        return self

    def _start(self) -> None:
        """The table appears with the first release step: the stack's confirmations (which
        prompt on the terminal) are over by then."""
        from rich.live import Live

        self._live = Live(self.table(), console=self.term.err, refresh_per_second=4, transient=True)
        self._live.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def __call__(self, line: str) -> None:
        function, _, text = line.partition(": ")
        if function in self.functions and text:
            self.rows[function] = (text, self.clock())
            if self.live and self._live is None:
                self._start()
        if self._live is None:
            self.term.status(line)
            return
        self._live.console.print(line, markup=False, highlight=False)
        self._live.update(self.table())

    def table(self) -> Any:
        """The board: each function's latest step, and how long ago it was reported."""
        from rich.table import Table

        table = Table("function", "now", "for", box=None, pad_edge=False)
        now = self.clock()
        for function in self.functions:
            text, at = self.rows.get(function, ("waiting", now))
            table.add_row(function, text, f"{now - at:.0f} s", end_section=False)
        return table
