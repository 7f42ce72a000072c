"""`feedbackctl watch`: a guard loop that polls the functions' error alarms and runs the one
rollback engine when one transitions to ALARM. A generator with injected sleep, so tests drive
it step by step; each alarm transition is acted on once (the engine de-duplicates incidents too).
`force` lifts only the latch (a human started this guard and vouches for it); the cooldown stays
unless `ignore_cooldown` is given too, so a forced guard cannot roll a function back every poll.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from feedbackctl.engine.release import incident_key
from feedbackctl.engine.rollback import Ports, RollbackRequest, RollbackResult, rollback
from feedbackctl.naming import StackNames


@dataclass(frozen=True)
class WatchEvent:
    """Something the guard saw or did."""

    kind: str  # "tick", "alarm", "rollback"
    function: str = ""
    detail: str = ""
    result: RollbackResult | None = None


def guard(
    cloudwatch: Any,
    ports: Ports,
    names: StackNames,
    functions: list[str],
    actor: str,
    *,
    interval: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    force: bool = False,
    ignore_cooldown: bool = False,
) -> Iterator[WatchEvent]:
    """Poll forever (the caller stops iterating); yield a tick per poll and each action taken."""
    alarms = {names.errors_alarm(f): f for f in functions}
    handled: set[str] = set()
    started = now()
    while True:
        result = cloudwatch.describe_alarms(AlarmNames=list(alarms))
        for alarm in result.get("MetricAlarms", []):
            name = alarm["AlarmName"]
            updated = alarm.get("StateUpdatedTimestamp") or started
            key = incident_key(name, updated)
            if alarm.get("StateValue") != "ALARM" or key in handled:
                continue
            handled.add(key)
            function = alarms[name]
            yield WatchEvent("alarm", function, f"{name}: {alarm.get('StateReason', '')}")
            request = RollbackRequest(
                function=function,
                actor=actor,
                reason=f"{name}: {alarm.get('StateReason', 'ALARM')}"[:500],
                now=now(),
                automatic=True,
                force=force,
                ignore_cooldown=ignore_cooldown,
                incident=key,
            )
            outcome = rollback(request, ports)
            yield WatchEvent("rollback", function, outcome.message, outcome)
        yield WatchEvent("tick")
        sleep(interval)
