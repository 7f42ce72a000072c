"""The rollback orchestrator on CloudWatch's SNS alarm messages (tests/events/sns_alarm_*.json),
against moto: the function comes from the alarm's dimensions, and only a version failing on its
own per-version evidence is rolled back; anything else is a ledger record with the figures."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from feedbackctl.engine.evidence import queries
from feedbackctl.engine.incident import alarm_facts
from feedbackctl.engine.ledger import DynamoLedger
from feedbackctl.engine.model import LedgerEvent, LedgerState, iso
from feedbackctl.sandbox import InvocationContext
from lambdas.rollback_orchestrator import handler as orchestrator
from tests.conftest import load_event
from tests.functional.engine_fixtures import EngineWorld, make_world

FN = "create-feedback"
EVENT_STACK = "feedback-events"  # the stack name the sample events were written for
CHANGED_AT = datetime(2026, 11, 25, 10, 5, tzinfo=UTC)  # StateChangeTime of every sample
IN_WINDOW = CHANGED_AT - timedelta(seconds=30)  # inside Period 60 × EvaluationPeriods 1
RELEASED_AT = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # version 3's release
BEFORE_RELEASE = RELEASED_AT - timedelta(seconds=30)


def alarm_event(name: str, stack: str, changed_at: datetime = CHANGED_AT) -> dict[str, Any]:
    """A sample event, retargeted at this test's stack (the alarm JSON sits inside as text)."""
    text = json.dumps(load_event(name)).replace(EVENT_STACK, stack)
    text = text.replace("2026-11-25T10:05:00.000+0000", f"{changed_at:%Y-%m-%dT%H:%M:%S}.000+0000")
    event: dict[str, Any] = json.loads(text)
    return event


def alarm_of(event: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(event["Records"][0]["Sns"]["Message"])
    return message


def _release(version: str, previous: str, at: datetime) -> LedgerEvent:
    return LedgerEvent(
        FN, "release", "done", iso(at), "deployer", "deploy (code, all-at-once)", version, previous
    )


@pytest.fixture
def world(moto_endpoint, monkeypatch) -> EngineWorld:
    w = make_world()
    w.add_function(FN, versions=3)
    ledger = DynamoLedger(w.ddb, w.ledger_table)
    state = LedgerState(FN).with_release("2", "1")
    assert ledger.claim(0, state, _release("2", "1", RELEASED_AT - timedelta(days=3)), "")
    state = ledger.state(FN)
    assert ledger.claim(
        state.revision, state.with_release("3", "2"), _release("3", "2", RELEASED_AT), ""
    )
    monkeypatch.setenv("STACK_NAME", w.stack)
    monkeypatch.setattr(orchestrator, "_ports", w.ports())
    monkeypatch.setattr(orchestrator, "_cloudwatch", boto3.client("cloudwatch"))
    return w


def put_version(
    stack: str, version: str, at: datetime, invocations: int, errors: int = 0, logged: int = 0
) -> None:
    """What Lambda (alias invocations) and our per-version metric filter publish for a version."""
    physical = f"{stack}-{FN}"
    dims = [
        {"Name": "FunctionName", "Value": physical},
        {"Name": "Resource", "Value": f"{physical}:live"},
        {"Name": "ExecutedVersion", "Value": version},
    ]
    cloudwatch = boto3.client("cloudwatch")
    cloudwatch.put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[
            {"MetricName": name, "Dimensions": dims, "Timestamp": at, "Value": value}
            for name, value in (("Invocations", invocations), ("Errors", errors))
        ],
    )
    if logged:
        ours = [{"Name": "Function", "Value": FN}, {"Name": "ExecutedVersion", "Value": version}]
        cloudwatch.put_metric_data(
            Namespace=f"Feedbackctl/{stack}",
            MetricData=[
                {"MetricName": "LoggedErrors", "Dimensions": ours, "Timestamp": at, "Value": logged}
            ],
        )


def handle(event: dict[str, Any]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = orchestrator.lambda_handler(
        event, InvocationContext("rollback-orchestrator")
    )["results"]
    return results


def ledger_events(world: EngineWorld) -> list[LedgerEvent]:
    return DynamoLedger(world.ddb, world.ledger_table).events(FN)


def _alias_updates(world: EngineWorld) -> list[str]:
    calls: list[str] = []
    world.lambda_client.meta.events.register(
        "provide-client-params.lambda.UpdateAlias",
        lambda params, **_: calls.append(params["FunctionVersion"]),
    )
    return calls


# --- mapping an alarm to its function --------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("sns_alarm_lambda_errors.json", FN),  # FunctionName = the physical name
        ("sns_alarm_logged_errors.json", FN),  # Function = the seed, in the stack's namespace
        ("sns_alarm_metric_math.json", FN),  # the dimensions of the expression's metrics
        ("sns_alarm_no_function.json", None),  # ApiName/Stage: no function
    ],
)
def test_the_function_comes_from_the_alarms_dimensions(name: str, expected: str | None) -> None:
    alarm = alarm_of(alarm_event(name, "fb-map"))
    assert orchestrator.function_for_alarm(alarm, "fb-map") == expected


def test_the_alarm_name_plays_no_part() -> None:
    alarm = alarm_of(alarm_event("sns_alarm_lambda_errors.json", "fb-map"))
    renamed = {**alarm, "AlarmName": "fb-map-health-errors"}
    assert orchestrator.function_for_alarm(renamed, "fb-map") == FN
    # Another stack's function, or our seed in another stack's namespace, is not ours.
    assert orchestrator.function_for_alarm(alarm, "fb-other") is None
    logged = alarm_of(alarm_event("sns_alarm_logged_errors.json", "fb-map"))
    assert orchestrator.function_for_alarm(logged, "fb-other") is None


def test_a_math_alarm_naming_two_functions_blames_neither() -> None:
    alarm = alarm_of(alarm_event("sns_alarm_metric_math.json", "fb-map"))
    other = {
        "Id": "health",
        "MetricStat": {
            "Metric": {
                "Dimensions": [{"value": "fb-map-health", "name": "FunctionName"}],
                "MetricName": "Errors",
                "Namespace": "AWS/Lambda",
            },
            "Period": 60,
            "Stat": "Sum",
        },
        "ReturnData": False,
    }
    alarm["Trigger"]["Metrics"].append(other)
    assert orchestrator.function_for_alarm(alarm, "fb-map") is None


def test_the_window_is_the_alarms_own() -> None:
    alarm = alarm_of(alarm_event("sns_alarm_metric_math.json", "x"))
    window = alarm_facts(alarm, "x", received_at=datetime.now(UTC)).window
    assert window is not None
    assert (window.start, window.end, window.period) == (
        CHANGED_AT - timedelta(seconds=60),
        CHANGED_AT,
        60,
    )


# --- deciding on evidence --------------------------------------------------------------------


def test_errors_the_previous_version_shares_are_skipped_and_recorded(world: EngineWorld) -> None:
    # Version 3 answers a client-caused error the way version 2 did before the release.
    put_version(world.stack, "3", IN_WINDOW, invocations=100, errors=20)
    put_version(world.stack, "2", BEFORE_RELEASE, invocations=100, errors=20)
    updates = _alias_updates(world)
    [result] = handle(alarm_event("sns_alarm_lambda_errors.json", world.stack))
    assert (result["outcome"], result["rule"], result["from"]) == ("skipped", "shared-errors", "3")
    assert updates == []
    assert world.alias_version(FN) == "3"
    latest = ledger_events(world)[0]
    assert (latest.kind, latest.outcome, latest.rule, latest.automatic) == (
        "rollback",
        "skipped",
        "shared-errors",
        True,
    )
    assert latest.actor == f"alarm:{world.stack}-{FN}-lambda-errors"
    evidence = latest.details["evidence"]
    assert evidence["status"] == "pass"
    assert (evidence["new"]["version"], evidence["new"]["invocations"]) == ("3", 100)
    assert (evidence["new"]["errors"], evidence["new"]["errorRate"]) == (20, 0.2)
    assert (evidence["stable"]["version"], evidence["stable"]["errorRate"]) == ("2", 0.2)
    assert latest.details["baseline"] == "before-release"
    assert "v3 20/100 failed (20.0%) vs v2 20/100 failed (20.0%)" in latest.reason
    [note] = world.notifications()
    assert (note["outcome"], note["rule"], note["function"]) == ("skipped", "shared-errors", FN)
    assert DynamoLedger(world.ddb, world.ledger_table).state(FN).bad_versions == frozenset()


def test_a_canary_sharing_the_primarys_errors_keeps_its_traffic(world: EngineWorld) -> None:
    world.lambda_client.update_alias(
        FunctionName=f"{world.stack}-{FN}",
        Name="live",
        FunctionVersion="2",
        RoutingConfig={"AdditionalVersionWeights": {"3": 0.1}},
    )
    # moto matches GetMetricData on dimensions alone, ignoring the namespace, so our seed-named
    # LoggedErrors of another test's stack would be read too: this test uses its own hour.
    changed_at = CHANGED_AT + timedelta(hours=1)
    at = changed_at - timedelta(seconds=30)
    put_version(world.stack, "3", at, invocations=40, logged=4)
    put_version(world.stack, "2", at, invocations=360, logged=36)
    [result] = handle(alarm_event("sns_alarm_logged_errors.json", world.stack, changed_at))
    assert (result["outcome"], result["rule"]) == ("skipped", "shared-errors")
    alias = world.lambda_client.get_alias(FunctionName=f"{world.stack}-{FN}", Name="live")
    assert alias["RoutingConfig"]["AdditionalVersionWeights"] == {"3": 0.1}
    details = ledger_events(world)[0].details
    assert details["baseline"] == "same-window"
    assert details["evidence"]["new"]["loggedErrors"] == 4
    assert details["evidence"]["stable"]["invocations"] == 360


def test_a_version_failing_alone_is_rolled_back_with_its_figures(world: EngineWorld) -> None:
    put_version(world.stack, "3", IN_WINDOW, invocations=50, errors=20)
    put_version(world.stack, "2", BEFORE_RELEASE, invocations=200)
    [result] = handle(alarm_event("sns_alarm_lambda_errors.json", world.stack))
    assert (result["outcome"], result["from"], result["to"]) == ("done", "3", "2")
    assert world.alias_version(FN) == "2"
    done = ledger_events(world)[0]
    assert (done.kind, done.outcome, done.version, done.previous_version) == (
        "rollback",
        "done",
        "2",
        "3",
    )
    assert "version 3 fails on its own" in done.reason
    assert "v3 20/50 failed (40.0%) vs v2 0/200 failed (0.0%)" in done.reason


def test_a_metric_math_alarm_rolls_back_the_function_its_metrics_name(world: EngineWorld) -> None:
    put_version(world.stack, "3", IN_WINDOW, invocations=30, errors=12)
    [result] = handle(alarm_event("sns_alarm_metric_math.json", world.stack))
    assert (result["function"], result["outcome"], result["to"]) == (FN, "done", "2")
    assert world.alias_version(FN) == "2"


def test_too_little_traffic_is_no_evidence(world: EngineWorld) -> None:
    put_version(world.stack, "3", IN_WINDOW, invocations=4, errors=2)
    [result] = handle(alarm_event("sns_alarm_lambda_errors.json", world.stack))
    assert (result["outcome"], result["rule"]) == ("skipped", "no-evidence")
    assert world.alias_version(FN) == "3"
    latest = ledger_events(world)[0]
    assert latest.rule == "no-evidence"
    assert latest.details["evidence"]["status"] == "inconclusive"


def test_an_alarm_naming_no_function_is_ignored(world: EngineWorld) -> None:
    put_version(world.stack, "3", IN_WINDOW, invocations=50, errors=50)
    before = len(ledger_events(world))
    [result] = handle(alarm_event("sns_alarm_no_function.json", world.stack))
    assert result == {
        "alarm": f"{world.stack}-api-5xx",
        "outcome": "ignored",
        "reason": "names no function of this stack",
    }
    assert world.alias_version(FN) == "3"
    assert len(ledger_events(world)) == before


def test_a_duplicate_delivery_rolls_back_once(world: EngineWorld) -> None:
    put_version(world.stack, "3", IN_WINDOW, invocations=50, errors=20)
    updates = _alias_updates(world)
    event = alarm_event("sns_alarm_lambda_errors.json", world.stack)
    first, second = handle(event)[0], handle(event)[0]
    assert first["outcome"] == "done"
    assert (second["outcome"], second["rule"]) == ("skipped", "duplicate-incident")
    assert updates == ["2"]
    events = ledger_events(world)
    assert [e.outcome for e in events[:2]] == ["skipped", "done"]
    assert events[1].actor == f"alarm:{world.stack}-{FN}-lambda-errors"


def test_ok_insufficient_data_and_non_alarm_messages_are_ignored(world: EngineWorld) -> None:
    alarm = alarm_of(alarm_event("sns_alarm_lambda_errors.json", world.stack))
    messages = [{**alarm, "NewStateValue": state} for state in ("OK", "INSUFFICIENT_DATA")]
    event = {
        "Records": [{"Sns": {"Message": json.dumps(m)}} for m in messages]
        + [{"Sns": {"Message": "not json"}}, {"Sns": {"Message": json.dumps({"a": 1})}}]
    }
    assert [r["outcome"] for r in handle(event)] == ["ignored"] * 4
    assert world.alias_version(FN) == "3"


# --- the exact evidence calls ----------------------------------------------------------------


def test_evidence_is_read_over_the_alarm_window_then_before_the_release(
    world: EngineWorld, monkeypatch
) -> None:
    """Version 2 served nothing in the alarm's window: its baseline is the same-length window
    ending at version 3's release. Exactly two GetMetricData calls, nothing else."""
    client = boto3.client("cloudwatch")
    stubber = Stubber(client)
    physical, namespace = f"{world.stack}-{FN}", f"Feedbackctl/{world.stack}"

    def answer(values: dict[str, float]) -> dict[str, Any]:
        return {
            "MetricDataResults": [
                {"Id": key, "Timestamps": [IN_WINDOW], "Values": [value], "StatusCode": "Complete"}
                for key, value in values.items()
            ]
        }

    stubber.add_response(
        "get_metric_data",
        answer({"inv_3": 60, "err_3": 9, "inv_2": 0}),
        {
            "MetricDataQueries": queries(physical, FN, namespace, ["3", "2"], 60),
            "StartTime": CHANGED_AT - timedelta(seconds=60),
            "EndTime": CHANGED_AT + timedelta(seconds=60),
            "ScanBy": "TimestampAscending",
        },
    )
    stubber.add_response(
        "get_metric_data",
        answer({"inv_2": 300, "err_2": 45}),
        {
            "MetricDataQueries": queries(physical, FN, namespace, ["2"], 60),
            "StartTime": RELEASED_AT - timedelta(seconds=120),
            "EndTime": RELEASED_AT,
            "ScanBy": "TimestampAscending",
        },
    )
    monkeypatch.setattr(orchestrator, "_cloudwatch", client)
    with stubber:
        [result] = handle(alarm_event("sns_alarm_lambda_errors.json", world.stack))
    stubber.assert_no_pending_responses()
    # 15 % now against 15 % before the release: the same client-caused errors.
    assert (result["outcome"], result["rule"]) == ("skipped", "shared-errors")
    windows = ledger_events(world)[0].details["windows"]
    assert windows["baseline"]["end"] == "2026-11-25T09:00:00.000Z"


def test_the_stages_release_settings_set_the_rules(world: EngineWorld, monkeypatch) -> None:
    """A stage asking for more traffic before judging makes the same evidence no evidence."""
    put_version(world.stack, "3", IN_WINDOW, invocations=50, errors=20)
    monkeypatch.setenv("VERDICT_MIN_INVOCATIONS", "100")
    monkeypatch.setenv("VERDICT_MAX_ERROR_RATE_INCREASE", "0.5")
    assert orchestrator.verdict_rules().min_invocations == 100
    [result] = handle(alarm_event("sns_alarm_lambda_errors.json", world.stack))
    # 20 failures of 50 could still end below 50 % of 100 invocations: not decisive.
    assert (result["outcome"], result["rule"]) == ("skipped", "no-evidence")
    assert world.alias_version(FN) == "3"
