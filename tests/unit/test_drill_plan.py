"""The drill's pure planning: the refusal rules (each saying when it lifts), the faulty version's
configuration, and the windows. No AWS: facts are built in memory."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from feedbackctl.drill import (
    DrillFacts,
    DrillRequest,
    artifact_key,
    fault_setting,
    plan_drill,
)
from feedbackctl.engine.model import AliasState, LedgerState
from feedbackctl.engine.verdict import windows
from feedbackctl.errors import UsageError
from feedbackctl.packaging import Artifact

FN = "create-feedback"
LIVE_SHA = base64.b64encode(hashlib.sha256(b"live").digest()).decode()
LATEST_SHA = base64.b64encode(hashlib.sha256(b"latest").digest()).decode()
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
ALARMS = {"fb-create-feedback-errors": "OK", "fb-create-feedback-lambda-errors": "OK"}


def facts(**changes: object) -> DrillFacts:
    base = DrillFacts(
        FN,
        "fb-create-feedback",
        AliasState("3", revision_id="rev-1"),
        ("1", "2", "3"),
        {
            "CodeSha256": LIVE_SHA,
            "Timeout": 10,
            "MemorySize": 256,
            "Environment": {"Variables": {"A": "1"}},
        },
        {"CodeSha256": LATEST_SHA, "Timeout": 20, "Environment": {"Variables": {"A": "2"}}},
        LedgerState(FN).with_release("2", "1").with_release("3", "2"),
        dict(ALARMS),
        "fb-codebucket",
        frozenset({artifact_key(FN, LIVE_SHA), artifact_key(FN, LATEST_SHA)}),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def request(fault: str = "exception", **changes: object) -> DrillRequest:
    base = DrillRequest(FN, fault_setting(fault), "drill:alice", NOW, windows(300, 1, 60), "dev")
    return replace(base, **changes)  # type: ignore[arg-type]


def rules(plan_facts: DrillFacts, drill_request: DrillRequest | None = None) -> list[str]:
    return [rule for rule, _ in plan_drill(plan_facts, drill_request or request()).refusals]


def test_a_healthy_function_is_not_refused_and_windows_set_the_timeout():
    plan = plan_drill(facts(), request())
    assert plan.refusals == ()
    assert plan.timeout_s == 1020  # windows(300, 1, 60).drill_timeout_s
    assert plan_drill(facts(), request(timeout_s=45)).timeout_s == 45


def test_the_faulty_configuration_is_the_live_one_plus_the_fault():
    plan = plan_drill(facts(), request("latency"))
    assert plan.version_config["Environment"]["Variables"] == {
        "A": "1",
        "FEEDBACKCTL_FAULT": "latency:3000",
        "FEEDBACKCTL_DRILL": plan.request.drill_id,
    }
    assert plan.restore_config["Environment"]["Variables"] == {"A": "2"}
    assert plan.code_key == artifact_key(FN, LIVE_SHA)
    assert plan.restore_key == artifact_key(FN, LATEST_SHA)


def test_latest_on_the_live_code_needs_no_code_update():
    plan = plan_drill(facts(latest={"CodeSha256": LIVE_SHA}), request())
    assert plan.restore_key is None
    assert plan.steps[0].description.startswith("none: $LATEST already runs version 3's code")


def test_a_timeout_fault_caps_the_timeout_at_three_seconds():
    assert plan_drill(facts(), request("timeout")).version_config["Timeout"] == 3
    assert plan_drill(facts(), request("exception")).version_config["Timeout"] == 10


def test_the_cooldown_counts_from_the_last_automatic_rollback():
    recent = facts(ledger=replace(facts().ledger, last_auto_rollback_at=NOW - timedelta(minutes=4)))
    (only,) = plan_drill(recent, request()).refusals
    assert only == (
        "cooldown",
        "an automatic rollback of create-feedback happened at 2026-11-25T09:56:00.000Z, so the "
        "orchestrator would refuse to heal the drill for 361s more; "
        "lifts at 2026-11-25T10:06:00.000Z",
    )
    old = facts(ledger=replace(facts().ledger, last_auto_rollback_at=NOW - timedelta(minutes=11)))
    assert rules(old) == []


def test_the_orchestrator_must_heal_onto_the_live_version():
    bad = facts(ledger=replace(facts().ledger, bad_versions=frozenset({"3"})))
    (only,) = plan_drill(bad, request()).refusals
    assert only[0] == "orchestrator"
    assert only[1].startswith(
        "the orchestrator would heal the drill onto version 2, not the live version 3 ("
    )
    assert only[1].endswith("), undoing a release; lifts after the next release")


def test_the_orchestrator_would_find_no_target():
    alone = facts(ledger=LedgerState(FN, bad_versions=frozenset({"3"})).with_release("3", None))
    (only,) = plan_drill(alone, request()).refusals
    assert only[0] == "orchestrator"
    assert only[1].startswith("the orchestrator would refuse to heal the drill (no-target)")


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"ledger": replace(LedgerState(FN), latched=True, latch_reason="x")}, "latch"),
        ({"alias": AliasState("3", {"4": 0.1})}, "shifting"),
        ({"alarms": {**ALARMS, "fb-create-feedback-errors": "ALARM"}}, "alarm-firing"),
        ({"live": {}, "alias": AliasState("$LATEST")}, "not-published"),
        ({"bucket": None}, "no-code-bucket"),
        ({"artifacts": frozenset({artifact_key(FN, LATEST_SHA)})}, "no-artifact"),
        ({"artifacts": frozenset({artifact_key(FN, LIVE_SHA)})}, "no-artifact"),
    ],
)
def test_each_safety_rule_refuses(changes, rule):
    assert rules(facts(**changes)) == [rule]


def test_production_needs_allow_production():
    assert rules(facts(), request(production=True)) == ["production"]
    assert rules(facts(), request(production=True, allow_production=True)) == []


def test_a_missing_alarm_is_noted():
    plan = plan_drill(facts(alarms={**ALARMS, "fb-create-feedback-lambda-errors": None}), request())
    assert plan.notes == (
        "alarm(s) fb-create-feedback-lambda-errors do not exist on this stage; what they would "
        "catch is healed by the drill itself at the timeout",
    )


@pytest.mark.parametrize(
    ("given", "setting"),
    [("exception", "exception"), ("latency", "latency:3000"), ("latency:250", "latency:250")],
)
def test_fault_settings(given, setting):
    assert fault_setting(given) == setting


@pytest.mark.parametrize("bad", ["segfault", "latency:soon", "crash:1", ""])
def test_unknown_faults_are_usage_errors(bad):
    with pytest.raises(UsageError, match="unknown fault"):
        fault_setting(bad)


def test_the_artifact_key_is_the_deploys():
    data = b"zip bytes"
    digest = hashlib.sha256(data)
    code_sha = base64.b64encode(digest.digest()).decode()
    artifact = Artifact(FN, Path("x.zip"), digest.hexdigest(), code_sha, len(data), 1)
    assert artifact_key(FN, code_sha) == artifact.s3_key
