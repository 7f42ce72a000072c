"""Alarm evaluation for the local platform: moto stores alarms but never evaluates or notifies.

`evaluate` is pure CloudWatch semantics (window, statistic, M of N, TreatMissingData, reason
text). `AlarmEngine` reads alarms and metrics from moto, records state changes with
`set_alarm_state` and publishes CloudWatch's alarm JSON (`Trigger.Dimensions`, or
`Trigger.Metrics` for metric math) to the SNS topics among the actions. Alarms it cannot
evaluate (metric math, percentiles) still notify when someone sets their state.
"""

from __future__ import annotations

import json
import logging
import math
import operator
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from feedbackctl.aws import error_code
from feedbackctl.local.interfaces import Publisher

__all__ = [
    "AlarmEngine",
    "AlarmSpec",
    "Evaluation",
    "StatisticSet",
    "Transition",
    "alarm_message",
    "evaluate",
    "evaluation_window",
]

_log = logging.getLogger(__name__)

OK, ALARM, INSUFFICIENT_DATA = "OK", "ALARM", "INSUFFICIENT_DATA"
# moto starts every new (or re-put) alarm in OK with this reason; CloudWatch starts it in
# INSUFFICIENT_DATA, so the engine reads this marker as INSUFFICIENT_DATA.
INITIAL_REASON = "Unchecked: Initial alarm creation"

_COMPARISONS: dict[str, tuple[Callable[[float, float], bool], str]] = {
    "GreaterThanThreshold": (operator.gt, "greater than"),
    "GreaterThanOrEqualToThreshold": (operator.ge, "greater than or equal to"),
    "LessThanThreshold": (operator.lt, "less than"),
    "LessThanOrEqualToThreshold": (operator.le, "less than or equal to"),
}
STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
_TRIGGER_STATISTIC = {
    "SampleCount": "SAMPLE_COUNT",
    "Average": "AVERAGE",
    "Sum": "SUM",
    "Minimum": "MINIMUM",
    "Maximum": "MAXIMUM",
}
TREATMENTS = ("missing", "ignore", "breaching", "notBreaching")
_STATISTIC_SET = ("SampleCount", "Sum", "Minimum", "Maximum")
MAX_QUERIES = 500  # GetMetricData's limit of MetricDataQueries a call
# A round's alarms are read this many at a time: each GetMetricData through boto3 and moto's
# request handling costs more than the four statistics it reads for one alarm.
ALARM_BATCH = 8
REGION_NAMES = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)",
    "ca-central-1": "Canada (Central)",
    "eu-west-1": "EU (Ireland)",
    "eu-west-2": "EU (London)",
    "eu-west-3": "EU (Paris)",
    "eu-central-1": "EU (Frankfurt)",
    "eu-north-1": "EU (Stockholm)",
    "eu-south-1": "EU (Milan)",
    "ap-northeast-1": "Asia Pacific (Tokyo)",
    "ap-northeast-2": "Asia Pacific (Seoul)",
    "ap-southeast-1": "Asia Pacific (Singapore)",
    "ap-southeast-2": "Asia Pacific (Sydney)",
    "ap-south-1": "Asia Pacific (Mumbai)",
    "sa-east-1": "South America (Sao Paulo)",
}
_MAX_REASON = 1023  # SetAlarmState's StateReason limit
_MAX_SUBJECT = 100  # SNS Publish's Subject limit


@dataclass(frozen=True)
class StatisticSet:
    """Pre-aggregated samples of one period (what GetMetricStatistics returns)."""

    timestamp: datetime
    sample_count: float
    sum: float
    minimum: float
    maximum: float


Datapoint = tuple[datetime, float] | StatisticSet


@dataclass(frozen=True)
class AlarmSpec:
    """A metric alarm as evaluation and notification need it (`from_api` reads DescribeAlarms)."""

    name: str
    namespace: str
    metric_name: str
    statistic: str  # Sum, Average, Minimum, Maximum, SampleCount, or pNN (ExtendedStatistic)
    period: int
    evaluation_periods: int
    threshold: float
    comparison_operator: str
    datapoints_to_alarm: int | None = None
    treat_missing_data: str = "missing"
    dimensions: tuple[tuple[str, str], ...] = ()
    unit: str | None = None
    arn: str = ""
    description: str | None = None
    actions_enabled: bool = True
    alarm_actions: tuple[str, ...] = ()
    ok_actions: tuple[str, ...] = ()
    insufficient_data_actions: tuple[str, ...] = ()
    configuration_updated: datetime | None = None
    extended_statistic: bool = False
    metrics: tuple[Mapping[str, Any], ...] = ()  # a metric-math alarm's MetricDataQueries

    @property
    def datapoints_needed(self) -> int:
        """M of "M out of N": DatapointsToAlarm, which defaults to EvaluationPeriods."""
        return self.datapoints_to_alarm or self.evaluation_periods

    @property
    def comparison(self) -> tuple[Callable[[float, float], bool], str]:
        return _COMPARISONS[self.comparison_operator]

    def actions_for(self, state: str) -> tuple[str, ...]:
        return {
            ALARM: self.alarm_actions,
            OK: self.ok_actions,
            INSUFFICIENT_DATA: self.insufficient_data_actions,
        }[state]

    @classmethod
    def from_api(cls, alarm: Mapping[str, Any]) -> AlarmSpec | None:
        """None for alarms this engine cannot evaluate: metric math and anomaly detection."""
        if alarm.get("Metrics") or alarm.get("ComparisonOperator") not in _COMPARISONS:
            return None
        if "MetricName" not in alarm:
            return None
        if not (alarm.get("Statistic") or alarm.get("ExtendedStatistic")):
            return None
        updated = alarm.get("AlarmConfigurationUpdatedTimestamp")
        return cls(
            name=alarm["AlarmName"],
            namespace=alarm.get("Namespace", ""),
            metric_name=alarm["MetricName"],
            statistic=alarm.get("Statistic") or alarm["ExtendedStatistic"],
            period=int(alarm["Period"]),
            evaluation_periods=int(alarm["EvaluationPeriods"]),
            threshold=float(alarm["Threshold"]),
            comparison_operator=alarm["ComparisonOperator"],
            datapoints_to_alarm=alarm.get("DatapointsToAlarm"),
            treat_missing_data=alarm.get("TreatMissingData") or "missing",
            dimensions=tuple((d["Name"], d["Value"]) for d in alarm.get("Dimensions", [])),
            unit=alarm.get("Unit"),
            arn=alarm.get("AlarmArn", ""),
            description=alarm.get("AlarmDescription"),
            actions_enabled=alarm.get("ActionsEnabled", True),
            alarm_actions=tuple(alarm.get("AlarmActions", [])),
            ok_actions=tuple(alarm.get("OKActions", [])),
            insufficient_data_actions=tuple(alarm.get("InsufficientDataActions", [])),
            configuration_updated=updated.astimezone(UTC) if updated else None,
            extended_statistic=not alarm.get("Statistic"),
        )

    @classmethod
    def math_from_api(cls, alarm: Mapping[str, Any]) -> AlarmSpec | None:
        """A metric-math alarm, for notification only (this engine cannot evaluate one)."""
        metrics = tuple(alarm.get("Metrics") or ())
        if not metrics:
            return None
        periods = [int((q.get("MetricStat") or {}).get("Period") or 0) for q in metrics]
        updated = alarm.get("AlarmConfigurationUpdatedTimestamp")
        return cls(
            name=alarm["AlarmName"],
            namespace="",
            metric_name="",
            statistic="",
            period=int(alarm.get("Period") or max(periods, default=0)),
            evaluation_periods=int(alarm["EvaluationPeriods"]),
            threshold=float(alarm.get("Threshold") or 0.0),
            comparison_operator=alarm["ComparisonOperator"],
            datapoints_to_alarm=alarm.get("DatapointsToAlarm"),
            treat_missing_data=alarm.get("TreatMissingData") or "missing",
            arn=alarm.get("AlarmArn", ""),
            description=alarm.get("AlarmDescription"),
            actions_enabled=alarm.get("ActionsEnabled", True),
            alarm_actions=tuple(alarm.get("AlarmActions", [])),
            ok_actions=tuple(alarm.get("OKActions", [])),
            insufficient_data_actions=tuple(alarm.get("InsufficientDataActions", [])),
            configuration_updated=updated.astimezone(UTC) if updated else None,
            metrics=metrics,
        )


class Evaluation(NamedTuple):
    state: str
    reason: str


@dataclass(frozen=True)
class _Period:
    start: datetime
    value: float | None  # the statistic, None when the period has no data
    sample_count: float = 0.0


def evaluation_window(alarm: AlarmSpec, now: datetime) -> list[datetime]:
    """Starts of the EvaluationPeriods periods ending with the last complete one, oldest first.

    Periods are aligned to multiples of the period since the epoch, as CloudWatch aligns them.
    """
    step = alarm.period
    end = math.floor(now.timestamp() / step) * step
    return [
        datetime.fromtimestamp(end - k * step, UTC) for k in range(alarm.evaluation_periods, 0, -1)
    ]


def evaluate(
    alarm: AlarmSpec,
    datapoints: Sequence[Datapoint],
    now: datetime,
    *,
    current_state: str = INSUFFICIENT_DATA,
) -> Evaluation:
    """The state CloudWatch would put the alarm in at `now`, and the reason it would give.

    Missing periods follow TreatMissingData: `breaching`/`notBreaching` fill them; `missing`
    and `ignore` judge the datapoints present (ALARM when at least min(M, present) breach);
    with no datapoint at all `missing` gives INSUFFICIENT_DATA and `ignore` keeps the state.
    """
    periods = _periods(alarm, datapoints, now)
    compare, words = alarm.comparison
    present = [p for p in periods if p.value is not None]
    breaching = [p for p in present if p.value is not None and compare(p.value, alarm.threshold)]
    missing = len(periods) - len(present)
    treatment = alarm.treat_missing_data if alarm.treat_missing_data in TREATMENTS else "missing"
    if not present and treatment in ("missing", "ignore"):
        if treatment == "ignore":
            return Evaluation(current_state, _no_data_reason(missing, "kept"))
        reason = f"Insufficient Data: {_count(missing)} {_was(missing)} unknown."
        return Evaluation(INSUFFICIENT_DATA, reason)
    filled_breaching = missing if treatment == "breaching" else 0
    filled_fine = missing if treatment == "notBreaching" else 0
    count = len(breaching) + filled_breaching
    needed = alarm.datapoints_needed
    if treatment in ("missing", "ignore"):
        # Missing periods count for neither side: too few datapoints to reach M can still
        # alarm when every one of them breaches.
        needed = min(needed, len(present))
    if count >= needed:
        reason = _alarm_reason(alarm, breaching, words, filled_breaching, current_state)
        return Evaluation(ALARM, reason)
    kept = [p for p in present if p not in breaching]
    return Evaluation(OK, _ok_reason(alarm, kept, words, filled_fine))


def reason_data(alarm: AlarmSpec, datapoints: Sequence[Datapoint], now: datetime) -> str:
    """StateReasonData as CloudWatch writes it for a threshold alarm."""
    periods = _periods(alarm, datapoints, now)
    present = [p for p in periods if p.value is not None]
    data: dict[str, Any] = {
        "version": "1.0",
        "queryDate": _iso(now),
        "startDate": _iso(periods[0].start),
    }
    data["extendedStatistic" if alarm.extended_statistic else "statistic"] = alarm.statistic
    data.update(
        {
            "period": alarm.period,
            "recentDatapoints": [p.value for p in present],
            "threshold": alarm.threshold,
            "evaluatedDatapoints": [
                {"timestamp": _iso(p.start), "sampleCount": p.sample_count, "value": p.value}
                for p in reversed(present)
            ],
        }
    )
    if alarm.unit:
        data["unit"] = alarm.unit
    return json.dumps(data, separators=(",", ":"))


def _periods(alarm: AlarmSpec, datapoints: Sequence[Datapoint], now: datetime) -> list[_Period]:
    step = timedelta(seconds=alarm.period)
    periods = []
    for start in evaluation_window(alarm, now):
        inside = [d for d in datapoints if start <= _when(d) < start + step]
        value, count = _statistic(alarm.statistic, inside)
        periods.append(_Period(start, value, count))
    return periods


def _when(datapoint: Datapoint) -> datetime:
    return datapoint.timestamp if isinstance(datapoint, StatisticSet) else datapoint[0]


def _statistic(name: str, datapoints: Sequence[Datapoint]) -> tuple[float | None, float]:
    """The statistic over one period's raw samples and statistic sets, and the sample count."""
    sets = [
        d if isinstance(d, StatisticSet) else StatisticSet(d[0], 1.0, d[1], d[1], d[1])
        for d in datapoints
    ]
    count = sum(s.sample_count for s in sets)
    if not sets or count <= 0:
        return None, 0.0
    if name.startswith("p"):
        return _percentile(name, datapoints), count
    total = sum(s.sum for s in sets)
    value = {
        "Sum": total,
        "Average": total / count,
        "Minimum": min(s.minimum for s in sets),
        "Maximum": max(s.maximum for s in sets),
        "SampleCount": count,
    }.get(name)
    return value, count


def _percentile(name: str, datapoints: Sequence[Datapoint]) -> float | None:
    # Only raw samples can give a percentile; pre-aggregated sets cannot.
    if any(isinstance(d, StatisticSet) for d in datapoints):
        return None
    try:
        rank = float(name[1:])
    except ValueError:
        return None
    values = sorted(d[1] for d in datapoints if not isinstance(d, StatisticSet))
    index = max(math.ceil(rank / 100 * len(values)) - 1, 0)
    return values[min(index, len(values) - 1)]


def _alarm_reason(
    alarm: AlarmSpec, breaching: list[_Period], words: str, filled: int, old_state: str
) -> str:
    threshold = f"the threshold ({_num(alarm.threshold)})"
    n, m = alarm.evaluation_periods, alarm.datapoints_needed
    if not breaching:
        return f"Threshold Crossed: {_no_data_reason(filled, 'Breaching')}"
    points = _list(breaching)
    was = _was(len(breaching))
    missing = f" and {_count(filled, 'missing datapoint')} {_was(filled)} treated as [Breaching]"
    tail = missing if filled else ""
    if m == n:
        return (
            f"Threshold Crossed: {_count(len(breaching))} {points} {was} {words} {threshold}{tail}."
        )
    return (
        f"Threshold Crossed: {len(breaching)} out of the last {n} datapoints {points} {was} "
        f"{words} {threshold}{tail} (minimum {_count(m)} for {old_state} -> ALARM transition)."
    )


def _ok_reason(alarm: AlarmSpec, kept: list[_Period], words: str, filled: int) -> str:
    threshold = f"the threshold ({_num(alarm.threshold)})"
    if not kept:
        return f"Threshold Crossed: {_no_data_reason(filled, 'NonBreaching')}"
    points, was = _list(kept), _was(len(kept))
    text = f"Threshold Crossed: {_count(len(kept))} {points} {was} not {words} {threshold}"
    if filled:
        text += f" and {_count(filled, 'missing datapoint')} {_was(filled)}"
        text += " treated as [NonBreaching]"
    return text + "."


def _no_data_reason(missing: int, treated_as: str) -> str:
    periods = f"{missing} period{'s' if missing != 1 else ''}"
    if treated_as == "kept":
        return f"no datapoints were received for {periods}; the state is kept (ignore)."
    return (
        f"no datapoints were received for {periods} and {_count(missing, 'missing datapoint')} "
        f"{_was(missing)} treated as [{treated_as}]."
    )


def _list(periods: list[_Period]) -> str:
    """`[9.0 (25/11/26 10:05:00), ...]`, the most recent first, as CloudWatch lists them."""
    items = [f"{_num(p.value)} ({p.start:%d/%m/%y %H:%M:%S})" for p in reversed(periods)]
    return "[" + ", ".join(items) + "]"


def _count(n: int, noun: str = "datapoint") -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def _was(n: int) -> str:
    return "was" if n == 1 else "were"


def _num(value: float | None) -> str:
    return repr(float(value or 0.0))


def _iso(when: datetime) -> str:
    """CloudWatch's timestamp format in alarm messages: `2026-11-25T10:05:00.000+0000`."""
    when = when.astimezone(UTC)
    return f"{when:%Y-%m-%dT%H:%M:%S}.{when.microsecond // 1000:03d}+0000"


# --- notification ---------------------------------------------------------------------------


def alarm_message(
    alarm: AlarmSpec,
    *,
    old_state: str,
    new_state: str,
    reason: str,
    changed_at: datetime,
    region: str,
    account: str,
) -> dict[str, Any]:
    """The JSON CloudWatch publishes to an SNS action on a state change, key for key."""
    trigger = _math_trigger(alarm) if alarm.metrics else _threshold_trigger(alarm)
    configured = alarm.configuration_updated or changed_at
    return {
        "AlarmName": alarm.name,
        "AlarmDescription": alarm.description,
        "AWSAccountId": account,
        "AlarmConfigurationUpdatedTimestamp": _iso(configured),
        "NewStateValue": new_state,
        "NewStateReason": reason,
        "StateChangeTime": _iso(changed_at),
        "Region": REGION_NAMES.get(region, region),
        "AlarmArn": alarm.arn,
        "OldStateValue": old_state,
        "OKActions": list(alarm.ok_actions),
        "AlarmActions": list(alarm.alarm_actions),
        "InsufficientDataActions": list(alarm.insufficient_data_actions),
        "Trigger": trigger,
    }


def _sns_dimensions(dimensions: Any) -> list[dict[str, str]]:
    """Dimensions as alarm notifications write them: lower-case keys, value first."""
    return [{"value": d["Value"], "name": d["Name"]} for d in dimensions or []]


def _math_trigger(alarm: AlarmSpec) -> dict[str, Any]:
    """A metric-math alarm's Trigger: the window and threshold, then its queries under
    `Metrics` (no MetricName, Namespace or Dimensions at the top), as CloudWatch sends it."""
    return {
        **_window(alarm),
        **_threshold(alarm),
        "Metrics": [_math_query(q) for q in alarm.metrics],
    }


def _window(alarm: AlarmSpec) -> dict[str, Any]:
    window: dict[str, Any] = {
        "Period": alarm.period,
        "EvaluationPeriods": alarm.evaluation_periods,
    }
    if alarm.datapoints_to_alarm is not None:
        window["DatapointsToAlarm"] = alarm.datapoints_to_alarm
    return window


def _threshold(alarm: AlarmSpec) -> dict[str, Any]:
    return {
        "ComparisonOperator": alarm.comparison_operator,
        "Threshold": alarm.threshold,
        "TreatMissingData": alarm.treat_missing_data,
        "EvaluateLowSampleCountPercentile": "",
    }


def _math_query(query: Mapping[str, Any]) -> dict[str, Any]:
    shown: dict[str, Any] = {}
    for key in ("Expression", "Id", "Label"):
        if key in query:
            shown[key] = query[key]
    stat = query.get("MetricStat")
    if stat:
        metric = stat.get("Metric") or {}
        shown["MetricStat"] = {
            "Metric": {
                "Dimensions": _sns_dimensions(metric.get("Dimensions")),
                "MetricName": metric.get("MetricName"),
                "Namespace": metric.get("Namespace"),
            },
            "Period": stat.get("Period"),
            "Stat": stat.get("Stat"),
        }
        if stat.get("Unit"):
            shown["MetricStat"]["Unit"] = stat["Unit"]
    shown["ReturnData"] = query.get("ReturnData", True)
    if query.get("AccountId"):
        shown["AccountId"] = query["AccountId"]
    return shown


def _threshold_trigger(alarm: AlarmSpec) -> dict[str, Any]:
    trigger: dict[str, Any] = {
        "MetricName": alarm.metric_name,
        "Namespace": alarm.namespace,
    }
    if alarm.extended_statistic:
        trigger.update(StatisticType="ExtendedStatistic", ExtendedStatistic=alarm.statistic)
    else:
        trigger.update(
            StatisticType="Statistic",
            Statistic=_TRIGGER_STATISTIC.get(alarm.statistic, alarm.statistic.upper()),
        )
    trigger.update(
        {
            "Unit": alarm.unit,
            "Dimensions": _sns_dimensions([{"Name": n, "Value": v} for n, v in alarm.dimensions]),
            **_window(alarm),
            **_threshold(alarm),
        }
    )
    return trigger


def alarm_subject(alarm: AlarmSpec, new_state: str, region: str) -> str:
    """`ALARM: "name" in US East (N. Virginia)`, cut to SNS's 100-character limit."""
    subject = f'{new_state}: "{alarm.name}" in {REGION_NAMES.get(region, region)}'
    return subject[:_MAX_SUBJECT]


def _is_topic(arn: str) -> bool:
    parts = arn.split(":")
    return len(parts) >= 6 and parts[0] == "arn" and parts[2] == "sns"


# --- the engine ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    """One state change the engine made (or saw made by SetAlarmState) and what it published."""

    alarm: str
    old_state: str
    new_state: str
    reason: str
    at: datetime
    published: tuple[str, ...] = ()


def _utcnow() -> datetime:
    return datetime.now(UTC)


class _AlarmGoneError(LookupError):
    """The alarm was deleted after the round read it: nothing to record or notify."""


def _query_id(prefix: str, statistic: str) -> str:
    return f"{prefix}_{statistic.lower()}"


def _queries(prefix: str, spec: AlarmSpec) -> list[dict[str, Any]]:
    """GetMetricData queries for the alarm's metric, one per statistic of `_STATISTIC_SET`."""
    stat: dict[str, Any] = {
        "Metric": {
            "Namespace": spec.namespace,
            "MetricName": spec.metric_name,
            "Dimensions": [{"Name": n, "Value": v} for n, v in spec.dimensions],
        },
        "Period": spec.period,
    }
    if spec.unit:
        stat["Unit"] = spec.unit
    return [
        {"Id": _query_id(prefix, name), "MetricStat": {**stat, "Stat": name}, "ReturnData": True}
        for name in _STATISTIC_SET
    ]


def _statistic_sets(
    window: Sequence[datetime], by_stat: Mapping[str, Mapping[datetime, float]]
) -> list[Datapoint]:
    """The window's periods that have every statistic, as statistic sets."""
    found: list[Datapoint] = []
    for start in window:
        values = {name: by_stat[name].get(start) for name in _STATISTIC_SET}
        if any(v is None for v in values.values()):
            continue
        found.append(
            StatisticSet(
                start,
                float(values["SampleCount"] or 0.0),
                float(values["Sum"] or 0.0),
                float(values["Minimum"] or 0.0),
                float(values["Maximum"] or 0.0),
            )
        )
    return found


class _Pacer:
    """Spreads one round's alarms across `seconds`: waits between two of them (on `stop`, so
    a stop ends the round at once) and adds up what it waited."""

    def __init__(self, stop: threading.Event, seconds: float) -> None:
        self._stop = stop
        self._seconds = seconds
        self.waited = 0.0

    def __call__(self, count: int) -> bool:
        if count > 1 and self._seconds > 0:
            gap = self._seconds / (count - 1)
            self.waited += gap
            self._stop.wait(gap)
        return not self._stop.is_set()


class AlarmEngine:
    """Evaluates every metric alarm in moto's CloudWatch and notifies on state changes."""

    def __init__(
        self,
        cloudwatch: Any,
        publisher: Publisher,
        *,
        clock: Callable[[], datetime] = _utcnow,
        region: str = "us-east-1",
        account: str = "123456789012",
        name_prefix: str | None = None,
        spread: float = 0.0,
        batch: int = ALARM_BATCH,
    ) -> None:
        self._cloudwatch = cloudwatch
        # In `run`, the share of the interval a round's alarms are spread across (see there).
        self.spread = min(max(spread, 0.0), 1.0)
        # Alarms read together with one GetMetricData (see `evaluate_all`).
        self.batch = min(max(batch, 1), MAX_QUERIES // len(_STATISTIC_SET))
        self._name_prefix = name_prefix  # e.g. "<stack>-": only this stack's alarms
        self._publisher = publisher
        self._clock = clock
        self._region = region
        self._account = account
        self._known: dict[str, str] = {}  # alarm ARN -> the state this engine last saw or set
        self.skipped: set[str] = set()  # alarms it cannot evaluate (metric math, percentiles)

    def run(self, stop: threading.Event, interval: float) -> None:
        """Evaluate every `interval` seconds until `stop` is set (`stop.wait` is the sleep).

        With a `spread`, a round's alarms are evaluated a batch at a time, `spread * interval`
        seconds apart in all, and the round's wait is that much shorter: each alarm is still
        evaluated once per interval, but the platform's requests, which share its process, meet
        a few milliseconds of evaluation at a time instead of a whole round at once (under the
        load benchmark, the slowest requests were answered during those rounds far more often
        than requests at large)."""
        while not stop.is_set():
            pacer = _Pacer(stop, self.spread * interval)
            try:
                self.evaluate_all(pace=pacer)
            except Exception:  # noqa: BLE001 - one failed round must not end alarm evaluation
                _log.exception("alarm evaluation failed; retrying in %.1f s", interval)
            stop.wait(max(0.0, interval - pacer.waited))

    def evaluate_all(self, pace: Callable[[int], bool] | None = None) -> list[Transition]:
        """One round: every metric alarm evaluated at the clock's `now` when its batch's turn
        comes; the changes made. A batch's alarms are read with one GetMetricData per evaluation
        window. `pace(count)` runs between two of the round's `count` batches; the round ends
        early when it returns False."""
        transitions: list[Transition] = []
        query = {"AlarmNamePrefix": self._name_prefix} if self._name_prefix else {}
        pages = self._cloudwatch.get_paginator("describe_alarms").paginate(**query)
        alarms = [raw for page in pages for raw in page.get("MetricAlarms", [])]
        batches = [
            alarms[start : start + self.batch] for start in range(0, len(alarms), self.batch)
        ]
        for turn, batch in enumerate(batches):
            if turn and pace is not None and not pace(len(batches)):
                break
            now = self._clock()
            evaluated: list[tuple[Mapping[str, Any], AlarmSpec]] = []
            for raw in batch:
                spec = AlarmSpec.from_api(raw)
                if spec is None or spec.extended_statistic:
                    # moto's metric reads have no percentiles and no metric math: such alarms
                    # are not evaluated, but a state set on them still runs their actions.
                    self.skipped.add(raw["AlarmName"])
                    followed = spec or AlarmSpec.math_from_api(raw)
                    if followed is not None:
                        transitions.extend(self._follow(raw, followed, now))
                    continue
                evaluated.append((raw, spec))
            datapoints = self._datapoints([spec for _, spec in evaluated], now)
            for (raw, spec), found in zip(evaluated, datapoints, strict=True):
                try:
                    transitions.extend(self._evaluate(raw, spec, now, found))
                except _AlarmGoneError:  # deleted since the round read it (a destroy, a deploy)
                    self._known.pop(spec.arn, None)
        return transitions

    def _set_by_hand(
        self, raw: Mapping[str, Any], spec: AlarmSpec, now: datetime
    ) -> list[Transition]:
        """Someone called SetAlarmState (a drill): CloudWatch runs the actions for it too."""
        shown = raw["StateValue"]
        old = self._known.get(spec.arn)
        if raw.get("StateReason") == INITIAL_REASON or old is None or old == shown:
            return []
        changed = raw.get("StateUpdatedTimestamp")
        at = changed.astimezone(UTC) if changed else now
        reason = raw.get("StateReason", "")
        published = self._notify(spec, old, shown, reason, at)
        return [Transition(spec.name, old, shown, reason, at, published)]

    def _follow(self, raw: Mapping[str, Any], spec: AlarmSpec, now: datetime) -> list[Transition]:
        transitions = self._set_by_hand(raw, spec, now)
        initial = raw.get("StateReason") == INITIAL_REASON
        self._known[spec.arn] = INSUFFICIENT_DATA if initial else raw["StateValue"]
        return transitions

    def _evaluate(
        self,
        raw: Mapping[str, Any],
        spec: AlarmSpec,
        now: datetime,
        datapoints: Sequence[Datapoint],
    ) -> list[Transition]:
        transitions = self._set_by_hand(raw, spec, now)
        shown = raw["StateValue"]
        current = shown
        if raw.get("StateReason") == INITIAL_REASON:
            current = self._known.get(spec.arn, INSUFFICIENT_DATA)
        state, reason = evaluate(spec, datapoints, now, current_state=current)
        if state == current:
            if state != shown:  # moto's initial OK shown for what is INSUFFICIENT_DATA
                self._set_state(spec, state, reason, reason_data(spec, datapoints, now))
            self._known[spec.arn] = state
            return transitions
        self._set_state(spec, state, reason, reason_data(spec, datapoints, now))
        self._known[spec.arn] = state
        published = self._notify(spec, current, state, reason, now)
        transitions.append(Transition(spec.name, current, state, reason, now, published))
        return transitions

    def _datapoints(self, specs: Sequence[AlarmSpec], now: datetime) -> list[list[Datapoint]]:
        """Each alarm's metric per period, read with GetMetricData: like CloudWatch, it matches
        the alarm's exact dimension set (moto's GetMetricStatistics also returns metrics with
        extra dimensions, which would count a line that two filters publish twice). moto buckets
        from StartTime, which is aligned to the period here. Alarms with the same window share
        one call, each with its own queries."""
        windows = [evaluation_window(spec, now) for spec in specs]
        sharing: dict[tuple[datetime, datetime], list[int]] = {}
        for index, (spec, window) in enumerate(zip(specs, windows, strict=True)):
            end = window[-1] + timedelta(seconds=spec.period)
            sharing.setdefault((window[0], end), []).append(index)
        by_stat: dict[str, dict[datetime, float]] = {}
        for (start, end), indexes in sharing.items():
            result = self._cloudwatch.get_metric_data(
                MetricDataQueries=[
                    query for index in indexes for query in _queries(f"a{index}", specs[index])
                ],
                StartTime=start,
                EndTime=end,
                ScanBy="TimestampAscending",
            )
            for series in result.get("MetricDataResults", []):
                by_stat[series["Id"]] = {
                    stamp.astimezone(UTC): float(value)
                    for stamp, value in zip(series["Timestamps"], series["Values"], strict=False)
                }
        return [
            _statistic_sets(
                window,
                {name: by_stat.get(_query_id(f"a{index}", name), {}) for name in _STATISTIC_SET},
            )
            for index, window in enumerate(windows)
        ]

    def _set_state(self, spec: AlarmSpec, state: str, reason: str, data: str) -> None:
        try:
            self._cloudwatch.set_alarm_state(
                AlarmName=spec.name,
                StateValue=state,
                StateReason=reason[:_MAX_REASON],
                StateReasonData=data,
            )
        except Exception as exc:
            # SetAlarmState's error for an alarm that does not exist (any more).
            if error_code(exc) == "ResourceNotFound":
                raise _AlarmGoneError(spec.name) from exc
            raise

    def _notify(
        self, spec: AlarmSpec, old: str, new: str, reason: str, at: datetime
    ) -> tuple[str, ...]:
        if not spec.actions_enabled:
            return ()
        topics = tuple(arn for arn in spec.actions_for(new) if _is_topic(arn))
        if not topics:
            return ()
        message = alarm_message(
            spec,
            old_state=old,
            new_state=new,
            reason=reason,
            changed_at=at,
            region=self._region,
            account=self._account,
        )
        body = json.dumps(message)
        subject = alarm_subject(spec, new, self._region)
        published = []
        for topic in topics:
            try:
                self._publisher.publish(topic, subject, body)
            except Exception:  # noqa: BLE001 - one topic's failure must not silence the others
                _log.exception("publishing %s of %s to %s failed", new, spec.name, topic)
                continue
            published.append(topic)
        return tuple(published)
