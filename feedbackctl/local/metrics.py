"""Metric filters and the Embedded Metric Format over the local platform's log lines.

`MetricFilterEngine` is the invoke service's `LogSink`: each event is matched against its log
group's metric filters (moto stores but never applies them); matches, default values and EMF
metrics become `put_metric_data` in moto's CloudWatch, stamped with the event's own time.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from feedbackctl.filterpattern import FilterPattern, FilterPatternError, Match, compile_pattern
from feedbackctl.local.interfaces import LogSink
from feedbackctl.local.lambda_metrics import compact

__all__ = ["MetricFilter", "MetricFilterEngine", "Transformation", "emf_metrics"]

_log = logging.getLogger(__name__)

MAX_DATA_PER_CALL = 1000  # PutMetricData's limit on MetricData entries per request
UNITS = frozenset(
    {
        "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes",
        "Gigabytes", "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits",
        "Percent", "Count", "Bytes/Second", "Kilobytes/Second", "Megabytes/Second",
        "Gigabytes/Second", "Terabytes/Second", "Bits/Second", "Kilobits/Second",
        "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
    }
)  # fmt: skip

Datum = dict[str, Any]


@dataclass(frozen=True)
class Transformation:
    """One metricTransformation: what a match (or a miss, with a default value) emits."""

    metric_name: str
    namespace: str
    value: str = "1"  # a number, `$.field` (JSON) or `$field` (space-delimited)
    default_value: float | None = None
    dimensions: Mapping[str, str] = field(default_factory=dict)  # name -> `$.field`
    unit: str | None = None

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> Transformation:
        default = item.get("defaultValue")
        return cls(
            metric_name=item["metricName"],
            namespace=item["metricNamespace"],
            value=str(item.get("metricValue", "1")),
            default_value=None if default is None else float(default),
            dimensions=dict(item.get("dimensions") or {}),
            unit=item.get("unit"),
        )

    def on_match(self, match: Match, timestamp: datetime) -> Datum | None:
        """The datum for a matching event, or None when a value or dimension field is absent
        or not usable (CloudWatch emits nothing for such an event)."""
        selected = match.value(self.value) if self.value.startswith("$") else self.value
        value = _number(selected)
        if value is None:
            return None
        dimensions = []
        for name, selector in self.dimensions.items():
            raw = match.value(selector) if selector.startswith("$") else selector
            if raw is None or isinstance(raw, dict | list):
                return None
            dimensions.append({"Name": name, "Value": _text(raw)})
        return _datum(self.metric_name, value, timestamp, self.unit, dimensions)

    def on_miss(self, timestamp: datetime) -> Datum | None:
        # AWS reports the default value for every ingested event that did not match.
        if self.default_value is None:
            return None
        return _datum(self.metric_name, self.default_value, timestamp, self.unit, [])


@dataclass(frozen=True)
class MetricFilter:
    """A metric filter of a log group, its pattern compiled once."""

    name: str
    log_group: str
    pattern: FilterPattern
    transformations: tuple[Transformation, ...]

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> MetricFilter:
        """From a `describe_metric_filters` entry; raises FilterPatternError on a bad pattern."""
        return cls(
            name=item.get("filterName", ""),
            log_group=item["logGroupName"],
            pattern=compile_pattern(item.get("filterPattern", "")),
            transformations=tuple(
                Transformation.from_api(t) for t in item.get("metricTransformations", [])
            ),
        )

    def data_for(self, timestamp: datetime, message: str) -> Iterator[tuple[str, Datum]]:
        """(namespace, datum) pairs this filter emits for one event."""
        match = self.pattern.match(message)
        for transformation in self.transformations:
            if match is not None:
                datum = transformation.on_match(match, timestamp)
            else:
                datum = transformation.on_miss(timestamp)
            if datum is not None:
                yield transformation.namespace, datum


class MetricFilterEngine(LogSink):
    """Applies metric filters and EMF to log events and puts the metrics into CloudWatch.

    Filters come from `logs.describe_metric_filters` (`refresh()`, and again whenever they
    are older than `refresh_s` seconds when events arrive) or from the `filters` given.
    """

    def __init__(
        self,
        logs: Any | None,
        cloudwatch: Any,
        *,
        filters: Iterable[MetricFilter] | None = None,
        refresh_s: float | None = 10.0,
        clock: Callable[[], float] = time.monotonic,
        emf: bool = True,
    ) -> None:
        self._logs = logs
        self._cloudwatch = cloudwatch
        self._refresh_s = refresh_s if logs is not None else None
        self._clock = clock
        self._emf = emf
        self._lock = threading.Lock()
        self._loaded_at: float | None = None
        self._by_group: dict[str, tuple[MetricFilter, ...]] = {}
        self.invalid: dict[str, str] = {}  # filter name -> why it was skipped
        if filters is not None:
            self._by_group = _group(filters)
            self._loaded_at = clock()

    @property
    def filters(self) -> list[MetricFilter]:
        return [f for group in self._by_group.values() for f in group]

    def refresh(self) -> None:
        """Reload every log group's metric filters from CloudWatch Logs."""
        if self._logs is None:
            return
        loaded: list[MetricFilter] = []
        invalid: dict[str, str] = {}
        for page in self._logs.get_paginator("describe_metric_filters").paginate():
            for item in page.get("metricFilters", []):
                try:
                    loaded.append(MetricFilter.from_api(item))
                except FilterPatternError as exc:
                    # CloudWatch would have refused it at PutMetricFilter; moto stores anything.
                    invalid[item.get("filterName", "?")] = str(exc)
        for name, why in invalid.items():
            if name not in self.invalid:
                _log.warning("metric filter %s is skipped: %s", name, why)
        with self._lock:
            self._by_group = _group(loaded)
            self.invalid = invalid
            self._loaded_at = self._clock()

    def log_events(self, log_group: str, log_stream: str, events: list[tuple[int, str]]) -> None:
        """One stream's (timestamp ms, message) pairs."""
        self.log_streams([(log_group, log_stream, events)])

    def log_streams(self, streams: Sequence[tuple[str, str, list[tuple[int, str]]]]) -> None:
        """The streams' metrics go in together: one PutMetricData a namespace (and 1000 data),
        not one a stream, since each call costs more than the data it carries."""
        if self._stale():
            self.refresh()
        batches: dict[str, list[Datum]] = defaultdict(list)
        for log_group, _stream, events in streams:
            filters = self._by_group.get(log_group, ())
            for timestamp_ms, message in events:
                when = datetime.fromtimestamp(timestamp_ms / 1000, UTC)
                for metric_filter in filters:
                    for namespace, datum in metric_filter.data_for(when, message):
                        batches[namespace].append(datum)
                if self._emf:
                    for namespace, datum in emf_metrics(message, when):
                        batches[namespace].append(datum)
        self._put(batches)

    def _stale(self) -> bool:
        if self._logs is None:
            return False
        if self._loaded_at is None:
            return True
        return self._refresh_s is not None and self._clock() - self._loaded_at >= self._refresh_s

    def _put(self, batches: Mapping[str, list[Datum]]) -> None:
        for namespace, datums in batches.items():
            data = compact(datums)  # one datum per series and second: the cost is per datum
            for start in range(0, len(data), MAX_DATA_PER_CALL):
                chunk = data[start : start + MAX_DATA_PER_CALL]
                try:
                    self._cloudwatch.put_metric_data(Namespace=namespace, MetricData=chunk)
                except (BotoCoreError, ClientError) as exc:
                    # A sink must not fail the invocation whose logs it is reading.
                    _log.warning("put_metric_data to %s failed: %s", namespace, exc)


def emf_metrics(message: str, default_time: datetime) -> Iterator[tuple[str, Datum]]:
    """(namespace, datum) pairs of an Embedded Metric Format line; nothing for other lines.

    Each directive of `_aws.CloudWatchMetrics` names a namespace, dimension sets and metrics;
    the values (a number or a list of numbers) and dimension values are top-level keys.
    """
    if '"_aws"' not in message:
        return  # cheap exit: almost every line is not EMF
    try:
        doc = json.loads(message)
    except ValueError:
        return
    meta = doc.get("_aws") if isinstance(doc, dict) else None
    if not isinstance(meta, dict) or not isinstance(meta.get("CloudWatchMetrics"), list):
        return
    when = default_time
    if isinstance(meta.get("Timestamp"), int | float):
        when = datetime.fromtimestamp(meta["Timestamp"] / 1000, UTC)
    for directive in meta["CloudWatchMetrics"]:
        if not isinstance(directive, dict) or not isinstance(directive.get("Namespace"), str):
            continue
        for dimensions in _emf_dimension_sets(doc, directive.get("Dimensions")):
            for metric in directive.get("Metrics") or []:
                yield from _emf_metric(doc, directive["Namespace"], metric, dimensions, when)


def _emf_dimension_sets(doc: dict[str, Any], sets: Any) -> Iterator[list[dict[str, str]]]:
    if not isinstance(sets, list) or not sets:
        yield []  # no dimension sets: the metrics are published without dimensions
        return
    for names in sets:
        if not isinstance(names, list) or any(
            not isinstance(n, str) or n not in doc or isinstance(doc[n], dict | list) for n in names
        ):
            continue  # the spec makes a dimension without a top-level value invalid
        yield [{"Name": n, "Value": _text(doc[n])} for n in names]


def _emf_metric(
    doc: dict[str, Any],
    namespace: str,
    metric: Any,
    dimensions: list[dict[str, str]],
    when: datetime,
) -> Iterator[tuple[str, Datum]]:
    if not isinstance(metric, dict) or not isinstance(metric.get("Name"), str):
        return
    raw = doc.get(metric["Name"])
    values = raw if isinstance(raw, list) else [raw]
    unit = metric.get("Unit") if metric.get("Unit") in UNITS else None
    for value in values:
        number = _number(value)
        if number is not None:
            datum = _datum(metric["Name"], number, when, unit, dimensions)
            if metric.get("StorageResolution") in (1, 60):
                datum["StorageResolution"] = metric["StorageResolution"]
            yield namespace, datum


def _group(filters: Iterable[MetricFilter]) -> dict[str, tuple[MetricFilter, ...]]:
    grouped: dict[str, list[MetricFilter]] = defaultdict(list)
    for metric_filter in filters:
        grouped[metric_filter.log_group].append(metric_filter)
    return {group: tuple(items) for group, items in grouped.items()}


def _datum(
    name: str, value: float, when: datetime, unit: str | None, dimensions: list[dict[str, str]]
) -> Datum:
    datum: Datum = {"MetricName": name, "Value": value, "Timestamp": when}
    if dimensions:
        datum["Dimensions"] = dimensions
    if unit:
        datum["Unit"] = unit
    return datum


def _number(value: Any) -> float | None:
    """A finite number from a JSON number or a numeric string; None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
