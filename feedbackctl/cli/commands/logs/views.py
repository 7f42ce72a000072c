"""The logs renderers: each event as one line labelled with its function and version (plain or
styled), or one JSON object per line with --json.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from rich.text import Text

from feedbackctl.cli.console import Terminal
from feedbackctl.logview import (
    LogEvent,
)

LEVEL_STYLES = {"ERROR": "bold red", "WARNING": "yellow", "INFO": "green", "DEBUG": "blue"}


LEVEL_WIDTH = len("WARNING")


MAX_TRACES = 1000  # distinct tracebacks remembered, so a long follow stays bounded


# Keys the line's prefix already says (or that only add noise); --json keeps them all.
HIDDEN_KEYS = frozenset(
    {
        "level",
        "message",
        "timestamp",
        "service",
        "location",
        "function_name",
        "function_version",
        "function_arn",
        "function_memory_size",
        "exception_name",  # always the same as errorType
        "exception",  # printed below the line, indented, as a traceback reads best
    }
)


# Per-invocation context goes after the call's own fields, which are what the line is about.
TRAILING_KEYS = ("cold_start", "function_request_id", "api_request_id", "xray_trace_id")


def _value(value: Any) -> str:
    if isinstance(value, str):
        plain = value and not any(c.isspace() or c in '"=' for c in value)
        return value if plain else json.dumps(value, ensure_ascii=False)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def fields_of(record: dict[str, Any]) -> list[tuple[str, str]]:
    """The structured fields shown after the message, compact `key=value` pairs."""
    own = [(k, v) for k, v in record.items() if k not in HIDDEN_KEYS and k not in TRAILING_KEYS]
    context = [(k, record[k]) for k in TRAILING_KEYS if k in record]
    shown = [(k, v) for k, v in own + context if not (k == "cold_start" and v is not True)]
    return [(k, _value(v)) for k, v in shown if v is not None]


class LineFormat:
    """One event as one line: time, function, [version], level, message, then the fields."""

    def __init__(self, functions: Iterable[str], *, local_time: bool = False) -> None:
        self.width = max((len(f) for f in functions), default=0)
        self.local_time = local_time
        self._traces: set[str] = set()

    def time(self, millis: int) -> str:
        moment = datetime.fromtimestamp(millis / 1000, UTC)
        if self.local_time:
            moment = moment.astimezone()
        return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"

    def _parts(self, event: LogEvent) -> tuple[str, str, str, list[tuple[str, str]], str]:
        label = f"[{event.version or '?'}]".ljust(4)
        prefix = f"{self.time(event.timestamp)} {event.function:<{self.width}} {label}"
        record = event.record
        if record is None:
            return prefix, event.level or "", event.message.replace("\t", "  "), [], ""
        trace = self._trace(str(record["exception"])) if record.get("exception") else ""
        return prefix, event.level or "", str(record.get("message", "")), fields_of(record), trace

    def _trace(self, traceback: str) -> str:
        """The traceback, indented, the first time it is seen; after that only its last line:
        an incident repeats one error many times, and the first copy says all there is."""
        lines = traceback.splitlines() or [""]
        if traceback in self._traces:
            lines = [lines[-1] + "  (traceback as above)"]
        elif len(self._traces) < MAX_TRACES:
            self._traces.add(traceback)
        return "\n".join("    " + line for line in lines)

    def plain(self, event: LogEvent) -> str:
        prefix, level, message, fields, trace = self._parts(event)
        line = f"{prefix} {level:<{LEVEL_WIDTH}} {message}"
        if fields:
            line += "  " + " ".join(f"{k}={v}" for k, v in fields)
        return line + ("\n" + trace if trace else "")

    def styled(self, event: LogEvent) -> Text:
        if event.kind == "platform":
            return Text(self.plain(event), style="dim")
        prefix, level, message, fields, trace = self._parts(event)
        text = Text(prefix + " ")
        text.append(f"{level:<{LEVEL_WIDTH}}", style=LEVEL_STYLES.get(level, ""))
        text.append(" " + message)
        if fields:
            text.append("  ")
            for number, (key, value) in enumerate(fields):
                text.append((" " if number else "") + key + "=", style="dim")
                text.append(value)
        if trace:
            text.append("\n" + trace, style="red" if level == "ERROR" else "")
        return text


class Printer:
    """Writes events to stdout: JSON lines, plain lines, or styled lines on a colour terminal."""

    def __init__(self, term: Terminal, fmt: LineFormat, *, as_json: bool, flush: bool) -> None:
        self.term, self.fmt, self.as_json, self.flush = term, fmt, as_json, flush
        self.count = 0

    def __call__(self, event: LogEvent) -> None:
        self.count += 1
        if self.as_json:
            sys.stdout.write(json.dumps(event.as_dict(), separators=(",", ":"), default=str))
            sys.stdout.write("\n")
        elif self.term.out.no_color:
            # Without colour, rich adds nothing but cost: plain writes keep a long page fast.
            sys.stdout.write(self.fmt.plain(event) + "\n")
        else:
            self.term.out.print(self.fmt.styled(event))
        if self.flush:
            sys.stdout.flush()
