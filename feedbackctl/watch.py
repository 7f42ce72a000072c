"""`feedbackctl watch`: a guard loop that polls every rollback alarm of the chosen functions
(DescribeAlarms by name) and hands each ALARM transition to feedbackctl.engine.incident, the
path the rollback-orchestrator Lambda takes: the function from the alarm's metrics, never its
name; a rollback only when per-version evidence blames the current version. A generator with
injected sleep and clock; each transition (its incident key) is acted on once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from feedbackctl.aws import alarms
from feedbackctl.engine.incident import AlarmFacts, Responder, alarm_facts, respond
from feedbackctl.engine.rollback import RollbackResult
from feedbackctl.naming import StackNames


@dataclass(frozen=True)
class WatchEvent:
    """Something the guard saw or did."""

    kind: str  # "tick", "alarm", "ignored", "rollback"
    function: str = ""
    detail: str = ""
    result: RollbackResult | None = None


def _unwatched(facts: AlarmFacts, functions: list[str]) -> str | None:
    """Why this guard leaves an ALARM alone before any evidence is read; None to act."""
    if facts.function is None:
        return f"{facts.name} names no function of this stack; ignored"
    if facts.function not in functions:
        return f"{facts.name} is about {facts.function}, which this guard does not watch; ignored"
    return None


def guard(
    cloudwatch: Any,
    responder: Responder,
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
    """Poll forever (the caller stops iterating); yield a tick per poll and each action taken.

    `force` lifts only the latch (a human started this guard and vouches for it); the cooldown
    stays unless `ignore_cooldown` is given too, so a forced guard cannot roll a function back
    every poll."""
    watched = [alarm for f in functions for alarm in names.rollback_alarms(f)]
    handled: set[str] = set()
    started = now()
    while True:
        for alarm in alarms.metric_alarms(cloudwatch, watched):
            # `started` stands in only for an alarm with no state time, so that it still gets
            # one key per guard rather than a new one (and a new action) every poll.
            facts = alarm_facts(alarm, names.stack, received_at=started)
            if facts.state != "ALARM" or facts.incident in handled:
                continue
            handled.add(facts.incident)
            why = _unwatched(facts, functions)
            if why is not None:
                yield WatchEvent("ignored", facts.function or "", why)
                continue
            function = facts.function or ""
            yield WatchEvent("alarm", function, f"{facts.name}: {facts.reason}")
            ledger = responder.ports.ledger.state(function)
            if facts.incident and facts.incident == ledger.last_incident:
                # The orchestrator (or another guard) acted on it: say so, record nothing (a
                # "skipped" row per incident seen would bury the history's real decisions).
                who = ledger.last_rollback_by or "the orchestrator"
                yield WatchEvent("ignored", function, f"{facts.name}: already handled by {who}")
                continue
            response = respond(
                facts,
                responder,
                now=now(),
                actor=actor,
                force=force,
                ignore_cooldown=ignore_cooldown,
            )
            if response.result is None:
                yield WatchEvent("ignored", function, f"{facts.name}: {response.reason}; ignored")
            else:
                yield WatchEvent("rollback", function, response.result.message, response.result)
        yield WatchEvent("tick")
        sleep(interval)
