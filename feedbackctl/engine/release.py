"""Releasing a published version: the traffic-shift schedule of each strategy (pure) and the
bake judge that decides, from the function's error alarm, whether the new version is failing.

The judge reads only fresh evidence: an alarm transition to ALARM after the release began, or
datapoints after the release began that breach the alarm's own threshold. An alarm that was
already firing before the release therefore never blocks deploying the fix, and the new
version is judged on its own data.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

Strategy = Literal["all-at-once", "canary", "linear"]
STRATEGIES: tuple[str, ...] = ("all-at-once", "canary", "linear")


@dataclass(frozen=True)
class ShiftStep:
    """Send `weight` of the traffic to the new version, then watch for `hold_s` seconds."""

    weight: float
    hold_s: float

    @property
    def final(self) -> bool:
        return self.weight >= 1.0


@dataclass(frozen=True)
class ReleasePolicy:
    """How a release moves traffic and how long it watches."""

    strategy: Strategy = "all-at-once"
    percent: int = 10  # canary share, or linear step size
    step_s: float = 60.0  # hold at each weighted step
    bake_s: float = 60.0  # watch after 100 %
    poll_s: float = 10.0


def schedule(policy: ReleasePolicy) -> list[ShiftStep]:
    """The shift steps of a strategy; the last is always 100 % held for the bake window."""
    if not 1 <= policy.percent <= 99:
        raise ValueError("percent must be between 1 and 99")
    share = policy.percent / 100
    steps: list[ShiftStep] = []
    if policy.strategy == "canary":
        steps.append(ShiftStep(share, policy.step_s))
    elif policy.strategy == "linear":
        weight = share
        while weight < 1.0 - 1e-9:
            steps.append(ShiftStep(round(weight, 4), policy.step_s))
            weight += share
    elif policy.strategy != "all-at-once":
        raise ValueError(
            f"unknown strategy {policy.strategy!r}; choose one of {', '.join(STRATEGIES)}"
        )
    steps.append(ShiftStep(1.0, policy.bake_s))
    return steps


@dataclass(frozen=True)
class Verdict:
    """The judge's answer: is there fresh evidence that the new version is failing?"""

    failing: bool
    reason: str = ""
    alarm: str = ""
    incident: str = ""


_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "GreaterThanThreshold": operator.gt,
    "GreaterThanOrEqualToThreshold": operator.ge,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}


def incident_key(alarm_name: str, when: datetime) -> str:
    """The same key for an alarm transition whether read from SNS or from DescribeAlarms."""
    return f"{alarm_name}@{int(when.timestamp())}"


def _breaching(alarm: dict[str, Any], datapoints: list[dict[str, Any]], since: datetime) -> int:
    compare: Callable[[Any, Any], Any] = _COMPARE.get(
        alarm.get("ComparisonOperator", ""), operator.gt
    )
    statistic = alarm.get("Statistic", "Sum")
    threshold = float(alarm.get("Threshold", 0))
    count = 0
    for point in datapoints:
        if point["Timestamp"] >= since and bool(
            compare(float(point.get(statistic, 0.0)), threshold)
        ):
            count += 1
    return count


class AlarmJudge:
    """Judges a function's error alarms over an injected CloudWatch client."""

    def __init__(self, cloudwatch: Any, alarm_names: list[str]) -> None:
        self._cw = cloudwatch
        self._names = alarm_names

    def judge(self, since: datetime, now: datetime) -> Verdict:
        alarms = self._cw.describe_alarms(AlarmNames=self._names).get("MetricAlarms", [])
        for alarm in alarms:
            updated = alarm.get("StateUpdatedTimestamp")
            if alarm.get("StateValue") == "ALARM" and updated is not None and updated >= since:
                return Verdict(
                    True,
                    f"{alarm['AlarmName']} fired: {alarm.get('StateReason', '')}",
                    alarm["AlarmName"],
                    incident_key(alarm["AlarmName"], updated),
                )
            verdict = self._fresh_data(alarm, since, now)
            if verdict.failing:
                return verdict
        return Verdict(False)

    def _fresh_data(self, alarm: dict[str, Any], since: datetime, now: datetime) -> Verdict:
        if "MetricName" not in alarm:
            return Verdict(False)
        period = int(alarm.get("Period", 60))
        statistic = alarm.get("Statistic", "Sum")
        result = self._cw.get_metric_statistics(
            Namespace=alarm["Namespace"],
            MetricName=alarm["MetricName"],
            Dimensions=alarm.get("Dimensions", []),
            StartTime=since - timedelta(seconds=period),
            EndTime=now + timedelta(seconds=period),
            Period=period,
            Statistics=[statistic],
        )
        needed = int(alarm.get("DatapointsToAlarm") or alarm.get("EvaluationPeriods") or 1)
        breaches = _breaching(
            alarm, result.get("Datapoints", []), since - timedelta(seconds=period)
        )
        if breaches >= needed:
            return Verdict(
                True,
                f"{alarm['AlarmName']}: {breaches} period(s) of fresh data breach "
                f"{alarm.get('ComparisonOperator', '')} {alarm.get('Threshold')}",
                alarm["AlarmName"],
                f"{alarm['AlarmName']}@fresh-since-{int(since.timestamp())}",
            )
        return Verdict(False)
