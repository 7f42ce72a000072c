"""The rollback engine executed against moto (Lambda, DynamoDB ledger, SNS → SQS probe)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from feedbackctl.engine.ledger import DynamoLedger
from feedbackctl.engine.model import LedgerState
from feedbackctl.engine.rollback import RollbackRequest, execute, gather, plan_rollback, rollback
from tests.functional.engine_fixtures import make_world

FN = "create-feedback"


def request(**kw) -> RollbackRequest:
    return RollbackRequest(
        **{"function": FN, "actor": "alice", "reason": "5xx", "now": datetime.now(UTC), **kw}
    )


@pytest.fixture
def world(moto_endpoint):
    w = make_world()
    w.add_function(FN, versions=3)
    ledger = DynamoLedger(w.ddb, w.ledger_table)
    state = LedgerState(FN).with_release("2", "1").with_release("3", "2")
    assert ledger.claim(0, state, _release_event("3", "2"), "")
    return w


def _release_event(version, previous):
    from feedbackctl.engine.model import LedgerEvent

    return LedgerEvent(
        FN, "release", "done", "2026-11-01T10:00:00.000Z", "deployer", "release", version, previous
    )


def _alias_updates(world) -> list[str]:
    calls: list[str] = []
    world.lambda_client.meta.events.register(
        "provide-client-params.lambda.UpdateAlias",
        lambda params, **_: calls.append(params["FunctionVersion"]),
    )
    return calls


def test_rollback_moves_the_alias_records_and_notifies(world):
    result = rollback(request(), world.ports())
    assert result.outcome == "done"
    assert (result.from_version, result.to_version) == ("3", "2")
    assert world.alias_version(FN) == "2"
    assert world.ops.checked == [f"{FN}:2"]
    ledger = DynamoLedger(world.ddb, world.ledger_table)
    state = ledger.state(FN)
    assert state.live_version == "2"
    assert "3" in state.bad_versions
    [latest, *_] = ledger.events(FN)
    assert (latest.kind, latest.outcome, latest.version, latest.previous_version) == (
        "rollback",
        "done",
        "2",
        "3",
    )
    [note] = world.notifications()
    assert (note["outcome"], note["function"], note["from"], note["to"]) == ("done", FN, "3", "2")


def test_unhealthy_target_is_refused_loudly_and_the_alias_stays(world):
    world.ops.unhealthy.add("2")
    result = rollback(request(), world.ports())
    assert (result.outcome, result.rule) == ("refused", "health-check")
    assert world.alias_version(FN) == "3"
    assert world.notifications()[0]["outcome"] == "refused"
    assert DynamoLedger(world.ddb, world.ledger_table).events(FN)[0].rule == "health-check"


def test_two_concurrent_rollbacks_move_the_alias_once(world):
    updates = _alias_updates(world)
    ports = world.ports()
    plans = [plan_rollback(gather(FN, ports), request(actor=who)) for who in ("alice", "bob")]
    results = []
    threads = [
        threading.Thread(target=lambda p=p: results.append(execute(p, ports))) for p in plans
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    [done] = [r for r in results if r.outcome == "done"]
    [lost] = [r for r in results if r is not done]
    # The loser either saw the alias already moved (refused before any write) or lost the
    # ledger claim (skipped); which one depends on the threads' timing, never both moving it.
    assert (lost.outcome, lost.rule) in {("refused", "alias-moved"), ("skipped", "concurrent")}
    assert updates == ["2"]
    assert world.alias_version(FN) == "2"


def test_two_operators_who_saw_the_same_version_roll_back_once(world):
    """Both saw 3 live; the first rolls back to 2; the second must not go on to 1."""
    updates = _alias_updates(world)
    ports = world.ports()
    alice, bob = (
        plan_rollback(gather(FN, ports), request(actor=who, expected_version="3"))
        for who in ("alice", "bob")
    )
    assert execute(alice, ports).outcome == "done"
    second = execute(bob, ports)
    assert (second.outcome, second.rule) == ("refused", "alias-moved")
    assert second.message == (
        f"the live alias of {FN} moved since it was read (it is on 2 now, was 3): "
        "someone else moved it; nothing was changed"
    )
    assert updates == ["2"]
    ledger = DynamoLedger(world.ddb, world.ledger_table)
    # Same `at` (one clock reading), so the two rows are ordered by event id.
    assert sorted((e.outcome, e.rule) for e in ledger.events(FN)[:2]) == [
        ("done", ""),
        ("refused", "alias-moved"),
    ]
    assert ledger.state(FN).live_version == "2"


def _fail_update_alias(world, answer: str, times: int = 1) -> list[str]:
    """Make Lambda answer UpdateAlias with an error, as real Lambda does (moto never does):
    PreconditionFailedException (412) when the RevisionId is stale, or ServiceException."""
    calls: list[str] = []
    status = 412 if answer == "PreconditionFailedException" else 500
    http = SimpleNamespace(status_code=status, headers={}, content=b"")

    def handler(params, **_):
        calls.append(answer)
        if len(calls) > times:
            return None  # let the call through to moto
        error = {"Code": answer, "Message": "The Revision Id provided does not match"}
        return http, {"Error": error, "ResponseMetadata": {"HTTPStatusCode": status}}

    world.lambda_client.meta.events.register("before-call.lambda.UpdateAlias", handler)
    return calls


def test_a_retry_of_an_incident_whose_alias_move_failed_rolls_back(world):
    """release_claim used to leave the incident marker: the retry was skipped as handled."""
    ledger = DynamoLedger(world.ddb, world.ledger_table)
    _fail_update_alias(world, "ServiceException", times=1)
    incident = request(automatic=True, actor="alarm:x", incident="x@1")
    first = rollback(incident, world.ports())
    assert (first.outcome, first.rule) == ("failed", "alias-update")
    assert world.alias_version(FN) == "3"
    assert ledger.state(FN).live_version == "3"
    retry = rollback(incident, world.ports())  # SNS redelivers the same alarm message
    assert (retry.outcome, retry.from_version, retry.to_version) == ("done", "3", "2")
    assert world.alias_version(FN) == "2"
    assert ledger.incident_handled(FN, "x@1")
    # Both attempts carry the same `at` (one request), so their order is the event ids'.
    assert sorted((e.outcome, e.rule) for e in ledger.events(FN)[:2]) == [
        ("done", ""),
        ("failed", "alias-update"),
    ]


@pytest.mark.parametrize(("automatic", "outcome"), [(False, "refused"), (True, "skipped")])
def test_a_stale_revision_id_ends_as_alias_moved_not_a_traceback(world, automatic, outcome):
    _fail_update_alias(world, "PreconditionFailedException")
    result = rollback(request(automatic=automatic, incident="x@1"), world.ports())
    assert (result.outcome, result.rule) == (outcome, "alias-moved")
    assert "someone else moved it; nothing was changed" in result.message
    ledger = DynamoLedger(world.ddb, world.ledger_table)
    state = ledger.state(FN)
    assert (state.live_version, state.bad_versions, state.latched) == ("3", frozenset(), False)
    assert not ledger.incident_handled(FN, "x@1")
    event = ledger.events(FN)[0]
    assert (event.kind, event.outcome, event.rule) == ("rollback", outcome, "alias-moved")


def test_a_second_automatic_rollback_waits_for_a_human(world):
    first = rollback(request(automatic=True, actor="alarm:x", incident="x@1"), world.ports())
    assert first.outcome == "done"
    second = rollback(request(automatic=True, actor="alarm:x", incident="x@2"), world.ports())
    assert (second.outcome, second.rule) == ("refused", "latch")
    assert world.alias_version(FN) == "2"


def test_to_version_latest_is_refused(world):
    result = rollback(request(to_version="$LATEST"), world.ports())
    assert (result.outcome, result.rule) == ("refused", "not-published")
    assert world.alias_version(FN) == "3"


# The rollback-orchestrator Lambda on alarm messages: tests/functional/test_orchestrator_evidence.py
