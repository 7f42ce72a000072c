"""Whom an alarm blames (feedbackctl.engine.blame): the pure decision, the suspects, the windows,
and which evidence is read when, over a fake evidence source."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from feedbackctl.engine.blame import (
    AlarmWindow,
    Suspects,
    blame,
    judge,
    release_time,
    suspects,
)
from feedbackctl.engine.model import AliasState, LedgerEvent, LedgerState
from feedbackctl.engine.verdict import VerdictRules, VersionEvidence

RULES = VerdictRules()
END = datetime(2026, 11, 25, 10, 5, tzinfo=UTC)
RELEASED = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
WINDOW = AlarmWindow(END, period=60, evaluation_periods=3)


def ev(version: str, invocations: float, errors: float = 0, logged: float = 0) -> VersionEvidence:
    return VersionEvidence(version, invocations=invocations, errors=errors, logged_errors=logged)


# --- the decision -----------------------------------------------------------------------------


def test_errors_the_previous_version_shares_are_skipped() -> None:
    verdict = judge(ev("7", 100, errors=20), ev("6", 900, logged=180), RULES)
    assert (verdict.decision, verdict.rule) == ("skip", "shared-errors")
    assert verdict.reason == (
        "version 7's errors are within the rules of the version before it "
        "(v7 20/100 failed (20.0%) vs v6 180/900 failed (20.0%))"
    )


def test_a_version_failing_alone_is_rolled_back() -> None:
    verdict = judge(ev("7", 100, errors=20), ev("6", 900), RULES)
    assert (verdict.decision, verdict.rule) == ("rollback", "")
    assert verdict.reason.startswith("version 7 fails on its own: error rate 20.0% exceeds")
    assert verdict.check.as_dict()["stable"]["invocations"] == 900


def test_too_little_traffic_is_no_evidence_but_a_clear_crash_is() -> None:
    assert judge(ev("7", 5, errors=1), ev("6", 900), RULES).rule == "no-evidence"
    # Three crashes out of five: failures that exceed the limit whatever comes next.
    assert judge(ev("7", 5, errors=3), ev("6", 900), RULES).decision == "rollback"


def test_a_version_with_no_failure_is_not_blamed() -> None:
    verdict = judge(ev("7", 100), ev("6", 100, errors=50), RULES)
    assert (verdict.decision, verdict.rule) == ("skip", "shared-errors")
    assert "had no failed invocation" in verdict.reason


def test_without_a_previous_version_the_baseline_is_error_free() -> None:
    assert judge(ev("1", 100, errors=20), None, RULES).decision == "rollback"


# --- suspects and windows ---------------------------------------------------------------------


def test_suspects_during_a_shift_and_after_a_release() -> None:
    ledger = LedgerState("fn", previous_of={"7": "6", "8": "7"})
    assert suspects(AliasState("7", {"8": 0.1}), ledger) == Suspects("8", "7", shifting=True)
    assert suspects(AliasState("8"), ledger) == Suspects("8", "7", shifting=False)
    assert suspects(AliasState("3"), ledger) == Suspects("3", None, shifting=False)


def test_windows() -> None:
    assert WINDOW.start == END - timedelta(minutes=3)
    before = WINDOW.before(RELEASED)
    # Same length; with MetricsEvidence's one-period padding the query ends at the release.
    assert (before.start, before.end) == (
        RELEASED - timedelta(minutes=4),
        RELEASED - timedelta(minutes=1),
    )
    assert before.as_dict()["end"] == "2026-11-25T09:00:00.000Z"


def test_release_time_is_the_newest_done_release_of_that_version() -> None:
    def event(version: str, at: str, kind: str = "release", outcome: str = "done") -> LedgerEvent:
        return LedgerEvent("fn", kind, outcome, at, "ci", "deploy", version)  # type: ignore[arg-type]

    events = [
        event("8", "2026-11-25T09:00:00.000Z"),
        event("8", "2026-11-20T09:00:00.000Z"),
        event("8", "2026-11-26T09:00:00.000Z", outcome="failed"),
        event("8", "2026-11-27T09:00:00.000Z", kind="rollback"),
        event("7", "2026-11-24T09:00:00.000Z"),
    ]
    assert release_time(events, "8") == RELEASED
    assert release_time(events, "9") is None


# --- which evidence is read -------------------------------------------------------------------


class FakeSource:
    """Answers from per-window tables and records each call."""

    def __init__(self, by_start: dict[datetime, dict[str, VersionEvidence]]) -> None:
        self.by_start = by_start
        self.calls: list[tuple[list[str], datetime, datetime]] = []

    def collect(
        self, function: str, versions: Sequence[str], start: datetime, end: datetime
    ) -> dict[str, VersionEvidence]:
        self.calls.append((list(versions), start, end))
        table = self.by_start.get(start, {})
        return {v: table[v] for v in versions if v in table}


def released(version: str) -> datetime | None:
    return RELEASED if version == "8" else None


def test_a_canary_is_judged_against_the_primary_in_the_same_window() -> None:
    source = FakeSource({WINDOW.start: {"8": ev("8", 40, errors=4), "7": ev("7", 360, errors=36)}})
    who = Suspects("8", "7", shifting=True)
    verdict = blame(source, "fn", who, WINDOW, rules=RULES, released_at=released)
    assert (verdict.decision, verdict.baseline) == ("skip", "same-window")
    assert source.calls == [(["8", "7"], WINDOW.start, END)]


@pytest.mark.parametrize(
    ("before_release", "decision"),
    [(ev("7", 500, errors=100), "skip"), (ev("7", 500), "rollback")],
)
def test_an_idle_previous_version_is_judged_before_the_release(
    before_release: VersionEvidence, decision: str
) -> None:
    earlier = WINDOW.before(RELEASED)
    source = FakeSource(
        {
            WINDOW.start: {"8": ev("8", 100, errors=20), "7": ev("7", 0)},
            earlier.start: {"7": before_release},
        }
    )
    verdict = blame(
        source, "fn", Suspects("8", "7", False), WINDOW, rules=RULES, released_at=released
    )
    assert (verdict.decision, verdict.baseline) == (decision, "before-release")
    assert source.calls[1] == (["7"], earlier.start, earlier.end)
    assert verdict.windows["baseline"]["end"] == "2026-11-25T09:00:00.000Z"


def test_without_a_release_record_an_idle_previous_version_counts_as_error_free() -> None:
    source = FakeSource({WINDOW.start: {"9": ev("9", 100, errors=20)}})
    verdict = blame(
        source, "fn", Suspects("9", "7", False), WINDOW, rules=RULES, released_at=released
    )
    assert verdict.decision == "rollback"
    assert len(source.calls) == 1


def test_the_window_is_the_whole_periods_the_alarm_judged():
    # Reproduced on the local platform: errors at 00:25:30, :33 and :37 fired a 10 s alarm at
    # 00:25:41.08; a window of "10 s before the change" started at :31.08 and saw only two of
    # them, too few to blame the version. The alarm judged the aligned period [:30, :40).
    changed = datetime(2026, 12, 2, 0, 25, 41, 80000, tzinfo=UTC)
    window = AlarmWindow(changed, period=10, evaluation_periods=1)
    assert window.start == datetime(2026, 12, 2, 0, 25, 30, tzinfo=UTC)
    five_minutes = AlarmWindow(changed, period=300, evaluation_periods=2)
    assert five_minutes.start == datetime(2026, 12, 2, 0, 15, 0, tzinfo=UTC)
