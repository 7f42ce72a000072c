"""The rollback engine's rules, planned and executed on in-memory state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from feedbackctl.engine.model import AliasState, LedgerState
from feedbackctl.engine.rollback import (
    Ports,
    RollbackRequest,
    RollbackState,
    execute,
    gather,
    plan_rollback,
)
from tests.fakes import FakeLambda, FakeLedger, FakeNotifier

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
FN = "create-feedback"


def ledger(**kw) -> LedgerState:
    base = {
        "function": FN,
        "live_version": "5",
        "previous_of": {"5": "4", "4": "3", "3": "2"},
        "revision": 3,
    }
    return LedgerState(**{**base, **kw})


def state(
    alias: AliasState | None = None, published=("1", "2", "3", "4", "5"), **kw
) -> RollbackState:
    return RollbackState(
        FN, alias or AliasState("5", revision_id="r5"), tuple(published), ledger(**kw)
    )


def request(**kw) -> RollbackRequest:
    return RollbackRequest(
        **{"function": FN, "actor": "alice", "reason": "errors", "now": NOW, **kw}
    )


def test_default_target_is_the_version_before_the_current_release():
    plan = plan_rollback(state(), request())
    assert (plan.decision, plan.from_version, plan.to_version) == ("rollback", "5", "4")
    assert [s.action for s in plan.steps] == ["health-check", "claim", "update-alias", "notify"]


def test_steps_walks_back_the_release_chain():
    assert plan_rollback(state(), request(steps=2)).to_version == "3"


def test_bad_versions_are_skipped_when_walking_back():
    plan = plan_rollback(state(bad_versions=frozenset({"4"})), request())
    assert plan.to_version == "3"
    assert any("marked bad" in n for n in plan.notes)


def test_explicit_target():
    assert plan_rollback(state(), request(to_version="2")).to_version == "2"


@pytest.mark.parametrize(
    ("to_version", "rule"),
    [
        ("$LATEST", "not-published"),
        ("live", "not-published"),
        ("9", "not-published"),
        ("0", "not-published"),
    ],
)
def test_never_latest_or_unpublished(to_version, rule):
    plan = plan_rollback(state(), request(to_version=to_version))
    assert (plan.decision, plan.rule) == ("refuse", rule)
    assert plan.steps == ()


def test_never_a_version_marked_bad():
    plan = plan_rollback(state(bad_versions=frozenset({"3"})), request(to_version="3"))
    assert (plan.decision, plan.rule) == ("refuse", "bad-version")


def test_target_equal_to_current_is_a_skip():
    plan = plan_rollback(state(), request(to_version="5"))
    assert (plan.decision, plan.rule) == ("skip", "already-live")


def test_no_earlier_version_is_refused():
    plan = plan_rollback(state(AliasState("1"), published=("1",), previous_of={}), request())
    assert (plan.decision, plan.rule) == ("refuse", "no-target")


def test_without_ledger_record_falls_back_to_newest_older_version_and_says_so():
    plan = plan_rollback(state(previous_of={}), request())
    assert plan.to_version == "4"
    assert "no release record" in plan.notes[0]


def test_during_a_shift_rollback_returns_traffic_to_the_primary():
    alias = AliasState("4", routing={"5": 0.1}, revision_id="r")
    plan = plan_rollback(state(alias), request())
    assert (plan.from_version, plan.to_version) == ("5", "4")
    assert "drop the weighted routing" in plan.steps[2].description


def test_latch_blocks_automatic_rollbacks():
    plan = plan_rollback(state(latched=True, latch_reason="errors alarm"), request(automatic=True))
    assert (plan.decision, plan.rule) == ("refuse", "latch")


def test_latch_makes_a_human_confirm_with_force():
    latched = state(latched=True, latch_reason="errors alarm")
    assert plan_rollback(latched, request()).rule == "latch"
    assert "--force" in plan_rollback(latched, request()).message
    assert plan_rollback(latched, request(force=True)).decision == "rollback"


def test_cooldown_blocks_automatic_rollbacks_within_the_window():
    recent = state(last_auto_rollback_at=NOW - timedelta(minutes=3))
    assert plan_rollback(recent, request(automatic=True)).rule == "cooldown"
    assert plan_rollback(recent, request()).decision == "rollback"  # humans are not rate-limited
    old = state(last_auto_rollback_at=NOW - timedelta(minutes=11))
    assert plan_rollback(old, request(automatic=True)).decision == "rollback"


def test_duplicate_incident_is_skipped():
    plan = plan_rollback(
        state(last_incident="alarm@t1"), request(automatic=True, incident="alarm@t1")
    )
    assert (plan.decision, plan.rule) == ("skip", "duplicate-incident")


def _ports(fake_lambda, fake_ledger, notifier=None):
    return Ports(lambda_=fake_lambda, ledger=fake_ledger, notifier=notifier, clock=lambda: 0.0)


def test_execute_moves_the_alias_marks_bad_and_records():
    fl, led, note = (
        FakeLambda(AliasState("5", revision_id="r5"), ["1", "2", "3", "4", "5"]),
        FakeLedger(ledger()),
        FakeNotifier(),
    )
    ports = _ports(fl, led, note)
    result = execute(
        plan_rollback(gather(FN, ports), request(automatic=True, incident="a@1")), ports
    )
    assert result.outcome == "done"
    assert fl.health_checks == ["4"]
    assert fl.moves == [(FN, "4")]
    after = led.state(FN)
    assert after.live_version == "4"
    assert "5" in after.bad_versions
    assert after.latched is True
    assert after.revision == 4
    [event] = led.events.values()
    assert (event.outcome, event.version, event.previous_version, event.actor) == (
        "done",
        "4",
        "5",
        "alice",
    )
    assert note.messages[0][1]["outcome"] == "done"


def test_execute_refuses_an_unhealthy_target_and_leaves_the_alias():
    fl, led = FakeLambda(AliasState("5"), ["3", "4", "5"], unhealthy={"4"}), FakeLedger(ledger())
    result = execute(plan_rollback(gather(FN, _ports(fl, led)), request()), _ports(fl, led))
    assert (result.outcome, result.rule) == ("refused", "health-check")
    assert "failed its health check" in result.message
    assert fl.moves == []
    assert led.state(FN).revision == 3
    [event] = led.events.values()
    assert (event.outcome, event.rule) == ("refused", "health-check")


def test_a_lost_claim_moves_nothing():
    fl, led = FakeLambda(AliasState("5"), ["4", "5"]), FakeLedger(ledger())
    plan = plan_rollback(gather(FN, _ports(fl, led)), request())
    led._state = ledger(revision=9)  # someone else committed between read and write
    result = execute(plan, _ports(fl, led))
    assert (result.outcome, result.rule) == ("skipped", "concurrent")
    assert fl.moves == []


def test_a_failed_alias_update_undoes_the_claim():
    fl, led = FakeLambda(AliasState("5"), ["4", "5"]), FakeLedger(ledger())
    fl.fail_update = RuntimeError("PreconditionFailedException")
    result = execute(plan_rollback(gather(FN, _ports(fl, led)), request()), _ports(fl, led))
    assert result.outcome == "failed"
    assert "still points at 5" in result.message
    after = led.state(FN)
    assert after.live_version == "5"
    assert "5" not in after.bad_versions
    assert [e.outcome for e in led.events.values()] == ["failed"]


def test_refusals_are_recorded_too():
    fl, led = FakeLambda(AliasState("5"), ["4", "5"]), FakeLedger(ledger(latched=True))
    result = execute(
        plan_rollback(gather(FN, _ports(fl, led)), request(automatic=True)), _ports(fl, led)
    )
    assert result.outcome == "refused"
    assert [e.rule for e in led.events.values()] == ["latch"]
