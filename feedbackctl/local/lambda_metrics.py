"""The `AWS/Lambda` metrics of the local platform: what Lambda publishes per invocation.

`LambdaMetrics` turns an invocation (or a throttle, or a stream batch's iterator age) into
datums with AWS's dimension sets and ships them to moto's CloudWatch from a background thread
(feedbackctl.local.shipper), each stamped with the invocation's own time, so nothing waits on
CloudWatch. `compact` sends a batch's datums of one series and second as one datum with
`Values` and `Counts`, as CloudWatch's PutMetricData takes them: the statistics (percentiles
included) are those of the single values, at a fraction of the cost.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = [
    "LAMBDA_NAMESPACE",
    "Invocation",
    "LambdaMetrics",
    "compact",
    "dimension_sets",
    "split_target",
]

LAMBDA_NAMESPACE = "AWS/Lambda"
MAX_DATA_PER_CALL = 1000  # PutMetricData's limit on MetricData entries per request
MAX_VALUES_PER_DATUM = 150  # PutMetricData's limit on the distinct values of one datum

Datum = dict[str, Any]


def split_target(function: str, qualifier: str | None = None) -> tuple[str, str | None]:
    """(function name, qualifier) from a name, `name:qualifier` or an ARN."""
    if function.startswith("arn:"):
        parts = function.split(":")
        name = parts[6]
        found = parts[7] if len(parts) > 7 else None
    else:
        name, _, rest = function.partition(":")
        found = rest or None
    return name, qualifier or found


def resource_of(name: str, qualifier: str | None) -> str:
    """The `Resource` dimension: `name` unqualified (and for $LATEST), else `name:qualifier`."""
    return name if qualifier in (None, "", "$LATEST") else f"{name}:{qualifier}"


def is_alias(qualifier: str | None) -> bool:
    return bool(qualifier) and qualifier != "$LATEST" and not str(qualifier).isdigit()


def dimension_sets(
    name: str, qualifier: str | None, executed_version: str | None
) -> list[list[dict[str, str]]]:
    """Every dimension set Lambda publishes an invocation metric under, in AWS's order.

    The dimensionless aggregate, [FunctionName], [FunctionName, Resource] and, for alias
    invocations only, [FunctionName, Resource, ExecutedVersion]. The order inside a set matters
    locally: moto's GetMetricData compares dimension lists, so queries must use this order.
    """
    function = {"Name": "FunctionName", "Value": name}
    resource = {"Name": "Resource", "Value": resource_of(name, qualifier)}
    sets: list[list[dict[str, str]]] = [[], [function], [function, resource]]
    if is_alias(qualifier) and executed_version:
        sets.append([function, resource, {"Name": "ExecutedVersion", "Value": executed_version}])
    return sets


@dataclass(frozen=True)
class Invocation:
    """One finished invocation as the metrics see it."""

    name: str
    qualifier: str | None  # as invoked: None, `$LATEST`, a version or an alias
    executed_version: str
    at: datetime  # when it started (the datums' timestamp)
    duration_ms: float
    error: bool  # FunctionError set: unhandled, import error, timeout, crash, OOM
    concurrent: int  # in-flight invocations of the function, this one included
    concurrent_all: int  # in-flight invocations of every function (the account aggregate)


class LambdaMetrics:
    """Publishes `AWS/Lambda` datums to CloudWatch off the request path.

    `invocation()`, `throttle()` and `iterator_age()` only enqueue; a shipper thread drains the
    queue into compacted `put_metric_data` calls of at most 1000 datums. `flush()` waits until
    everything recorded so far is in CloudWatch; `close()` ships the rest and stops the thread.
    """

    def __init__(self, cloudwatch: Any) -> None:
        from feedbackctl.local.shipper import Shipper

        self._cloudwatch = cloudwatch
        self._shipper: Shipper[list[Datum]] = Shipper(self._ship, "lambda-metrics")

    # recording (cheap: builds dicts and enqueues) ----------------------------------------
    def invocation(self, call: Invocation) -> None:
        data: list[Datum] = []
        for dims in dimension_sets(call.name, call.qualifier, call.executed_version):
            data.append(_datum("Invocations", 1, "Count", dims, call.at))
            data.append(_datum("Errors", 1 if call.error else 0, "Count", dims, call.at))
            data.append(_datum("Duration", call.duration_ms, "Milliseconds", dims, call.at))
        function = [{"Name": "FunctionName", "Value": call.name}]
        data.append(_datum("ConcurrentExecutions", call.concurrent, "Count", function, call.at))
        data.append(_datum("ConcurrentExecutions", call.concurrent_all, "Count", [], call.at))
        self._shipper.put(data)

    def throttle(
        self, name: str, qualifier: str | None, executed_version: str | None, at: datetime
    ) -> None:
        """A throttled request: Throttles only (Lambda does not count it in Invocations)."""
        sets = dimension_sets(name, qualifier, executed_version)
        self._shipper.put([_datum("Throttles", 1, "Count", dims, at) for dims in sets])

    def iterator_age(
        self, name: str, qualifier: str | None, executed_version: str, age_ms: float, at: datetime
    ) -> None:
        """IteratorAge of a stream-mapping invocation: the age of the batch's last record."""
        sets = dimension_sets(name, qualifier, executed_version)
        data = [_datum("IteratorAge", age_ms, "Milliseconds", dims, at) for dims in sets]
        self._shipper.put(data)

    # shipping ---------------------------------------------------------------------------
    def _ship(self, batches: list[list[Datum]]) -> None:
        self._put(compact([datum for batch in batches for datum in batch]))

    def _put(self, data: list[Datum]) -> None:
        for start in range(0, len(data), MAX_DATA_PER_CALL):
            chunk = data[start : start + MAX_DATA_PER_CALL]
            try:
                self._cloudwatch.put_metric_data(Namespace=LAMBDA_NAMESPACE, MetricData=chunk)
            except Exception as exc:  # noqa: BLE001 - lost metrics must not stop the shipper
                why = f"{type(exc).__name__}: {exc}"
                sys.stderr.write(f"shipping AWS/Lambda metrics failed: {why}\n")

    def flush(self) -> None:
        """Wait until every datum recorded so far is in CloudWatch."""
        self._shipper.flush()

    def close(self, timeout_s: float | None = 10.0) -> None:
        """Ship the rest within `timeout_s`; what is still queued then is dropped."""
        self._shipper.close(timeout_s)


def compact(data: list[Datum]) -> list[Datum]:
    """The datums as PutMetricData takes them at least cost: the single values of one series
    (name, unit, dimensions, storage resolution) and second, each value seen more than once as
    one statistic set of that value, the others as one datum with `Values` and `Counts` (at
    most 150 each). moto keeps a datum per value and count, so 260 invocations a second made
    260 datums of each Invocations, Errors and ConcurrentExecutions series (1, 0 and a handful
    of values, again and again); a statistic set of one value answers every statistic,
    percentiles too, as its values do (`moto_percentiles`). Datums with `Values` or
    `StatisticValues` pass unchanged. CloudWatch keeps timestamps to the second at the finest
    (high resolution), so grouping by the second loses nothing it would keep. Order: series as
    first seen."""
    series: dict[tuple[Any, ...], tuple[Datum, Counter[float]]] = {}
    kept: list[Datum] = []
    seconds: dict[Any, Any] = {}  # a timestamp -> its second (an invocation's datums share one)
    for datum in data:
        if "Value" not in datum or "Values" in datum or "StatisticValues" in datum:
            kept.append(datum)
            continue
        at = datum.get("Timestamp")
        second = seconds.get(at)
        if second is None:
            second = seconds[at] = at.replace(microsecond=0) if isinstance(at, datetime) else at
        dims = tuple([(d["Name"], d["Value"]) for d in datum.get("Dimensions", ())])
        key = (datum["MetricName"], datum.get("Unit"), dims, datum.get("StorageResolution"), second)
        found = series.get(key)
        if found is None:
            shape = {k: v for k, v in datum.items() if k != "Value"}
            if second is not None:
                shape["Timestamp"] = second
            found = series[key] = (shape, Counter())
        found[1][float(datum["Value"])] += 1
    for shape, counts in series.values():
        once = [value for value, count in counts.items() if count == 1]
        for value, count in counts.items():
            if count > 1:  # a value seen many times: one statistic set
                kept.append({**shape, "StatisticValues": _repeated(value, count)})
        for start in range(0, len(once), MAX_VALUES_PER_DATUM):
            part = once[start : start + MAX_VALUES_PER_DATUM]
            kept.append({**shape, "Values": part, "Counts": [1.0] * len(part)})
    return kept


def _repeated(value: float, count: int) -> dict[str, float]:
    """StatisticValues of `value` seen `count` times."""
    return {
        "SampleCount": float(count),
        "Sum": value * count,
        "Minimum": value,
        "Maximum": value,
    }


def _datum(
    name: str, value: float, unit: str, dimensions: Iterable[dict[str, str]], at: datetime
) -> Datum:
    datum: Datum = {"MetricName": name, "Value": float(value), "Unit": unit, "Timestamp": at}
    dims = list(dimensions)
    if dims:
        datum["Dimensions"] = dims
    return datum
