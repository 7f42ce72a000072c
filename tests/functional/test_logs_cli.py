"""`feedbackctl logs` through CliRunner against a moto server holding logs written the way
Lambda writes them: several functions and versions, JSON handler lines and START/END/REPORT."""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber
from typer.testing import CliRunner

import feedbackctl.cli.commands.logs.run as logs_run
from feedbackctl.cli.app import app
from feedbackctl.logview import LogQuery, LogReader, follow
from feedbackctl.naming import StackNames


@dataclass
class Invocation:
    """One invocation as Lambda logs it: START, the handler's JSON lines, END, REPORT."""

    request_id: str
    lines: list[tuple[str, str, dict]]  # (level, message, fields)
    cold: bool = False


@dataclass
class LambdaLogs:
    """Writes log events into moto as the Lambda service would, and remembers what it wrote."""

    logs: object
    stack: str
    written: list[tuple[int, str, str, str]] = field(default_factory=list)  # ts, fn, ver, msg

    def stream(self, function: str, version: str, at: datetime) -> tuple[str, str]:
        group = StackNames(self.stack).log_group(function)
        with contextlib.suppress(self.logs.exceptions.ResourceAlreadyExistsException):
            self.logs.create_log_group(logGroupName=group)
        name = f"{at:%Y/%m/%d}/[{version}]{uuid.uuid4().hex}"
        self.logs.create_log_stream(logGroupName=group, logStreamName=name)
        return group, name

    def invoke(
        self, function: str, version: str, at: datetime, invocation: Invocation, stream=None
    ) -> tuple[str, str]:
        group, name = stream or self.stream(function, version, at)
        rid = invocation.request_id
        messages = [f"START RequestId: {rid} Version: {version}\n"]
        for level, message, fields in invocation.lines:
            record = {
                "level": level,
                "location": "handle:12",
                "message": message,
                "timestamp": "2026-11-25T10:00:00.000Z",
                "service": function,
                "cold_start": invocation.cold,
                "function_name": f"{self.stack}-{function}",
                "function_version": version,
                "function_memory_size": 256,
                "function_request_id": rid,
                **fields,
            }
            messages.append(json.dumps(record, separators=(",", ":")) + "\n")
        messages.append(f"END RequestId: {rid}\n")
        report = (
            f"REPORT RequestId: {rid}\tDuration: 12.34 ms\tBilled Duration: 13 ms\t"
            "Memory Size: 256 MB\tMax Memory Used: 71 MB"
        )
        messages.append(report + ("\tInit Duration: 180.2 ms" if invocation.cold else "") + "\n")
        start = int(at.timestamp() * 1000)
        events = [{"timestamp": start + i, "message": m} for i, m in enumerate(messages)]
        self.logs.put_log_events(logGroupName=group, logStreamName=name, logEvents=events)
        for e in events:
            self.written.append((e["timestamp"], function, version, e["message"].rstrip("\n")))
        return group, name


RID = [f"{n:08x}-0000-4000-8000-{n:012x}" for n in range(1, 20)]


@pytest.fixture
def world(moto_endpoint, tmp_path, monkeypatch):
    stack = f"logs-{uuid.uuid4().hex[:8]}"
    config = tmp_path / "feedbackctl.toml"
    config.write_text(
        '[project]\ndefault_stage = "test"\n'
        f'[stages.test]\nregion = "us-east-1"\nstack_name = "{stack}"\n'
    )
    monkeypatch.setenv("FEEDBACKCTL_CONFIG", str(config))
    writer = LambdaLogs(boto3.client("logs"), stack)
    base = (datetime.now(UTC) - timedelta(minutes=30)).replace(microsecond=0)
    writer.base = base  # type: ignore[attr-defined]
    t = lambda seconds: base + timedelta(seconds=seconds)  # noqa: E731
    # create-feedback: version 3 (cold, then warm on the same stream) and version 4.
    v3 = writer.invoke(
        "create-feedback",
        "3",
        t(0),
        Invocation(RID[0], [("INFO", "feedback stored", {"feedbackId": "f-1", "rating": 5})], True),
    )
    writer.invoke(
        "create-feedback",
        "3",
        t(20),
        Invocation(RID[2], [("ERROR", "write failed", {"errorType": "ClientError"})]),
        stream=v3,
    )
    writer.invoke(
        "create-feedback",
        "4",
        t(10),
        Invocation(RID[1], [("WARNING", "slow write", {"duration_ms": 812})], True),
    )
    writer.invoke(
        "list-feedback",
        "2",
        t(5),
        Invocation(RID[3], [("DEBUG", "query", {"limit": 10}), ("INFO", "listed", {"count": 3})]),
    )
    writer.invoke(
        "health", "$LATEST", t(15), Invocation(RID[4], [("INFO", "health check passed", {})])
    )
    return writer


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


def run(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def lines_of(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def clock_of(world) -> str:
    return world.base.strftime("%Y-%m-%d %H:%M:%S")


def test_all_functions_interleaved_by_time_with_their_versions(world):
    result = run("logs", "--since", "1h", "--json")
    assert result.exit_code == 0, result.output
    got = [(e["timestamp"], e["function"], e["version"], e["message"]) for e in lines_of(result)]
    assert got == sorted(world.written)  # every event, oldest first, each labelled
    assert [e[1:3] for e in got[:3]] == [("create-feedback", "3")] * 3
    assert {(e[1], e[2]) for e in got} == {
        ("create-feedback", "3"),
        ("create-feedback", "4"),
        ("list-feedback", "2"),
        ("health", "$LATEST"),
    }
    # Nothing but JSON on stdout; the never-run functions are noted on stderr.
    assert "get-analytics has no logs yet: it never ran" in result.stderr
    assert "rollback-orchestrator has no logs yet: it never ran" in result.stderr


def test_since_takes_words_and_the_range_is_echoed(world, monkeypatch):
    monkeypatch.setattr(
        logs_run, "clock", lambda: datetime(2026, 11, 25, 10, tzinfo=UTC).timestamp()
    )
    result = run("logs", "health", "--since", "yesterday", "--until", "10min ago")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == (
        "reading 2026-11-24 00:00:00 UTC → 2026-11-25 09:50:00 UTC (33h 50m)"
    )
    refused = run("logs", "health", "--since", "a fortnight")
    assert refused.exit_code == 2
    assert "--since 'a fortnight' is not a time I can read" in refused.stderr
    assert "Traceback" not in refused.output


def test_text_lines_are_labelled_aligned_and_uncoloured_off_a_terminal(world):
    result = run("logs", "create-feedback", "health", "--since", "1h")
    assert result.exit_code == 0, result.output
    day = clock_of(world)[:-2]  # "YYYY-MM-DD HH:MM:" plus the seconds below
    s = world.base.second
    assert result.stdout.splitlines()[:5] == [
        f"{day}{s:02d}.000 create-feedback [3]          START RequestId: {RID[0]} Version: 3",
        f"{day}{s:02d}.001 create-feedback [3]  INFO    feedback stored  feedbackId=f-1 rating=5 "
        f"cold_start=true function_request_id={RID[0]}",
        f"{day}{s:02d}.002 create-feedback [3]          END RequestId: {RID[0]}",
        f"{day}{s:02d}.003 create-feedback [3]          REPORT RequestId: {RID[0]}  Duration: "
        "12.34 ms  Billed Duration: 13 ms  Memory Size: 256 MB  Max Memory Used: 71 MB  "
        "Init Duration: 180.2 ms",
        f"{(world.base + timedelta(seconds=10)):%Y-%m-%d %H:%M:%S}.000 create-feedback [4]  "
        f"        START RequestId: {RID[1]} Version: 4",
    ]
    assert (
        f"health          [$LATEST] INFO    health check passed  function_request_id={RID[4]}"
        in (result.stdout)
    )
    assert "\x1b[" not in result.output
    # The one line on stderr says what "1h" was taken to mean.
    assert re.fullmatch(
        r"reading \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC → now \(1h 0m\)\n", result.stderr
    )


def test_level_is_a_threshold_and_drops_platform_lines(world):
    errors = lines_of(run("logs", "--since", "1h", "--json", "--level", "ERROR"))
    assert [(e["function"], e["record"]["message"]) for e in errors] == [
        ("create-feedback", "write failed")
    ]
    warnings = lines_of(run("logs", "--since", "1h", "--json", "--level", "warning"))
    assert [e["record"]["message"] for e in warnings] == ["slow write", "write failed"]
    debug = lines_of(run("logs", "--since", "1h", "--json", "--level", "DEBUG"))
    assert len(debug) == 6
    assert {e["kind"] for e in debug} == {"json"}


def test_request_id_keeps_that_invocation_with_its_platform_lines(world):
    result = run("logs", "--since", "1h", "--json", "--request-id", RID[2])
    got = [e["message"].split("\t")[0] for e in lines_of(result)]
    assert got == [
        f"START RequestId: {RID[2]} Version: 3",
        got[1],
        f"END RequestId: {RID[2]}",
        f"REPORT RequestId: {RID[2]}",
    ]
    assert json.loads(lines_of(result)[1]["message"])["message"] == "write failed"


def test_version_filter(world):
    result = run("logs", "create-feedback", "--since", "1h", "--json", "--version", "4")
    events = lines_of(result)
    assert {e["version"] for e in events} == {"4"}
    assert len(events) == 4
    latest = lines_of(run("logs", "--since", "1h", "--json", "--version", "$LATEST"))
    assert {e["function"] for e in latest} == {"health"}


def test_json_filter_pattern_is_verified_here_because_moto_ignores_it(world):
    result = run("logs", "--since", "1h", "--json", "--filter", "{ $.rating = 5 }")
    assert [e["record"]["feedbackId"] for e in lines_of(result)] == ["f-1"]
    terms = run("logs", "--since", "1h", "--json", "--filter", '"slow write"')
    assert [e["record"]["message"] for e in lines_of(terms)] == ["slow write"]


def test_no_platform_hides_start_end_report(world):
    events = lines_of(run("logs", "--since", "1h", "--json", "--no-platform"))
    assert len(events) == 6
    assert not any(e["kind"] == "platform" for e in events)


def test_until_bounds_the_window(world):
    until = (world.base + timedelta(seconds=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
    events = lines_of(run("logs", "--since", "1h", "--until", until, "--json"))
    assert {e["function"] for e in events} == {"create-feedback", "list-feedback"}
    assert max(e["timestamp"] for e in events) <= int(world.base.timestamp() * 1000) + 6000


def test_the_filter_is_sent_to_cloudwatch(world):
    logs = boto3.client("logs")
    sent: list[str] = []
    logs.meta.events.register(
        "before-parameter-build.logs.FilterLogEvents",
        lambda params, **_: sent.append(params.get("filterPattern")),
    )
    query = LogQuery.create(["create-feedback", "health"], level="ERROR")
    list(LogReader(logs, StackNames(world.stack), query).read(0))
    assert sent == ['{ $.level = "ERROR" }'] * 2


def test_unknown_function_lists_the_valid_ones(world):
    result = run("logs", "create-feedbak")
    assert result.exit_code == 2
    assert (
        "unknown function 'create-feedbak'; valid names: create-feedback, list-feedback, "
        "get-analytics, health, stream-aggregator, rollback-orchestrator"
    ) in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--since", "ten minutes"],
            "--since 'ten minutes' is not a time I can read (use 30s, 10m",
        ),
        (["--until", "soon"], "--until 'soon' is not a time I can read"),
        (["--since", "1h", "--until", "2h"], "--until '2h' is before --since '1h'"),
        (["-t", "--until", "now"], "--until cannot be used with --follow"),
        (["--level", "LOUD"], "--level 'LOUD' is not one of ERROR, WARNING, INFO, DEBUG"),
        (["--filter", "{ $.level = "], "--filter '{ $.level = ' is not a filter pattern"),
    ],
)
def test_bad_input_is_a_usage_error(world, args, message):
    result = run("logs", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_a_function_that_never_ran_is_a_note_not_an_error(world):
    result = run("logs", "get-analytics", "--since", "1h")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr.splitlines()[1:] == ["get-analytics has no logs yet: it never ran"]


def test_nothing_in_the_window_says_so(world):
    result = run("logs", "health", "--since", "1m")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "no log events from " in result.stderr
    assert "(widen --since or relax the filters)" in result.stderr


def test_follow_prints_then_ctrl_c_exits_0_without_a_traceback(world, monkeypatch):
    def interrupt(_seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(logs_run, "sleep", interrupt)
    result = run("logs", "health", "--follow", "--since", "1h", "--json")
    assert result.exit_code == 0
    assert [e["function"] for e in lines_of(result)] == ["health"] * 4
    assert result.stderr.startswith("following 1 function on stage test from ")
    assert result.stderr.endswith("; Ctrl-C stops\nstopped following\n")


def test_follow_catches_late_events_and_repeats_none(world):
    """Against moto: an event ingested after a poll that covered its timestamp still shows."""
    base_ms = int(world.base.timestamp() * 1000)
    now = [world.base.timestamp() + 60]
    at = lambda seconds: world.base + timedelta(seconds=seconds)  # noqa: E731
    script = [
        # between polls 1 and 2: a new invocation, and a late one stamped before poll 1 began
        lambda: (
            world.invoke("health", "$LATEST", at(61), Invocation(RID[5], [("INFO", "new", {})])),
            world.invoke("list-feedback", "2", at(58), Invocation(RID[6], [("INFO", "late", {})])),
        ),
        lambda: world.invoke("health", "$LATEST", at(63), Invocation(RID[7], [("INFO", "x", {})])),
        lambda: None,
    ]

    def sleep(_seconds: float) -> None:
        if not script:
            raise StopFollowingError
        now[0] += 2
        script.pop(0)()

    query = LogQuery.create(["create-feedback", "list-feedback", "health"], include_platform=False)
    reader = LogReader(boto3.client("logs"), StackNames(world.stack), query)
    events = follow(reader, base_ms, sleep=sleep, clock=lambda: now[0])
    seen = collect(events, lambda e: (e.function, e.record["message"]))
    assert seen[:6] == [
        ("create-feedback", "feedback stored"),
        ("list-feedback", "query"),
        ("list-feedback", "listed"),
        ("create-feedback", "slow write"),
        ("health", "health check passed"),
        ("create-feedback", "write failed"),
    ]
    assert seen[6:] == [("list-feedback", "late"), ("health", "new"), ("health", "x")]


def test_follow_backs_off_when_throttled_against_a_stubbed_client(world):
    logs = boto3.client("logs", config=Config(retries={"max_attempts": 1}))
    stub = Stubber(logs)
    for _ in range(3):
        stub.add_client_error("filter_log_events", "ThrottlingException", "Rate exceeded")
    event = {
        "logStreamName": "2026/11/25/[5]abc",
        "timestamp": 1_000,
        "message": '{"level":"INFO","message":"after the storm"}\n',
        "eventId": "e1",
        "ingestionTime": 1_001,
    }
    stub.add_response("filter_log_events", {"events": [event]})
    stub.add_response("filter_log_events", {"events": [event]})  # the overlap: not repeated
    sleeps: list[float] = []
    notes: list[str] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 5:
            raise StopFollowingError

    reader = LogReader(logs, StackNames(world.stack), LogQuery.create(["health"]))
    with stub:
        events = follow(reader, 0, sleep=sleep, clock=lambda: 2.0, note=notes.append)
        got = collect(events, lambda e: (e.version, e.record["message"]))
    assert got == [("5", "after the storm")]
    assert sleeps == [4, 8, 10, 2, 2]
    assert notes == [
        "CloudWatch Logs is throttling; retrying in 4s",
        "CloudWatch Logs is throttling; retrying in 8s",
        "CloudWatch Logs is throttling; retrying in 10s",
    ]
    stub.assert_no_pending_responses()


def test_an_expired_session_mid_follow_is_one_line_with_a_hint(world, monkeypatch):
    from feedbackctl.aws import Aws

    original = Aws.client

    def client(self, service):
        made = original(self, service)
        if service == "logs":
            stub = Stubber(made)
            stub.add_client_error("filter_log_events", "ExpiredTokenException", "expired")
            stub.activate()
        return made

    monkeypatch.setattr(Aws, "client", client)
    result = run("logs", "health", "--tail")
    assert result.exit_code == 1
    assert "your AWS session expired while following the logs (ExpiredTokenException)" in (
        result.stderr
    )
    assert "then resume with --since " in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_a_closed_pipe_ends_the_command_quietly(world, moto_endpoint):
    """`feedbackctl logs | head -1`: exit 0 and no BrokenPipeError traceback."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    # More than a pipe's buffer (64 KiB), so the command is still writing when the reader goes.
    group, stream = world.stream("health", "7", world.base)
    start = int(world.base.timestamp() * 1000)
    world.logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": start + i, "message": "x" * 200} for i in range(2000)],
    )
    command = [sys.executable, "-m", "feedbackctl", "logs", "--since", "1h"]
    env = {**os.environ, "AWS_ENDPOINT_URL": moto_endpoint}
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=root
    )
    first = process.stdout.readline()
    process.stdout.close()
    assert process.wait(timeout=60) == 0
    assert b"START RequestId" in first
    assert b"Traceback" not in process.stderr.read()
