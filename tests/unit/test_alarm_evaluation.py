"""CloudWatch alarm semantics (feedbackctl.local.alarms), pure: the evaluation window, each
comparison, M of N, every TreatMissingData, the statistics, the reason text and the SNS JSON.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from feedbackctl.local.alarms import (
    AlarmSpec,
    StatisticSet,
    alarm_message,
    alarm_subject,
    evaluate,
    evaluation_window,
)
from feedbackctl.local.alarms import reason_data as state_reason_data
from tests.conftest import load_event

T0 = datetime(2026, 11, 25, 10, 5, 0, tzinfo=UTC)  # the start of the last complete period
NOW = T0 + timedelta(seconds=75)  # 10:06:15: the period 10:05-10:06 is the last complete one
X = "breach"  # shorthand in the tables: a breaching period (9.0)
K = "fine"  # a non-breaching ("okay") period (1.0)
_ = None  # a period without data

BASE = AlarmSpec(
    name="feedback-create-feedback-errors",
    namespace="Feedbackctl/feedback",
    metric_name="create-feedback-logged-errors",
    statistic="Sum",
    period=60,
    evaluation_periods=1,
    threshold=5.0,
    comparison_operator="GreaterThanThreshold",
)


def spec(**changes) -> AlarmSpec:
    return replace(BASE, **changes)


def series(*marks: str | None) -> list[tuple[datetime, float]]:
    """One sample per period, oldest first, ending with the last complete period (T0)."""
    points = []
    for age, mark in enumerate(reversed(marks)):
        if mark is not None:
            points.append((T0 - timedelta(seconds=60 * age), 9.0 if mark == X else 1.0))
    return points


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("GreaterThanThreshold", 9.0, "ALARM"),
        ("GreaterThanThreshold", 5.0, "OK"),
        ("GreaterThanOrEqualToThreshold", 5.0, "ALARM"),
        ("GreaterThanOrEqualToThreshold", 4.9, "OK"),
        ("LessThanThreshold", 1.0, "ALARM"),
        ("LessThanThreshold", 5.0, "OK"),
        ("LessThanOrEqualToThreshold", 5.0, "ALARM"),
        ("LessThanOrEqualToThreshold", 5.1, "OK"),
    ],
)
def test_each_comparison(operator: str, value: float, expected: str) -> None:
    alarm = spec(comparison_operator=operator)
    assert evaluate(alarm, [(T0, value)], NOW).state == expected


@pytest.mark.parametrize(
    ("m", "n", "marks", "expected"),
    [
        (2, 3, (X, K, X), "ALARM"),
        (2, 3, (X, X, K), "ALARM"),
        (2, 3, (X, K, K), "OK"),
        (2, 3, (K, K, X), "OK"),
        (3, 3, (X, X, X), "ALARM"),
        (3, 3, (X, X, K), "OK"),
        (1, 3, (K, K, X), "ALARM"),
        (1, 3, (K, K, K), "OK"),
        (None, 2, (X, X), "ALARM"),  # DatapointsToAlarm defaults to EvaluationPeriods
        (None, 2, (X, K), "OK"),
    ],
)
def test_m_out_of_n(m: int | None, n: int, marks: tuple[str, ...], expected: str) -> None:
    alarm = spec(evaluation_periods=n, datapoints_to_alarm=m)
    assert evaluate(alarm, series(*marks), NOW).state == expected


@pytest.mark.parametrize(
    ("treatment", "m", "n", "marks", "current", "expected"),
    [
        # every period missing
        ("missing", 1, 1, (_,), "OK", "INSUFFICIENT_DATA"),
        ("missing", 2, 3, (_, _, _), "ALARM", "INSUFFICIENT_DATA"),
        ("ignore", 2, 3, (_, _, _), "ALARM", "ALARM"),  # the state is kept
        ("ignore", 2, 3, (_, _, _), "OK", "OK"),
        ("ignore", 1, 1, (_,), "INSUFFICIENT_DATA", "INSUFFICIENT_DATA"),
        ("breaching", 2, 3, (_, _, _), "OK", "ALARM"),
        ("notBreaching", 2, 3, (_, _, _), "ALARM", "OK"),
        # some periods missing
        ("missing", 3, 3, (_, X, X), "OK", "ALARM"),  # judged on the datapoints present
        ("ignore", 3, 3, (_, X, X), "OK", "ALARM"),
        ("breaching", 3, 3, (_, X, X), "OK", "ALARM"),
        ("notBreaching", 3, 3, (_, X, X), "OK", "OK"),
        ("missing", 2, 3, (K, _, _), "ALARM", "OK"),
        ("ignore", 2, 3, (K, _, _), "ALARM", "OK"),
        ("breaching", 2, 3, (K, _, _), "OK", "ALARM"),
        ("notBreaching", 2, 3, (K, _, _), "ALARM", "OK"),
        ("missing", 2, 3, (X, _, K), "OK", "OK"),
        ("breaching", 2, 3, (X, _, K), "OK", "ALARM"),
        ("notBreaching", 1, 1, (X,), "OK", "ALARM"),  # present data wins over any treatment
    ],
)
def test_missing_data_treatments(
    treatment: str, m: int, n: int, marks: tuple, current: str, expected: str
) -> None:
    alarm = spec(evaluation_periods=n, datapoints_to_alarm=m, treat_missing_data=treatment)
    assert evaluate(alarm, series(*marks), NOW, current_state=current).state == expected


SAMPLES = [(T0 + timedelta(seconds=1), 1.0), (T0 + timedelta(seconds=20), 2.0), (T0, 6.0)]


@pytest.mark.parametrize(
    ("statistic", "threshold", "expected"),
    [
        ("Sum", 8.9, "ALARM"),  # 9
        ("Sum", 9.0, "OK"),
        ("Average", 2.9, "ALARM"),  # 3
        ("Average", 3.0, "OK"),
        ("Minimum", 0.9, "ALARM"),  # 1
        ("Minimum", 1.0, "OK"),
        ("Maximum", 5.9, "ALARM"),  # 6
        ("Maximum", 6.0, "OK"),
        ("SampleCount", 2.0, "ALARM"),  # 3
        ("SampleCount", 3.0, "OK"),
        ("p50", 1.9, "ALARM"),  # 2
        ("p50", 2.0, "OK"),
        ("p100", 5.9, "ALARM"),  # 6
    ],
)
def test_statistics_over_raw_samples(statistic: str, threshold: float, expected: str) -> None:
    alarm = spec(statistic=statistic, threshold=threshold)
    assert evaluate(alarm, SAMPLES, NOW).state == expected


@pytest.mark.parametrize(
    ("statistic", "value"),
    [("Sum", 9.0), ("Average", 3.0), ("Minimum", 1.0), ("Maximum", 5.0), ("SampleCount", 3.0)],
)
def test_statistic_sets_merge_like_raw_samples(statistic: str, value: float) -> None:
    sets = [
        StatisticSet(T0, 2, 4.0, 1.0, 3.0),
        StatisticSet(T0 + timedelta(seconds=30), 1, 5, 5, 5),
    ]
    above = evaluate(spec(statistic=statistic, threshold=value - 0.01), sets, NOW)
    at = evaluate(spec(statistic=statistic, threshold=value), sets, NOW)
    assert (above.state, at.state) == ("ALARM", "OK")


def test_percentiles_need_raw_samples() -> None:
    alarm = spec(statistic="p99", treat_missing_data="missing")
    assert evaluate(alarm, [StatisticSet(T0, 1, 9, 9, 9)], NOW).state == "INSUFFICIENT_DATA"


def test_only_complete_periods_inside_the_window_count() -> None:
    alarm = spec(evaluation_periods=2, datapoints_to_alarm=1)
    period_end = T0 + timedelta(seconds=60)
    outside = [
        (period_end, 9.0),  # the current, incomplete period
        (NOW, 9.0),
        (T0 - timedelta(seconds=120), 9.0),  # older than the window
        (T0 - timedelta(seconds=60, microseconds=1), 9.0),
    ]
    assert evaluate(alarm, outside, NOW).state == "INSUFFICIENT_DATA"
    edge = [(period_end - timedelta(microseconds=1), 9.0)]  # the last instant of the period
    assert evaluate(alarm, edge, NOW).state == "ALARM"


def test_the_window_is_aligned_to_the_period() -> None:
    alarm = spec(period=10, evaluation_periods=3)
    now = datetime(2026, 11, 25, 10, 5, 27, 400000, tzinfo=UTC)
    assert evaluation_window(alarm, now) == [
        datetime(2026, 11, 25, 10, 4, 50, tzinfo=UTC),
        datetime(2026, 11, 25, 10, 5, 0, tzinfo=UTC),
        datetime(2026, 11, 25, 10, 5, 10, tzinfo=UTC),
    ]
    on_boundary = datetime(2026, 11, 25, 10, 5, 30, tzinfo=UTC)
    assert evaluation_window(alarm, on_boundary)[-1] == datetime(
        2026, 11, 25, 10, 5, 20, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("alarm", "points", "current", "reason"),
    [
        (
            BASE,
            [(T0, 9.0)],
            "OK",
            "Threshold Crossed: 1 datapoint [9.0 (25/11/26 10:05:00)] was greater than the "
            "threshold (5.0).",
        ),
        (
            BASE,
            [(T0, 0.0)],
            "ALARM",
            "Threshold Crossed: 1 datapoint [0.0 (25/11/26 10:05:00)] was not greater than the "
            "threshold (5.0).",
        ),
        (
            spec(evaluation_periods=3, datapoints_to_alarm=2),
            series(X, K, X),
            "OK",
            "Threshold Crossed: 2 out of the last 3 datapoints [9.0 (25/11/26 10:05:00), "
            "9.0 (25/11/26 10:03:00)] were greater than the threshold (5.0) (minimum 2 "
            "datapoints for OK -> ALARM transition).",
        ),
        (
            spec(evaluation_periods=2, comparison_operator="GreaterThanOrEqualToThreshold"),
            series(X, X),
            "INSUFFICIENT_DATA",
            "Threshold Crossed: 2 datapoints [9.0 (25/11/26 10:05:00), 9.0 (25/11/26 10:04:00)] "
            "were greater than or equal to the threshold (5.0).",
        ),
        (
            spec(evaluation_periods=3, treat_missing_data="notBreaching"),
            [],
            "ALARM",
            "Threshold Crossed: no datapoints were received for 3 periods and 3 missing "
            "datapoints were treated as [NonBreaching].",
        ),
        (
            spec(evaluation_periods=2, treat_missing_data="notBreaching"),
            series(K, _),
            "ALARM",
            "Threshold Crossed: 1 datapoint [1.0 (25/11/26 10:04:00)] was not greater than the "
            "threshold (5.0) and 1 missing datapoint was treated as [NonBreaching].",
        ),
        (
            spec(evaluation_periods=2, treat_missing_data="breaching"),
            series(_, X),
            "OK",
            "Threshold Crossed: 1 datapoint [9.0 (25/11/26 10:05:00)] was greater than the "
            "threshold (5.0) and 1 missing datapoint was treated as [Breaching].",
        ),
        (BASE, [], "OK", "Insufficient Data: 1 datapoint was unknown."),
        (
            spec(comparison_operator="LessThanThreshold", threshold=1.5),
            [(T0, 1.0)],
            "OK",
            "Threshold Crossed: 1 datapoint [1.0 (25/11/26 10:05:00)] was less than the "
            "threshold (1.5).",
        ),
    ],
)
def test_reasons_read_like_cloudwatch(alarm, points, current: str, reason: str) -> None:
    assert evaluate(alarm, points, NOW, current_state=current).reason == reason


def test_evaluation_unpacks_as_state_and_reason() -> None:
    state, reason = evaluate(BASE, [(T0, 9.0)], NOW)
    assert state == "ALARM"
    assert reason.startswith("Threshold Crossed")


def test_from_api_reads_describe_alarms() -> None:
    updated = datetime(2026, 11, 25, 9, 0, 0, 123000, tzinfo=UTC)
    alarm = AlarmSpec.from_api(
        {
            "AlarmName": "a",
            "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:a",
            "AlarmDescription": "More than 2 ERROR log lines",
            "AlarmConfigurationUpdatedTimestamp": updated,
            "ActionsEnabled": True,
            "OKActions": ["arn:aws:sns:us-east-1:123456789012:notes"],
            "AlarmActions": ["arn:aws:sns:us-east-1:123456789012:alarms"],
            "InsufficientDataActions": [],
            "StateValue": "OK",
            "MetricName": "m",
            "Namespace": "N",
            "Statistic": "Sum",
            "Dimensions": [{"Name": "FunctionName", "Value": "fn"}],
            "Period": 10,
            "EvaluationPeriods": 3,
            "DatapointsToAlarm": 2,
            "Threshold": 2.0,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "Metrics": [],
        }
    )
    assert alarm is not None
    assert alarm.datapoints_needed == 2
    assert alarm.dimensions == (("FunctionName", "fn"),)
    assert alarm.treat_missing_data == "notBreaching"
    assert alarm.configuration_updated == updated
    assert alarm.actions_for("OK") == ("arn:aws:sns:us-east-1:123456789012:notes",)


def test_from_api_skips_metric_math_and_anomaly_alarms() -> None:
    assert AlarmSpec.from_api({"AlarmName": "m", "Metrics": [{"Id": "e1"}]}) is None
    anomaly = {
        "AlarmName": "b",
        "MetricName": "m",
        "Statistic": "Sum",
        "ComparisonOperator": "LessThanLowerOrGreaterThanUpperThreshold",
    }
    assert AlarmSpec.from_api(anomaly) is None


def test_the_sns_message_is_cloudwatchs() -> None:
    alarm = spec(
        name="feedback-create-feedback-errors",
        arn="arn:aws:cloudwatch:us-east-1:123456789012:alarm:feedback-create-feedback-errors",
        description="More than 2 ERROR log lines from create-feedback in 10 s",
        period=10,
        evaluation_periods=3,
        datapoints_to_alarm=1,
        threshold=2.0,
        treat_missing_data="notBreaching",
        unit="Count",
        dimensions=(("FunctionName", "feedback-create-feedback"),),
        alarm_actions=("arn:aws:sns:us-east-1:123456789012:feedback-alarms",),
        ok_actions=("arn:aws:sns:us-east-1:123456789012:feedback-notifications",),
        configuration_updated=datetime(2026, 11, 25, 9, 0, 0, 120000, tzinfo=UTC),
    )
    message = alarm_message(
        alarm,
        old_state="OK",
        new_state="ALARM",
        reason="Threshold Crossed: ...",
        changed_at=T0,
        region="us-east-1",
        account="123456789012",
    )
    assert message == {
        "AlarmName": "feedback-create-feedback-errors",
        "AlarmDescription": "More than 2 ERROR log lines from create-feedback in 10 s",
        "AWSAccountId": "123456789012",
        "AlarmConfigurationUpdatedTimestamp": "2026-11-25T09:00:00.120+0000",
        "NewStateValue": "ALARM",
        "NewStateReason": "Threshold Crossed: ...",
        "StateChangeTime": "2026-11-25T10:05:00.000+0000",
        "Region": "US East (N. Virginia)",
        "AlarmArn": alarm.arn,
        "OldStateValue": "OK",
        "OKActions": ["arn:aws:sns:us-east-1:123456789012:feedback-notifications"],
        "AlarmActions": ["arn:aws:sns:us-east-1:123456789012:feedback-alarms"],
        "InsufficientDataActions": [],
        "Trigger": {
            "MetricName": "create-feedback-logged-errors",
            "Namespace": "Feedbackctl/feedback",
            "StatisticType": "Statistic",
            "Statistic": "SUM",
            "Unit": "Count",
            "Dimensions": [{"value": "feedback-create-feedback", "name": "FunctionName"}],
            "Period": 10,
            "EvaluationPeriods": 3,
            "DatapointsToAlarm": 1,
            "ComparisonOperator": "GreaterThanThreshold",
            "Threshold": 2.0,
            "TreatMissingData": "notBreaching",
            "EvaluateLowSampleCountPercentile": "",
        },
    }
    assert list(message) == [  # the order CloudWatch writes the keys in
        "AlarmName",
        "AlarmDescription",
        "AWSAccountId",
        "AlarmConfigurationUpdatedTimestamp",
        "NewStateValue",
        "NewStateReason",
        "StateChangeTime",
        "Region",
        "AlarmArn",
        "OldStateValue",
        "OKActions",
        "AlarmActions",
        "InsufficientDataActions",
        "Trigger",
    ]


def test_sample_count_and_extended_statistics_in_the_trigger() -> None:
    kwargs = {
        "old_state": "INSUFFICIENT_DATA",
        "new_state": "OK",
        "reason": "r",
        "changed_at": T0,
        "region": "eu-west-1",
        "account": "1",
    }
    counted = alarm_message(spec(statistic="SampleCount"), **kwargs)
    assert counted["Trigger"]["Statistic"] == "SAMPLE_COUNT"
    assert counted["Region"] == "EU (Ireland)"
    assert counted["AlarmDescription"] is None
    assert "DatapointsToAlarm" not in counted["Trigger"]  # only when the alarm sets it
    extended = alarm_message(spec(statistic="p99", extended_statistic=True), **kwargs)
    assert extended["Trigger"]["StatisticType"] == "ExtendedStatistic"
    assert extended["Trigger"]["ExtendedStatistic"] == "p99"
    assert "Statistic" not in extended["Trigger"]


def test_subjects() -> None:
    assert alarm_subject(BASE, "ALARM", "us-east-1") == (
        'ALARM: "feedback-create-feedback-errors" in US East (N. Virginia)'
    )
    assert alarm_subject(BASE, "OK", "us-west-2").startswith('OK: "feedback-')
    long = alarm_subject(spec(name="x" * 300), "INSUFFICIENT_DATA", "us-east-1")
    assert len(long) == 100  # SNS refuses longer subjects


def test_reason_data_lists_the_evaluated_datapoints() -> None:
    alarm = spec(evaluation_periods=2, unit="Count")
    data = json.loads(state_reason_data(alarm, series(K, X), NOW))
    assert data["version"] == "1.0"
    assert data["statistic"] == "Sum"
    assert data["startDate"] == "2026-11-25T10:04:00.000+0000"
    assert data["queryDate"] == "2026-11-25T10:06:15.000+0000"
    assert data["recentDatapoints"] == [1.0, 9.0]
    assert data["evaluatedDatapoints"][0] == {
        "timestamp": "2026-11-25T10:05:00.000+0000",
        "sampleCount": 1.0,
        "value": 9.0,
    }
    assert data["unit"] == "Count"


def test_a_metric_math_message_matches_cloudwatchs_sample() -> None:
    """tests/events/sns_alarm_metric_math.json has AWS's shape (aws/aws-lambda-go's
    events/testdata/cloudwatch-alarm-sns-payload-multiple-metrics.json): the engine's message
    for the same alarm, read back from DescribeAlarms, carries the same Trigger."""
    sample = json.loads(load_event("sns_alarm_metric_math.json")["Records"][0]["Sns"]["Message"])

    def api_query(query: dict[str, Any]) -> dict[str, Any]:
        if "MetricStat" not in query:
            return query
        stat = query["MetricStat"]
        dims = [{"Name": d["name"], "Value": d["value"]} for d in stat["Metric"]["Dimensions"]]
        return {**query, "MetricStat": {**stat, "Metric": {**stat["Metric"], "Dimensions": dims}}}

    trigger = sample["Trigger"]
    described = {
        "AlarmName": sample["AlarmName"],
        "AlarmArn": sample["AlarmArn"],
        "AlarmDescription": sample["AlarmDescription"],
        "EvaluationPeriods": trigger["EvaluationPeriods"],
        "DatapointsToAlarm": trigger["DatapointsToAlarm"],
        "Threshold": trigger["Threshold"],
        "ComparisonOperator": trigger["ComparisonOperator"],
        "TreatMissingData": trigger["TreatMissingData"],
        "AlarmActions": sample["AlarmActions"],
        "OKActions": sample["OKActions"],
        "Metrics": [api_query(q) for q in trigger["Metrics"]],
    }
    assert AlarmSpec.from_api(described) is None  # not evaluated: metric math
    math = AlarmSpec.math_from_api(described)
    assert math is not None
    message = alarm_message(
        math,
        old_state="OK",
        new_state="ALARM",
        reason=sample["NewStateReason"],
        changed_at=datetime(2026, 11, 25, 10, 5, tzinfo=UTC),
        region="us-east-1",
        account="123456789012",
    )
    assert message["Trigger"] == trigger
    assert message["StateChangeTime"] == sample["StateChangeTime"]
