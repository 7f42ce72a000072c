"""Reading a stage's Lambda logs: which function and version wrote each line, fetching every
function's log group with FilterLogEvents and merging them by timestamp, the filters (sent to
CloudWatch as filter patterns where it can apply them, always verified here as well) and the
follow loop (a generator with injected sleep and clock that never repeats or skips an event).
No CLI code: `feedbackctl logs` renders the LogEvents this module yields.
"""

from __future__ import annotations

import heapq
import json
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from feedbackctl.aws import ClientError, error_code
from feedbackctl.aws import logs as logs_api
from feedbackctl.errors import FeedbackctlError, UsageError
from feedbackctl.naming import StackNames

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")  # least to most severe
LATEST = "$LATEST"
# Lines the Lambda service itself writes around each invocation (not the handler's JSON).
PLATFORM_PREFIXES = (
    "START RequestId:",
    "END RequestId:",
    "REPORT RequestId:",
    "INIT_START",
    "INIT_REPORT",
    "INIT_RUNTIME_FAILURE",
    "RESTORE_START",
    "RESTORE_REPORT",
    "EXTENSION",
    "TELEMETRY",
    "XRAY TraceId:",
)
THROTTLING_CODES = frozenset(
    {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"}
)
EXPIRED_CODES = frozenset(
    {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
)

# Lambda names streams YYYY/MM/DD/[VERSION]<container id>; the version is what we label by.
_STREAM_RE = re.compile(r"^\d{4}/\d{2}/\d{2}/\[([^\]]+)\]")
_REQUEST_ID_RE = re.compile(r"RequestId: ([0-9A-Za-z-]+)")
_TEXT_LEVEL_RE = re.compile(r"^\[(DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL)\]")
_VERSION_RE = re.compile(r"^(\d+|\$LATEST)$")


def stream_version(stream_name: str) -> str | None:
    """The function version a Lambda log stream belongs to (`3`, `$LATEST`), or None."""
    match = _STREAM_RE.match(stream_name)
    return match.group(1) if match else None


def _text_level(message: str) -> str | None:
    match = _TEXT_LEVEL_RE.match(message)
    if not match:
        return None
    level = match.group(1)
    return {"WARN": "WARNING", "CRITICAL": "ERROR"}.get(level, level)


@dataclass(frozen=True)
class LogEvent:
    """One CloudWatch Logs event, with the function and version that wrote it."""

    function: str
    version: str | None
    timestamp: int  # ms since the epoch, as CloudWatch stores it
    message: str  # without the trailing newline Lambda keeps
    event_id: str
    stream: str
    ingestion_time: int | None = None
    record: dict[str, Any] | None = field(default=None, compare=False)  # the handler's JSON line

    @property
    def kind(self) -> str:
        """`json` (a handler line), `platform` (START/END/REPORT...) or `text` (anything else)."""
        if self.record is not None:
            return "json"
        return "platform" if self.message.startswith(PLATFORM_PREFIXES) else "text"

    @property
    def level(self) -> str | None:
        if self.record is not None:
            level = self.record.get("level")
            return str(level).upper() if level is not None else None
        return _text_level(self.message) if self.kind == "text" else None

    @property
    def request_id(self) -> str | None:
        if self.record is not None:
            value = self.record.get("function_request_id")
            return str(value) if value else None
        match = _REQUEST_ID_RE.search(self.message) if self.kind == "platform" else None
        return match.group(1) if match else None

    def as_dict(self) -> dict[str, Any]:
        """The CloudWatch event plus who wrote it, for `--json` (one object per line)."""
        return {
            "function": self.function,
            "version": self.version,
            "timestamp": self.timestamp,
            "time": datetime.fromtimestamp(self.timestamp / 1000, UTC).isoformat(
                timespec="milliseconds"
            ),
            "ingestionTime": self.ingestion_time,
            "eventId": self.event_id,
            "logStreamName": self.stream,
            "kind": self.kind,
            "level": self.level,
            "requestId": self.request_id,
            "message": self.message,
            "record": self.record,
        }


def parse_event(function: str, raw: dict[str, Any]) -> LogEvent:
    """A FilterLogEvents event as a LogEvent; JSON handler lines are parsed once, here."""
    message = str(raw.get("message", "")).rstrip("\n")
    record = None
    if message.startswith("{"):
        try:
            parsed = json.loads(message)
        except ValueError:
            parsed = None
        record = parsed if isinstance(parsed, dict) else None
    stream = str(raw.get("logStreamName", ""))
    return LogEvent(
        function=function,
        version=stream_version(stream),
        timestamp=int(raw["timestamp"]),
        message=message,
        event_id=str(raw.get("eventId", "")),
        stream=stream,
        ingestion_time=raw.get("ingestionTime"),
        record=record,
    )


def to_millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class Matcher(Protocol):
    def matches(self, message: str) -> bool: ...


@dataclass(frozen=True)
class LogQuery:
    """What to show: which functions, and the filters every event must pass."""

    functions: tuple[str, ...]
    level: str | None = None  # this level and more severe
    request_id: str | None = None
    version: str | None = None
    pattern: str | None = None  # a CloudWatch filter pattern, as the user typed it
    include_platform: bool = True
    matcher: Matcher | None = field(default=None, compare=False, repr=False)

    @classmethod
    def create(
        cls,
        functions: list[str],
        *,
        level: str | None = None,
        request_id: str | None = None,
        version: str | None = None,
        pattern: str | None = None,
        include_platform: bool = True,
    ) -> LogQuery:
        """Validate the filters (UsageError says what is accepted) before any call is made."""
        if level is not None:
            level = {"WARN": "WARNING"}.get(level.upper(), level.upper())
            if level not in LEVELS:
                raise UsageError(f"--level {level!r} is not one of {', '.join(reversed(LEVELS))}")
        if version is not None:
            version = LATEST if version.lower() in {"latest", "$latest"} else version
            if not _VERSION_RE.match(version):
                raise UsageError(
                    f"--version {version!r} is not a version", hint="use a number or $LATEST"
                )
        matcher = None
        if pattern:
            from feedbackctl.filterpattern import FilterPatternError, compile_pattern

            try:
                matcher = compile_pattern(pattern)
            except FilterPatternError as exc:
                raise UsageError(f"--filter {pattern!r} is not a filter pattern: {exc}") from None
        return cls(
            functions=tuple(functions),
            level=level,
            request_id=request_id or None,
            version=version,
            pattern=pattern or None,
            include_platform=include_platform,
            matcher=matcher,
        )

    def server_pattern(self) -> str | None:
        """The one filter pattern CloudWatch is asked to apply (it cannot combine a JSON pattern
        with terms, so the user's own pattern wins, then the structured filters)."""
        if self.pattern:
            return self.pattern
        if self.level:
            levels = LEVELS[LEVELS.index(self.level) :]
            condition = " || ".join(f'$.level = "{name}"' for name in levels)
            if self.request_id:
                condition = f'$.function_request_id = "{self.request_id}" && ({condition})'
            return "{ " + condition + " }"
        if self.request_id:
            # A quoted term matches JSON lines and the START/END/REPORT lines alike.
            return '"' + self.request_id.replace('"', "") + '"'
        return None

    def matches(self, event: LogEvent) -> bool:
        """The client-side check of every filter: CloudWatch's (and moto's) answer is not trusted
        to have applied the pattern (moto ignores JSON patterns and returns everything)."""
        kind = event.kind
        if kind == "platform" and not self.include_platform:
            return False
        if self.version is not None and event.version != self.version:
            return False
        if self.level is not None:
            level = event.level
            if level not in LEVELS or LEVELS.index(level) < LEVELS.index(self.level):
                return False
        if self.request_id is not None and not self._has_request_id(event):
            return False
        return self.matcher is None or self.matcher.matches(event.message)

    def _has_request_id(self, event: LogEvent) -> bool:
        wanted = self.request_id or ""
        if event.record is not None:
            ids = (event.record.get("function_request_id"), event.record.get("api_request_id"))
            return wanted in {str(i) for i in ids if i}
        if event.kind == "platform":
            return event.request_id == wanted
        return wanted in event.message


Note = Callable[[str], None]


class _GroupReader:
    """One function's log group over a window: the first page is requested at construction
    (so every group's first call is in flight at once) and each next page while the current
    one is being consumed."""

    def __init__(
        self,
        executor: ThreadPoolExecutor,
        logs: Any,
        function: str,
        arguments: dict[str, Any],
    ) -> None:
        self._executor = executor
        self._logs = logs
        self.function = function
        self._arguments = arguments
        self._pending: Future[dict[str, Any]] = executor.submit(self._call, None)
        self.missing = False

    def _call(self, token: str | None) -> dict[str, Any]:
        kwargs = dict(self._arguments)
        if token:
            kwargs["nextToken"] = token
        return logs_api.filter_events(self._logs, kwargs)

    def events(self) -> Iterator[LogEvent]:
        while True:
            try:
                page = self._pending.result()
            except ClientError as exc:
                if error_code(exc) == "ResourceNotFoundException":
                    self.missing = True
                    return
                raise
            token = page.get("nextToken")
            if token:
                self._pending = self._executor.submit(self._call, token)
            # CloudWatch sorts a group's events by time; sorting the page again is cheap and
            # keeps the merge right against endpoints that do not (moto without interleaving).
            raw = sorted(page.get("events", []), key=lambda e: int(e["timestamp"]))
            for item in raw:
                yield parse_event(self.function, item)
            if not token:
                return


class LogReader:
    """Reads the selected functions' log groups over a window, merged by timestamp, filtered."""

    def __init__(
        self,
        logs: Any,
        names: StackNames,
        query: LogQuery,
        *,
        executor: ThreadPoolExecutor | None = None,
        page_limit: int | None = None,
    ) -> None:
        self.logs = logs
        self.names = names
        self.query = query
        self._executor = executor
        self._page_limit = page_limit
        self.missing: set[str] = set()  # functions whose log group does not exist (never ran)

    def _arguments(self, function: str, start_ms: int, end_ms: int | None) -> dict[str, Any]:
        arguments: dict[str, Any] = {
            "logGroupName": self.names.log_group(function),
            "startTime": start_ms,
            "interleaved": True,  # ignored by AWS (always interleaved); moto needs it
        }
        if end_ms is not None:
            arguments["endTime"] = end_ms
        pattern = self.query.server_pattern()
        if pattern:
            arguments["filterPattern"] = pattern
        if self._page_limit:
            arguments["limit"] = self._page_limit
        return arguments

    def read(self, start_ms: int, end_ms: int | None = None) -> Iterator[LogEvent]:
        """Every matching event in [start_ms, end_ms], oldest first, all functions interleaved."""
        own = self._executor is None
        executor = self._executor or ThreadPoolExecutor(max_workers=len(self.query.functions))
        try:
            readers = [
                _GroupReader(executor, self.logs, f, self._arguments(f, start_ms, end_ms))
                for f in self.query.functions
            ]
            # heapq.merge is stable: equal timestamps keep each group's own order (START first).
            merged = heapq.merge(*(r.events() for r in readers), key=lambda e: e.timestamp)
            for event in merged:
                if self.query.matches(event):
                    yield event
            for reader in readers:
                if reader.missing:
                    self.missing.add(reader.function)
                else:
                    self.missing.discard(reader.function)
        finally:
            if own:
                executor.shutdown(wait=False, cancel_futures=True)


def missing_note(function: str) -> str:
    return f"{function} has no logs yet: it never ran"


@dataclass
class FollowState:
    """Where the follow loop stands: the start of the next window and the ids already shown."""

    floor_ms: int
    newest_ms: int | None = None
    seen: dict[tuple[str, str], int] = field(default_factory=dict)  # (function, id) → timestamp

    def forget_before(self, floor_ms: int) -> None:
        """Drop ids older than the window: a poll never asks for them again (bounded memory)."""
        self.seen = {key: ts for key, ts in self.seen.items() if ts >= floor_ms}


def follow(
    reader: LogReader,
    start_ms: int,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
    note: Note = lambda _: None,
    interval: float = 2.0,
    overlap_ms: int = 5000,
    max_backoff: float = 10.0,
) -> Iterator[LogEvent]:
    """Poll forever (the caller stops iterating), yielding each matching event exactly once.

    Each poll asks from `overlap_ms` before the earlier of the previous poll's start and the
    newest event seen, so an event CloudWatch ingests late (up to `overlap_ms` after its
    timestamp) is still caught; ids already yielded are dropped. Throttling backs off
    exponentially up to `max_backoff` and carries on; an expired session stops with a hint
    saying where to resume.
    """
    state = FollowState(floor_ms=start_ms)
    failures = 0
    noted: set[str] = set()
    while True:
        poll_started = int(clock() * 1000)
        try:
            for event in reader.read(state.floor_ms):
                key = (event.function, event.event_id)
                if key in state.seen:
                    continue
                state.seen[key] = event.timestamp
                state.newest_ms = max(state.newest_ms or event.timestamp, event.timestamp)
                yield event
        except ClientError as exc:
            code = error_code(exc)
            if code in EXPIRED_CODES:
                resume = datetime.fromtimestamp(state.floor_ms / 1000, UTC)
                raise FeedbackctlError(
                    f"your AWS session expired while following the logs ({code})",
                    hint=(
                        "refresh your credentials (e.g. `aws sso login`), then resume with "
                        f"--since {resume.strftime('%Y-%m-%dT%H:%M:%SZ')}"
                    ),
                ) from exc
            if code not in THROTTLING_CODES:
                raise
            failures += 1
            delay = min(max_backoff, interval * 2**failures)
            note(f"CloudWatch Logs is throttling; retrying in {delay:g}s")
            sleep(delay)
            continue  # the window did not move, so nothing is skipped
        failures = 0
        for function in sorted(reader.missing - noted):
            note(missing_note(function))
        noted |= reader.missing
        anchor = poll_started if state.newest_ms is None else min(poll_started, state.newest_ms)
        state.floor_ms = max(state.floor_ms, anchor - overlap_ms)
        state.forget_before(state.floor_ms)
        sleep(interval)
