"""`feedbackctl drill` against moto: the faulty version is built on the live code, the alias moves
through the engine's port, the safety rules refuse before anything changes, and the latch is
cleared only when the drill's own faulty version set it.

moto runs no handlers and evaluates no alarms, so a scripted `Platform` plays the local platform's
part on an injected clock: every request fails, the alarm fires after a few requests, and the
orchestrator's automatic rollback runs the real rollback engine.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from feedbackctl.cli.app import app
from feedbackctl.drill import DrillRequest, DrillRun, artifact_key, fault_setting, plan_drill
from feedbackctl.engine.ledger import DynamoLedger
from feedbackctl.engine.model import LedgerEvent, LedgerState, iso
from feedbackctl.engine.rollback import RollbackRequest, rollback
from feedbackctl.engine.verdict import windows
from feedbackctl.naming import StackNames
from tests.functional.engine_fixtures import EngineWorld, code_zip, make_world

FN = "create-feedback"
LIVE_ENV = {"FEEDBACK_TABLE_NAME": "fb-feedback", "LOG_LEVEL": "INFO"}
LATEST_ENV = {"FEEDBACK_TABLE_NAME": "fb-feedback", "LOG_LEVEL": "DEBUG"}
DEFAULT_WINDOWS = windows(300, 1, 60)  # the stage defaults: drill timeout 1020 s


def sha_of(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


@dataclass
class DrillWorld:
    """A function whose live version (3) and $LATEST differ in code and configuration."""

    world: EngineWorld
    names: StackNames
    bucket: str
    shas: dict[str, str] = field(default_factory=dict)

    @property
    def physical(self) -> str:
        return self.names.function(FN)

    @property
    def ledger(self) -> DynamoLedger:
        return DynamoLedger(self.world.ddb, self.world.ledger_table)

    def config(self, qualifier: str | None = None) -> dict[str, Any]:
        extra = {"Qualifier": qualifier} if qualifier else {}
        return dict(
            self.world.lambda_client.get_function_configuration(FunctionName=self.physical, **extra)
        )

    def versions(self) -> list[str]:
        listed = self.world.lambda_client.list_versions_by_function(FunctionName=self.physical)
        return [v["Version"] for v in listed["Versions"]]

    def set_ledger(self, **changes: Any) -> None:
        state = self.ledger.state(FN)
        event = LedgerEvent(FN, "rollback", "done", iso(datetime.now(UTC)), "test", "setup")
        assert self.ledger.claim(state.revision, replace(state, **changes), event, "")


@pytest.fixture
def dw(moto_endpoint: str) -> DrillWorld:
    world = make_world()
    world.add_function(FN, versions=2)
    names = StackNames(world.stack)
    bucket = names.local_bucket("CodeBucket")  # what `local up` provisions
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)
    d = DrillWorld(world, names, bucket)
    # One zip per marker, reused: code_zip's entries carry the time, so a second call can differ.
    zips = {marker: code_zip(marker) for marker in ("v3", "next")}
    for marker, data in zips.items():
        d.shas[marker] = sha_of(data)
        s3.put_object(
            Bucket=bucket,
            Key=artifact_key(FN, d.shas[marker]),
            Body=data,
            Metadata={"codesha256": d.shas[marker]},
        )
    client = world.lambda_client
    # Version 3 is live: its own code, environment and a 10 s timeout.
    client.update_function_code(FunctionName=d.physical, ZipFile=zips["v3"])
    client.update_function_configuration(
        FunctionName=d.physical, Timeout=10, Environment={"Variables": LIVE_ENV}
    )
    assert client.publish_version(FunctionName=d.physical)["Version"] == "3"
    client.update_alias(FunctionName=d.physical, Name="live", FunctionVersion="3")
    # $LATEST has moved on since: newer code and configuration, not released yet.
    client.update_function_code(FunctionName=d.physical, ZipFile=zips["next"])
    client.update_function_configuration(
        FunctionName=d.physical, Timeout=20, Environment={"Variables": LATEST_ENV}
    )
    state = LedgerState(FN).with_release("2", "1").with_release("3", "2")
    release = LedgerEvent(FN, "release", "done", iso(datetime.now(UTC)), "ci", "deploy", "3", "2")
    assert d.ledger.claim(0, state, release, "")
    cloudwatch = boto3.client("cloudwatch")
    for alarm in names.rollback_alarms(FN):
        cloudwatch.put_metric_alarm(
            AlarmName=alarm,
            Namespace="AWS/Lambda",
            MetricName="Errors",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=5,
            ComparisonOperator="GreaterThanThreshold",
        )
        cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="quiet")
    return d


class Platform:
    """The injected clock and traffic, and the alarm + orchestrator, scripted."""

    def __init__(self, d: DrillWorld, *, fire_after: int | None = 4, heal: bool = True) -> None:
        self.d = d
        self.now = 0.0
        self.requests = 0
        self.fire_after = fire_after
        self.heal = heal
        self.fired = False
        self.on_tick: list[Any] = []

    def clock(self) -> float:
        return self.now

    def traffic(self, function: str) -> bool:
        self.requests += 1
        return True  # every request to the faulty version fails

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        if self.fire_after is not None and not self.fired and self.requests >= self.fire_after:
            self.fire()
        for hook in self.on_tick:
            hook(self)

    def fire(self) -> None:
        self.fired = True
        alarm = self.d.names.errors_alarm(FN)
        boto3.client("cloudwatch").set_alarm_state(
            AlarmName=alarm, StateValue="ALARM", StateReason="errors"
        )
        if self.heal:
            now = datetime.now(UTC)
            request = RollbackRequest(
                FN, f"alarm:{alarm}", f"alarm {alarm}", now, automatic=True, incident=f"{alarm}#1"
            )
            assert rollback(request, self.d.world.ports()).outcome == "done"

    def run(self, **kwargs: Any) -> DrillRun:
        return DrillRun(
            self.d.world.lambda_client,
            boto3.client("cloudwatch"),
            boto3.client("s3"),
            boto3.client("cloudformation"),
            self.d.ledger,
            self.d.world.ports(),
            self.d.names,
            clock=self.clock,
            sleep=self.sleep,
            traffic=self.traffic,
            interval_s=1.0,
            **kwargs,
        )


def drill(platform: Platform, fault: str = "exception", timeout_s: float | None = None) -> Any:
    run = platform.run()
    request = DrillRequest(
        FN, fault_setting(fault), "drill:alice", datetime.now(UTC), DEFAULT_WINDOWS, "test",
        timeout_s=timeout_s,
    )  # fmt: skip
    plan = plan_drill(run.gather(FN), request)
    assert plan.refusals == ()
    return run.execute(plan)


def alias_updates(d: DrillWorld) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    d.world.lambda_client.meta.events.register(
        "provide-client-params.lambda.UpdateAlias", lambda params, **_: calls.append(dict(params))
    )
    return calls


# --- the drill runs --------------------------------------------------------------------------


def test_the_faulty_version_is_the_live_code_and_configuration_plus_the_fault(dw):
    report = drill(Platform(dw))
    faulty = dw.config(report.faulty_version)
    assert faulty["CodeSha256"] == dw.shas["v3"] == report.faulty_code_sha256
    assert faulty["CodeSha256"] != dw.shas["next"]  # not $LATEST's code
    variables = faulty["Environment"]["Variables"]
    assert variables == {
        **LIVE_ENV,
        "FEEDBACKCTL_FAULT": "exception",
        "FEEDBACKCTL_DRILL": report.drill_id,
    }
    assert faulty["Timeout"] == 10


def test_latest_gets_its_own_code_and_configuration_back(dw):
    drill(Platform(dw))
    latest = dw.config()
    assert latest["CodeSha256"] == dw.shas["next"]
    assert latest["Environment"]["Variables"] == LATEST_ENV
    assert latest["Timeout"] == 20


def test_a_timeout_drill_lowers_the_faulty_versions_timeout(dw):
    report = drill(Platform(dw), "timeout")
    assert dw.config(report.faulty_version)["Timeout"] == 3
    assert dw.config(report.faulty_version)["Environment"]["Variables"]["FEEDBACKCTL_FAULT"] == (
        "timeout"
    )
    assert "Timeout is lowered from 10 s to 3 s" in report.notes[0]


def test_the_alias_moves_through_the_port_under_its_revision_id(dw):
    revision = dw.world.lambda_client.get_alias(FunctionName=dw.physical, Name="live")["RevisionId"]
    calls = alias_updates(dw)
    report = drill(Platform(dw))
    shift = calls[0]
    assert (shift["FunctionVersion"], shift["RevisionId"]) == (report.faulty_version, revision)
    assert shift["RoutingConfig"] == {"AdditionalVersionWeights": {}}
    release = next(e for e in dw.ledger.events(FN) if e.kind == "release")
    assert (release.version, release.previous_version, release.details["drill"]) == (
        report.faulty_version,
        "3",
        True,
    )


def test_healed_by_the_automatic_rollback_clears_only_its_own_latch(dw):
    report = drill(Platform(dw, fire_after=4))
    assert report.as_dict() | {"drillId": "-", "faultyCodeSha256": "-"} == {
        "function": FN,
        "fault": "exception",
        "drillId": "-",
        "goodVersion": "3",
        "faultyVersion": "4",
        "faultyCodeSha256": "-",
        "timeoutSeconds": 1020.0,
        "alarms": dw.names.rollback_alarms(FN),
        "alarmFired": dw.names.errors_alarm(FN),
        "requests": 5,
        "errors": 5,
        "detectSeconds": 4.0,
        "recoverSeconds": 4.0,
        "healedBy": "automatic rollback",
        "latch": "cleared",
        "outcome": "healed",
        "notes": [],
    }
    assert dw.world.alias_version(FN) == "3"
    state = dw.ledger.state(FN)
    assert (state.latched, state.last_auto_rollback_at) == (False, None)  # cooldown as before
    assert "4" in state.bad_versions
    last = dw.ledger.events(FN)[0]
    assert last.kind == "drill"
    assert re.fullmatch(
        rf"drill {report.drill_id} finished; latch cleared: it was set by the automatic "
        r"rollback of drill version 4 at \S+Z",
        last.reason,
    )


def test_what_the_alarms_miss_the_drill_heals_itself(dw):
    report = drill(Platform(dw, fire_after=None), timeout_s=10)
    assert (report.outcome, report.healed_by, report.detect_s) == (
        "healed-by-drill",
        "the drill itself",
        None,
    )
    assert report.recover_s == 10.0
    assert report.notes == ["no automatic rollback within 10s and no alarm fired"]
    assert dw.world.alias_version(FN) == "3"
    rollback_event = next(e for e in dw.ledger.events(FN) if e.kind == "rollback")
    assert (rollback_event.outcome, rollback_event.actor, rollback_event.automatic) == (
        "done",
        "drill:alice",
        False,
    )
    assert dw.ledger.events(FN)[0].kind == "drill"


def test_a_latch_the_drill_did_not_set_is_never_cleared(dw):
    """A real incident latches the function while the drill runs (and nothing heals the drill):
    the drill's own rollback must leave that latch set."""
    platform = Platform(dw, fire_after=None)

    def incident(p: Platform) -> None:
        if p.now == 3.0:
            dw.set_ledger(
                latched=True,
                latch_reason="alarm fb-x: a real incident",
                last_auto_rollback_at=datetime.now(UTC),
            )

    platform.on_tick.append(incident)
    report = drill(platform, timeout_s=10)
    assert (report.healed_by, report.latch) == ("the drill itself", "left")
    assert dw.world.alias_version(FN) == "3"
    state = dw.ledger.state(FN)
    assert (state.latched, state.latch_reason) == (True, "alarm fb-x: a real incident")
    assert (
        "the latch was left set: the automatic rollback of drill version 4 did not set it "
        "(alarm fb-x: a real incident); a human must clear it"
    ) in report.notes


def test_a_latch_set_again_after_the_drills_rollback_is_left(dw):
    platform = Platform(dw, fire_after=2)

    def later_incident(p: Platform) -> None:
        if p.fired and not dw.ledger.state(FN).latch_reason.startswith("another"):
            dw.set_ledger(
                latched=True,
                latch_reason="another alarm, later",
                last_auto_rollback_at=datetime.now(UTC) + timedelta(seconds=1),
            )

    platform.on_tick.append(later_incident)
    report = drill(platform)
    assert (report.healed_by, report.latch) == ("automatic rollback", "left")
    assert dw.ledger.state(FN).latched is True


# --- the CLI: refusals, --dry-run ------------------------------------------------------------


@pytest.fixture
def cli_world(dw, tmp_path, monkeypatch):
    config = tmp_path / "feedbackctl.toml"
    config.write_text(
        '[project]\ndefault_stage = "test"\n'
        f'[stages.test]\nregion = "us-east-1"\nstack_name = "{dw.world.stack}"\n'
    )
    monkeypatch.setenv("FEEDBACKCTL_CONFIG", str(config))
    import feedbackctl.cli.commands.drill.run as flow

    # moto cannot run the health check the engine's rollback makes: the world answers it.
    monkeypatch.setattr(flow, "engine_ports", lambda aws: dw.world.ports())
    return dw


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, ["drill", "--function", FN, *args], catch_exceptions=False)


def unchanged(d: DrillWorld) -> tuple[Any, ...]:
    latest = d.config()
    return (
        d.versions(),
        d.world.alias_version(FN),
        latest["CodeSha256"],
        latest["Environment"],
        [e.event_id for e in d.ledger.events(FN)],
    )


def test_refused_when_latched_with_the_rule_and_when_it_lifts(cli_world):
    cli_world.set_ledger(latched=True, latch_reason="alarm fb-errors")
    before = unchanged(cli_world)
    result = cli("--yes")
    assert result.exit_code == 3
    assert result.stderr.strip() == (
        "error: drill refused (latch): create-feedback is latched by an automatic rollback "
        "(alarm fb-errors) and the orchestrator would not heal the drill; lifts when a human "
        "clears it (the next release of the function does)"
    )
    assert unchanged(cli_world) == before


def test_refused_within_the_cooldown_with_the_time_left(cli_world):
    last = datetime.now(UTC) - timedelta(minutes=4)
    cli_world.set_ledger(last_auto_rollback_at=last)
    before = unchanged(cli_world)
    result = cli("--yes")
    assert result.exit_code == 3
    lifts = iso(last.replace(microsecond=last.microsecond // 1000 * 1000) + timedelta(minutes=10))
    match = re.fullmatch(
        r"error: drill refused \(cooldown\): an automatic rollback of create-feedback happened "
        rf"at {re.escape(iso(last))}, so the orchestrator would refuse to heal the drill for "
        rf"(\d+)s more; lifts at {re.escape(lifts)}",
        result.stderr.strip(),
    )
    assert match, result.stderr
    assert 350 <= int(match.group(1)) <= 361
    assert unchanged(cli_world) == before


def test_refused_while_a_rollback_alarm_fires(cli_world):
    alarm = cli_world.names.lambda_errors_alarm(FN)
    boto3.client("cloudwatch").set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="x")
    result = cli("--yes")
    assert result.exit_code == 3
    assert f"drill refused (alarm-firing): alarm {alarm} is already in ALARM" in result.stderr


def test_dry_run_prints_the_plan_and_changes_nothing(cli_world):
    before = unchanged(cli_world)
    result = cli("--dry-run")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "Plan: drill create-feedback with exception on version 3's code, for up to 1020s"
    )
    assert [line.split()[1] for line in lines[1:]] == [
        "update-code",
        "configure",
        "publish",
        "restore",
        "record",
        "move-alias",
        "watch",
        "heal",
        "latch",
    ]
    assert f"CodeSha256 {cli_world.shas['v3']}" in lines[1]
    assert "+ FEEDBACKCTL_FAULT=exception (Timeout 10 s" in lines[2]
    assert unchanged(cli_world) == before


def test_dry_run_json_lists_the_rules_that_would_refuse(cli_world):
    cli_world.set_ledger(latched=True, latch_reason="alarm fb-errors")
    before = unchanged(cli_world)
    result = cli("--dry-run", "--json", "--fault", "latency:500", "--timeout", "30")
    assert result.exit_code == 3
    plan = json.loads(result.stdout)["plan"]
    assert [r["rule"] for r in plan["refusals"]] == ["latch"]
    assert (plan["fault"], plan["goodVersion"], plan["timeoutSeconds"]) == ("latency:500", "3", 30)
    assert plan["windows"]["drillTimeoutSeconds"] == 1020
    assert plan["alarms"] == {name: "OK" for name in cli_world.names.rollback_alarms(FN)}
    assert unchanged(cli_world) == before


def test_an_unknown_fault_is_a_usage_error(cli_world):
    result = cli("--fault", "segfault", "--yes")
    assert result.exit_code == 2
    assert "unknown fault 'segfault'; choose one of exception, timeout" in result.stderr


def test_a_production_stage_needs_allow_production(cli_world, tmp_path):
    config = tmp_path / "feedbackctl.toml"
    config.write_text(config.read_text() + "production = true\n")
    result = cli("--yes")
    assert result.exit_code == 3
    assert "drill refused (production): stage test is marked production" in result.stderr


def test_a_drill_through_the_cli_reports_what_happened(cli_world, monkeypatch):
    import feedbackctl.cli.commands.drill.run as flow

    platform = Platform(cli_world, fire_after=4)
    monkeypatch.setattr(
        flow,
        "DrillRun",
        functools.partial(
            DrillRun,
            clock=platform.clock,
            sleep=platform.sleep,
            traffic=platform.traffic,
            interval_s=1.0,
        ),
    )
    result = cli("--yes")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "drill of create-feedback (exception): healed",
        "  versions     good 3, faulty 4",
        "  traffic      5 requests, 5 failed",
        f"  detected     4.0s after the shift ({cli_world.names.errors_alarm(FN)})",
        "  recovered    4.0s after the shift (healed by automatic rollback)",
        "  latch        cleared",
    ]
    assert cli_world.world.alias_version(FN) == "3"
