"""Releasing a published version: the traffic-shift schedule of each strategy (pure), and the
incident key that names one alarm transition the same way wherever it is read.

The judge of a release is feedbackctl/engine/verdict.py: per-version evidence, never an alarm
that may have been firing before the release began (so a firing alarm never blocks the fix).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Strategy = Literal["all-at-once", "canary", "linear"]
STRATEGIES: tuple[str, ...] = ("all-at-once", "canary", "linear")


@dataclass(frozen=True)
class ShiftStep:
    """Send `weight` of the traffic to the new version, then watch for `hold_s` seconds."""

    weight: float
    hold_s: float

    @property
    def final(self) -> bool:
        return self.weight >= 1.0


@dataclass(frozen=True)
class ReleasePolicy:
    """How a release moves traffic and how long it watches."""

    strategy: Strategy = "all-at-once"
    percent: int = 10  # canary share, or linear step size
    step_s: float = 60.0  # hold at each weighted step
    bake_s: float = 60.0  # watch after 100 %
    poll_s: float = 10.0


def schedule(policy: ReleasePolicy) -> list[ShiftStep]:
    """The shift steps of a strategy; the last is always 100 % held for the bake window."""
    if not 1 <= policy.percent <= 99:
        raise ValueError("percent must be between 1 and 99")
    share = policy.percent / 100
    steps: list[ShiftStep] = []
    if policy.strategy == "canary":
        steps.append(ShiftStep(share, policy.step_s))
    elif policy.strategy == "linear":
        weight = share
        while weight < 1.0 - 1e-9:
            steps.append(ShiftStep(round(weight, 4), policy.step_s))
            weight += share
    elif policy.strategy != "all-at-once":
        raise ValueError(
            f"unknown strategy {policy.strategy!r}; choose one of {', '.join(STRATEGIES)}"
        )
    steps.append(ShiftStep(1.0, policy.bake_s))
    return steps


def incident_key(alarm_name: str, when: datetime) -> str:
    """The same key for an alarm transition whether read from SNS or from DescribeAlarms."""
    return f"{alarm_name}@{int(when.timestamp())}"
