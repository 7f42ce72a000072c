"""`compact`: the single values of one series and second as one statistic set per value seen
more than once, and one datum with Values and Counts for the others."""

from __future__ import annotations

from datetime import UTC, datetime

from feedbackctl.local.lambda_metrics import MAX_VALUES_PER_DATUM, compact

AT = datetime(2026, 12, 2, 10, 0, 0, 250_000, tzinfo=UTC)
FUNCTION = [{"Name": "FunctionName", "Value": "create-feedback"}]


def datum(name: str, value: float, at: datetime = AT, dims=FUNCTION, unit="Count") -> dict:
    found = {"MetricName": name, "Value": value, "Unit": unit, "Timestamp": at}
    if dims:
        found["Dimensions"] = dims
    return found


def shaped(name: str, unit: str = "Count", **statistics: object) -> dict:
    """A compacted datum of the function's series in AT's second."""
    return {
        "MetricName": name,
        "Unit": unit,
        "Timestamp": AT.replace(microsecond=0),
        "Dimensions": FUNCTION,
        **statistics,
    }


def repeated(value: float, count: int) -> dict:
    return {"SampleCount": float(count), "Sum": value * count, "Minimum": value, "Maximum": value}


def test_values_of_one_series_and_second_become_one_datum_with_counts() -> None:
    later = AT.replace(microsecond=900_000)
    data = [datum("Invocations", 1), datum("Invocations", 1, later), datum("Errors", 0)]
    data += [datum("Duration", ms, unit="Milliseconds") for ms in (12.5, 3.0, 12.5)]
    assert compact(data) == [
        # One value twice: a statistic set (moto keeps a datum per value and count).
        shaped("Invocations", StatisticValues=repeated(1.0, 2)),
        shaped("Errors", Values=[0.0], Counts=[1.0]),
        shaped("Duration", "Milliseconds", StatisticValues=repeated(12.5, 2)),
        shaped("Duration", "Milliseconds", Values=[3.0], Counts=[1.0]),
    ]


def test_series_differ_by_dimensions_unit_and_second() -> None:
    version = [*FUNCTION, {"Name": "Resource", "Value": "create-feedback:live"}]
    data = [
        datum("Invocations", 1),
        datum("Invocations", 1, dims=version),
        datum("Invocations", 1, dims=[]),
        datum("Invocations", 1, unit="None"),
        datum("Invocations", 1, AT.replace(second=1)),
    ]
    assert len(compact(data)) == 5
    assert sum(sum(d["Counts"]) for d in compact(data)) == 5


def test_more_distinct_values_than_a_datum_takes_are_split() -> None:
    data = [datum("Duration", float(ms), unit="Milliseconds") for ms in range(400)]
    compacted = compact(data)
    assert [len(d["Values"]) for d in compacted] == [MAX_VALUES_PER_DATUM, 150, 100]
    assert sorted(v for d in compacted for v in d["Values"]) == [float(ms) for ms in range(400)]


def test_value_lists_and_statistic_sets_pass_unchanged() -> None:
    values = {"MetricName": "Latency", "Values": [1.0, 2.0], "Counts": [3.0, 1.0]}
    stats = {
        "MetricName": "Latency",
        "StatisticValues": {"SampleCount": 2, "Sum": 3, "Minimum": 1, "Maximum": 2},
    }
    assert compact([values, stats]) == [values, stats]
