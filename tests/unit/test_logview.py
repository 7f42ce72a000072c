"""logview's pure parts: stream names, event kinds, times, filters, and the follow loop over a
fake CloudWatch Logs client (no network)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError

from feedbackctl.cli.commands.logs.views import LineFormat, fields_of
from feedbackctl.errors import FeedbackctlError, UsageError
from feedbackctl.logview import (
    LogEvent,
    LogQuery,
    LogReader,
    follow,
    parse_event,
    stream_version,
)
from feedbackctl.naming import StackNames

NOW = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)
RID = "0b6f2c1e-3f5a-4c1e-9a39-6a4b1f2d7c10"
OTHER = "9c1d7e2a-5b4f-4e8d-8f10-2a3b4c5d6e7f"


def event(message: str, stream: str = "2026/11/25/[3]abc", ts: int = 0, eid: str = "1") -> LogEvent:
    return parse_event(
        "create-feedback",
        {"message": message, "logStreamName": stream, "timestamp": ts, "eventId": eid},
    )


def line(level: str, message: str, **fields: object) -> str:
    return json.dumps({"level": level, "message": message, **fields}) + "\n"


@pytest.mark.parametrize(
    ("stream", "version"),
    [
        ("2026/11/25/[3]0123456789abcdef0123456789abcdef", "3"),
        ("2026/11/25/[$LATEST]0123456789abcdef0123456789abcdef", "$LATEST"),
        ("2026/11/25/[12]f00", "12"),
        ("my-own-stream", None),
    ],
)
def test_the_version_comes_from_the_stream_name(stream, version):
    assert stream_version(stream) == version


def test_event_kinds_levels_and_request_ids():
    json_line = event(line("ERROR", "boom", function_request_id=RID))
    assert (json_line.kind, json_line.level, json_line.request_id) == ("json", "ERROR", RID)
    assert json_line.message == line("ERROR", "boom", function_request_id=RID).rstrip("\n")
    start = event(f"START RequestId: {RID} Version: 3\n")
    assert (start.kind, start.level, start.request_id) == ("platform", None, RID)
    report = event(f"REPORT RequestId: {RID}\tDuration: 12.34 ms\tBilled Duration: 13 ms\n")
    assert (report.kind, report.request_id) == ("platform", RID)
    text = event("[WARNING] 2026-11-25T10:00:00Z something odd\n")
    assert (text.kind, text.level, text.request_id) == ("text", "WARNING", None)
    assert event("{not json").kind == "text"
    assert event("[1, 2]").kind == "text"


def test_as_dict_carries_the_event_plus_function_and_version():
    body = event(line("INFO", "hi", rating=5), ts=1_764_064_800_123, eid="42").as_dict()
    assert body["function"] == "create-feedback"
    assert body["version"] == "3"
    assert body["eventId"] == "42"
    assert body["time"] == "2025-11-25T10:00:00.123+00:00"
    assert body["record"]["rating"] == 5
    assert json.loads(body["message"])["message"] == "hi"


def test_query_validation():
    assert LogQuery.create(["health"], level="warn").level == "WARNING"
    assert LogQuery.create(["health"], version="latest").version == "$LATEST"
    with pytest.raises(UsageError, match="--level 'FATAL' is not one of ERROR, WARNING"):
        LogQuery.create(["health"], level="fatal")
    with pytest.raises(UsageError, match="--version 'v3' is not a version"):
        LogQuery.create(["health"], version="v3")
    with pytest.raises(UsageError, match=r"--filter '\{ \$.level = ' is not a filter pattern"):
        LogQuery.create(["health"], pattern="{ $.level = ")


def test_server_patterns():
    def pattern(**kwargs: object) -> str | None:
        return LogQuery.create(["health"], **kwargs).server_pattern()  # type: ignore[arg-type]

    assert pattern() is None
    assert pattern(level="ERROR") == '{ $.level = "ERROR" }'
    assert pattern(level="WARNING") == '{ $.level = "WARNING" || $.level = "ERROR" }'
    assert pattern(request_id=RID) == f'"{RID}"'
    assert pattern(level="ERROR", request_id=RID) == (
        f'{{ $.function_request_id = "{RID}" && ($.level = "ERROR") }}'
    )
    assert pattern(pattern="timeout", level="ERROR") == "timeout"


def test_every_filter_is_checked_on_the_client():
    err = event(line("ERROR", "boom", function_request_id=RID))
    info = event(line("INFO", "fine", function_request_id=OTHER), stream="2026/11/25/[4]abc")
    start = event(f"START RequestId: {RID} Version: 3")
    other_start = event(f"START RequestId: {OTHER} Version: 4")
    everything = [err, info, start, other_start]

    def kept(**kwargs: object) -> list[LogEvent]:
        query = LogQuery.create(["create-feedback"], **kwargs)  # type: ignore[arg-type]
        return [e for e in everything if query.matches(e)]

    assert kept() == everything
    assert kept(level="ERROR") == [err]
    assert kept(level="DEBUG") == [err, info]  # platform lines have no level
    assert kept(request_id=RID) == [err, start]
    assert kept(version="4") == [info]
    assert kept(include_platform=False) == [err, info]
    assert kept(pattern='{ $.message = "fine" }') == [info]
    assert kept(pattern="START") == [start, other_start]


def test_fields_show_the_call_first_and_the_context_last():
    record = {
        "level": "INFO",
        "location": "handler:42",
        "message": "feedback stored",
        "timestamp": "2026-11-25T10:00:00.123Z",
        "service": "create-feedback",
        "cold_start": False,
        "function_name": "x",
        "function_request_id": RID,
        "feedbackId": "f-1",
        "rating": 5,
        "note": "two words",
        "ok": True,
    }
    assert fields_of(record) == [
        ("feedbackId", "f-1"),
        ("rating", "5"),
        ("note", '"two words"'),
        ("ok", "true"),
        ("function_request_id", RID),
    ]
    assert ("cold_start", "true") in fields_of({**record, "cold_start": True})


def test_one_line_per_event_aligned_by_function():
    fmt = LineFormat(["create-feedback", "health"])
    ts = int(datetime(2026, 11, 25, 10, 0, 0, 123000, tzinfo=UTC).timestamp() * 1000)
    stored = parse_event(
        "health",
        {
            "message": line("INFO", "feedback stored", rating=5),
            "logStreamName": "2026/11/25/[3]abc",
            "timestamp": ts,
        },
    )
    assert fmt.plain(stored) == (
        "2026-11-25 10:00:00.123 health          [3]  INFO    feedback stored  rating=5"
    )
    report = parse_event(
        "health",
        {
            "message": f"REPORT RequestId: {RID}\tDuration: 1.00 ms\n",
            "logStreamName": "2026/11/25/[$LATEST]abc",
            "timestamp": ts,
        },
    )
    assert fmt.plain(report) == (
        "2026-11-25 10:00:00.123 health          [$LATEST]         "
        f"REPORT RequestId: {RID}  Duration: 1.00 ms"
    )
    assert fmt.styled(report).style == "dim"
    failed = parse_event(
        "health",
        {
            "message": line("ERROR", "failed", exception="Traceback:\n  boom"),
            "logStreamName": "x",
            "timestamp": ts,
        },
    )
    assert fmt.plain(failed).splitlines() == [
        "2026-11-25 10:00:00.123 health          [?]  ERROR   failed",
        "    Traceback:",
        "      boom",
    ]
    # The same traceback again: only its last line, so an incident's repeats stay readable.
    assert fmt.plain(failed).splitlines()[1:] == ["      boom  (traceback as above)"]


class FakeLogs:
    """FilterLogEvents over an in-memory group, in CloudWatch's order; records the windows."""

    def __init__(self) -> None:
        self.events: list[dict[str, object]] = []
        self.windows: list[int] = []
        self.errors: list[str] = []

    def put(self, ts: int, message: str) -> None:
        eid = str(len(self.events))
        self.events.append(
            {
                "timestamp": ts,
                "message": message,
                "eventId": eid,
                "logStreamName": "2026/11/25/[1]a",
            }
        )

    def filter_log_events(self, **kwargs: object) -> dict[str, object]:
        if self.errors:
            code = self.errors.pop(0)
            raise ClientError({"Error": {"Code": code, "Message": code}}, "FilterLogEvents")
        start = int(kwargs["startTime"])  # type: ignore[call-overload]
        self.windows.append(start)
        chosen = [e for e in self.events if int(e["timestamp"]) >= start]  # type: ignore[call-overload]
        return {"events": sorted(chosen, key=lambda e: int(e["timestamp"]))}  # type: ignore[call-overload]


class StopFollowingError(Exception):
    """Raised by a test's sleep to end an endless follow loop."""


def collect(events, pick) -> list:
    """Everything the follow loop yields until the test's sleep stops it."""
    got = []
    try:
        for event in events:
            got.append(pick(event))
    except StopFollowingError:
        return got
    raise AssertionError("the follow loop ended by itself")


def test_follow_forgets_ids_older_than_the_overlap_and_never_repeats():
    logs = FakeLogs()
    clock = [1_000.0]
    script = [
        lambda: logs.put(1_001_000, "b"),  # after poll 1
        lambda: logs.put(1_000_500, "late"),  # timestamp before poll 2 started: still caught
        lambda: None,
    ]

    def sleep(_: float) -> None:
        if not script:
            raise StopFollowingError
        clock[0] += 2
        script.pop(0)()

    logs.put(999_000, "a")
    reader = LogReader(logs, StackNames("s"), LogQuery.create(["health"]))
    events = follow(reader, 990_000, sleep=sleep, clock=lambda: clock[0], overlap_ms=5000)
    seen = collect(events, lambda e: e.message)
    assert seen == ["a", "b", "late"]
    # Each window starts overlap_ms before the earlier of the last poll and the newest event.
    assert logs.windows == [990_000, 994_000, 996_000, 996_000]


def test_follow_backs_off_on_throttling_then_carries_on():
    logs = FakeLogs()
    logs.put(1_000_000, "a")
    logs.errors = ["ThrottlingException", "ThrottlingException", "ThrottlingException"]
    sleeps: list[float] = []
    notes: list[str] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 5:
            raise StopFollowingError

    reader = LogReader(logs, StackNames("s"), LogQuery.create(["health"]))
    events = follow(reader, 0, sleep=sleep, clock=lambda: 1_000.0, note=notes.append)
    got = collect(events, lambda e: e.message)
    assert sleeps == [4, 8, 10, 2, 2]
    assert got == ["a"]
    assert notes[0] == "CloudWatch Logs is throttling; retrying in 4s"


def test_an_expired_session_says_where_to_resume():
    logs = FakeLogs()
    logs.errors = ["ExpiredTokenException"]
    reader = LogReader(logs, StackNames("s"), LogQuery.create(["health"]))
    with pytest.raises(FeedbackctlError) as caught:
        next(follow(reader, 1_764_064_800_000, sleep=lambda _: None, clock=lambda: 0.0))
    assert str(caught.value) == (
        "your AWS session expired while following the logs (ExpiredTokenException) "
        "(refresh your credentials (e.g. `aws sso login`), then resume with "
        "--since 2025-11-25T10:00:00Z)"
    )
