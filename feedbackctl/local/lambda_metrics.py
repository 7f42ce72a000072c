"""The `AWS/Lambda` metrics of the local platform: what Lambda publishes per invocation.

`LambdaMetrics` turns an invocation (or a throttle, or a stream batch's iterator age) into
datums with AWS's dimension sets and ships them to moto's CloudWatch from a background thread,
batched, each stamped with the invocation's own time, so nothing waits on CloudWatch.
"""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = [
    "LAMBDA_NAMESPACE",
    "Invocation",
    "LambdaMetrics",
    "dimension_sets",
    "split_target",
]

LAMBDA_NAMESPACE = "AWS/Lambda"
MAX_DATA_PER_CALL = 1000  # PutMetricData's limit on MetricData entries per request

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
    queue into `put_metric_data` calls of at most 1000 datums. `flush()` waits until everything
    recorded so far is in CloudWatch; `close()` ships the rest and stops the thread.
    """

    def __init__(self, cloudwatch: Any) -> None:
        self._cloudwatch = cloudwatch
        self._queue: queue.Queue[list[Datum] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._ship, daemon=True, name="lambda-metrics")
        self._thread.start()
        self.shipped = 0  # datums accepted by CloudWatch (for tests and diagnostics)

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
        self._queue.put(data)

    def throttle(
        self, name: str, qualifier: str | None, executed_version: str | None, at: datetime
    ) -> None:
        """A throttled request: Throttles only (Lambda does not count it in Invocations)."""
        sets = dimension_sets(name, qualifier, executed_version)
        self._queue.put([_datum("Throttles", 1, "Count", dims, at) for dims in sets])

    def iterator_age(
        self, name: str, qualifier: str | None, executed_version: str, age_ms: float, at: datetime
    ) -> None:
        """IteratorAge of a stream-mapping invocation: the age of the batch's last record."""
        sets = dimension_sets(name, qualifier, executed_version)
        self._queue.put([_datum("IteratorAge", age_ms, "Milliseconds", dims, at) for dims in sets])

    # shipping ---------------------------------------------------------------------------
    def _ship(self) -> None:
        while True:
            item = self._queue.get()
            batches = [item]
            # Take whatever else is already waiting, so a burst becomes few PutMetricData calls.
            while item is not None:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                batches.append(item)
            try:
                data = [datum for batch in batches if batch is not None for datum in batch]
                self._put(data)
            finally:
                for _ in batches:
                    self._queue.task_done()
            if batches[-1] is None:
                return

    def _put(self, data: list[Datum]) -> None:
        for start in range(0, len(data), MAX_DATA_PER_CALL):
            chunk = data[start : start + MAX_DATA_PER_CALL]
            try:
                self._cloudwatch.put_metric_data(Namespace=LAMBDA_NAMESPACE, MetricData=chunk)
                self.shipped += len(chunk)
            except Exception as exc:  # noqa: BLE001 - lost metrics must not stop the shipper
                why = f"{type(exc).__name__}: {exc}"
                sys.stderr.write(f"shipping AWS/Lambda metrics failed: {why}\n")

    def flush(self) -> None:
        """Wait until every datum recorded so far is in CloudWatch."""
        self._queue.join()

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=10)


def _datum(
    name: str, value: float, unit: str, dimensions: Iterable[dict[str, str]], at: datetime
) -> Datum:
    datum: Datum = {"MetricName": name, "Value": float(value), "Unit": unit, "Timestamp": at}
    dims = list(dimensions)
    if dims:
        datum["Dimensions"] = dims
    return datum
