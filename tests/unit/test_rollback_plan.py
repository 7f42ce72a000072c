"""The rollback engine's rules, planned and executed on in-memory state."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from feedbackctl.engine.model import AliasState, LedgerState
from feedbackctl.engine.rollback import (
    CheckAlias,
    Claim,
    HealthCheck,
    MoveAlias,
    Notify,
    Ports,
    RecordOutcome,
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
    assert [s.action for s in plan.steps] == [
        "health-check",
        "check-alias",
        "claim",
        "move-alias",
        "record",
        "notify",
    ]


def test_the_steps_are_the_calls_with_their_arguments():
    plan = plan_rollback(state(), request(automatic=True, incident="a@1"))
    health, check, claim, move, record, notify = plan.steps
    assert health == HealthCheck(FN, "4")
    assert check == CheckAlias(FN, "5", {}, "r5")
    assert isinstance(claim, Claim)
    assert (claim.function, claim.expected_revision, claim.incident) == (FN, 3, "a@1")
    assert (claim.new_state.live_version, claim.new_state.latched) == ("4", True)
    assert "5" in claim.new_state.bad_versions
    assert claim.new_state.last_rollback_by == "alice"
    assert move == MoveAlias(FN, "4", {}, "r5")
    assert (record, notify) == (RecordOutcome(FN, "done"), Notify(FN))


def test_planning_is_pure_and_deterministic():
    assert plan_rollback(state(), request()) == plan_rollback(state(), request())


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
    # A refusal's steps only record and announce it: nothing touches the alias.
    assert plan.steps == (RecordOutcome(FN, "refused", rule), Notify(FN))


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
    assert plan.steps[1] == CheckAlias(FN, "4", {"5": 0.1}, "r")
    assert plan.steps[3] == MoveAlias(FN, "4", {}, "r")  # the weighted routing is dropped
    assert plan.steps[3].describe() == f"point {FN}:live at 4, no weights (RevisionId r)"


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
    plan = plan_rollback(recent, request(automatic=True))
    assert (plan.decision, plan.rule) == ("refuse", "cooldown")
    assert "7 min 00 s more (--ignore-cooldown overrides)" in plan.message
    old = state(last_auto_rollback_at=NOW - timedelta(minutes=11))
    assert plan_rollback(old, request(automatic=True)).decision == "rollback"


def test_force_lifts_the_latch_but_not_the_cooldown():
    """watch --force used to bypass the cooldown too: a forced guard looped every alarm."""
    latched = state(
        latched=True,
        latch_reason="errors alarm",
        last_rollback_at=NOW - timedelta(minutes=2),
        last_auto_rollback_at=NOW - timedelta(minutes=2),
        last_rollback_by="alarm:x",
        last_rollback_to="5",
    )
    plan = plan_rollback(latched, request(automatic=True, force=True))
    assert (plan.decision, plan.rule) == ("refuse", "cooldown")
    assert "rolled back by alarm:x at 2026-11-25T11:58:00.000Z (2 min 00 s ago)" in plan.message
    lifted = plan_rollback(latched, request(automatic=True, force=True, ignore_cooldown=True))
    assert lifted.decision == "rollback"
    assert lifted.overrides == ("latch-override", "cooldown-override")
    # ignore_cooldown alone does not lift the latch.
    assert plan_rollback(latched, request(automatic=True, ignore_cooldown=True)).rule == "latch"


def test_a_human_rollback_soon_after_another_is_refused_and_says_who():
    recent = state(
        live_version="4",
        last_rollback_at=NOW - timedelta(seconds=1.5),
        last_rollback_by="alice",
        last_rollback_to="5",
    )
    plan = plan_rollback(recent, request(actor="bob"))
    assert (plan.decision, plan.rule) == ("refuse", "recent-rollback")
    assert plan.message == (
        f"{FN} was rolled back to 5 by alice at 2026-11-25T11:59:58.500Z (1.5 s ago), within "
        "the 10 min 00 s cooldown; another rollback now would undo an older release as well. "
        "Pass --force to roll back again"
    )
    forced = plan_rollback(recent, request(actor="bob", force=True))
    assert (forced.decision, forced.overrides) == ("rollback", ("recent-rollback-override",))
    # An explicit target is idempotent (a second run finds it live), so it is not held back.
    assert plan_rollback(recent, request(to_version="3")).decision == "rollback"
    old = replace(recent, ledger=replace(recent.ledger, last_rollback_at=NOW - timedelta(hours=1)))
    assert plan_rollback(old, request()).decision == "rollback"


def test_a_new_release_after_a_rollback_is_not_held_by_the_cooldown():
    # Rolled back to 4 two minutes ago; since then 5 was released and is failing.
    released = state(
        last_rollback_at=NOW - timedelta(minutes=2),
        last_auto_rollback_at=NOW - timedelta(minutes=2),
        last_rollback_to="4",
    )
    assert plan_rollback(released, request(automatic=True)).decision == "rollback"
    assert plan_rollback(released, request()).decision == "rollback"


def test_the_version_the_caller_saw_must_still_be_live():
    plan = plan_rollback(state(), request(expected_version="4"))
    assert (plan.decision, plan.rule) == ("refuse", "alias-moved")
    assert plan.message.startswith(f"the live alias of {FN} is on version 5, not 4 as expected")
    assert plan_rollback(state(), request(expected_version="5")).decision == "rollback"
    # For automation (the orchestrator, the deploy) someone else already acted: a skip.
    automatic = plan_rollback(state(), request(expected_version="4", automatic=True))
    assert (automatic.decision, automatic.rule) == ("skip", "alias-moved")


def test_a_bad_version_needs_an_explicit_target_and_the_flag():
    bad = state(bad_versions=frozenset({"3"}))
    refused = plan_rollback(bad, request(to_version="3"))
    assert (refused.decision, refused.rule) == ("refuse", "bad-version")
    assert "--allow-bad-version" in refused.message
    plan = plan_rollback(bad, request(to_version="3", allow_bad_version=True))
    assert (plan.decision, plan.to_version, plan.overrides) == (
        "rollback",
        "3",
        ("bad-version-override",),
    )
    claim = plan.steps[2]
    assert isinstance(claim, Claim)
    assert claim.new_state.bad_versions == frozenset({"5"})  # vouched for: no longer bad
    automatic = request(to_version="3", allow_bad_version=True, automatic=True)
    assert plan_rollback(bad, automatic).rule == "bad-version"  # automation never vouches


def test_a_bad_version_can_be_rolled_forward_to_only_with_the_flag():
    # 5 was rolled back to 4 and marked bad; the operator knows 5 was fine after all.
    back = state(AliasState("4", revision_id="r4"), live_version="4", bad_versions=frozenset({"5"}))
    assert plan_rollback(back, request(to_version="5")).rule == "bad-version"
    plan = plan_rollback(back, request(to_version="5", allow_bad_version=True))
    assert (plan.decision, plan.from_version, plan.to_version) == ("rollback", "4", "5")


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
    fl.fail_update = RuntimeError("ServiceException")
    result = execute(plan_rollback(gather(FN, _ports(fl, led)), request()), _ports(fl, led))
    assert (result.outcome, result.rule) == ("failed", "alias-update")
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


def test_execute_runs_exactly_the_planned_steps_in_order():
    fl, led, note = (
        FakeLambda(AliasState("5", revision_id="r5"), ["1", "2", "3", "4", "5"]),
        FakeLedger(ledger()),
        FakeNotifier(),
    )
    ports = _ports(fl, led, note)
    plan = plan_rollback(gather(FN, ports), request())
    fl.calls.clear()  # gather's reads are not part of the plan
    result = execute(plan, ports)
    assert result.executed == plan.steps
    assert fl.calls == [
        ("invoke_health", (FN, "4")),
        ("alias", (FN,)),
        ("set_alias", (FN, "4", {}, "r5")),
    ]
    assert led.claims == 1
    assert len(note.messages) == 1


def test_a_failed_alias_move_releases_the_incident_so_a_retry_rolls_back():
    """The reported defect: the claim was undone but the incident marker stayed."""
    fl, led = FakeLambda(AliasState("5", revision_id="r5"), ["4", "5"]), FakeLedger(ledger())
    ports = _ports(fl, led)
    fl.fail_update = RuntimeError("ServiceException")
    first = execute(
        plan_rollback(gather(FN, ports), request(automatic=True, incident="a@1")), ports
    )
    assert first.outcome == "failed"
    assert led.incidents == set()
    fl.fail_update = None
    retry = execute(
        plan_rollback(gather(FN, ports), request(automatic=True, incident="a@1")), ports
    )
    assert (retry.outcome, retry.to_version) == ("done", "4")
    assert fl.moves == [(FN, "4")]


@pytest.mark.parametrize(("automatic", "outcome"), [(False, "refused"), (True, "skipped")])
def test_an_alias_moved_while_claiming_undoes_the_claim_and_says_so(automatic, outcome):
    fl, led = FakeLambda(AliasState("5", revision_id="r5"), ["3", "4", "5"]), FakeLedger(ledger())
    ports = _ports(fl, led)
    plan = plan_rollback(gather(FN, ports), request(automatic=automatic, incident="a@1"))
    led.before_claim = lambda: fl.moved_by_someone_else("3")  # after the check, before the move
    result = execute(plan, ports)
    assert (result.outcome, result.rule) == (outcome, "alias-moved")
    assert result.message == (
        f"the live alias of {FN} moved since it was read (RevisionId r5 is stale): "
        "someone else moved it; nothing was changed"
    )
    assert fl.moves == []
    assert fl.alias(FN).version == "3"
    after = led.state(FN)
    assert (after.live_version, after.bad_versions, after.latched) == ("5", frozenset(), False)
    assert led.incidents == set()
    [event] = led.events.values()
    assert (event.outcome, event.rule) == (outcome, "alias-moved")


def test_an_alias_moved_since_the_plan_is_refused_before_any_write():
    fl, led = FakeLambda(AliasState("5", revision_id="r5"), ["3", "4", "5"]), FakeLedger(ledger())
    ports = _ports(fl, led)
    plan = plan_rollback(gather(FN, ports), request())
    fl.moved_by_someone_else("4")
    result = execute(plan, ports)
    assert (result.outcome, result.rule) == ("refused", "alias-moved")
    assert "it is on 4 now, was 5" in result.message
    assert (led.claims, fl.moves) == (0, [])
    assert [s.action for s in result.executed] == ["health-check", "check-alias", "notify"]


def test_the_override_is_recorded_in_the_event():
    fl = FakeLambda(AliasState("4", revision_id="r4"), ["3", "4", "5"])
    led = FakeLedger(ledger(live_version="4", bad_versions=frozenset({"5"})))
    ports = _ports(fl, led)
    result = execute(
        plan_rollback(gather(FN, ports), request(to_version="5", allow_bad_version=True)), ports
    )
    assert result.outcome == "done"
    [event] = led.events.values()
    assert event.details["overrides"] == ["bad-version-override"]
    assert event.rule == ""
    # 5 is vouched for, and a roll forward leaves a good version behind: nothing is bad.
    assert led.state(FN).bad_versions == frozenset()


def test_a_roll_forward_does_not_mark_the_version_it_leaves_bad():
    back = state(AliasState("3", revision_id="r3"), live_version="3")
    claim = plan_rollback(back, request(to_version="4")).steps[2]
    assert isinstance(claim, Claim)
    assert (claim.new_state.live_version, claim.new_state.bad_versions) == ("4", frozenset())


def test_an_alias_updated_in_place_since_the_plan_is_refused_too():
    fl, led = FakeLambda(AliasState("5", revision_id="r5"), ["3", "4", "5"]), FakeLedger(ledger())
    ports = _ports(fl, led)
    plan = plan_rollback(gather(FN, ports), request())
    fl.moved_by_someone_else("5")  # moved away and back, or re-pointed with new weights
    result = execute(plan, ports)
    assert (result.outcome, result.rule) == ("refused", "alias-moved")
    assert "its RevisionId is r5* now, was r5" in result.message
    assert (led.claims, fl.moves) == (0, [])
