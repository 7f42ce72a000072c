"""Percentile statistics (`p99`, `p50.5`) for moto's CloudWatch, as CloudWatch answers them.

moto computes Sum, Average, Minimum, Maximum and SampleCount only; a GetMetricData query with
`Stat: "p99"` makes it fail with an HTTP 500. The release verdict reads p99 Duration per version,
so the local platform (and the tests' moto servers) teach moto's statistics the percentiles of
raw values (nearest rank). A statistic set of one value (Minimum equals Maximum, as the
shippers send a second of equal values) counts as that value SampleCount times; other
statistic sets carry no distribution: where a period has only those, the Maximum stands in.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

_PERCENTILE = re.compile(r"p(\d{1,2}(?:\.\d+)?|100)")
_installed = False


def percentile(values: list[float], rank: float) -> float | None:
    """The nearest-rank percentile of `values` (None when there are none)."""
    if not values:
        return None
    ordered = sorted(values)
    index = max(0, math.ceil(rank / 100 * len(ordered)) - 1)
    return ordered[min(index, len(ordered) - 1)]


def _equal_values(aggregated: Any) -> list[float]:
    """The values a statistic set of one value stands for (its Minimum equals its Maximum):
    the value, SampleCount times. Nothing for a set of different values."""
    count = float(aggregated.sample_count)
    if aggregated.min != aggregated.max or not count.is_integer():
        return []
    return [float(aggregated.min)] * int(count)


def install() -> None:
    """Patch moto's Statistics once per process (idempotent)."""
    global _installed  # noqa: PLW0603 - one patch per process
    if _installed:
        return
    from moto.cloudwatch.models import Statistics

    original: Callable[[Any, str], Any] = Statistics.get_statistics_for_type

    def get_statistics_for_type(self: Any, stat: str) -> Any:
        match = _PERCENTILE.fullmatch(stat)
        if match is None:
            return original(self, stat)
        values = list(self.metric_single_values_list)
        for aggregated in self.metric_aggregated_list:
            values.extend(_equal_values(aggregated))
        found = percentile(values, float(match.group(1)))
        if found is None and self.metric_aggregated_list:
            return original(self, "Maximum")
        return found

    Statistics.get_statistics_for_type = get_statistics_for_type  # type: ignore[method-assign]
    _installed = True
