"""`feedbackctl rollback`, `history` and `status` through CliRunner against a moto server."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from feedbackctl.cli.app import app
from feedbackctl.engine.ledger import DynamoLedger
from feedbackctl.engine.model import LedgerEvent, LedgerState
from tests.functional.engine_fixtures import make_world

FN = "create-feedback"


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
    import feedbackctl.cli.rollback_flow as flow

    monkeypatch.setattr(flow, "engine_ports", lambda aws: world.ports())
    return world


def run(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


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
    result = run("rollback", "-f", FN, "--dry-run")
    assert result.exit_code == 0
    assert f"Plan: roll back {FN} from 3 to 2" in result.output
    assert "1. health-check" in result.output
    assert "3. update-alias" in result.output
    assert injected_health.alias_version(FN) == "3"
    assert len(DynamoLedger(injected_health.ddb, injected_health.ledger_table).events(FN)) == 1


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
    assert result.exit_code == 0
    body = json.loads(result.stdout)
    assert body["stackStatus"] == "NOT_DEPLOYED"
    row = next(f for f in body["functions"] if f["function"] == FN)
    assert (row["liveVersion"], row["ledgerVersion"]) == ("1", "3")
    assert row["drift"] == "alias on 1, ledger says 3"
    assert row["lastRelease"]["version"] == "3"
    missing = next(f for f in body["functions"] if f["function"] == "list-feedback")
    assert missing["problem"].startswith("no live alias")
    text = run("status")
    assert f"alias and ledger disagree for: {FN}" in text.output


def test_an_expired_session_is_one_line_with_a_hint(world, monkeypatch):
    from botocore.exceptions import ClientError

    import feedbackctl.cli.rollback_flow as flow

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
