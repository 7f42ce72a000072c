"""CloudWatch alarm verbs: the metric alarms among some names (every page), their states, and
the alarms whose names start with a prefix.

Over an injected `cloudwatch` client. DescribeAlarms answers only the alarms that exist, so a
name missing from the answer is an alarm that is not there.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any


def metric_alarms(
    client: Any, names: Sequence[str] = (), *, prefix: str | None = None
) -> Iterator[dict[str, Any]]:
    """The metric alarms named in `names` (at most 100 per call, as AWS allows) or, with
    `prefix`, those whose names start with it; every page."""
    requests: list[dict[str, Any]] = (
        [{"AlarmNamePrefix": prefix}]
        if prefix is not None
        else [{"AlarmNames": list(names[i : i + 100])} for i in range(0, len(names), 100)]
    )
    for first in requests:
        request = first
        while True:
            page = client.describe_alarms(**request)
            yield from page.get("MetricAlarms", [])
            token = page.get("NextToken")
            if not token:
                break
            request = {**first, "NextToken": token}


def states(client: Any, names: Sequence[str]) -> dict[str, str]:
    """Alarm name -> StateValue (OK, ALARM, INSUFFICIENT_DATA) for those that exist."""
    return {a["AlarmName"]: str(a["StateValue"]) for a in metric_alarms(client, names)}
