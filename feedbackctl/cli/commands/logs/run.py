"""The logs flow: options into a query and a time window, read (or follow) through
`feedbackctl.logview`, and print each event. Notes go to stderr; Ctrl-C and a closed pipe
(`| head`) end the command quietly with exit 0.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from feedbackctl.aws import Aws
from feedbackctl.cli.commands.logs.views import LineFormat, Printer
from feedbackctl.cli.console import Terminal
from feedbackctl.cli.options import selected_functions
from feedbackctl.errors import UsageError
from feedbackctl.logview import (
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
    printer = Printer(term, fmt, as_json=request.as_json, flush=request.follow)
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
    printer: Printer,
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


def _follow(aws: Aws, term: Terminal, reader: LogReader, start: datetime, printer: Printer) -> None:
    count = len(reader.query.functions)
    term.status(
        f"following {count} function{'s' if count > 1 else ''} on stage {aws.target.stage} "
        f"from {printer.fmt.time(to_millis(start))}; Ctrl-C stops"
    )
    events = follow(reader, to_millis(start), sleep=sleep, clock=clock, note=term.status)
    with aws.errors("following the logs"):
        for event in events:
            printer(event)
