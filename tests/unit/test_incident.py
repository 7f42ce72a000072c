"""feedbackctl.engine.incident: an alarm's facts from SNS's and DescribeAlarms' shapes (pure),
and `respond` over in-memory ports and a fake evidence source."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from feedbackctl.engine.blame import AlarmWindow
from feedbackctl.engine.incident import (
    Responder,
    alarm_facts,
    function_for_alarm,
    ignore_reason,
    respond,
)
from feedbackctl.engine.model import AliasState, LedgerState
from feedbackctl.engine.rollback import Ports
from feedbackctl.engine.verdict import VersionEvidence
from tests.conftest import load_event
from tests.fakes import FakeLambda, FakeLedger, FakeNotifier

STACK = "feedback-events"  # the stack the sample SNS events were written for
FN = "create-feedback"
PHYSICAL = f"{STACK}-{FN}"
CHANGED_AT = datetime(2026, 11, 25, 10, 5, tzinfo=UTC)  # StateChangeTime of every sample
RECEIVED = datetime(2026, 12, 1, tzinfo=UTC)


def sns(name: str) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(load_event(name)["Records"][0]["Sns"]["Message"])
    return message


def described(**fields: Any) -> dict[str, Any]:
    """A DescribeAlarms `MetricAlarms` entry as boto3 returns it (timestamps as datetimes)."""
    return {
        "AlarmName": f"{PHYSICAL}-lambda-errors",
        "StateValue": "ALARM",
        "StateReason": "Threshold Crossed",
        "StateUpdatedTimestamp": CHANGED_AT + timedelta(minutes=3),
        "StateTransitionedTimestamp": CHANGED_AT,
        "Namespace": "AWS/Lambda",
        "MetricName": "Errors",
        "Dimensions": [
            {"Name": "FunctionName", "Value": PHYSICAL},
            {"Name": "Resource", "Value": f"{PHYSICAL}:live"},
        ],
        "Period": 60,
        "EvaluationPeriods": 3,
        **fields,
    }


def math_metric(function: str, metric: str = "Errors") -> dict[str, Any]:
    return {
        "Id": metric.lower(),
        "MetricStat": {
            "Metric": {
                "Namespace": "AWS/Lambda",
                "MetricName": metric,
                "Dimensions": [{"Name": "FunctionName", "Value": f"{STACK}-{function}"}],
            },
            "Period": 300,
            "Stat": "Sum",
        },
        "ReturnData": False,
    }


# --- the SNS notification's shape ------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "function"),
    [
        ("sns_alarm_lambda_errors.json", FN),  # FunctionName = the physical name
        ("sns_alarm_logged_errors.json", FN),  # Function = the seed, in the stack's namespace
        ("sns_alarm_metric_math.json", FN),  # the dimensions of the expression's metrics
        ("sns_alarm_no_function.json", None),  # ApiName/Stage: no function
    ],
)
def test_facts_from_an_sns_message(event: str, function: str | None) -> None:
    facts = alarm_facts(sns(event), STACK, received_at=RECEIVED)
    assert (facts.state, facts.function, facts.changed_at) == ("ALARM", function, CHANGED_AT)
    assert facts.window == AlarmWindow(CHANGED_AT, 60, 1)
    assert facts.incident == f"{facts.name}@{int(CHANGED_AT.timestamp())}"
    assert facts.reason.startswith("Threshold Crossed")


def test_the_alarm_name_plays_no_part() -> None:
    renamed = {**sns("sns_alarm_lambda_errors.json"), "AlarmName": f"{STACK}-health-errors"}
    assert function_for_alarm(renamed, STACK) == FN
    # Another stack's function, or our seed in another stack's namespace, is not ours.
    assert function_for_alarm(renamed, "fb-other") is None
    assert function_for_alarm(sns("sns_alarm_logged_errors.json"), "fb-other") is None


# --- DescribeAlarms' shape ---------------------------------------------------------------------


def test_facts_from_describe_alarms() -> None:
    facts = alarm_facts(described(), STACK, received_at=RECEIVED)
    assert (facts.name, facts.state, facts.reason) == (
        f"{PHYSICAL}-lambda-errors",
        "ALARM",
        "Threshold Crossed",
    )
    assert facts.function == FN
    # The transition time, not the later update of the reason: the key SNS would give too.
    assert facts.window == AlarmWindow(CHANGED_AT, 60, 3)
    assert facts.incident == f"{PHYSICAL}-lambda-errors@{int(CHANGED_AT.timestamp())}"


def test_sns_and_describe_alarms_give_one_incident_for_one_transition() -> None:
    message = sns("sns_alarm_lambda_errors.json")
    api = described(AlarmName=message["AlarmName"])
    from_sns = alarm_facts(message, STACK, received_at=RECEIVED)
    from_api = alarm_facts(api, STACK, received_at=RECEIVED)
    assert from_sns.incident == from_api.incident
    assert from_sns.function == from_api.function == FN


def test_logged_errors_alarm_from_describe_alarms() -> None:
    alarm = described(
        Namespace=f"Feedbackctl/{STACK}",
        MetricName="LoggedErrors",
        Dimensions=[{"Name": "Function", "Value": "list-feedback"}],
    )
    assert function_for_alarm(alarm, STACK) == "list-feedback"
    elsewhere = {**alarm, "Namespace": "Feedbackctl/fb-other"}
    assert function_for_alarm(elsewhere, STACK) is None


def test_a_math_alarm_from_describe_alarms() -> None:
    alarm = described(
        Metrics=[
            {"Id": "rate", "Expression": "100 * errors / invocations", "ReturnData": True},
            math_metric(FN),
            math_metric(FN, "Invocations"),
        ]
    )
    for key in ("Namespace", "MetricName", "Dimensions", "Period"):
        del alarm[key]
    facts = alarm_facts(alarm, STACK, received_at=RECEIVED)
    assert facts.function == FN
    assert facts.window == AlarmWindow(CHANGED_AT, 300, 3)  # the period sits on the metrics


def test_a_math_alarm_over_two_functions_names_neither() -> None:
    alarm = described(Metrics=[math_metric(FN), math_metric("health")])
    del alarm["Dimensions"]
    assert function_for_alarm(alarm, STACK) is None


def test_an_alarm_naming_no_function() -> None:
    alarm = described(
        Namespace="AWS/ApiGateway",
        Dimensions=[{"Name": "ApiName", "Value": f"{STACK}-api"}, {"Name": "Stage", "Value": "x"}],
    )
    facts = alarm_facts(alarm, STACK, received_at=RECEIVED)
    assert facts.function is None
    assert ignore_reason(facts) == "names no function of this stack"


def test_timestamps_without_a_zone_are_utc_and_missing_ones_fall_back() -> None:
    naive = described(StateTransitionedTimestamp=datetime(2026, 11, 25, 10, 5))
    assert alarm_facts(naive, STACK, received_at=RECEIVED).changed_at == CHANGED_AT
    updated_only = described()
    del updated_only["StateTransitionedTimestamp"]
    later = CHANGED_AT + timedelta(minutes=3)
    assert alarm_facts(updated_only, STACK, received_at=RECEIVED).changed_at == later
    del updated_only["StateUpdatedTimestamp"]
    assert alarm_facts(updated_only, STACK, received_at=RECEIVED).changed_at == RECEIVED


def test_no_window_and_other_states_are_ignored() -> None:
    no_window = alarm_facts(described(EvaluationPeriods=0), STACK, received_at=RECEIVED)
    assert no_window.window is None
    assert ignore_reason(no_window) == "no evaluation window"
    ok = alarm_facts(described(StateValue="OK"), STACK, received_at=RECEIVED)
    assert ignore_reason(ok) == "state OK"
    assert ignore_reason(alarm_facts(described(), STACK, received_at=RECEIVED)) is None


# --- respond over fakes ------------------------------------------------------------------------


class FakeSource:
    """Per-version evidence for any window, and the periods it was built for."""

    def __init__(self, evidence: dict[str, VersionEvidence]) -> None:
        self.evidence = evidence
        self.periods: list[int] = []

    def __call__(self, period: int) -> FakeSource:
        self.periods.append(period)
        return self

    def collect(
        self, function: str, versions: Sequence[str], start: datetime, end: datetime
    ) -> dict[str, VersionEvidence]:
        return {v: self.evidence[v] for v in versions if v in self.evidence}


def setup(
    evidence: dict[str, VersionEvidence], ledger: LedgerState | None = None
) -> tuple[Responder, FakeLambda, FakeLedger, FakeSource]:
    lambda_ = FakeLambda(AliasState("3", revision_id="r1"), ["1", "2", "3"])
    store = FakeLedger(ledger or LedgerState(FN).with_release("2", "1").with_release("3", "2"))
    source = FakeSource(evidence)
    return Responder(Ports(lambda_, store, FakeNotifier()), source), lambda_, store, source


def test_shared_errors_are_a_recorded_skip() -> None:
    responder, lambda_, store, source = setup(
        {"3": VersionEvidence("3", 100, errors=20), "2": VersionEvidence("2", 100, errors=20)}
    )
    facts = alarm_facts(described(), STACK, received_at=RECEIVED)
    response = respond(facts, responder, now=RECEIVED)
    assert (response.outcome, response.function) == ("skipped", FN)
    assert response.as_dict() == {
        "alarm": f"{PHYSICAL}-lambda-errors",
        "function": FN,
        "outcome": "skipped",
        "from": "3",
        "to": None,
        "rule": "shared-errors",
        "detail": "version 3's errors are within the rules of the version before it "
        "(v3 20/100 failed (20.0%) vs v2 20/100 failed (20.0%))",
    }
    assert lambda_.moves == []
    assert source.periods == [60]
    [event] = store.events.values()
    assert (event.outcome, event.rule, event.actor) == (
        "skipped",
        "shared-errors",
        f"alarm:{PHYSICAL}-lambda-errors",
    )
    assert event.details["incident"] == facts.incident


def test_a_version_failing_alone_is_rolled_back_as_the_expected_version() -> None:
    responder, lambda_, store, _ = setup(
        {"3": VersionEvidence("3", 50, errors=20), "2": VersionEvidence("2", 200)}
    )
    facts = alarm_facts(described(), STACK, received_at=RECEIVED)
    response = respond(facts, responder, now=RECEIVED, actor="watch:alice")
    assert response.result is not None
    assert (response.outcome, response.result.to_version) == ("done", "2")
    assert lambda_.moves == [(FN, "2")]
    done = next(e for e in store.events.values() if e.outcome == "done")
    assert (done.actor, done.details["expectedVersion"]) == ("watch:alice", "3")
    assert done.details["evidence"]["new"]["errorRate"] == 0.4
    assert store.state(FN).last_incident == facts.incident


def test_a_handled_incident_goes_to_the_engine_without_evidence() -> None:
    facts = alarm_facts(described(), STACK, received_at=RECEIVED)
    handled = LedgerState(FN, last_incident=facts.incident).with_release("3", "2")
    responder, lambda_, _, source = setup({}, handled)
    response = respond(facts, responder, now=RECEIVED)
    assert response.result is not None
    assert (response.outcome, response.result.rule) == ("skipped", "duplicate-incident")
    assert source.periods == []  # no evidence read
    assert lambda_.moves == []


def test_ignored_facts_touch_no_port() -> None:
    responder, lambda_, store, source = setup({})
    facts = alarm_facts(sns("sns_alarm_no_function.json"), STACK, received_at=RECEIVED)
    response = respond(facts, responder, now=RECEIVED)
    assert response.as_dict() == {
        "alarm": f"{STACK}-api-5xx",
        "outcome": "ignored",
        "reason": "names no function of this stack",
    }
    assert (lambda_.calls, store.events, source.periods) == ([], {}, [])
