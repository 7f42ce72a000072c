"""The logs flow: options into a query and a time window, read (or follow) through
`feedbackctl.logview`, and render each event as one line labelled with its function and
version (or one JSON object per line with --json). Notes go to stderr; Ctrl-C and a closed
pipe (`| head`) end the command quietly with exit 0.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rich.text import Text

from feedbackctl.aws import Aws
from feedbackctl.cli.console import Terminal
from feedbackctl.cli.deploy_flow import selected_functions
from feedbackctl.errors import UsageError
from feedbackctl.logview import (
    LogEvent,
    LogQuery,
    LogReader,
    follow,
    missing_note,
    to_millis,
)
from feedbackctl.timeexpr import describe_range, parse_time

# The seams tests replace: follow mode's sleep and the wall clock.
sleep: Callable[[float], None] = time.sleep
clock: Callable[[], float] = time.time

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


@dataclass(frozen=True)
class LogsRequest:
    """The logs command's options, as typed."""

    functions: list[str]
    follow: bool = False
    since: str = "10m"
    until: str | None = None
    level: str | None = None
    request_id: str | None = None
    version: str | None = None
    pattern: str | None = None
    platform: bool = True
    as_json: bool = False
    no_color: bool = False
    local_time: bool = False


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


class _Printer:
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


def _window(request: LogsRequest, now: datetime) -> tuple[datetime, datetime | None]:
    local = request.local_time
    start = parse_time(request.since, now, option="--since", local=local)
    if request.until is None:
        return start, None
    if request.follow:
        raise UsageError("--until cannot be used with --follow (following has no end)")
    end = parse_time(request.until, now, option="--until", local=local)
    if end < start:
        raise UsageError(f"--until {request.until!r} is before --since {request.since!r}")
    return start, end


def _quiet_pipe() -> None:
    """The reader went away (`| head`): point stdout at /dev/null so exit flushes nothing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def run_logs(aws: Aws, request: LogsRequest) -> None:
    term = Terminal(no_color=request.no_color)
    functions = selected_functions(request.functions)
    query = LogQuery.create(
        functions,
        level=request.level,
        request_id=request.request_id,
        version=request.version,
        pattern=request.pattern,
        include_platform=request.platform,
    )
    now = datetime.fromtimestamp(clock(), UTC)
    start, end = _window(request, now)
    reader = LogReader(aws.client("logs"), aws.target.names, query)
    fmt = LineFormat(functions, local_time=request.local_time)
    printer = _Printer(term, fmt, as_json=request.as_json, flush=request.follow)
    try:
        if request.follow:
            _follow(aws, term, reader, start, printer)
        else:
            term.status(f"reading {describe_range(start, end, now, request.local_time)}")
            _read(aws, term, reader, printer, start=start, end=end or now)
    except KeyboardInterrupt:
        term.status("stopped" + (" following" if request.follow else ""))
    except BrokenPipeError:
        _quiet_pipe()


def _read(
    aws: Aws,
    term: Terminal,
    reader: LogReader,
    printer: _Printer,
    *,
    start: datetime,
    end: datetime,
) -> None:
    with aws.errors("reading the logs"):
        for event in reader.read(to_millis(start), to_millis(end)):
            printer(event)
    sys.stdout.flush()
    for function in sorted(reader.missing, key=reader.query.functions.index):
        term.status(missing_note(function))
    if reader.missing == set(reader.query.functions):
        if len(reader.missing) > 1:
            target = aws.target
            term.warn(
                f"no log group exists for any of them: is stage {target.stage} deployed "
                f"in {target.region}?"
            )
    elif printer.count == 0:
        fmt = printer.fmt
        term.status(
            f"no log events from {fmt.time(to_millis(start))} to {fmt.time(to_millis(end))}"
            " (widen --since or relax the filters)"
        )


def _follow(
    aws: Aws, term: Terminal, reader: LogReader, start: datetime, printer: _Printer
) -> None:
    count = len(reader.query.functions)
    term.status(
        f"following {count} function{'s' if count > 1 else ''} on stage {aws.target.stage} "
        f"from {printer.fmt.time(to_millis(start))}; Ctrl-C stops"
    )
    events = follow(reader, to_millis(start), sleep=sleep, clock=clock, note=term.status)
    with aws.errors("following the logs"):
        for event in events:
            printer(event)
