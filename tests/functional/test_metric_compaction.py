"""Compacted datums (`Values` and `Counts`) answer every statistic as the single values do, in
moto's CloudWatch with the platform's percentiles: what the alarms and verdicts read is
unchanged by the shippers' compaction."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import boto3

from feedbackctl.local.lambda_metrics import compact

STATS = ("Sum", "SampleCount", "Average", "Minimum", "Maximum", "p50", "p99")


def _answers(
    cloudwatch, function: str, start: datetime, metric: str = "Duration"
) -> dict[str, list[float]]:
    queries = [
        {
            "Id": stat.lower(),
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/Lambda",
                    "MetricName": metric,
                    "Dimensions": [{"Name": "FunctionName", "Value": function}],
                },
                "Period": 10,
                "Stat": stat,
            },
        }
        for stat in STATS
    ]
    found = cloudwatch.get_metric_data(
        MetricDataQueries=queries, StartTime=start, EndTime=start + timedelta(seconds=60)
    )
    return {r["Id"]: sorted(r["Values"]) for r in found["MetricDataResults"]}


def _kept_by_moto(shipped: list[dict]) -> int:
    """How many datums moto keeps for `shipped`: one per value and count, one per set."""
    return sum(int(sum(d["Counts"])) if "Values" in d else 1 for d in shipped)


def test_compacted_datums_answer_every_statistic_as_single_values_do(moto_endpoint) -> None:
    cloudwatch = boto3.client("cloudwatch", endpoint_url=moto_endpoint)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    start -= timedelta(seconds=start.second % 10)
    single, compacted = f"single-{uuid.uuid4().hex[:6]}", f"compacted-{uuid.uuid4().hex[:6]}"

    def data(function: str) -> list[dict]:
        rng = random.Random(7)  # the same values and times for both functions
        return [
            {
                "MetricName": "Duration",
                "Dimensions": [{"Name": "FunctionName", "Value": function}],
                "Unit": "Milliseconds",
                "Value": float(rng.choice([3, 4, 4, 5, 40, 41.5, 300])),
                "Timestamp": start + timedelta(milliseconds=rng.randrange(0, 30_000)),
            }
            for _ in range(500)
        ]

    cloudwatch.put_metric_data(Namespace="AWS/Lambda", MetricData=data(single))
    shipped = compact(data(compacted))
    # moto keeps a datum per value and count: at most one per distinct value and second now.
    assert _kept_by_moto(shipped) <= 7 * 30 < 500
    cloudwatch.put_metric_data(Namespace="AWS/Lambda", MetricData=shipped)
    expected = _answers(cloudwatch, single, start)
    assert sum(expected["samplecount"]) == 500
    assert _answers(cloudwatch, compacted, start) == expected


def test_a_second_of_one_value_ships_as_a_statistic_set_and_answers_as_its_values_do(
    moto_endpoint,
) -> None:
    """moto keeps one datum per value and count: at 260 invocations a second, Invocations and
    Errors (1 and 0 every time) made 260 datums a series a second. A second of one value now
    ships as one statistic set, and every statistic, percentiles included, answers as the
    single values do, also in a period where sets and values meet."""
    cloudwatch = boto3.client("cloudwatch", endpoint_url=moto_endpoint)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    start -= timedelta(seconds=start.second % 10)
    single, compacted = f"single-{uuid.uuid4().hex[:6]}", f"compacted-{uuid.uuid4().hex[:6]}"

    def data(function: str) -> list[dict]:
        rng = random.Random(11)
        found = []
        for second in range(30):
            errors = second in (4, 17)  # two seconds with an error among the successes
            for n in range(rng.randint(1, 40)):
                found.append(
                    {
                        "MetricName": "Errors",
                        "Dimensions": [{"Name": "FunctionName", "Value": function}],
                        "Unit": "Count",
                        "Value": 1.0 if errors and n == 0 else 0.0,
                        "Timestamp": start + timedelta(seconds=second, milliseconds=n),
                    }
                )
        return found

    cloudwatch.put_metric_data(Namespace="AWS/Lambda", MetricData=data(single))
    shipped = compact(data(compacted))
    # One datum a second, and one more for each second's error (a value seen once).
    assert _kept_by_moto(shipped) == len(shipped) == 32
    sets = [d for d in shipped if "StatisticValues" in d]
    assert len(sets) >= 26  # the seconds of one value (a second with one datum stays a value)
    assert all(d["StatisticValues"]["Minimum"] == 0.0 for d in sets)
    cloudwatch.put_metric_data(Namespace="AWS/Lambda", MetricData=shipped)
    expected = _answers(cloudwatch, single, start, "Errors")
    assert sum(expected["sum"]) == 2.0
    assert _answers(cloudwatch, compacted, start, "Errors") == expected
