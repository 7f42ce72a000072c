"""`feedbackctl rollback`, `history` and `status` through CliRunner against a moto server."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from feedbackctl.cli.app import app
from feedbackctl.engine.ledger import DynamoLedger
from feedbackctl.engine.model import LedgerEvent, LedgerState
from tests.functional.engine_fixtures import make_world

FN = "create-feedback"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ACTOR = "arn:aws:sts::123456789012:user/moto"  # moto's GetCallerIdentity


@pytest.fixture
def world(moto_endpoint, tmp_path, monkeypatch):
    w = make_world()
    w.add_function(FN, versions=3)
    w.add_function("health", versions=1)
    ledger = DynamoLedger(w.ddb, w.ledger_table)
    state = LedgerState(FN).with_release("2", "1").with_release("3", "2")
    release = LedgerEvent(
        FN, "release", "done", "2026-11-01T10:00:00.000Z", "deployer", "deploy", "3", "2"
    )
    assert ledger.claim(0, state, release, "")
    config = tmp_path / "feedbackctl.toml"
    config.write_text(
        '[project]\ndefault_stage = "test"\n'
        f'[stages.test]\nregion = "us-east-1"\nstack_name = "{w.stack}"\n'
    )
    monkeypatch.setenv("FEEDBACKCTL_CONFIG", str(config))
    return w


@pytest.fixture
def injected_health(world, monkeypatch):
    """moto cannot run handlers; the health answers come from the world's set."""
    import feedbackctl.cli.commands.rollback.run as flow

    monkeypatch.setattr(flow, "engine_ports", lambda aws: world.ports())
    return world


@pytest.fixture
def clock(monkeypatch):
    """The wall clock manual rollbacks are stamped with; a test moves it by hand."""
    import feedbackctl.cli.commands.rollback.run as flow

    now = [T0]
    # raising=False: the same test runs (and fails, as reported) against the flow before it
    # had an injectable clock.
    monkeypatch.setattr(flow, "clock", lambda: now[0], raising=False)
    return now


def run(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def alias_updates(world) -> list[str]:
    calls: list[str] = []
    world.lambda_client.meta.events.register(
        "provide-client-params.lambda.UpdateAlias",
        lambda params, **_: calls.append(params["FunctionVersion"]),
    )
    return calls


def revision(world) -> str:
    alias = world.lambda_client.get_alias(FunctionName=f"{world.stack}-{FN}", Name="live")
    return str(alias["RevisionId"])


def test_rollback_moves_the_alias_and_says_so(injected_health):
    result = run("rollback", "--function", FN, "--yes", "--reason", "5xx after release")
    assert result.exit_code == 0, result.output
    assert f"✓ {FN} rolled back from 3 to 2 in " in result.output
    assert injected_health.alias_version(FN) == "2"
    event = DynamoLedger(injected_health.ddb, injected_health.ledger_table).events(FN)[0]
    assert (event.outcome, event.reason) == ("done", "5xx after release")


def test_rollback_json(injected_health):
    result = run("rollback", "-f", FN, "--yes", "--json")
    assert result.exit_code == 0
    body = json.loads(result.stdout)
    assert (body["outcome"], body["from"], body["to"]) == ("done", "3", "2")


def test_dry_run_prints_the_plan_and_changes_nothing(injected_health):
    rev = revision(injected_health)
    result = run("rollback", "-f", FN, "--dry-run")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        f"Plan: roll back {FN} from 3 to 2",
        f"  1. health-check invoke {FN}:2 with the synthetic health event",
        f"  2. check-alias  read {FN}:live; go on only if it is still on 3 (RevisionId {rev})",
        "  3. claim        ledger: conditional write (revision 1): live 2, bad versions 3",
        f"  4. move-alias   point {FN}:live at 2, no weights (RevisionId {rev})",
        f"  5. record       ledger: record the rollback of {FN} as done",
        "  6. notify       publish the outcome to the notifications topic",
    ]
    assert injected_health.alias_version(FN) == "3"
    assert len(DynamoLedger(injected_health.ddb, injected_health.ledger_table).events(FN)) == 1


class Recorder:
    """Records every call made through a port (method name and arguments), then makes it."""

    def __init__(self, target: Any, calls: list[tuple[str, tuple[Any, ...]]]) -> None:
        self._target, self._calls = target, calls

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._target, name)

        def call(*args: Any) -> Any:
            self._calls.append((name, args))
            return method(*args)

        return call


def test_dry_run_output_equals_the_executed_steps(world, monkeypatch):
    import feedbackctl.cli.commands.rollback.run as flow
    from feedbackctl.engine.rollback import Ports

    calls: list[tuple[str, tuple[Any, ...]]] = []
    inner = world.ports()
    recording = Ports(
        lambda_=Recorder(world.ops, calls),
        ledger=Recorder(inner.ledger, calls),
        notifier=Recorder(inner.notifier, calls),
    )
    monkeypatch.setattr(flow, "engine_ports", lambda aws: recording)
    dry = json.loads(run("rollback", "-f", FN, "--dry-run", "--json").stdout)["plan"]["steps"]
    calls.clear()
    done = run("rollback", "-f", FN, "--yes", "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["steps"] == dry
    # The calls that reached the ports, after gather's three reads, are the dry run's steps.
    port_calls = {
        "health-check": "invoke_health",
        "check-alias": "alias",
        "claim": "claim",
        "move-alias": "set_alias",
        "record": "finish",
        "notify": "publish",
    }
    made = [name for name, _ in calls]
    assert made == ["published_versions", "alias", "state"] + [port_calls[s["action"]] for s in dry]
    by_name = {name: args for name, args in calls[3:]}
    args = {s["call"]: s["args"] for s in dry}
    health, move, claim = args["HealthCheck"], args["MoveAlias"], args["Claim"]
    assert by_name["invoke_health"] == (health["function"], health["version"])
    assert by_name["set_alias"] == (FN, move["version"], move["weights"], move["revisionId"])
    assert by_name["claim"][0] == claim["expectedRevision"]
    assert world.alias_version(FN) == "2"


def test_two_manual_rollbacks_1_5_s_apart_move_the_alias_once(injected_health, clock):
    """The reported run: `rollback --function F --yes` twice, 1.5 s apart, undid two releases."""
    world = injected_health
    updates = alias_updates(world)
    first = run("rollback", "--function", FN, "--yes")
    clock[0] = T0 + timedelta(seconds=1.5)
    second = run("rollback", "--function", FN, "--yes")
    assert first.exit_code == 0, first.output
    assert second.exit_code == 3
    assert (
        f"error: rollback refused (recent-rollback): {FN} was rolled back to 2 by {ACTOR} at "
        "2026-12-01T09:00:00.000Z (1.5 s ago), within the 10 min 00 s cooldown; another "
        "rollback now would undo an older release as well. Pass --force to roll back again"
    ) in second.output.splitlines()
    assert updates == ["2"]
    assert world.alias_version(FN) == "2"
    events = DynamoLedger(world.ddb, world.ledger_table).events(FN)
    assert [(e.kind, e.outcome, e.rule, e.at) for e in events] == [
        ("rollback", "refused", "recent-rollback", "2026-12-01T09:00:01.500Z"),
        ("rollback", "done", "", "2026-12-01T09:00:00.000Z"),
        ("release", "done", "", "2026-11-01T10:00:00.000Z"),
    ]
    clock[0] = T0 + timedelta(seconds=3)
    forced = run("rollback", "--function", FN, "--yes", "--force")
    assert forced.exit_code == 0, forced.output
    assert updates == ["2", "1"]
    newest = DynamoLedger(world.ddb, world.ledger_table).events(FN)[0]
    assert newest.details["overrides"] == ["recent-rollback-override"]


def test_expect_version_refuses_when_the_alias_is_elsewhere(injected_health):
    result = run("rollback", "-f", FN, "--expect-version", "2", "--yes")
    assert result.exit_code == 3
    assert (
        f"error: rollback refused (alias-moved): the live alias of {FN} is on version 3, not 2 "
        "as expected: someone else moved it; nothing was changed (look again, then re-run)"
    ) in result.output.splitlines()
    assert injected_health.alias_version(FN) == "3"
    assert run("rollback", "-f", FN, "--expect-version", "3", "--yes").exit_code == 0


def test_an_alias_moved_while_the_operator_confirms_is_refused(injected_health, monkeypatch):
    from feedbackctl.cli import options

    world = injected_health

    def someone_else_moves_it(question: str, *, yes: bool, production: bool) -> None:
        world.lambda_client.update_alias(
            FunctionName=f"{world.stack}-{FN}", Name="live", FunctionVersion="1"
        )

    monkeypatch.setattr(options, "confirm", someone_else_moves_it)
    result = run("rollback", "-f", FN)
    assert result.exit_code == 3
    assert (
        f"error: rollback refused (alias-moved): the live alias of {FN} moved since it was read "
        "(it is on 1 now, was 3): someone else moved it; nothing was changed"
    ) in result.output.splitlines()
    assert world.alias_version(FN) == "1"  # where the other person put it
    ledger = DynamoLedger(world.ddb, world.ledger_table)
    assert ledger.state(FN).live_version == "3"  # no claim was made
    assert (ledger.events(FN)[0].outcome, ledger.events(FN)[0].rule) == ("refused", "alias-moved")


def test_a_bad_version_is_rolled_forward_to_only_with_the_flag(injected_health, clock):
    world = injected_health
    assert run("rollback", "-f", FN, "--yes").exit_code == 0  # 3 → 2; 3 is marked bad
    clock[0] = T0 + timedelta(minutes=1)
    refused = run("rollback", "-f", FN, "--to-version", "3", "--yes")
    assert refused.exit_code == 3
    assert (
        "error: rollback refused (bad-version): version 3 is marked bad in the ledger "
        "(a human may choose it with --to-version N --allow-bad-version)"
    ) in refused.output.splitlines()
    assert world.alias_version(FN) == "2"
    usage = run("rollback", "-f", FN, "--allow-bad-version", "--yes")
    assert usage.exit_code == 2
    assert "--allow-bad-version needs --to-version" in usage.output
    clock[0] = T0 + timedelta(minutes=2)
    allowed = run("rollback", "-f", FN, "--to-version", "3", "--allow-bad-version", "--yes")
    assert allowed.exit_code == 0, allowed.output
    assert "warning: version 3 is marked bad; going there because you said so" in allowed.output
    assert world.alias_version(FN) == "3"
    ledger = DynamoLedger(world.ddb, world.ledger_table)
    event = ledger.events(FN)[0]
    assert (event.outcome, event.previous_version, event.version) == ("done", "2", "3")
    assert event.details["overrides"] == ["bad-version-override"]
    assert ledger.state(FN).bad_versions == frozenset()


def test_unknown_function_lists_the_valid_names(world):
    result = run("rollback", "--function", "create-feedbak", "--yes")
    assert result.exit_code == 2
    assert (
        "unknown function 'create-feedbak'; valid names: create-feedback, list-feedback"
        in result.output
    )


def test_to_version_and_steps_together_is_a_usage_error(world):
    result = run("rollback", "-f", FN, "--to-version", "1", "--steps", "2", "--yes")
    assert result.exit_code == 2
    assert "--to-version and --steps cannot be used together" in result.output


def test_latest_is_refused_with_exit_3(injected_health):
    result = run("rollback", "-f", FN, "--to-version", "$LATEST", "--yes")
    assert result.exit_code == 3
    assert "version '$LATEST' is not a published version (never $LATEST)" in result.output
    assert injected_health.alias_version(FN) == "3"


def test_no_earlier_version_is_refused(injected_health):
    result = run("rollback", "-f", "health", "--yes")
    assert result.exit_code == 3
    assert "no earlier good version of health to roll back to" in result.output


def test_a_target_that_fails_its_real_health_check_is_refused(world):
    # No injection: moto cannot run the handler, so the probe fails as a broken version's would.
    result = run("rollback", "-f", FN, "--yes")
    assert result.exit_code == 3
    assert "version 2 failed its health check" in result.output
    assert "alias left on 3" in result.output
    assert world.alias_version(FN) == "3"


def test_confirmation_without_a_terminal_needs_yes(injected_health):
    result = run("rollback", "-f", FN)
    assert result.exit_code == 2
    assert "stdin is not a terminal (pass --yes)" in result.output
    assert injected_health.alias_version(FN) == "3"


def test_latched_function_needs_force_from_a_human(injected_health):
    from datetime import UTC, datetime

    from feedbackctl.engine.rollback import RollbackRequest, rollback

    auto = RollbackRequest(
        FN, "alarm:x", "errors", datetime.now(UTC), automatic=True, to_version="2", incident="x@1"
    )
    assert rollback(auto, injected_health.ports()).outcome == "done"
    refused = run("rollback", "-f", FN, "--to-version", "1", "--yes")
    assert refused.exit_code == 3
    assert "confirm with --force" in refused.output
    forced = run("rollback", "-f", FN, "--to-version", "1", "--yes", "--force")
    assert forced.exit_code == 0
    assert injected_health.alias_version(FN) == "1"


def test_missing_function_says_the_stage_may_not_be_deployed(world):
    result = run("rollback", "-f", "list-feedback", "--yes")
    assert result.exit_code == 1
    assert (
        "reading the state of list-feedback: AWS said: ResourceNotFoundException" in result.output
    )
    assert "try `feedbackctl deploy --stage test`" in result.output


def test_no_credentials_is_one_line_with_a_hint(world, monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # A real (non-local) target: botocore fails at signing, before any request leaves.
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    result = run("rollback", "-f", FN, "--yes")
    assert result.exit_code == 1
    assert "no AWS credentials found (set AWS_PROFILE or pass --profile" in result.output
    assert "Traceback" not in result.output


def test_local_endpoints_need_no_credentials(injected_health, monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    result = run("history", "--json")
    assert result.exit_code == 0, result.output


def test_unknown_stage_is_a_usage_error(world):
    result = run("rollback", "-f", FN, "--stage", "qa", "--yes")
    assert result.exit_code == 2
    assert "qa" in result.output


def test_history_lists_releases_and_rollbacks(injected_health):
    run("rollback", "-f", FN, "--yes", "--reason", "bad deploy")
    run("rollback", "-f", FN, "--to-version", "$LATEST", "--yes")
    result = run("history", "--json")
    assert result.exit_code == 0
    events = json.loads(result.stdout)
    assert [(e["kind"], e["outcome"]) for e in events] == [
        ("rollback", "refused"),
        ("rollback", "done"),
        ("release", "done"),
    ]
    table = run("history", "--function", FN, "--limit", "2")
    assert "bad deploy" in table.stdout
    assert "3 → 2" in table.stdout


def test_status_reports_live_versions_and_drift(injected_health):
    world = injected_health
    world.lambda_client.update_alias(
        FunctionName=f"{world.stack}-{FN}", Name="live", FunctionVersion="1"
    )
    result = run("status", "--json")
    assert result.exit_code == 1  # drift: scripts and on-call checks see it in the exit code
    body = json.loads(result.stdout)
    assert body["stackStatus"] == "NOT_DEPLOYED"
    row = next(f for f in body["functions"] if f["function"] == FN)
    assert (row["liveVersion"], row["ledgerVersion"]) == ("1", "3")
    assert row["drift"] == "alias on 1, ledger says 3"
    assert row["lastRelease"]["version"] == "3"
    missing = next(f for f in body["functions"] if f["function"] == "list-feedback")
    assert missing["problem"].startswith("no live alias")
    text = run("status")
    assert text.exit_code == 1
    assert f"alias and ledger disagree for: {FN}" in text.output
    assert run("status", "--report-only").exit_code == 0


def test_a_release_shifting_traffic_is_shown_and_is_not_drift(injected_health):
    world = injected_health
    world.lambda_client.update_alias(  # a canary: 10 % on the new version 4 beside live 3
        FunctionName=f"{world.stack}-{FN}",
        Name="live",
        FunctionVersion="3",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.1}},
    )
    result = run("status", "--json")
    assert result.exit_code == 0, result.output
    row = next(f for f in json.loads(result.stdout)["functions"] if f["function"] == FN)
    assert (row["drift"], row["shifting"]) == (None, "10% on 2")
    text = run("status")
    assert f"{FN}: release in progress, 10% on 2" in text.output
    assert "disagree" not in text.output


def test_a_latched_function_says_how_to_clear_the_latch(injected_health):
    from datetime import UTC, datetime

    from feedbackctl.engine.rollback import RollbackRequest, rollback

    auto = RollbackRequest(
        FN, "alarm:x", "errors", datetime.now(UTC), automatic=True, to_version="2", incident="x@1"
    )
    assert rollback(auto, injected_health.ports()).outcome == "done"
    result = run("status", "--json")
    assert result.exit_code == 0, result.output
    row = next(f for f in json.loads(result.stdout)["functions"] if f["function"] == FN)
    assert row["latched"] is True
    assert row["unlatch"] == (
        f"feedbackctl deploy --function {FN} (a fixed version), or "
        f"feedbackctl rollback --function {FN} --force"
    )
    text = run("status")
    assert f"{FN} is latched (" in text.output
    assert f"to clear it: feedbackctl deploy --function {FN}" in text.output


def test_an_expired_session_is_one_line_with_a_hint(world, monkeypatch):
    from botocore.exceptions import ClientError

    import feedbackctl.cli.commands.rollback.run as flow

    def expired(aws):
        raise ClientError(
            {"Error": {"Code": "ExpiredTokenException", "Message": "The security token expired"}},
            "GetAlias",
        )

    monkeypatch.setattr(flow, "engine_ports", expired)
    result = run("rollback", "-f", FN, "--yes")
    assert result.exit_code == 1
    assert (
        "reading the state of create-feedback: your AWS session has expired (ExpiredTokenException)"
        in result.output
    )
    assert "aws sso login" in result.output
    assert "Traceback" not in result.output


def _check(new: tuple[str, int, int, int], stable: tuple[str, int, int] | None) -> dict[str, Any]:
    """A verdict.Check.as_dict() as the deploy and the orchestrator write it."""
    version, invocations, errors, logged = new
    body: dict[str, Any] = {
        "status": "fail",
        "reasons": ["error rate 30.0% exceeds the stable version's 0.0% by more than 5.0%"],
        "new": {
            "version": version,
            "invocations": invocations,
            "errors": errors,
            "loggedErrors": logged,
            "throttles": 0,
            "errorRate": round(min(errors + logged, invocations) / invocations, 4),
            "p99Ms": 830.4,
        },
        "stable": None,
    }
    if stable is not None:
        sv, si, se = stable
        body["stable"] = {
            "version": sv,
            "invocations": si,
            "errors": se,
            "loggedErrors": 0,
            "throttles": 0,
            "errorRate": 0.0,
            "p99Ms": 120.0,
        }
    return body


def test_history_shows_the_rule_and_the_evidence_behind_each_decision(world):
    ledger = DynamoLedger(world.ddb, world.ledger_table)

    def event(at: str, kind: str, outcome: str, reason: str, **kw: Any) -> None:
        ledger.record(
            LedgerEvent(FN, kind, outcome, f"2026-11-02T10:0{at}.000Z", "d", reason, **kw)
        )  # type: ignore[arg-type]

    verdict = {
        "status": "fail",
        "decision": "rollback",
        "checks": [_check(("7", 40, 9, 3), ("6", 380, 0))],
    }
    event("0:00", "release", "failed", "release verdict: error rate", version="7",
          previous_version="6", details={"verdict": verdict})  # fmt: skip
    deploy_shape = {"decision": "rollback", "status": "fail", "checks": 3,
                    "last": _check(("8", 25, 25, 0), None)}  # fmt: skip
    event("1:00", "release", "failed", "release verdict", version="8", previous_version="7",
          details={"verdict": deploy_shape})  # fmt: skip
    evidence = _check(("7", 40, 12, 0), ("6", 380, 0))
    event("2:00", "rollback", "done", "fb-errors: blamed", version="6", previous_version="7",
          automatic=True, details={"evidence": evidence})  # fmt: skip
    event("3:00", "rollback", "refused", "manual", version=None, previous_version="6",
          rule="latch", details={"message": "an automatic rollback already happened"})  # fmt: skip
    event("4:00", "drill", "done", "drill finished: detect 10.809128095999995s, recover 25.2s",
          details={"detectSeconds": 10.81, "recoverSeconds": 25.2})  # fmt: skip
    result = run("history", "-f", FN, "--limit", "5")
    assert result.exit_code == 0, result.output
    rows = [" ".join(line.split()) for line in result.stdout.splitlines()]
    assert rows[0] == "at function kind outcome versions actor why evidence"
    drill, refused, rolled, deploy8, deploy7 = rows[1:6]
    assert "drill done" in drill
    assert "drill finished: detect 10.8 s, recover 25.2s" in drill
    assert drill.endswith("detected in 10.8 s, healed in 25.2 s")
    assert "10.809128095999995" not in result.stdout
    assert "rollback refused (latch) from 6" in refused
    assert "→ an automatic rollback already happened" in refused
    assert rolled.endswith("fail: v7 12/40 failed vs v6 0/380")
    assert deploy8.endswith("rollback: v8 25/25 failed")
    assert deploy7.endswith("rollback: v7 12/40 failed vs v6 0/380")
    as_json = json.loads(run("history", "-f", FN, "--limit", "5", "--json").stdout)
    assert as_json[2]["details"]["evidence"]["new"]["p99Ms"] == 830.4
    assert as_json[4]["details"]["verdict"] == verdict


# Every outcome the ledger holds, and every rule the engine refuses or skips by, with a message
# as the engine words it: the row names the outcome, the rule and the reason in words.
_RULES = {
    "duplicate-incident": "incident fb-errors@1 was already handled by arn:aws:iam::1:role/o",
    "alias-moved": "the live alias moved since it was read (revision r2)",
    "latch": "an automatic rollback already happened; deploy a fixed version to clear it",
    "cooldown": "cooldown: create-feedback was rolled back 3 min 05 s ago; wait 11 min 55 s",
    "recent-rollback": "create-feedback was rolled back within the 15 min 00 s cooldown",
    "no-target": "no earlier good version of create-feedback to roll back to",
    "not-published": "version '$LATEST' is not a published version (never $LATEST)",
    "already-live": "create-feedback already runs version 2",
    "bad-version": "version 2 was itself rolled back from at 2026-11-01T10:00:00.000Z",
    "health-check": "version 2 failed its health check: HTTP 500",
    "concurrent": "another rollback of create-feedback is in progress",
    "alias-update": "UpdateAlias failed: ServiceException",
}


@pytest.mark.parametrize(("rule", "message"), sorted(_RULES.items()))
def test_history_names_each_rule_and_its_reason_in_words(world, rule, message):
    outcome = {"already-live": "skipped", "duplicate-incident": "skipped", "concurrent": "skipped",
               "alias-update": "failed"}.get(rule, "refused")  # fmt: skip
    DynamoLedger(world.ddb, world.ledger_table).record(
        LedgerEvent(FN, "rollback", outcome, "2026-11-02T10:00:00.000Z", "oncall", "manual",
                    None, "3", rule=rule, details={"message": message})  # type: ignore[arg-type]
    )  # fmt: skip
    result = run("history", "-f", FN, "--limit", "1")
    row = " ".join(result.stdout.splitlines()[1].split())
    assert f"rollback {outcome} ({rule}) from 3 oncall manual → {message}" in row
    as_json = json.loads(run("history", "-f", FN, "--limit", "1", "--json").stdout)[0]
    assert (as_json["outcome"], as_json["rule"], as_json["details"]["message"]) == (
        outcome, rule, message,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("outcome", "reason", "shown"),
    [
        ("done", "deploy", "release done 3 → 4 deployer deploy -"),
        ("in-progress", "canary 10% for 300 s", "release in-progress 3 → 4 deployer canary 10%"),
        ("interrupted", "interrupted; traffic back on 3 (Ctrl-C)",
         "release interrupted 3 → 4 deployer interrupted; traffic back on 3 (Ctrl-C)"),
        ("failed", "pre-traffic check: GET /health 500",
         "release failed 3 → 4 deployer pre-traffic check: GET /health 500"),
    ],
)  # fmt: skip
def test_history_shows_releases_whatever_their_outcome(world, outcome, reason, shown):
    DynamoLedger(world.ddb, world.ledger_table).record(
        LedgerEvent(FN, "release", outcome, "2026-11-02T10:00:00.000Z", "deployer", reason, "4",
                    "3")  # type: ignore[arg-type]
    )  # fmt: skip
    result = run("history", "-f", FN, "--limit", "1")
    assert shown in " ".join(result.stdout.splitlines()[1].split())
