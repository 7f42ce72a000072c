"""Per-version evidence from CloudWatch: one GetMetricData call per check.

For each version it asks for the `AWS/Lambda` metrics Lambda publishes for alias invocations
with the dimensions FunctionName, Resource (`<function>:live`) and ExecutedVersion — Invocations,
Errors, Throttles (Sum) and Duration (p99) — and for our own logged errors, which the stack's
per-version metric filter publishes as `LoggedErrors` with the dimensions Function and
ExecutedVersion. Only the alias's traffic counts: health checks and smoke tests invoke the
version directly (Resource `<function>:<n>`), so they never dilute or pollute a verdict.
Used by the deploy's release loop and by the rollback-orchestrator Lambda (injected client).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from feedbackctl.engine.model import ALIAS_NAME
from feedbackctl.engine.verdict import VersionEvidence

LAMBDA_NAMESPACE = "AWS/Lambda"
LOGGED_ERRORS_METRIC = "LoggedErrors"
_COUNTS = (("inv", "Invocations"), ("err", "Errors"), ("thr", "Throttles"))


def logged_errors_namespace(stack: str) -> str:
    """The namespace of the stack's metric filters (the templates use the same rule)."""
    return f"Feedbackctl/{stack}"


def queries(
    physical: str, seed: str, namespace: str, versions: Sequence[str], period: int
) -> list[dict[str, Any]]:
    """The MetricDataQueries of one check: four AWS/Lambda metrics and one of ours per version."""
    found: list[dict[str, Any]] = []
    for version in versions:
        dims = [
            {"Name": "FunctionName", "Value": physical},
            {"Name": "Resource", "Value": f"{physical}:{ALIAS_NAME}"},
            {"Name": "ExecutedVersion", "Value": version},
        ]
        for prefix, metric in _COUNTS:
            found.append(
                _query(f"{prefix}_{version}", (LAMBDA_NAMESPACE, metric), dims, "Sum", period)
            )
        found.append(_query(f"p99_{version}", (LAMBDA_NAMESPACE, "Duration"), dims, "p99", period))
        ours = [
            {"Name": "Function", "Value": seed},
            {"Name": "ExecutedVersion", "Value": version},
        ]
        found.append(
            _query(f"log_{version}", (namespace, LOGGED_ERRORS_METRIC), ours, "Sum", period)
        )
    return found


def _query(
    query_id: str,
    metric: tuple[str, str],
    dimensions: list[dict[str, str]],
    stat: str,
    period: int,
) -> dict[str, Any]:
    namespace, name = metric
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": name, "Dimensions": dimensions},
            "Period": period,
            "Stat": stat,
        },
        "ReturnData": True,
    }


class MetricsEvidence:
    """Reads per-version evidence over an injected CloudWatch client."""

    def __init__(
        self, cloudwatch: Any, stack: str, physical: Callable[[str], str], period: int
    ) -> None:
        self._cw = cloudwatch
        self._namespace = logged_errors_namespace(stack)
        self._physical = physical
        self.period = period

    def collect(
        self, function: str, versions: Sequence[str], start: datetime, end: datetime
    ) -> dict[str, VersionEvidence]:
        """Evidence per version for alias traffic in [start, end] (counts summed, p99 max)."""
        wanted = [v for v in dict.fromkeys(versions) if v]
        if not wanted:
            return {}
        values: dict[str, list[float]] = {}
        kwargs: dict[str, Any] = {
            "MetricDataQueries": queries(
                self._physical(function), function, self._namespace, wanted, self.period
            ),
            "StartTime": start,
            # The bucket that holds `end` is still filling: ask for it too.
            "EndTime": end + timedelta(seconds=self.period),
            "ScanBy": "TimestampAscending",
        }
        while True:
            page = self._cw.get_metric_data(**kwargs)
            for result in page.get("MetricDataResults", []):
                values.setdefault(result["Id"], []).extend(float(v) for v in result["Values"])
            token = page.get("NextToken")
            if not token:
                break
            kwargs["NextToken"] = token
        return {version: _evidence(version, values) for version in wanted}


def _evidence(version: str, values: dict[str, list[float]]) -> VersionEvidence:
    def total(prefix: str) -> float:
        return sum(values.get(f"{prefix}_{version}", []))

    p99 = values.get(f"p99_{version}") or []
    return VersionEvidence(
        version=version,
        invocations=total("inv"),
        errors=total("err"),
        logged_errors=total("log"),
        throttles=total("thr"),
        p99_ms=max(p99) if p99 else None,
    )
