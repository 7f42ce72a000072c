"""Releases against moto: publish, shift, bake judge, automatic rollback, and the invariants
(a no-op deploy mutates nothing; a later deploy never undoes a rollback; re-packaging is stable)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from feedbackctl.aws.stacks import Waiter
from feedbackctl.deploy import DeployClients, DeployContext, Deployer, plan_deploy, read_facts
from feedbackctl.engine.ledger import DynamoLedger
from feedbackctl.engine.model import LedgerEvent, LedgerState
from feedbackctl.engine.release import ReleasePolicy
from feedbackctl.engine.rollback import RollbackRequest, rollback
from feedbackctl.engine.verdict import VerdictRules
from feedbackctl.naming import StackNames
from feedbackctl.packaging import PROJECT_ROOT, package_all
from feedbackctl.releasing import Judging
from tests.functional.engine_fixtures import InjectedHealthLambdaOps, make_world

FN = "create-feedback"
READ_PREFIXES = ("Describe", "Get", "List", "Head")


class Clock:
    """A fake clock the injected sleep advances; `on_sleep` lets a test act mid-bake."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)
        self.on_sleep = None

    def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        if self.on_sleep:
            self.on_sleep()


@pytest.fixture
def env(moto_endpoint, tmp_path):
    world = make_world()
    world.add_function(FN, versions=2)
    ledger = DynamoLedger(world.ddb, world.ledger_table)
    release = LedgerEvent(
        FN, "release", "done", "2026-11-01T00:00:00.000Z", "deployer", "deploy", "2", "1"
    )
    assert ledger.claim(0, LedgerState(FN).with_release("2", "1"), release, "")
    s3 = boto3.client("s3")
    bucket = f"{world.stack}-code"
    s3.create_bucket(Bucket=bucket)
    manifest = package_all(PROJECT_ROOT, tmp_path / "build", only=[FN])
    artifact = manifest.artifacts[FN]
    s3.put_object(Bucket=bucket, Key=artifact.s3_key, Body=artifact.path.read_bytes())
    cloudwatch = boto3.client("cloudwatch")
    alarm = StackNames(world.stack).errors_alarm(FN)
    cloudwatch.put_metric_alarm(
        AlarmName=alarm,
        Namespace=f"Feedbackctl/{world.stack}",
        MetricName=f"{FN}-logged-errors",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        DatapointsToAlarm=1,
        Threshold=5,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
    )
    clock = Clock()
    clients = DeployClients(
        cfn=boto3.client("cloudformation"),
        s3=s3,
        lambda_=world.lambda_client,
        cloudwatch=cloudwatch,
        ledger=ledger,
        names=StackNames(world.stack),
        engine=world.ports(),
    )
    context = DeployContext(
        actor="release-engineer",
        git_commit="0123abcd",
        template="",
        bootstrap_template="",
        confirm=lambda q: True,
        progress=lambda _: None,
        waiter=Waiter(sleep=clock.sleep, clock=lambda: 0.0, interval=1),
        now=lambda: clock.now,
    )
    return world, clients, Deployer(clients, context), manifest, bucket, clock, alarm


def _facts(clients, manifest):
    """Facts of a deployed, unchanged stack whose artifacts are uploaded; the function as read."""
    from feedbackctl.aws.stacks import StackInfo
    from feedbackctl.deploy import DeployFacts, read_function

    stack = StackInfo(clients.names.stack, "UPDATE_COMPLETE", {"CodeBucketName": "code"})
    keys = frozenset(a.s3_key for a in manifest.artifacts.values())
    return DeployFacts(stack, False, keys, {FN: read_function(clients, FN)})


def test_release_publishes_shifts_and_records(env):
    world, clients, deployer, manifest, bucket, _clock, _ = env
    policy = ReleasePolicy("canary", 10, step_s=30, bake_s=60, poll_s=10)
    [release] = plan(clients, manifest, policy).releases
    assert (release.action, release.code_update) == ("release", True)
    outcome = deployer.release(release, bucket, policy)
    assert (outcome.outcome, outcome.from_version, outcome.to_version) == ("released", "2", "3")
    assert world.alias_version(FN) == "3"
    config = world.lambda_client.get_function_configuration(
        FunctionName=f"{world.stack}-{FN}", Qualifier="3"
    )
    assert config["CodeSha256"] == manifest.artifacts[FN].code_sha256
    assert config["Description"] == f"code {manifest.artifacts[FN].sha256_hex[:12]} commit 0123abcd"
    event = clients.ledger.events(FN)[0]
    assert (event.kind, event.version, event.previous_version, event.git_commit) == (
        "release",
        "3",
        "2",
        "0123abcd",
    )
    assert clients.ledger.state(FN).previous_of["3"] == "2"


def lambda_metrics(env, version: str, invocations: int, errors: int, duration_ms=40.0):
    """What AWS publishes for alias invocations of `version` (FunctionName, Resource,
    ExecutedVersion), stamped at the test clock's now."""
    world, clients, *_rest = env
    clock = env[5]
    physical = f"{world.stack}-{FN}"
    dims = [
        {"Name": "FunctionName", "Value": physical},
        {"Name": "Resource", "Value": f"{physical}:live"},
        {"Name": "ExecutedVersion", "Value": version},
    ]
    data = [
        {"MetricName": "Invocations", "Value": invocations},
        {"MetricName": "Errors", "Value": errors},
        {"MetricName": "Duration", "Value": duration_ms, "Unit": "Milliseconds"},
    ]
    clients.cloudwatch.put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[{**d, "Dimensions": dims, "Timestamp": clock.now} for d in data],
    )


def plan(clients, manifest, policy=None):
    return plan_deploy(_facts(clients, manifest), manifest, [FN], policy or ReleasePolicy())


CANARY = ReleasePolicy("canary", 10, step_s=30, bake_s=60, poll_s=10)


def test_a_canary_that_crashes_alone_is_rolled_back_on_per_version_evidence(env):
    world, clients, deployer, manifest, bucket, clock, _ = env
    shifts: list[dict] = []
    world.lambda_client.meta.events.register(
        "provide-client-params.lambda.UpdateAlias", lambda params, **_: shifts.append(dict(params))
    )

    def traffic():  # 10 % of 100 requests on the canary, every one of them failing
        lambda_metrics(env, "3", 10, 10)
        lambda_metrics(env, "2", 90, 0)

    clock.on_sleep = traffic
    [release] = plan(clients, manifest, CANARY).releases
    outcome = deployer.release(release, bucket, CANARY)
    assert outcome.outcome == "rolled-back"
    assert (outcome.from_version, outcome.to_version) == ("3", "2")
    assert shifts[0]["RoutingConfig"] == {"AdditionalVersionWeights": {"3": 0.1}}
    assert world.alias_version(FN) == "2"
    alias = world.lambda_client.get_alias(FunctionName=f"{world.stack}-{FN}", Name="live")
    assert not (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights")
    assert "3" in clients.ledger.state(FN).bad_versions
    events = clients.ledger.events(FN)
    rollback_event = next(e for e in events if e.kind == "rollback")
    assert rollback_event.actor == "deploy:release-engineer"
    failed = next(e for e in events if e.kind == "release" and e.outcome == "failed")
    last = failed.details["verdict"]["last"]
    assert last["new"]["version"] == "3"
    assert last["new"]["errorRate"] == 1.0
    assert last["stable"]["version"] == "2"
    assert last["stable"]["errorRate"] == 0.0
    assert outcome.verdict["decision"] == "rollback"


def test_errors_the_stable_version_shares_never_roll_the_release_back(env):
    world, clients, deployer, manifest, bucket, clock, _ = env

    def traffic():  # a pre-existing bug: 20 % of requests fail on both versions
        lambda_metrics(env, "3", 50, 10)
        lambda_metrics(env, "2", 50, 10)

    clock.on_sleep = traffic
    [release] = plan(clients, manifest, CANARY).releases
    outcome = deployer.release(release, bucket, CANARY)
    assert outcome.outcome == "released"
    assert world.alias_version(FN) == "3"
    assert outcome.verdict["decision"] == "promoted"
    # The release's ledger event carries the figures behind the verdict.
    recorded = clients.ledger.events(FN)[0]
    assert (recorded.kind, recorded.outcome) == ("release", "done")
    assert recorded.details["verdict"]["decision"] == "promoted"
    assert recorded.details["verdict"]["last"]["new"]["errorRate"] == 0.2


def test_too_little_traffic_is_said_extends_the_hold_and_is_never_a_silent_release(env):
    _world, clients, deployer, manifest, bucket, clock, _ = env
    lines: list[str] = []
    deployer.ctx.progress = lines.append
    sleeps: list[float] = []
    clock.on_sleep = lambda: sleeps.append(1)
    policy = ReleasePolicy(bake_s=30, poll_s=10)
    [release] = plan(clients, manifest, policy).releases
    outcome = deployer.release(release, bucket, policy)
    assert outcome.outcome == "released"
    assert "unverified: too little traffic" in outcome.detail
    assert outcome.verdict["decision"] == "unverified"
    assert any("holding 30 s more (extension 2 of 2)" in line for line in lines)
    assert len(sleeps) == 9  # 30 s, then two extensions of 30 s, polled every 10 s


def test_a_stage_that_rolls_back_inconclusive_releases_does(env):
    world, clients, deployer, manifest, bucket, _clock, _ = env
    deployer.ctx.judging = Judging(rules=VerdictRules(on_inconclusive="rollback"))
    policy = ReleasePolicy(bake_s=30, poll_s=10)
    [release] = plan(clients, manifest, policy).releases
    outcome = deployer.release(release, bucket, policy)
    assert (outcome.outcome, outcome.to_version) == ("rolled-back", "2")
    assert world.alias_version(FN) == "2"


def test_an_alarm_already_firing_does_not_block_the_fix(env):
    world, clients, deployer, manifest, bucket, clock, alarm = env
    clients.cloudwatch.set_alarm_state(
        AlarmName=alarm, StateValue="ALARM", StateReason="old version failing"
    )
    clock.now += timedelta(minutes=2)  # the release starts after the alarm fired
    clock.on_sleep = lambda: lambda_metrics(env, "3", 30, 0)
    policy = ReleasePolicy(bake_s=60, poll_s=20)
    [release] = plan(clients, manifest, policy).releases
    outcome = deployer.release(release, bucket, policy)
    assert outcome.outcome == "released"
    assert world.alias_version(FN) == "3"


def test_the_old_version_s_errors_before_the_release_are_not_charged_to_the_new_one(env):
    _world, clients, deployer, manifest, bucket, clock, _ = env
    lambda_metrics(env, "2", 40, 40)  # the bucket the release starts in: all the old version's
    clock.on_sleep = lambda: lambda_metrics(env, "3", 30, 0)
    policy = ReleasePolicy(bake_s=60, poll_s=20)
    [release] = plan(clients, manifest, policy).releases
    assert deployer.release(release, bucket, policy).outcome == "released"


def test_a_version_failing_its_health_check_gets_no_traffic(env):
    world, clients, deployer, manifest, bucket, _clock, _ = env
    world.ops.unhealthy.add("3")
    moves: list[dict] = []
    world.lambda_client.meta.events.register(
        "provide-client-params.lambda.UpdateAlias", lambda params, **_: moves.append(params)
    )
    [release] = plan(clients, manifest, CANARY).releases
    outcome = deployer.release(release, bucket, CANARY)
    assert (outcome.outcome, outcome.to_version) == ("failed", "2")
    assert "failed its health check" in outcome.detail
    assert "no traffic moved" in outcome.detail
    assert moves == []
    failed = clients.ledger.events(FN)[0]
    assert (failed.kind, failed.outcome, failed.version) == ("release", "failed", "3")


class SmokeAnswers(InjectedHealthLambdaOps):
    """moto cannot run handlers: smoke-test answers come from the test."""

    def __init__(self, base: InjectedHealthLambdaOps, status: int) -> None:
        super().__init__(base._client, base._stack, base.unhealthy)
        self.status = status
        self.invoked: list[tuple[str, str, dict]] = []

    def invoke_event(self, function, version, event):
        self.invoked.append((function, version, event))
        return "", {"statusCode": self.status}


def test_a_failing_smoke_test_stops_the_release_before_any_traffic_moves(env):
    world, clients, deployer, manifest, bucket, _clock, _ = env
    smoke = SmokeAnswers(world.ops, 500)
    clients.engine = replace(clients.engine, lambda_=smoke)
    tests = ('POST /feedback 201 {"name": "Smoke", "rating": 5, "message": "ok"}',)
    deployer.ctx.judging = Judging(smoke_tests=tests)
    [release] = plan_deploy(
        _facts(clients, manifest), manifest, [FN], CANARY, smoke_tests=tests
    ).releases
    assert [type(s).__name__ for s in release.steps][:2] == ["Publish", "PreTraffic"]
    outcome = deployer.release(release, bucket, CANARY)
    assert outcome.outcome == "failed"
    assert "smoke test `POST /feedback 201` got status 500, expected 201" in outcome.detail
    [(function, version, event)] = smoke.invoked
    assert (function, version, event["httpMethod"], event["path"]) == (FN, "3", "POST", "/feedback")
    assert world.alias_version(FN) == "2"


def test_a_rollback_by_the_orchestrator_during_the_canary_is_not_undone_by_the_release(env):
    world, clients, deployer, manifest, bucket, clock, _ = env

    def orchestrator_rolls_back():
        if clock.on_sleep is None:
            return
        clock.on_sleep = None
        request = RollbackRequest(
            FN, "alarm:errors", "alarm fired", clock.now, automatic=True, incident="a@1"
        )
        assert rollback(request, clients.engine).outcome == "done"

    clock.on_sleep = orchestrator_rolls_back
    [release] = plan(clients, manifest, CANARY).releases
    outcome = deployer.release(release, bucket, CANARY)
    assert (outcome.outcome, outcome.to_version, outcome.by) == ("rolled-back", "2", "alarm:errors")
    assert world.alias_version(FN) == "2"
    state = clients.ledger.state(FN)
    assert state.latched  # the release never cleared the latch the automatic rollback set
    assert state.live_version == "2"


def test_a_deploy_after_a_rollback_leaves_the_alias_where_the_rollback_put_it(env):
    world, clients, deployer, manifest, bucket, clock, _ = env
    clock.on_sleep = lambda: lambda_metrics(env, "3", 25, 25)
    policy = ReleasePolicy(bake_s=30, poll_s=10)
    [release] = plan(clients, manifest, policy).releases
    assert deployer.release(release, bucket, policy).outcome == "rolled-back"
    # The same sources again (e.g. a template-only or another function's change): held.
    again = plan(clients, manifest, policy)
    assert again.releases[0].action == "held"
    outcomes = deployer.run(again)
    assert [o.outcome for o in outcomes] == ["held"]
    assert world.alias_version(FN) == "2"


def test_identical_repackage_gives_the_same_hashes_and_no_new_version(env, tmp_path):
    world, clients, deployer, manifest, bucket, _clock, _ = env
    [release] = plan_deploy(_facts(clients, manifest), manifest, [FN], ReleasePolicy()).releases
    assert deployer.release(release, bucket, ReleasePolicy(bake_s=0)).outcome == "released"
    repackaged = package_all(PROJECT_ROOT, tmp_path / "again", only=[FN])
    assert repackaged.artifacts[FN].code_sha256 == manifest.artifacts[FN].code_sha256
    plan = plan_deploy(_facts(clients, repackaged), repackaged, [FN], ReleasePolicy())
    assert plan.releases[0].action == "unchanged"
    versions = world.lambda_client.list_versions_by_function(FunctionName=f"{world.stack}-{FN}")[
        "Versions"
    ]
    assert [v["Version"] for v in versions] == ["$LATEST", "1", "2", "3"]


def test_a_no_op_deploy_makes_no_mutating_call(env):
    world, clients, deployer, manifest, bucket, _clock, _ = env
    [release] = plan_deploy(_facts(clients, manifest), manifest, [FN], ReleasePolicy()).releases
    deployer.release(release, bucket, ReleasePolicy(bake_s=0))
    template = (
        "Resources:\n  CodeBucket:\n    Type: AWS::S3::Bucket\n"
        "Outputs:\n  CodeBucketName:\n    Value: !Ref CodeBucket\n"
    )
    clients.cfn.create_stack(StackName=world.stack, TemplateBody=template)
    calls: list[str] = []
    for client in (clients.cfn, clients.s3, clients.lambda_, clients.cloudwatch, world.ddb):
        client.meta.events.register("before-call", lambda model, **_: calls.append(model.name))
    bucket_name = clients.cfn.describe_stacks(StackName=world.stack)["Stacks"][0]["Outputs"][0][
        "OutputValue"
    ]
    clients.s3.put_object(Bucket=bucket_name, Key=manifest.artifacts[FN].s3_key, Body=b"zip")
    calls.clear()
    facts = read_facts(clients, template, manifest, [FN])
    plan = plan_deploy(facts, manifest, [FN], ReleasePolicy())
    assert not plan.mutating
    assert [o.outcome for o in deployer.run(plan)] == ["unchanged"]
    assert calls
    assert [c for c in calls if not c.startswith(READ_PREFIXES)] == []


def test_ctrl_c_during_a_canary_puts_the_alias_back(env):
    world, clients, deployer, manifest, bucket, clock, _ = env

    def interrupt() -> None:
        raise KeyboardInterrupt

    clock.on_sleep = interrupt  # the operator presses Ctrl-C while 10 % is on the new version
    policy = ReleasePolicy("canary", 10, step_s=30, bake_s=30, poll_s=10)
    [release] = plan(clients, manifest, policy).releases
    outcome = deployer.release(release, bucket, policy)
    assert (outcome.outcome, outcome.to_version) == ("interrupted", "2")
    alias = world.lambda_client.get_alias(FunctionName=f"{world.stack}-{FN}", Name="live")
    assert alias["FunctionVersion"] == "2"
    assert not (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights")
    assert clients.ledger.state(FN).live_version == "2"  # no release was recorded


def test_a_configuration_change_from_the_stack_update_publishes_a_version_in_the_same_deploy(
    env, tmp_path
):
    world, clients, deployer, manifest, bucket, _clock, _ = env
    policy = ReleasePolicy(bake_s=0)
    [release] = plan(clients, manifest, policy).releases
    deployer.release(release, bucket, policy)  # the package's code is live as version 3
    physical = f"{world.stack}-{FN}"

    class StackUpdate(Deployer):
        """The change set's effect on the function: CloudFormation raises its memory."""

        def infrastructure(self, plan):
            self.c.lambda_.update_function_configuration(FunctionName=physical, MemorySize=512)
            return bucket

    facts = _facts(clients, manifest)
    update = replace(plan_deploy(facts, manifest, [FN], policy), stack_action="update")
    assert update.releases[0].action == "unchanged"  # before the update, nothing differs
    [outcome] = StackUpdate(clients, deployer.ctx).run(update)
    assert (outcome.outcome, outcome.from_version, outcome.to_version) == ("released", "3", "4")
    assert outcome.detail == "configuration changed"
    live = world.lambda_client.get_function_configuration(FunctionName=physical, Qualifier="4")
    assert live["MemorySize"] == 512


def test_a_failure_seen_at_the_end_of_a_hold_is_judged_again_on_new_data(env):
    world, clients, deployer, manifest, bucket, clock, _ = env
    sleeps = []

    def traffic():
        sleeps.append(clock.now)
        if len(sleeps) == 3:  # the last poll of the bake sees three failures, nothing else
            lambda_metrics(env, "3", 3, 3)
        if len(sleeps) == 4:  # the extra window brings the real picture: a healthy version
            lambda_metrics(env, "3", 300, 0)

    clock.on_sleep = traffic
    policy = ReleasePolicy(bake_s=30, poll_s=10)
    [release] = plan(clients, manifest, policy).releases
    outcome = deployer.release(release, bucket, policy)
    assert outcome.outcome == "released", outcome.detail
    assert world.alias_version(FN) == "3"
    assert outcome.verdict["last"]["new"]["invocations"] == 303


def test_an_aws_error_during_a_canary_hold_puts_the_traffic_back_and_is_recorded(env):
    world, clients, deployer, manifest, bucket, clock, _ = env

    def access_denied(**_):
        raise clients.cloudwatch.exceptions.ClientError(
            {"Error": {"Code": "AccessDenied", "Message": "not allowed"}}, "GetMetricData"
        )

    clock.on_sleep = lambda: clients.cloudwatch.meta.events.register(
        "before-call.cloudwatch.GetMetricData", access_denied
    )
    [release] = plan(clients, manifest, CANARY).releases
    outcome = deployer.release(release, bucket, CANARY)
    assert (outcome.outcome, outcome.to_version) == ("failed", "2")
    assert outcome.detail.startswith("stopped by an error (ClientError: An error occurred")
    assert outcome.detail.endswith("live restored to 2")
    alias = world.lambda_client.get_alias(FunctionName=f"{world.stack}-{FN}", Name="live")
    assert alias["FunctionVersion"] == "2"
    assert not (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights")
    failed = clients.ledger.events(FN)[0]
    assert (failed.kind, failed.outcome, failed.version) == ("release", "failed", "3")


def test_an_unrelated_ledger_write_during_the_release_does_not_stop_it(env):
    _world, clients, deployer, manifest, bucket, clock, _ = env
    state = clients.ledger.state(FN)

    def another_writer():  # e.g. a rollback claim that lost its race and was released
        if clock.on_sleep is None:
            return
        clock.on_sleep = None
        now = clients.ledger.state(FN)
        event = LedgerEvent(FN, "drill", "done", "2026-11-02T00:00:00.000Z", "x", "y")
        clients.ledger.commit_release(now.revision, now, event)

    clock.on_sleep = another_writer
    [release] = plan(clients, manifest, CANARY).releases
    outcome = deployer.release(release, bucket, CANARY)
    assert outcome.outcome == "released", outcome.detail
    after = clients.ledger.state(FN)
    assert (after.live_version, after.previous_of["3"]) == ("3", "2")
    assert after.revision > state.revision + 1
