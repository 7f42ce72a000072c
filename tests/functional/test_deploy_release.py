"""Releases against moto: publish, shift, bake judge, automatic rollback, and the invariants
(a no-op deploy mutates nothing; a later deploy never undoes a rollback; re-packaging is stable)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from feedbackctl.cfn import Waiter
from feedbackctl.deploy import DeployClients, DeployContext, Deployer, plan_deploy, read_facts
from feedbackctl.engine.ledger import DynamoLedger
from feedbackctl.engine.model import LedgerEvent, LedgerState
from feedbackctl.engine.release import ReleasePolicy
from feedbackctl.naming import StackNames
from feedbackctl.packaging import PROJECT_ROOT, package_all
from tests.functional.engine_fixtures import make_world

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
    from feedbackctl.cfn import StackInfo
    from feedbackctl.deploy import DeployFacts, read_function

    stack = StackInfo(clients.names.stack, "UPDATE_COMPLETE", {"CodeBucketName": "code"})
    keys = frozenset(a.s3_key for a in manifest.artifacts.values())
    return DeployFacts(stack, False, keys, {FN: read_function(clients, FN)})


def test_release_publishes_shifts_and_records(env):
    world, clients, deployer, manifest, bucket, _clock, _ = env
    [release] = plan_deploy(_facts(clients, manifest), manifest, [FN], ReleasePolicy()).releases
    assert (release.action, release.code_update) == ("release", True)
    outcome = deployer.release(
        release, bucket, ReleasePolicy("canary", 10, step_s=30, bake_s=60, poll_s=10)
    )
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


def test_alarm_during_the_canary_rolls_back_through_the_engine(env):
    world, clients, deployer, manifest, bucket, clock, alarm = env
    shifts: list[dict] = []
    world.lambda_client.meta.events.register(
        "provide-client-params.lambda.UpdateAlias", lambda params, **_: shifts.append(dict(params))
    )
    clock.on_sleep = lambda: clients.cloudwatch.set_alarm_state(
        AlarmName=alarm, StateValue="ALARM", StateReason="Threshold Crossed: 9 errors"
    )
    [release] = plan_deploy(_facts(clients, manifest), manifest, [FN], ReleasePolicy()).releases
    outcome = deployer.release(
        release, bucket, ReleasePolicy("canary", 10, step_s=30, bake_s=60, poll_s=10)
    )
    assert outcome.outcome == "rolled-back"
    assert (outcome.from_version, outcome.to_version) == ("3", "2")
    assert shifts[0]["RoutingConfig"] == {"AdditionalVersionWeights": {"3": 0.1}}
    assert world.alias_version(FN) == "2"
    alias = world.lambda_client.get_alias(FunctionName=f"{world.stack}-{FN}", Name="live")
    assert not (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights")
    state = clients.ledger.state(FN)
    assert "3" in state.bad_versions
    assert clients.ledger.events(FN)[0].actor == "deploy:release-engineer"


def test_an_alarm_already_firing_does_not_block_the_fix(env):
    world, clients, deployer, manifest, bucket, clock, alarm = env
    clients.cloudwatch.set_alarm_state(
        AlarmName=alarm, StateValue="ALARM", StateReason="old version failing"
    )
    clock.now += timedelta(minutes=2)  # the release starts after the alarm fired
    [release] = plan_deploy(_facts(clients, manifest), manifest, [FN], ReleasePolicy()).releases
    outcome = deployer.release(release, bucket, ReleasePolicy(bake_s=60, poll_s=20))
    assert outcome.outcome == "released"
    assert world.alias_version(FN) == "3"


def test_fresh_error_data_after_the_release_rolls_back(env):
    world, clients, deployer, manifest, bucket, clock, alarm = env
    clients.cloudwatch.set_alarm_state(
        AlarmName=alarm, StateValue="ALARM", StateReason="old version failing"
    )
    clock.now += timedelta(minutes=2)

    def errors_now():
        clients.cloudwatch.put_metric_data(
            Namespace=f"Feedbackctl/{world.stack}",
            MetricData=[{"MetricName": f"{FN}-logged-errors", "Value": 12, "Timestamp": clock.now}],
        )

    clock.on_sleep = errors_now
    [release] = plan_deploy(_facts(clients, manifest), manifest, [FN], ReleasePolicy()).releases
    outcome = deployer.release(release, bucket, ReleasePolicy(bake_s=120, poll_s=60))
    assert outcome.outcome == "rolled-back"
    # The bake judged the new version on its own (fresh) datapoints, not on the old alarm state.
    assert "period(s) of fresh data breach" in clients.ledger.events(FN)[0].reason
    assert world.alias_version(FN) == "2"


def test_a_deploy_after_a_rollback_leaves_the_alias_where_the_rollback_put_it(env):
    world, clients, deployer, manifest, bucket, clock, alarm = env
    clock.on_sleep = lambda: clients.cloudwatch.set_alarm_state(
        AlarmName=alarm, StateValue="ALARM", StateReason="x"
    )
    [release] = plan_deploy(_facts(clients, manifest), manifest, [FN], ReleasePolicy()).releases
    assert (
        deployer.release(release, bucket, ReleasePolicy(bake_s=30, poll_s=10)).outcome
        == "rolled-back"
    )
    # The same sources again (e.g. a template-only or another function's change): held.
    again = plan_deploy(_facts(clients, manifest), manifest, [FN], ReleasePolicy())
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
    [release] = plan_deploy(_facts(clients, manifest), manifest, [FN], ReleasePolicy()).releases
    outcome = deployer.release(
        release, bucket, ReleasePolicy("canary", 10, step_s=30, bake_s=30, poll_s=10)
    )
    assert (outcome.outcome, outcome.to_version) == ("interrupted", "2")
    alias = world.lambda_client.get_alias(FunctionName=f"{world.stack}-{FN}", Name="live")
    assert alias["FunctionVersion"] == "2"
    assert not (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights")
    assert clients.ledger.state(FN).live_version == "2"  # no release was recorded
