"""`feedbackctl watch` against moto decides as the orchestrator does: the alarm's dimensions
name the function, and per-version AWS/Lambda metrics decide whether the live version is to
blame. Errors the previous version shares are a recorded skip; a version failing alone is
rolled back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from feedbackctl.engine.incident import Responder, metrics_evidence
from feedbackctl.engine.ledger import DynamoLedger
from feedbackctl.engine.model import LedgerEvent, LedgerState, iso
from feedbackctl.naming import StackNames
from feedbackctl.watch import WatchEvent, guard
from tests.functional.engine_fixtures import EngineWorld, make_world

# moto matches GetMetricData on dimensions alone, ignoring the namespace: a function no other
# functional test writes LoggedErrors for keeps their datapoints out of this test's evidence.
FN = "list-feedback"
ACTOR = "watch:arn:aws:sts::123456789012:user/moto"  # moto's GetCallerIdentity


def put_version(
    stack: str, function: str, version: str, at: datetime, invocations: int, errors: int = 0
) -> None:
    """What Lambda publishes for alias invocations of one version (dimensions in its order)."""
    physical = f"{stack}-{function}"
    dims = [
        {"Name": "FunctionName", "Value": physical},
        {"Name": "Resource", "Value": f"{physical}:live"},
        {"Name": "ExecutedVersion", "Value": version},
    ]
    boto3.client("cloudwatch").put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[
            {"MetricName": name, "Dimensions": dims, "Timestamp": at, "Value": value}
            for name, value in (("Invocations", invocations), ("Errors", errors))
        ],
    )


def lambda_errors_alarm(cloudwatch: Any, stack: str, function: str) -> str:
    """`<stack>-<seed>-lambda-errors` as the template makes it: AWS/Lambda Errors of the alias."""
    name = StackNames(stack).lambda_errors_alarm(function)
    physical = f"{stack}-{function}"
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Dimensions=[
            {"Name": "FunctionName", "Value": physical},
            {"Name": "Resource", "Value": f"{physical}:live"},
        ],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=5,
        ComparisonOperator="GreaterThanThreshold",
    )
    return name


def released(w: EngineWorld, function: str, at: datetime) -> None:
    """The ledger of a function whose version 3 replaced 2 (which replaced 1) at `at`."""
    ledger = DynamoLedger(w.ddb, w.ledger_table)
    state = LedgerState(function).with_release("2", "1").with_release("3", "2")
    event = LedgerEvent(function, "release", "done", iso(at), "deployer", "deploy", "3", "2")
    assert ledger.claim(0, state, event, "")


@pytest.fixture
def world(moto_endpoint: str, tmp_path, monkeypatch) -> tuple[EngineWorld, Any, str, datetime]:
    w = make_world()
    w.add_function(FN, versions=3)
    released_at = datetime.now(UTC) - timedelta(hours=1)
    released(w, FN, released_at)
    cw = boto3.client("cloudwatch")
    name = lambda_errors_alarm(cw, w.stack, FN)
    config = tmp_path / "feedbackctl.toml"
    config.write_text(
        '[project]\ndefault_stage = "test"\n'
        f'[stages.test]\nregion = "us-east-1"\nstack_name = "{w.stack}"\n'
    )
    monkeypatch.setenv("FEEDBACKCTL_CONFIG", str(config))
    return w, cw, name, released_at


def watch_one_poll(w: EngineWorld, monkeypatch, *args: str) -> Any:
    """`feedbackctl watch` with the real guard and responder, stopped (as by Ctrl-C) at the end
    of its first poll; only the health check is injected, since moto cannot run handlers."""
    import feedbackctl.cli.commands.watch.run as flow
    from feedbackctl.cli.app import app

    real_guard = flow.guard

    def first_poll(*a: Any, **kw: Any) -> Iterator[WatchEvent]:
        for event in real_guard(*a, **kw):
            if event.kind == "tick":
                raise KeyboardInterrupt
            yield event

    monkeypatch.setattr(flow, "engine_ports", lambda aws: w.ports())
    monkeypatch.setattr(flow, "guard", first_poll)
    return CliRunner().invoke(app, ["watch", "-f", FN, *args], catch_exceptions=False)


def test_watch_skips_an_alarm_whose_errors_the_previous_version_shares(world, monkeypatch):
    w, cw, name, released_at = world
    now = datetime.now(UTC)
    # Version 3 answers 20 % with an error now; version 2 did the same before the release.
    put_version(w.stack, FN, "3", now - timedelta(seconds=30), invocations=100, errors=20)
    put_version(w.stack, FN, "2", released_at - timedelta(seconds=30), invocations=100, errors=20)
    cw.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="20 errors")

    result = watch_one_poll(w, monkeypatch)

    assert result.exit_code == 0, result.output
    figures = "(v3 20/100 failed (20.0%) vs v2 20/100 failed (20.0%))"
    assert result.output.splitlines() == [
        "watching 1 function(s) on stage test every 10s; Ctrl-C stops",
        f"warning: {FN}: {name}: 20 errors",
        "nothing to do (shared-errors): version 3's errors are within the rules of the "
        f"version before it {figures}",
        "stopped watching",
    ]
    assert w.alias_version(FN) == "3"
    latest = DynamoLedger(w.ddb, w.ledger_table).events(FN)[0]
    assert (latest.kind, latest.outcome, latest.rule, latest.actor, latest.automatic) == (
        "rollback",
        "skipped",
        "shared-errors",
        ACTOR,
        True,
    )
    assert latest.details["baseline"] == "before-release"
    assert latest.details["evidence"]["new"]["errorRate"] == 0.2
    assert latest.details["evidence"]["stable"]["errorRate"] == 0.2
    [note] = w.notifications()
    assert (note["outcome"], note["rule"], note["function"]) == ("skipped", "shared-errors", FN)


def test_watch_rolls_back_when_only_the_current_version_fails(world, monkeypatch):
    w, cw, name, released_at = world
    now = datetime.now(UTC)
    put_version(w.stack, FN, "3", now - timedelta(seconds=30), invocations=50, errors=20)
    put_version(w.stack, FN, "2", released_at - timedelta(seconds=30), invocations=200)
    cw.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="20 errors")

    result = watch_one_poll(w, monkeypatch)

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1] == f"warning: {FN}: {name}: 20 errors"
    assert lines[2].startswith(f"✓ {FN} rolled back from 3 to 2 in ")
    assert lines[3:] == ["stopped watching"]
    assert w.alias_version(FN) == "2"
    done = DynamoLedger(w.ddb, w.ledger_table).events(FN)[0]
    assert (done.outcome, done.previous_version, done.version, done.actor) == (
        "done",
        "3",
        "2",
        ACTOR,
    )
    assert "version 3 fails on its own" in done.reason
    assert "v3 20/50 failed (40.0%) vs v2 0/200 failed (0.0%)" in done.reason
    assert done.details["expectedVersion"] == "3"


def test_an_alarm_is_mapped_by_its_dimensions_not_its_name(world):
    """An alarm named like list-feedback's but measuring another function of the stack acts
    on nothing here; and a guard acts on each transition once."""
    w, cw, _, _ = world
    other = f"{w.stack}-create-feedback"
    cw.put_metric_alarm(
        AlarmName=StackNames(w.stack).errors_alarm(FN),  # list-feedback's name ...
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Dimensions=[{"Name": "FunctionName", "Value": other}],  # ... create-feedback's metric
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=5,
        ComparisonOperator="GreaterThanThreshold",
    )
    cw.set_alarm_state(
        AlarmName=StackNames(w.stack).errors_alarm(FN), StateValue="ALARM", StateReason="x"
    )
    responder = Responder(w.ports(), metrics_evidence(cw, w.stack))
    events = guard(cw, responder, StackNames(w.stack), [FN], "watch:alice", sleep=lambda _: None)
    ignored, tick = next(events), next(events)
    assert (ignored.kind, ignored.function) == ("ignored", "create-feedback")
    assert ignored.detail == (
        f"{w.stack}-{FN}-errors is about create-feedback, which this guard does not watch; ignored"
    )
    assert tick.kind == "tick"
    assert next(events).kind == "tick"  # the same transition is not reported twice
    assert w.alias_version(FN) == "3"
    assert DynamoLedger(w.ddb, w.ledger_table).events(FN)[0].kind == "release"
