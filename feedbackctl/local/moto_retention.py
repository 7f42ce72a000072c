"""Bounded storage for moto as a long-running server: what it keeps, and for how long.

moto is built for tests that reset it; the local platform runs it for days. Left alone it keeps
every model object it ever made (a class-level list only its dashboard reads: ~270 KB per POST
/feedback, as each TransactWriteItems deep-copied the analytics table), every shard iterator
(one per GetRecords poll), and every log event, metric datum and stream record, while each metric
read scans every datum ever put. `install()` bounds it, as AWS's retention does where it can:

- model objects are not tracked (S3's still are: its reset disposes of their files);
- shard iterators expire 15 minutes after they were issued; stream records are trimmed after
  24 hours, and reading a trimmed position is TrimmedDataAccessException, as on AWS;
- a log group loses events older than its retention policy, and beyond LOG_EVENTS_PER_GROUP
  its oldest (a local bound: AWS keeps them for the retention);
- metric datums share their series' strings and dimensions (~800 → ~190 bytes each); beyond
  METRIC_RAW_DATUMS raw datums, those put more than HIGH_RESOLUTION_S ago have their oldest
  minutes become one statistic set per series and minute, as CloudWatch keeps sub-minute data
  for 3 hours and then rolls it up to minutes (sums, counts, minimum and maximum stay exact; a
  rolled-up minute's percentile is its Maximum), and beyond METRIC_MINUTE_SETS statistic sets
  the oldest go. The age is the datum's time of arrival, not its timestamp: data put with an
  old timestamp (tests and backfills do) keeps its resolution for 3 hours whatever else is
  stored, so an alarm never judges a period that was rolled up under it;
- GetMetricData and GetMetricStatistics read only the datums of the names and time window asked
  (an index by name and time) and, where GetMetricData's queries name dimensions, of those
  series only, in moto's order, so their answers are unchanged.
Each store is checked on its first write and then at most once a minute (SWEEP_S), under one
lock; the checks are also functions of their own, for explicit calls (tests).
"""

from __future__ import annotations

import bisect
import contextlib
import threading
import time
import weakref
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Per (namespace, metric name): the sorted dimension sets to read, or None for every series.
Wanted = dict[tuple[str, str], set[tuple[tuple[Any, Any], ...]] | None]

__all__ = [
    "HIGH_RESOLUTION_S",
    "ITERATOR_TTL_S",
    "LOG_EVENTS_PER_GROUP",
    "METRIC_MINUTE_SETS",
    "METRIC_RAW_DATUMS",
    "STREAM_RETENTION_S",
    "expire_iterators",
    "expire_log_events",
    "install",
    "roll_up_metrics",
    "set_clock",
    "trim_stream",
    "unindexed",
]

ITERATOR_TTL_S = 15 * 60  # "A shard iterator expires 15 minutes after it is returned"
STREAM_RETENTION_S = 24 * 3600  # DynamoDB Streams keep records for 24 hours
HIGH_RESOLUTION_S = 3 * 3600  # sub-minute metric data is kept for 3 hours, then per minute
SWEEP_S = 60.0  # how often a store is checked for what expired
# Local bounds under sustained load (read when a sweep runs): the newest events of a log group
# (about 400 bytes each), raw metric datums before the oldest minutes are rolled up (about 190
# bytes each), and those minutes' statistic sets.
LOG_EVENTS_PER_GROUP = 20_000
METRIC_RAW_DATUMS = 200_000
METRIC_MINUTE_SETS = 100_000
TRACKED_SERVICES = ("moto.s3.",)  # S3's reset disposes of its keys' files through the list

_lock = threading.RLock()  # moto's models are not thread-safe; our sweeps must not race puts
_state: dict[str, Any] = {"installed": False, "clock": time.time}
_swept: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()
_local = threading.local()


def set_clock(clock: Callable[[], float]) -> None:
    """The wall clock (epoch seconds) retention is judged by (a child process's test drives
    it; the sweep functions below also take `now` directly)."""
    _state["clock"] = clock


def _now() -> float:
    return float(_state["clock"]())


def _sweep_due(owner: Any) -> bool:
    """True on an owner's first write, then at most once per SWEEP_S of the clock (and again
    whenever the clock went back) per owner: a log group, a stream shard, a backend."""
    now = _now()
    last = _swept.get(owner)
    if last is not None and last <= now < last + SWEEP_S:
        return False
    _swept[owner] = now
    return True


def _epoch(value: datetime) -> float:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


# --- model objects -------------------------------------------------------------------------------


def _untrack() -> None:
    from moto.core.common_models import BaseModel
    from moto.core.model_instances import model_data

    def new(cls: type, *args: Any, **kwargs: Any) -> Any:
        instance: Any = object.__new__(cls)
        if cls.__module__.startswith(TRACKED_SERVICES):
            cls.instances_tracked.append(instance)  # type: ignore[attr-defined]
        return instance

    BaseModel.__new__ = staticmethod(new)  # type: ignore[method-assign]
    for models in model_data.values():
        for model in models.values():
            if not str(getattr(model, "__module__", "")).startswith(TRACKED_SERVICES):
                model.instances_tracked = []  # type: ignore[attr-defined]


# --- DynamoDB Streams ----------------------------------------------------------------------------


def expire_iterators(backend: Any, now: float) -> int:
    """Forget a streams backend's shard iterators issued more than 15 minutes ago."""
    cutoff = now - ITERATOR_TTL_S
    expired = [
        arn
        for arn, iterator in list(backend.shard_iterators.items())
        if getattr(iterator, "issued_at", cutoff) <= cutoff
    ]
    for arn in expired:
        backend.shard_iterators.pop(arn, None)
    return len(expired)


def trim_stream(shard: Any, now: float) -> int:
    """Drop a stream shard's records older than 24 hours; returns how many went.

    Sequence numbers go on from where they were: the shard's base moves with the trim."""
    cutoff = now - STREAM_RETENTION_S
    trimmed = 0
    for record in shard.items:
        if _epoch(record.record["dynamodb"]["ApproximateCreationDateTime"]) > cutoff:
            break
        trimmed += 1
    if trimmed:
        shard.items = shard.items[trimmed:]
        shard.starting_sequence_number += trimmed
    return trimmed


def _stream_errors() -> tuple[type[Exception], type[Exception]]:
    from moto.core.exceptions import JsonRESTError

    class ExpiredIteratorError(JsonRESTError):
        def __init__(self) -> None:
            super().__init__("ExpiredIteratorException", "Iterator expired.")

    class TrimmedDataAccessError(JsonRESTError):
        def __init__(self) -> None:
            super().__init__(
                "TrimmedDataAccessException",
                "The operation attempted to read past the oldest stream record in a shard.",
            )

    return ExpiredIteratorError, TrimmedDataAccessError


def _streams() -> None:
    from moto.dynamodb.models.table import StreamShard
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend, ShardIterator

    expired_error, trimmed_error = _stream_errors()
    init, get_records = ShardIterator.__init__, DynamoDBStreamsBackend.get_records
    add, get = StreamShard.add, StreamShard.get

    def shard_iterator(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self.issued_at = _now()
        if _sweep_due(self.streams_backend):
            with _lock:
                expire_iterators(self.streams_backend, _now())

    def records(self: Any, iterator_arn: str, limit: int) -> Any:
        iterator = self.shard_iterators.get(iterator_arn)
        if iterator is None or _now() - getattr(iterator, "issued_at", _now()) > ITERATOR_TTL_S:
            raise expired_error
        return get_records(self, iterator_arn, limit)

    def add_record(self: Any, old: Any, new: Any) -> None:
        with _lock:
            add(self, old, new)
            if _sweep_due(self):
                trim_stream(self, _now())

    def records_from(self: Any, start: int, quantity: int) -> Any:
        if start < self.starting_sequence_number:
            raise trimmed_error
        return get(self, start, quantity)

    ShardIterator.__init__ = shard_iterator  # type: ignore[method-assign]
    DynamoDBStreamsBackend.get_records = records  # type: ignore[method-assign]
    StreamShard.add = add_record  # type: ignore[method-assign]
    StreamShard.get = records_from  # type: ignore[method-assign]


# --- CloudWatch Logs -----------------------------------------------------------------------------


def expire_log_events(group: Any, now: float, cap: int | None = None) -> int:
    """Drop a log group's events older than its retention policy, then its oldest beyond
    `cap` (LOG_EVENTS_PER_GROUP) events; returns how many went."""
    cap = LOG_EVENTS_PER_GROUP if cap is None else cap
    days = group.retention_in_days
    cutoff_ms = (now - int(days) * 86400) * 1000 if days else float("-inf")
    streams = list(group.streams.values())
    total = sum(len(stream.events) for stream in streams)
    if total > cap:
        stamps = sorted(e.timestamp for stream in streams for e in stream.events)
        cutoff_ms = max(cutoff_ms, stamps[total - cap])
    dropped = 0
    for stream in streams:
        events = stream.events
        if all(e.timestamp >= cutoff_ms for e in events):
            continue
        kept = [e for e in events if e.timestamp >= cutoff_ms]
        stream.stored_bytes -= sum(len(e.message) for e in events if e.timestamp < cutoff_ms)
        dropped += len(events) - len(kept)
        stream.events = kept
    return dropped


def _logs() -> None:
    from moto.logs.models import LogGroup

    put = LogGroup.put_log_events

    def put_log_events(self: Any, log_stream_name: str, log_events: list[Any]) -> Any:
        with _lock:
            answer = put(self, log_stream_name, log_events)
            if _sweep_due(self):
                expire_log_events(self, _now())
            return answer

    LogGroup.put_log_events = put_log_events  # type: ignore[method-assign]


# --- CloudWatch metrics --------------------------------------------------------------------------


@dataclass
class _Series:
    """The shared parts of one series' datums."""

    namespace: str
    name: str
    dimensions: list[Any]
    unit: Any


@dataclass
class _MetricIndex:
    """A backend's datums by metric name: per name, their times and their positions in
    `metric_data`, sorted by (time, position) (16 bytes a datum)."""

    source: list[Any]
    count: int = 0
    by_name: dict[str, tuple[array[float], array[int]]] = field(default_factory=dict)

    def catch_up(self) -> None:
        for position in range(self.count, len(self.source)):
            datum = self.source[position]
            times, positions = self.by_name.setdefault(datum.name, (array("d"), array("q")))
            at = _epoch(datum.timestamp)
            where = bisect.bisect_right(times, at)  # the newest position goes last among equals
            times.insert(where, at)
            positions.insert(where, position)
        self.count = len(self.source)

    def select(self, metrics: Wanted, start: datetime, end: datetime) -> list[Any]:
        """The datums of `metrics` within [start - 1 s, end + 1 s), in `metric_data` order
        (moto's own filter then cuts the exact window and matches each query's dimensions).
        The namespace is checked here because moto's GetMetricData forgets it for a query with
        dimensions: `Errors` of a function in a custom namespace would count as `AWS/Lambda`
        errors. Where every query of a metric names its dimensions, only the series with one of
        those dimension sets are read (moto keeps exactly those); a query without dimensions
        reads every series of its metric, as moto does."""
        low, high = _epoch(start) - 1, _epoch(end) + 1
        found: list[int] = []
        for name in {name for _, name in metrics}:
            times, positions = self.by_name.get(name, (array("d"), array("q")))
            found += positions[bisect.bisect_left(times, low) : bisect.bisect_left(times, high)]
        found.sort()
        # A series' datums share one dimensions list (`_share`): each list is sorted once.
        sorted_dimensions: dict[int, tuple[tuple[Any, Any], ...]] = {}
        selected = []
        for position in found:
            datum = self.source[position]
            key = (datum.namespace, datum.name)
            if key not in metrics:
                continue
            sets = metrics[key]
            if sets is not None:
                dimensions = sorted_dimensions.get(id(datum.dimensions))
                if dimensions is None:
                    dimensions = sorted_dimensions[id(datum.dimensions)] = _dimension_set(
                        (d.name, d.value) for d in datum.dimensions
                    )
                if dimensions not in sets:
                    continue
            selected.append(datum)
        return selected


def _dimension_set(pairs: Iterable[tuple[Any, Any]]) -> tuple[tuple[Any, Any], ...]:
    return tuple(sorted(pairs, key=lambda pair: (str(pair[0]), str(pair[1]))))


def wanted_metrics(queries: Iterable[dict[str, Any]]) -> Wanted:
    """The series GetMetricData's MetricStat queries read: per (namespace, name), the sorted
    dimension sets they name, or None where a query names none (moto then reads every series
    of that metric) or leaves a value out."""
    wanted: Wanted = {}
    for query in queries:
        metric = query["MetricStat"]["Metric"]
        key = (str(metric["Namespace"]), str(metric["MetricName"]))
        dimensions = metric.get("Dimensions") or []
        if not dimensions or any(d.get("Value") is None for d in dimensions):
            wanted[key] = None
        elif key not in wanted:
            wanted[key] = {_dimension_set((d["Name"], d["Value"]) for d in dimensions)}
        elif (sets := wanted[key]) is not None:
            sets.add(_dimension_set((d["Name"], d["Value"]) for d in dimensions))
    return wanted


_series: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], _Series]] = (
    weakref.WeakKeyDictionary()
)
_metric_indexes: weakref.WeakKeyDictionary[Any, _MetricIndex] = weakref.WeakKeyDictionary()
_arrived: weakref.WeakKeyDictionary[Any, array[float]] = weakref.WeakKeyDictionary()


def _share(backend: Any, datums: list[Any]) -> None:
    """Point each new datum at its series' single copy of namespace, name, dimensions, unit."""
    known = _series.setdefault(backend, {})
    stamps: dict[datetime, datetime] = {}
    for datum in datums:
        key = (
            datum.namespace,
            datum.name,
            tuple((d.name, d.value) for d in datum.dimensions),
            datum.unit,
        )
        series = known.get(key)
        if series is None:
            series = known[key] = _Series(
                datum.namespace, datum.name, list(datum.dimensions), datum.unit
            )
        datum.namespace, datum.name = series.namespace, series.name
        datum.dimensions, datum.unit = series.dimensions, series.unit
        datum.timestamp = stamps.setdefault(datum.timestamp, datum.timestamp)


def _arrivals(backend: Any) -> array[float]:
    """When each datum of `backend.metric_data` arrived (by position; 0 for a statistic set).
    Datums found without a record (put before `install`) count as arrived now."""
    times = _arrived.get(backend)
    if times is None or len(times) != len(backend.metric_data):
        known = times[: len(backend.metric_data)] if times is not None else array("d")
        known.extend([_now()] * (len(backend.metric_data) - len(known)))
        times = _arrived[backend] = known
    return times


def roll_up_metrics(
    backend: Any, cap: int | None = None, sets_cap: int | None = None, now: float | None = None
) -> int:
    """Beyond `cap` (METRIC_RAW_DATUMS) raw datums, make the oldest minutes of those that
    arrived before `now` - HIGH_RESOLUTION_S one statistic set per series and minute, down to
    three quarters of the cap where that many arrived so long ago; beyond `sets_cap`
    (METRIC_MINUTE_SETS) statistic sets, drop the oldest. Returns how many datums went."""
    from moto.cloudwatch.models import MetricDatum

    cap = METRIC_RAW_DATUMS if cap is None else cap
    sets_cap = METRIC_MINUTE_SETS if sets_cap is None else sets_cap
    horizon = (_now() if now is None else now) - HIGH_RESOLUTION_S
    data, arrived = backend.metric_data, _arrivals(backend)
    # Raw: a datum as it was put (a value, or a statistic set the shippers made of one second),
    # not a minute this function rolled up (those are recorded as arriving at 0).
    raw = [isinstance(d, MetricDatum) or t > 0 for d, t in zip(data, arrived, strict=True)]
    old = sorted(
        _epoch(d.timestamp)
        for d, r, t in zip(data, raw, arrived, strict=True)
        if r and t <= horizon
    )
    sets = sorted(_epoch(d.timestamp) for d, r in zip(data, raw, strict=True) if not r)
    excess = sum(raw) - cap * 3 // 4
    if (sum(raw) <= cap or not old) and len(sets) <= sets_cap:
        return 0
    raw_cutoff = drop_cutoff = float("-inf")
    if sum(raw) > cap and old:
        # Whole minutes at a time: of what arrived long ago, a minute is raw or rolled up.
        raw_cutoff = float("inf") if excess >= len(old) else old[excess] - old[excess] % 60
    if len(sets) > sets_cap:
        drop_cutoff = sets[len(sets) - sets_cap]
    minutes: dict[tuple[Any, ...], Any] = {}
    kept: list[Any] = []
    kept_arrivals = array("d")
    for datum, is_raw, at_arrival in zip(data, raw, arrived, strict=True):
        at = _epoch(datum.timestamp)
        if not is_raw:
            if at >= drop_cutoff:
                kept.append(datum)
                kept_arrivals.append(0.0)
        elif at_arrival > horizon or at >= raw_cutoff:
            kept.append(datum)
            kept_arrivals.append(at_arrival)
        else:
            _roll_into(minutes, datum)
    backend.metric_data = [*minutes.values(), *kept]
    _arrived[backend] = array("d", [0.0] * len(minutes)) + kept_arrivals
    return len(data) - len(backend.metric_data)


def _roll_into(minutes: dict[tuple[Any, ...], Any], datum: Any) -> None:
    """Add a raw datum (a value or a statistic set) to its series' statistic set of its
    minute."""
    from moto.cloudwatch.models import MetricAggregatedDatum, MetricDatum

    if isinstance(datum, MetricDatum):
        low = high = total = datum.value
        count = 1.0
    else:
        low, high, total, count = datum.min, datum.max, datum.sum, datum.sample_count
    minute = datum.timestamp.replace(second=0, microsecond=0)  # as naive or aware as moto's
    dims = tuple((d.name, d.value) for d in datum.dimensions)
    key = (datum.namespace, datum.name, dims, datum.unit, minute)
    rolled = minutes.get(key)
    if rolled is None:
        rolled = MetricAggregatedDatum(
            datum.namespace, datum.name, low, high, count, total, [], minute, datum.unit
        )
        rolled.dimensions = datum.dimensions
        minutes[key] = rolled
        return
    rolled.min, rolled.max = min(rolled.min, low), max(rolled.max, high)
    rolled.sum += total
    rolled.sample_count += count


def _metrics() -> None:
    from moto.cloudwatch.models import CloudWatchBackend

    put = CloudWatchBackend.put_metric_data

    def put_metric_data(self: Any, namespace: str, metric_data: list[Any]) -> None:
        with _lock:
            arrived = _arrivals(self)
            put(self, namespace, metric_data)
            _share(self, self.metric_data[len(arrived) :])
            arrived.extend([_now()] * (len(self.metric_data) - len(arrived)))
            if _sweep_due(self):
                roll_up_metrics(self)

    all_metrics = CloudWatchBackend.get_all_metrics

    def get_all_metrics(self: Any) -> list[Any]:
        narrowed = getattr(_local, "window", None)
        if narrowed is None:
            return list(all_metrics(self))
        metrics, start, end = narrowed
        with _lock:
            index = _metric_indexes.get(self)
            if index is None or index.source is not self.metric_data:
                index = _metric_indexes[self] = _MetricIndex(self.metric_data)
            index.catch_up()
            derived = [d for d in self.aws_metric_data if (d.namespace, d.name) in metrics]
            return index.select(metrics, start, end) + derived

    get_data, get_statistics = (
        CloudWatchBackend.get_metric_data,
        CloudWatchBackend.get_metric_statistics,
    )

    def get_metric_data(
        self: Any,
        queries: list[dict[str, Any]],
        start_time: datetime,
        end_time: datetime,
        **kw: Any,
    ) -> Any:
        stats = [q for q in queries if "MetricStat" in q]
        insights = [q for q in queries if str(q.get("Expression", "")).startswith("SELECT")]
        if insights:
            return get_data(self, queries, start_time, end_time, **kw)
        with _narrowed(wanted_metrics(stats), start_time, end_time):
            return get_data(self, queries, start_time, end_time, **kw)

    def get_metric_statistics(
        self: Any,
        namespace: str,
        metric_name: str,
        start_time: datetime,
        end_time: datetime,
        *args: Any,
        **kw: Any,
    ) -> Any:
        with _narrowed({(namespace, metric_name): None}, start_time, end_time):
            return get_statistics(self, namespace, metric_name, start_time, end_time, *args, **kw)

    CloudWatchBackend.put_metric_data = put_metric_data  # type: ignore[method-assign]
    CloudWatchBackend.get_all_metrics = get_all_metrics  # type: ignore[method-assign]
    CloudWatchBackend.get_metric_data = get_metric_data  # type: ignore[method-assign,assignment]
    CloudWatchBackend.get_metric_statistics = get_metric_statistics  # type: ignore[method-assign]


@contextlib.contextmanager
def _narrowed(metrics: Wanted, start: datetime, end: datetime) -> Iterator[None]:
    """Within the block, this thread's `get_all_metrics` returns only `metrics` (see
    `wanted_metrics`) near the window."""
    _local.window = None if _state.get("unindexed") else (metrics, start, end)
    try:
        yield
    finally:
        _local.window = None


@contextlib.contextmanager
def unindexed() -> Iterator[None]:
    """moto's own full scan for metric reads inside the block (tests compare the answers)."""
    _state["unindexed"] = True
    try:
        yield
    finally:
        _state["unindexed"] = False


def install() -> None:
    """Patch moto once per process (idempotent)."""
    with _lock:
        if _state["installed"]:
            return
        _untrack()
        _streams()
        _logs()
        _metrics()
        _state["installed"] = True
