"""Whom a firing error alarm blames: the current version, only when it fails on its own.

`judge` is pure: the current version's evidence against the version before it, by the release
verdict rules; a rollback only on a failing check. `blame` gathers that evidence: it picks the
suspects from the alias and the ledger, derives the windows from the alarm's own period and
evaluation periods, and reads them through MetricsEvidence. feedbackctl/engine/incident.py
calls it before the rollback engine, for the rollback-orchestrator Lambda and `watch` alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from feedbackctl.engine.model import AliasState, LedgerEvent, LedgerState, iso, parse_iso
from feedbackctl.engine.verdict import Check, VerdictRules, VersionEvidence, check

BlameDecision = Literal["rollback", "skip"]
SHARED_ERRORS = "shared-errors"  # the version before fails as often: not this version's fault
NO_EVIDENCE = "no-evidence"  # too little traffic on the current version to blame it
Baseline = Literal["same-window", "before-release", "none"]


@dataclass(frozen=True)
class AlarmWindow:
    """The datapoints an alarm judged: EvaluationPeriods × Period, ending when it changed state.

    MetricsEvidence asks for one more period after `end` (the bucket holding `end` is still
    filling), so a query covers [start, end + period].
    """

    end: datetime
    period: int
    evaluation_periods: int

    @property
    def length(self) -> timedelta:
        return timedelta(seconds=self.period * self.evaluation_periods)

    @property
    def start(self) -> datetime:
        """The first period the alarm judged. CloudWatch evaluates whole periods aligned to
        the clock, the last of them ending at or before the state change, so the window starts
        `length` before the period boundary at or before `end` — not `length` before `end`,
        which would cut off the start of the breaching period."""
        epoch = int(self.end.timestamp())
        boundary = self.end - timedelta(
            seconds=epoch % self.period, microseconds=self.end.microsecond
        )
        return boundary - self.length

    def before(self, moment: datetime) -> AlarmWindow:
        """The same-length window whose query (padding included) ends exactly at `moment`."""
        return replace(self, end=moment - timedelta(seconds=self.period))

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": iso(self.start),
            "end": iso(self.end + timedelta(seconds=self.period)),
            "periodSeconds": self.period,
            "evaluationPeriods": self.evaluation_periods,
        }


@dataclass(frozen=True)
class Suspects:
    """The version an alarm may blame and the version it is compared with."""

    current: str
    previous: str | None
    shifting: bool  # a canary/linear shift is in progress: both versions serve the alias


def suspects(alias: AliasState, ledger: LedgerState) -> Suspects:
    """During a shift the new (weighted) version against the primary one; otherwise the
    primary version against the one the ledger says it replaced."""
    shifting = alias.shifting_to
    if shifting:
        return Suspects(shifting, alias.version, True)
    return Suspects(alias.version, ledger.previous_of.get(alias.version), False)


@dataclass(frozen=True)
class Blame:
    """The decision, the rule behind a skip, one line of why, and the figures it rests on."""

    decision: BlameDecision
    rule: str
    reason: str
    check: Check
    baseline: Baseline = "none"
    windows: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "rule": self.rule,
            "reason": self.reason,
            "baseline": self.baseline,
            "windows": self.windows,
            **self.check.as_dict(),
        }


def judge(new: VersionEvidence, previous: VersionEvidence | None, rules: VerdictRules) -> Blame:
    """Roll back only when `new` fails the release rules against `previous` (pure).

    Errors the previous version shares never blame the new one: the check counts only the
    excess of its error rate. Too little traffic is no evidence, never a verdict.
    """
    result = check(new, previous, rules)
    figures = result.summary()
    if result.status == "fail":
        why = f"version {new.version} fails on its own: {'; '.join(result.reasons)}"
        return Blame("rollback", "", f"{why} ({figures})", result)
    if result.status == "inconclusive":
        why = f"no evidence against version {new.version}: {'; '.join(result.reasons)}"
        return Blame("skip", NO_EVIDENCE, f"{why} ({figures})", result)
    if new.failures == 0:
        why = f"version {new.version} had no failed invocation in the alarm's window"
    else:
        why = f"version {new.version}'s errors are within the rules of the version before it"
    return Blame("skip", SHARED_ERRORS, f"{why} ({figures})", result)


class EvidenceSource(Protocol):
    """What `blame` reads evidence from (MetricsEvidence, or a fake in tests)."""

    def collect(
        self, function: str, versions: Sequence[str], start: datetime, end: datetime
    ) -> dict[str, VersionEvidence]: ...


def release_time(events: Sequence[LedgerEvent], version: str) -> datetime | None:
    """When `version` was last released, from the ledger's events (any order)."""
    times = [
        parse_iso(e.at)
        for e in events
        if e.kind == "release" and e.outcome == "done" and e.version == version
    ]
    return max(times) if times else None


def blame(
    source: EvidenceSource,
    function: str,
    who: Suspects,
    window: AlarmWindow,
    *,
    rules: VerdictRules,
    released_at: Callable[[str], datetime | None],
) -> Blame:
    """Read both versions' evidence over the alarm's window and judge.

    When the previous version served nothing in that window (a completed release), it is
    judged over the same-length window just before the current version's release
    (`released_at(current)`, read only then); without a release time it stays a zero-traffic
    baseline, which `check` treats as error-free.
    """
    versions = [who.current] + ([who.previous] if who.previous else [])
    found = source.collect(function, versions, window.start, window.end)
    new = found.get(who.current, VersionEvidence(who.current))
    windows: dict[str, Any] = {"alarm": window.as_dict()}
    previous: VersionEvidence | None = None
    baseline: Baseline = "none"
    if who.previous:
        previous = found.get(who.previous, VersionEvidence(who.previous))
        baseline = "same-window"
        if not previous.invocations:
            released = released_at(who.current)
            if released is not None:
                earlier = window.before(released)
                before = source.collect(function, [who.previous], earlier.start, earlier.end)
                previous = before.get(who.previous, previous)
                baseline = "before-release"
                windows["baseline"] = earlier.as_dict()
    return replace(judge(new, previous, rules), baseline=baseline, windows=windows)
