"""The rollback engine executed against moto (Lambda, DynamoDB ledger, SNS → SQS probe)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

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
    assert sorted(r.outcome for r in results) == ["done", "skipped"]
    assert next(r for r in results if r.outcome == "skipped").rule == "concurrent"
    assert updates == ["2"]
    assert world.alias_version(FN) == "2"


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


def test_orchestrator_rolls_back_once_for_a_duplicate_sns_delivery(world, monkeypatch):
    from feedbackctl.sandbox import InvocationContext
    from lambdas.rollback_orchestrator import handler as orchestrator

    monkeypatch.setenv("STACK_NAME", world.stack)
    monkeypatch.setattr(orchestrator, "_ports", world.ports())
    updates = _alias_updates(world)
    alarm = {
        "AlarmName": f"{world.stack}-{FN}-errors",
        "NewStateValue": "ALARM",
        "OldStateValue": "OK",
        "NewStateReason": "Threshold Crossed: 1 datapoint [9.0] > the threshold (5.0).",
        "StateChangeTime": "2026-11-25T10:05:00.000+0000",
    }
    event = {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": json.dumps(alarm)}}]}
    context = InvocationContext("rollback-orchestrator")
    first = orchestrator.lambda_handler(event, context)
    second = orchestrator.lambda_handler(event, context)
    assert first["results"][0]["outcome"] == "done"
    assert second["results"][0]["outcome"] == "skipped"
    assert second["results"][0]["rule"] == "duplicate-incident"
    assert updates == ["2"]
    events = DynamoLedger(world.ddb, world.ledger_table).events(FN)
    assert [e.outcome for e in events[:2]] == ["skipped", "done"]
    assert events[1].actor == f"alarm:{world.stack}-{FN}-errors"


def test_orchestrator_ignores_ok_other_alarms_and_unknown_functions(world, monkeypatch):
    from feedbackctl.sandbox import InvocationContext
    from lambdas.rollback_orchestrator import handler as orchestrator

    monkeypatch.setenv("STACK_NAME", world.stack)
    monkeypatch.setattr(orchestrator, "_ports", world.ports())
    messages = [
        {"AlarmName": f"{world.stack}-{FN}-errors", "NewStateValue": "OK"},
        {"AlarmName": f"{world.stack}-{FN}-errors", "NewStateValue": "INSUFFICIENT_DATA"},
        {"AlarmName": f"{world.stack}-api-5xx", "NewStateValue": "ALARM"},
        {"AlarmName": f"{world.stack}-no-such-fn-errors", "NewStateValue": "ALARM"},
        {"AlarmName": f"other-stack-{FN}-errors", "NewStateValue": "ALARM"},
    ]
    event = {
        "Records": [{"Sns": {"Message": json.dumps(m)}} for m in messages]
        + [{"Sns": {"Message": "not json"}}]
    }
    result = orchestrator.lambda_handler(event, InvocationContext("rollback-orchestrator"))
    assert [r["outcome"] for r in result["results"]] == ["ignored"] * 6
    assert world.alias_version(FN) == "3"
