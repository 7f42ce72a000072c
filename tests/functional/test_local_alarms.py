"""Metric filters, EMF and alarm evaluation of the local platform against the moto server.

ERROR lines fed to the metric filter engine become metric data in moto; the alarm engine, on a
fake clock, evaluates the alarm from that data, records the state in moto (describe_alarms
shows it) and publishes CloudWatch's alarm JSON to the topics of the new state's actions.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError

from feedbackctl.filterpattern import compile_pattern
from feedbackctl.local.alarms import AlarmEngine
from feedbackctl.local.metrics import MetricFilter, MetricFilterEngine, Transformation

ACCOUNT = "123456789012"
BASE = datetime(2026, 11, 25, 10, 5, 0, tzinfo=UTC)  # a period boundary (10 s periods)


class FakePublisher:
    def __init__(self) -> None:
        self.published: list[tuple[str, str, dict[str, Any]]] = []

    def publish(self, topic_arn: str, subject: str, message: str) -> None:
        self.published.append((topic_arn, subject, json.loads(message)))


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def at(self, seconds: float) -> None:
        self.now = BASE + timedelta(seconds=seconds)


def log_line(level: str, message: str, **fields: Any) -> str:
    record = {"level": level, "message": message, "service": "create-feedback", **fields}
    return json.dumps(record, separators=(",", ":"))


def at_ms(seconds: float) -> int:
    return int((BASE + timedelta(seconds=seconds)).timestamp() * 1000)


class Stack:
    """A log group with the template's error metric filter and error alarm, uniquely named."""

    def __init__(self, endpoint: str, *, treat_missing_data: str = "notBreaching") -> None:
        self.name = f"fb-{uuid.uuid4().hex[:8]}"
        self.logs = boto3.client("logs", endpoint_url=endpoint)
        self.cloudwatch = boto3.client("cloudwatch", endpoint_url=endpoint)
        self.group = f"/aws/lambda/{self.name}-create-feedback"
        self.namespace = f"Feedbackctl/{self.name}"
        self.alarm = f"{self.name}-create-feedback-errors"
        self.alarm_topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:{self.name}-alarms"
        self.notify_topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:{self.name}-notifications"
        self.logs.create_log_group(logGroupName=self.group)
        self.logs.put_metric_filter(
            logGroupName=self.group,
            filterName=f"{self.name}-create-feedback-errors",
            filterPattern='{ $.level = "ERROR" }',
            metricTransformations=[
                {
                    "metricName": "create-feedback-logged-errors",
                    "metricNamespace": self.namespace,
                    "metricValue": "1",
                    "defaultValue": 0,
                    "unit": "Count",
                }
            ],
        )
        self.cloudwatch.put_metric_alarm(
            AlarmName=self.alarm,
            AlarmDescription="More than 2 ERROR log lines from create-feedback in 10 s",
            Namespace=self.namespace,
            MetricName="create-feedback-logged-errors",
            Statistic="Sum",
            Period=10,
            EvaluationPeriods=1,
            DatapointsToAlarm=1,
            Threshold=2,
            ComparisonOperator="GreaterThanThreshold",
            TreatMissingData=treat_missing_data,
            AlarmActions=[self.alarm_topic],
            OKActions=[self.notify_topic],
            InsufficientDataActions=[self.notify_topic],
        )
        self.metrics = MetricFilterEngine(self.logs, self.cloudwatch)
        self.clock = FakeClock(BASE)
        self.publisher = FakePublisher()
        self.engine = AlarmEngine(
            self.cloudwatch, self.publisher, clock=self.clock, name_prefix=f"{self.name}-"
        )

    def feed(self, *events: tuple[float, str]) -> None:
        stream = "2026/11/25/[7]0123456789abcdef"
        self.metrics.log_events(self.group, stream, [(at_ms(s), line) for s, line in events])

    def described(self) -> dict[str, Any]:
        alarm: dict[str, Any] = self.cloudwatch.describe_alarms(AlarmNames=[self.alarm])[
            "MetricAlarms"
        ][0]
        return alarm

    def errors_sum(self, start: float) -> list[dict[str, Any]]:
        points: list[dict[str, Any]] = self.cloudwatch.get_metric_statistics(
            Namespace=self.namespace,
            MetricName="create-feedback-logged-errors",
            StartTime=BASE + timedelta(seconds=start),
            EndTime=BASE + timedelta(seconds=start + 10),
            Period=10,
            Statistics=["Sum", "SampleCount"],
        )["Datapoints"]
        return points


def three_errors_and_an_info(offset: float) -> list[tuple[float, str]]:
    return [
        (offset + 1, log_line("ERROR", "unhandled error", errorType="KeyError")),
        (offset + 2, log_line("INFO", "stored feedback from [REDACTED_EMAIL]")),
        (offset + 3, log_line("ERROR", "unhandled error", errorType="KeyError")),
        (offset + 9.999, log_line("ERROR", "unhandled error", errorType="KeyError")),
    ]


@pytest.fixture
def stack(moto_endpoint: str) -> Stack:
    return Stack(moto_endpoint)


def test_error_lines_become_metric_data_with_the_events_timestamps(stack: Stack) -> None:
    stack.feed(*three_errors_and_an_info(0), (10.0, log_line("ERROR", "next period")))
    [first] = stack.errors_sum(0)
    assert (first["Sum"], first["SampleCount"]) == (3.0, 4.0)  # the INFO line emitted 0
    [second] = stack.errors_sum(10)
    assert second["Sum"] == 1.0
    assert stack.errors_sum(20) == []


def test_errors_trip_the_alarm_and_quiet_periods_clear_it(stack: Stack) -> None:
    assert stack.described()["StateReason"] == "Unchecked: Initial alarm creation"

    # A new alarm is INSUFFICIENT_DATA; with no data and notBreaching the first round says OK.
    stack.clock.at(5)
    [first] = stack.engine.evaluate_all()
    assert (first.old_state, first.new_state) == ("INSUFFICIENT_DATA", "OK")
    assert [(t, s) for t, s, _ in stack.publisher.published] == [
        (stack.notify_topic, f'OK: "{stack.alarm}" in US East (N. Virginia)')
    ]
    stack.publisher.published.clear()

    stack.feed(*three_errors_and_an_info(0))
    stack.clock.at(9)  # the period is not complete yet: nothing changes
    assert stack.engine.evaluate_all() == []

    stack.clock.at(12)
    [tripped] = stack.engine.evaluate_all()
    reason = (
        "Threshold Crossed: 1 datapoint [3.0 (25/11/26 10:05:00)] was greater than the "
        "threshold (2.0)."
    )
    assert (tripped.old_state, tripped.new_state, tripped.reason) == ("OK", "ALARM", reason)
    described = stack.described()
    assert described["StateValue"] == "ALARM"
    assert described["StateReason"] == reason
    assert json.loads(described["StateReasonData"])["recentDatapoints"] == [3.0]

    [(topic, subject, message)] = stack.publisher.published
    assert topic == stack.alarm_topic
    assert subject == f'ALARM: "{stack.alarm}" in US East (N. Virginia)'
    assert message["AlarmName"] == stack.alarm
    assert message["AlarmArn"] == f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:{stack.alarm}"
    assert message["AWSAccountId"] == ACCOUNT
    assert message["NewStateValue"] == "ALARM"
    assert message["OldStateValue"] == "OK"
    assert message["NewStateReason"] == reason
    assert message["StateChangeTime"] == "2026-11-25T10:05:12.000+0000"
    assert message["AlarmActions"] == [stack.alarm_topic]
    assert message["OKActions"] == [stack.notify_topic]
    assert message["Trigger"] == {
        "MetricName": "create-feedback-logged-errors",
        "Namespace": stack.namespace,
        "StatisticType": "Statistic",
        "Statistic": "SUM",
        "Unit": None,
        "Dimensions": [],
        "Period": 10,
        "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1,
        "ComparisonOperator": "GreaterThanThreshold",
        "Threshold": 2.0,
        "TreatMissingData": "notBreaching",
        "EvaluateLowSampleCountPercentile": "",
    }

    # Evaluated again within the same period: no second notification.
    stack.clock.at(15)
    assert stack.engine.evaluate_all() == []
    assert len(stack.publisher.published) == 1

    # The next period has only INFO lines (the default value 0): OK, to the OK actions.
    stack.feed((11, log_line("INFO", "stored")), (12, log_line("WARNING", "health check failed")))
    stack.clock.at(21)
    [cleared] = stack.engine.evaluate_all()
    assert (cleared.old_state, cleared.new_state) == ("ALARM", "OK")
    assert stack.described()["StateValue"] == "OK"
    topic, subject, message = stack.publisher.published[-1]
    assert topic == stack.notify_topic
    assert subject == f'OK: "{stack.alarm}" in US East (N. Virginia)'
    assert message["OldStateValue"] == "ALARM"
    assert message["NewStateReason"] == (
        "Threshold Crossed: 1 datapoint [0.0 (25/11/26 10:05:10)] was not greater than the "
        "threshold (2.0)."
    )

    # A period with no log line at all is missing data, notBreaching: still OK, nothing sent.
    stack.clock.at(35)
    assert stack.engine.evaluate_all() == []
    assert len(stack.publisher.published) == 2


def test_missing_treatment_goes_to_insufficient_data(moto_endpoint: str) -> None:
    stack = Stack(moto_endpoint, treat_missing_data="missing")
    stack.clock.at(5)
    assert stack.engine.evaluate_all() == []  # INSUFFICIENT_DATA it was, INSUFFICIENT_DATA it is
    described = stack.described()
    assert described["StateValue"] == "INSUFFICIENT_DATA"  # not moto's initial OK any more
    assert described["StateReason"] == "Insufficient Data: 1 datapoint was unknown."
    assert stack.publisher.published == []

    stack.feed(*three_errors_and_an_info(10))
    stack.clock.at(21)
    [tripped] = stack.engine.evaluate_all()
    assert (tripped.old_state, tripped.new_state) == ("INSUFFICIENT_DATA", "ALARM")
    assert stack.publisher.published[-1][2]["OldStateValue"] == "INSUFFICIENT_DATA"

    stack.clock.at(31)  # no line at all in 10:05:20-10:05:30
    [gone] = stack.engine.evaluate_all()
    assert (gone.old_state, gone.new_state) == ("ALARM", "INSUFFICIENT_DATA")
    topic, subject, message = stack.publisher.published[-1]
    assert topic == stack.notify_topic  # InsufficientDataActions
    assert subject.startswith(f'INSUFFICIENT_DATA: "{stack.alarm}"')
    assert message["NewStateReason"] == "Insufficient Data: 1 datapoint was unknown."


def test_ignore_treatment_keeps_the_state_through_silence(moto_endpoint: str) -> None:
    stack = Stack(moto_endpoint, treat_missing_data="ignore")
    stack.feed(*three_errors_and_an_info(0))
    stack.clock.at(12)
    [tripped] = stack.engine.evaluate_all()
    assert tripped.new_state == "ALARM"

    for seconds in (25, 35, 45):  # three silent periods
        stack.clock.at(seconds)
        assert stack.engine.evaluate_all() == []
    assert stack.described()["StateValue"] == "ALARM"

    stack.feed((51, log_line("INFO", "stored")))
    stack.clock.at(61)
    [cleared] = stack.engine.evaluate_all()
    assert (cleared.old_state, cleared.new_state) == ("ALARM", "OK")


def test_set_alarm_state_runs_the_actions_as_cloudwatch_does(stack: Stack) -> None:
    stack.clock.at(5)
    stack.engine.evaluate_all()  # known: OK
    stack.publisher.published.clear()

    stack.cloudwatch.set_alarm_state(
        AlarmName=stack.alarm, StateValue="ALARM", StateReason="drill: rollback rehearsal"
    )
    stack.clock.at(7)
    drill, recovered = stack.engine.evaluate_all()
    assert (drill.new_state, drill.reason) == ("ALARM", "drill: rollback rehearsal")
    assert (recovered.old_state, recovered.new_state) == ("ALARM", "OK")
    (alarm_topic, _, message), (ok_topic, _, _) = stack.publisher.published
    assert alarm_topic == stack.alarm_topic
    assert message["NewStateReason"] == "drill: rollback rehearsal"
    assert ok_topic == stack.notify_topic


def test_disabled_actions_change_the_state_but_publish_nothing(stack: Stack) -> None:
    stack.cloudwatch.disable_alarm_actions(AlarmNames=[stack.alarm])
    assert stack.described()["ActionsEnabled"] is False
    stack.feed(*three_errors_and_an_info(0))
    stack.clock.at(12)
    [tripped] = stack.engine.evaluate_all()
    assert tripped.new_state == "ALARM"
    assert tripped.published == ()
    assert stack.publisher.published == []


def test_only_alarms_with_the_prefix_are_evaluated(stack: Stack, moto_endpoint: str) -> None:
    other = Stack(moto_endpoint)
    stack.clock.at(5)
    [only] = stack.engine.evaluate_all()
    assert only.alarm == stack.alarm
    assert other.described()["StateReason"] == "Unchecked: Initial alarm creation"


class StopAfter(threading.Event):
    """A stop event whose wait returns at once and sets the event after `rounds` waits."""

    def __init__(self, rounds: int) -> None:
        super().__init__()
        self.rounds = rounds
        self.waits: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout or 0.0)
        if len(self.waits) >= self.rounds:
            self.set()
        return self.is_set()


def test_run_evaluates_until_stopped_with_an_injected_wait(stack: Stack) -> None:
    stack.feed(*three_errors_and_an_info(0))
    stack.clock.at(12)
    stop = StopAfter(3)
    stack.engine.run(stop, 2.0)
    assert stop.waits == [2.0, 2.0, 2.0]
    assert stack.described()["StateValue"] == "ALARM"
    assert [m["NewStateValue"] for _, _, m in stack.publisher.published] == ["ALARM"]


def _another_alarm(stack: Stack, n: int, **settings: Any) -> None:
    """One more alarm of the stack on the same metric (its name begins with the stack's);
    `settings` add actions or replace its threshold and periods."""
    alarm: dict[str, Any] = {
        "AlarmName": f"{stack.alarm}-{n}",
        "Namespace": stack.namespace,
        "MetricName": "create-feedback-logged-errors",
        "Statistic": "Sum",
        "Period": 10,
        "EvaluationPeriods": 1,
        "Threshold": 2,
        "ComparisonOperator": "GreaterThanThreshold",
    }
    stack.cloudwatch.put_metric_alarm(**{**alarm, **settings})


class CountedReads:
    """The stack's CloudWatch client, counting GetMetricData calls."""

    def __init__(self, cloudwatch: Any) -> None:
        self._cloudwatch = cloudwatch
        self.reads = 0

    def get_metric_data(self, **kwargs: Any) -> Any:
        self.reads += 1
        return self._cloudwatch.get_metric_data(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cloudwatch, name)


def test_a_spread_round_evaluates_its_alarms_a_batch_at_a_time_across_the_interval(
    stack: Stack,
) -> None:
    """Under load the slowest requests were answered during the alarm rounds, which
    evaluated the stack's 31 alarms at once; spread across the interval, each alarm is still
    evaluated once a round."""
    for n in (1, 2, 3, 4):  # five alarms in the round: three batches of two
        _another_alarm(stack, n, AlarmActions=[stack.alarm_topic])
    stack.feed(*three_errors_and_an_info(0))
    stack.clock.at(12)
    cloudwatch = CountedReads(stack.cloudwatch)
    engine = AlarmEngine(
        cloudwatch,
        stack.publisher,
        clock=stack.clock,
        name_prefix=f"{stack.name}-",
        spread=0.75,
        batch=2,
    )
    stop = StopAfter(3)  # one round: two waits between its three batches, then the round's
    engine.run(stop, 2.0)
    assert stop.waits == [0.75, 0.75, 0.5]  # the round still starts every 2 s
    assert cloudwatch.reads == 3  # one GetMetricData a batch
    published = [m["AlarmName"] for _, _, m in stack.publisher.published]
    assert sorted(published) == sorted([stack.alarm] + [f"{stack.alarm}-{n}" for n in (1, 2, 3, 4)])


def test_a_batch_reads_each_alarm_its_own_metric_and_window(stack: Stack) -> None:
    """Alarms read together get their own statistics: one over a higher threshold stays OK,
    one with a longer window is read in a call of its own and still sees the errors."""
    _another_alarm(stack, 1, Threshold=5)
    _another_alarm(stack, 2, EvaluationPeriods=2, DatapointsToAlarm=1)
    _another_alarm(stack, 3, MetricName="another-metric", Threshold=0)
    stack.feed(*three_errors_and_an_info(0))
    stack.clock.at(12)
    cloudwatch = CountedReads(stack.cloudwatch)
    engine = AlarmEngine(
        cloudwatch, stack.publisher, clock=stack.clock, name_prefix=f"{stack.name}-"
    )
    engine.evaluate_all()
    assert cloudwatch.reads == 2  # the three one-period alarms share a call
    alarms = stack.cloudwatch.describe_alarms(AlarmNamePrefix=f"{stack.name}-")["MetricAlarms"]
    states = {a["AlarmName"]: a["StateValue"] for a in alarms}
    assert states == {
        stack.alarm: "ALARM",
        f"{stack.alarm}-1": "OK",
        f"{stack.alarm}-2": "ALARM",
        f"{stack.alarm}-3": "INSUFFICIENT_DATA",  # its metric has no data
    }


def test_a_stop_ends_a_spread_round_at_once(stack: Stack) -> None:
    _another_alarm(stack, 1)
    engine = AlarmEngine(
        stack.cloudwatch, stack.publisher, clock=stack.clock, name_prefix=f"{stack.name}-"
    )
    engine.spread = 0.5
    engine.batch = 1
    stop = StopAfter(1)  # stopped during the wait after the first alarm
    engine.run(stop, 2.0)
    assert stop.waits == [1.0, 1.0]  # the gap, then the round's wait, which returns at once
    assert len(engine._known) == 1  # the second alarm was not evaluated


def test_an_alarm_deleted_during_a_round_is_skipped_quietly(stack: Stack) -> None:
    """A spread round takes most of the interval, so a `destroy` (or a deploy removing an
    alarm) lands inside one: SetAlarmState then answered ResourceNotFound, which ended the
    round with a traceback on `local up`'s terminal."""
    _another_alarm(stack, 1, AlarmActions=[stack.alarm_topic])
    stack.feed(*three_errors_and_an_info(0))
    stack.clock.at(12)

    def delete_the_other(count: int) -> bool:
        stack.cloudwatch.delete_alarms(AlarmNames=[f"{stack.alarm}-1"])
        return True

    stack.engine.batch = 1
    [tripped] = stack.engine.evaluate_all(pace=delete_the_other)
    assert tripped.alarm == stack.alarm
    assert [m["AlarmName"] for _, _, m in stack.publisher.published] == [stack.alarm]


def test_a_failing_round_does_not_end_the_loop() -> None:
    class Unreachable:
        def get_paginator(self, name: str) -> Any:
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9")

    stop = StopAfter(2)
    AlarmEngine(Unreachable(), FakePublisher()).run(stop, 1.0)
    assert stop.waits == [1.0, 1.0]  # each failed round was logged and the loop went on


def test_a_failing_topic_does_not_silence_the_others(stack: Stack) -> None:
    class Flaky(FakePublisher):
        def publish(self, topic_arn: str, subject: str, message: str) -> None:
            if topic_arn == stack.alarm_topic:
                raise RuntimeError("subscriber crashed")
            super().publish(topic_arn, subject, message)

    stack.cloudwatch.put_metric_alarm(
        **{
            **{k: v for k, v in stack.described().items() if k in ALARM_INPUT},
            "AlarmActions": [stack.alarm_topic, stack.notify_topic],
        }
    )
    publisher = Flaky()
    engine = AlarmEngine(
        stack.cloudwatch, publisher, clock=stack.clock, name_prefix=f"{stack.name}-"
    )
    stack.feed(*three_errors_and_an_info(0))
    stack.clock.at(12)
    [tripped] = engine.evaluate_all()
    assert tripped.new_state == "ALARM"
    assert tripped.published == (stack.notify_topic,)
    assert stack.described()["StateValue"] == "ALARM"


ALARM_INPUT = {
    "AlarmName",
    "AlarmDescription",
    "Namespace",
    "MetricName",
    "Statistic",
    "Period",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
    "OKActions",
    "InsufficientDataActions",
}


def test_metric_filters_load_from_moto_and_bad_patterns_are_skipped(stack: Stack) -> None:
    stack.logs.put_metric_filter(
        logGroupName=stack.group,
        filterName=f"{stack.name}-broken",
        filterPattern='{ $.level = "ERROR" ',
        metricTransformations=[
            {"metricName": "x", "metricNamespace": stack.namespace, "metricValue": "1"}
        ],
    )
    stack.metrics.refresh()
    assert f"{stack.name}-create-feedback-errors" in {f.name for f in stack.metrics.filters}
    assert f"{stack.name}-broken" in stack.metrics.invalid
    assert "position" in stack.metrics.invalid[f"{stack.name}-broken"]


def _fn_filter(pattern: str, **transformation: Any) -> MetricFilter:
    """A metric filter on the log group /aws/lambda/fn with one transformation."""
    return MetricFilter(
        name=str(transformation["metric_name"]),
        log_group="/aws/lambda/fn",
        pattern=compile_pattern(pattern),
        transformations=(Transformation(**transformation),),
    )


def test_values_and_dimensions_come_from_the_matched_fields(moto_endpoint: str) -> None:
    cloudwatch = boto3.client("cloudwatch", endpoint_url=moto_endpoint)
    namespace = f"Test/{uuid.uuid4().hex[:8]}"
    latency = _fn_filter(
        '{ $.message = "request" && $.duration_ms = * }',
        metric_name="latency",
        namespace=namespace,
        value="$.duration_ms",
        dimensions={"Path": "$.path"},
        unit="Milliseconds",
    )
    engine = MetricFilterEngine(None, cloudwatch, filters=[latency], emf=False)
    engine.log_events(
        "/aws/lambda/fn",
        "s",
        [
            (at_ms(1), log_line("INFO", "request", path="/feedback", duration_ms=12.5)),
            (at_ms(2), log_line("INFO", "request", path="/feedback", duration_ms=30)),
            (at_ms(3), log_line("INFO", "request", path="/analytics", duration_ms=7)),
            (at_ms(4), log_line("INFO", "request", duration_ms=99)),  # no dimension value
            (at_ms(5), log_line("INFO", "stored")),  # no match, no default: nothing
        ],
    )
    engine.log_events("/aws/lambda/other", "s", [(at_ms(6), log_line("INFO", "request"))])
    stats = cloudwatch.get_metric_statistics(
        Namespace=namespace,
        MetricName="latency",
        Dimensions=[{"Name": "Path", "Value": "/feedback"}],
        StartTime=BASE,
        EndTime=BASE + timedelta(seconds=10),
        Period=10,
        Statistics=["Sum", "SampleCount", "Maximum"],
    )["Datapoints"]
    assert [(p["Sum"], p["SampleCount"], p["Maximum"], p["Unit"]) for p in stats] == [
        (42.5, 2.0, 30.0, "Milliseconds")
    ]
    everything = cloudwatch.get_metric_statistics(
        Namespace=namespace,
        MetricName="latency",
        StartTime=BASE,
        EndTime=BASE + timedelta(seconds=10),
        Period=10,
        Statistics=["SampleCount"],
    )["Datapoints"]
    assert everything[0]["SampleCount"] == 3.0


class CountedPuts:
    """A CloudWatch client counting PutMetricData calls by namespace."""

    def __init__(self, cloudwatch: Any) -> None:
        self._cloudwatch = cloudwatch
        self.puts: list[str] = []

    def put_metric_data(self, **kwargs: Any) -> Any:
        self.puts.append(kwargs["Namespace"])
        return self._cloudwatch.put_metric_data(**kwargs)


def test_a_shipping_rounds_streams_put_their_metrics_together(moto_endpoint: str) -> None:
    """A round of the log shipper writes one stream per warm worker: their filters' metrics
    go in with one PutMetricData (each call cost more than the data it carried), and
    count as they would stream by stream."""
    cloudwatch = boto3.client("cloudwatch", endpoint_url=moto_endpoint)
    namespace = f"Test/{uuid.uuid4().hex[:8]}"
    errors = _fn_filter(
        '{ $.level = "ERROR" }', metric_name="errors", namespace=namespace, default_value=0.0
    )
    counted = CountedPuts(cloudwatch)
    engine = MetricFilterEngine(None, counted, filters=[errors], emf=False)
    engine.log_streams(
        [
            ("/aws/lambda/fn", "[1]a", [(at_ms(1), log_line("ERROR", "x"))]),
            ("/aws/lambda/fn", "[1]b", [(at_ms(1), log_line("INFO", "y"))]),
            ("/aws/lambda/fn", "[2]c", [(at_ms(2), log_line("ERROR", "z"))]),
            ("/aws/lambda/other", "[1]d", [(at_ms(2), log_line("ERROR", "not its group"))]),
        ]
    )
    assert counted.puts == [namespace]
    [point] = cloudwatch.get_metric_statistics(
        Namespace=namespace,
        MetricName="errors",
        StartTime=BASE,
        EndTime=BASE + timedelta(seconds=10),
        Period=10,
        Statistics=["Sum", "SampleCount"],
    )["Datapoints"]
    assert (point["Sum"], point["SampleCount"]) == (2.0, 3.0)


def test_emf_lines_emit_their_metrics(moto_endpoint: str) -> None:
    cloudwatch = boto3.client("cloudwatch", endpoint_url=moto_endpoint)
    namespace = f"Emf/{uuid.uuid4().hex[:8]}"
    engine = MetricFilterEngine(None, cloudwatch, filters=[])
    emf = {
        "_aws": {
            "Timestamp": at_ms(3),
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": [["service"], []],
                    "Metrics": [{"Name": "Stored", "Unit": "Count"}, {"Name": "Latency"}],
                }
            ],
        },
        "service": "create-feedback",
        "Stored": 1,
        "Latency": [10, 20],
        "level": "INFO",
    }
    engine.log_events("/aws/lambda/fn", "s", [(at_ms(50), json.dumps(emf))])

    def stat(metric: str, dimensions: list[dict[str, str]]) -> list[dict[str, Any]]:
        points: list[dict[str, Any]] = cloudwatch.get_metric_statistics(
            Namespace=namespace,
            MetricName=metric,
            Dimensions=dimensions,
            StartTime=BASE,
            EndTime=BASE + timedelta(seconds=10),  # _aws.Timestamp, not the event's time
            Period=10,
            Statistics=["Sum", "SampleCount"],
        )["Datapoints"]
        return points

    [stored] = stat("Stored", [{"Name": "service", "Value": "create-feedback"}])
    assert (stored["Sum"], stored["Unit"]) == (1.0, "Count")
    [latency] = stat("Latency", [])  # both dimension sets: with and without `service`
    assert (latency["Sum"], latency["SampleCount"]) == (60.0, 4.0)


# --- the template's shapes: dimensioned filters, a Function alarm, a metric-math alarm ---------


def test_a_line_both_error_filters_publish_counts_once_for_the_function_alarm(
    moto_endpoint: str,
) -> None:
    """As the template has it: LoggedErrors by [Function] and by [Function, ExecutedVersion]
    from the same lines, and an alarm on [Function]. CloudWatch matches the exact dimension
    set, so three ERROR lines are 3, not 6; the message names the function in its dimensions."""
    name = f"fb-{uuid.uuid4().hex[:8]}"
    # moto matches GetMetricData dimensions without the namespace: a unique service keeps
    # other tests' lines (in other namespaces) out of this one.
    service = f"{name}-svc"
    logs = boto3.client("logs", endpoint_url=moto_endpoint)
    cloudwatch = boto3.client("cloudwatch", endpoint_url=moto_endpoint)
    group, namespace = f"/aws/lambda/{name}-fn", f"Feedbackctl/{name}"
    topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:{name}-alarms"
    logs.create_log_group(logGroupName=group)
    for filter_name, dimensions in (
        ("errors", {"Function": "$.service"}),
        ("version-errors", {"Function": "$.service", "ExecutedVersion": "$.function_version"}),
    ):
        logs.put_metric_filter(
            logGroupName=group,
            filterName=f"{name}-{filter_name}",
            filterPattern='{ $.level = "ERROR" }',
            metricTransformations=[
                {
                    "metricName": "LoggedErrors",
                    "metricNamespace": namespace,
                    "metricValue": "1",
                    "unit": "Count",
                    "dimensions": dimensions,
                }
            ],
        )
    cloudwatch.put_metric_alarm(
        AlarmName=f"{name}-fn-errors",
        Namespace=namespace,
        MetricName="LoggedErrors",
        Dimensions=[{"Name": "Function", "Value": service}],
        Statistic="Sum",
        Period=10,
        EvaluationPeriods=1,
        Threshold=4,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
        AlarmActions=[topic],
    )
    clock, publisher = FakeClock(BASE), FakePublisher()
    engine = AlarmEngine(cloudwatch, publisher, clock=clock, name_prefix=f"{name}-")
    metrics = MetricFilterEngine(logs, cloudwatch)

    def errors_at(*seconds: float) -> None:
        line = log_line("ERROR", "boom", service=service, function_version="7")
        metrics.log_events(group, "2026/11/25/[7]abc", [(at_ms(s), line) for s in seconds])

    errors_at(1, 2, 3)
    clock.at(12)
    [first] = engine.evaluate_all()
    assert first.new_state == "OK"  # 3 is not greater than 4 (6 would be)
    assert first.reason.startswith("Threshold Crossed: 1 datapoint [3.0 ")
    errors_at(11, 12, 13, 14, 15)
    clock.at(22)
    [tripped] = engine.evaluate_all()
    assert tripped.new_state == "ALARM"
    assert tripped.reason.startswith("Threshold Crossed: 1 datapoint [5.0 ")
    [(_, _, message)] = publisher.published
    assert message["Trigger"]["Dimensions"] == [{"value": service, "name": "Function"}]
    assert (message["Trigger"]["Namespace"], message["Trigger"]["MetricName"]) == (
        namespace,
        "LoggedErrors",
    )


def test_a_metric_math_alarm_set_by_hand_notifies_with_its_metrics(moto_endpoint: str) -> None:
    """The engine cannot evaluate metric math, but a state set on such an alarm runs its
    actions with CloudWatch's Trigger: the queries under Metrics, no MetricName at the top."""
    from lambdas.rollback_orchestrator.handler import function_for_alarm

    name = f"fb-{uuid.uuid4().hex[:8]}"
    physical = f"{name}-create-feedback"
    cloudwatch = boto3.client("cloudwatch", endpoint_url=moto_endpoint)
    topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:{name}-alarms"
    dims = [
        {"Name": "FunctionName", "Value": physical},
        {"Name": "Resource", "Value": f"{physical}:live"},
    ]
    cloudwatch.put_metric_alarm(
        AlarmName=f"{physical}-error-rate",
        EvaluationPeriods=1,
        DatapointsToAlarm=1,
        Threshold=10,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
        AlarmActions=[topic],
        Metrics=[
            {
                "Id": "rate",
                "Expression": "100 * errors / MAX([errors, invocations])",
                "Label": "Error rate (%)",
                "ReturnData": True,
            },
            *(
                {
                    "Id": metric.lower(),
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/Lambda",
                            "MetricName": metric,
                            "Dimensions": dims,
                        },
                        "Period": 60,
                        "Stat": "Sum",
                    },
                    "ReturnData": False,
                }
                for metric in ("Errors", "Invocations")
            ),
        ],
    )
    clock, publisher = FakeClock(BASE), FakePublisher()
    engine = AlarmEngine(cloudwatch, publisher, clock=clock, name_prefix=f"{name}-")
    assert engine.evaluate_all() == []
    assert f"{physical}-error-rate" in engine.skipped
    cloudwatch.set_alarm_state(
        AlarmName=f"{physical}-error-rate", StateValue="ALARM", StateReason="drill"
    )
    clock.at(5)
    [drill] = engine.evaluate_all()
    # A new alarm starts in INSUFFICIENT_DATA, as in CloudWatch.
    assert (drill.old_state, drill.new_state, drill.published) == (
        "INSUFFICIENT_DATA",
        "ALARM",
        (topic,),
    )
    [(_, _, message)] = publisher.published
    sns_dims = [
        {"value": physical, "name": "FunctionName"},
        {"value": f"{physical}:live", "name": "Resource"},
    ]
    assert message["Trigger"] == {
        "Period": 60,
        "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1,
        "ComparisonOperator": "GreaterThanThreshold",
        "Threshold": 10.0,
        "TreatMissingData": "notBreaching",
        "EvaluateLowSampleCountPercentile": "",
        "Metrics": [
            {
                "Expression": "100 * errors / MAX([errors, invocations])",
                "Id": "rate",
                "Label": "Error rate (%)",
                "ReturnData": True,
            },
            *(
                {
                    "Id": metric.lower(),
                    "MetricStat": {
                        "Metric": {
                            "Dimensions": sns_dims,
                            "MetricName": metric,
                            "Namespace": "AWS/Lambda",
                        },
                        "Period": 60,
                        "Stat": "Sum",
                    },
                    "ReturnData": False,
                }
                for metric in ("Errors", "Invocations")
            ),
        ],
    }
    # The orchestrator finds the function in it, as it does in AWS's own message.
    assert function_for_alarm(message, name) == "create-feedback"


def test_the_cold_start_share_is_the_average_of_the_template_s_two_filters(moto_endpoint):
    """The rendered template's ColdStartShare filters on a request line: 100 when the invocation
    started cold, 0 when warm, nothing for other lines; the alarm's Average is the share."""
    from feedbackctl.cfnyaml import load
    from feedbackctl.config import load_config
    from feedbackctl.templating import render_stack

    stage = load_config().stage("dev")
    resources = load(render_stack(stage))["Resources"]
    name = f"cs-{uuid.uuid4().hex[:8]}"
    group = f"/aws/lambda/{name}-create-feedback"
    logs = boto3.client("logs", endpoint_url=moto_endpoint)
    cloudwatch = boto3.client("cloudwatch", endpoint_url=moto_endpoint)
    logs.create_log_group(logGroupName=group)
    for logical in ("CreateFeedbackColdStartMetricFilter", "CreateFeedbackWarmStartMetricFilter"):
        props = resources[logical]["Properties"]
        [transform] = props["MetricTransformations"]
        logs.put_metric_filter(  # the template's CloudFormation keys, in the API's spelling
            logGroupName=group,
            filterName=logical,
            filterPattern=props["FilterPattern"],
            metricTransformations=[
                {
                    "metricName": transform["MetricName"],
                    "metricNamespace": f"Feedbackctl/{name}",
                    "metricValue": transform["MetricValue"],
                    "unit": transform["Unit"],
                    "dimensions": {d["Key"]: d["Value"] for d in transform["Dimensions"]},
                }
            ],
        )
    alarm = resources["CreateFeedbackColdStartAlarm"]["Properties"]
    assert (alarm["MetricName"], alarm["Statistic"], alarm["Threshold"]) == (
        "ColdStartShare",
        "Average",
        25,
    )

    def request(cold: bool) -> str:
        return log_line("INFO", "request", cold_start=cold, status=201)

    engine = MetricFilterEngine(logs, cloudwatch)
    lines = [request(True), request(False), request(False), request(False), request(False)]
    lines.append(log_line("INFO", "feedback stored", cold_start=True))  # not a request line
    engine.log_events(group, "s", [(at_ms(i), line) for i, line in enumerate(lines)])
    [point] = cloudwatch.get_metric_statistics(
        Namespace=f"Feedbackctl/{name}",
        MetricName="ColdStartShare",
        Dimensions=[{"Name": "Function", "Value": "create-feedback"}],
        StartTime=BASE,
        EndTime=BASE + timedelta(seconds=60),
        Period=60,
        Statistics=["Average", "SampleCount"],
    )["Datapoints"]
    assert (point["Average"], point["SampleCount"]) == (20.0, 5.0)
