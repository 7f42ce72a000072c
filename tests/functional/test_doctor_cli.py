"""`feedbackctl doctor` through CliRunner against the moto server (STS, CloudFormation, S3,
DynamoDB, API Gateway's account, IAM, SNS, CloudWatch all answer there), Stubber where AWS
answers what moto never does (an expired session), and `deploy` running the same checks first.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from unittest.mock import Mock

import boto3
import pytest
import typer
from botocore.stub import Stubber
from typer.testing import CliRunner

from feedbackctl import doctor
from feedbackctl.aws import Aws, Target
from feedbackctl.cli.app import app
from feedbackctl.config import load_config
from feedbackctl.functions import FUNCTION_NAMES
from feedbackctl.naming import StackNames
from feedbackctl.templating import render_bootstrap, render_stack
from tests.conftest import create_keyed_table

ACCOUNT = "123456789012"
REGION = "us-east-1"
SETUP_ROLE = f"feedbackctl-apigateway-cloudwatch-{REGION}"
SETUP_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{SETUP_ROLE}"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "apigateway.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


@pytest.fixture
def stage(moto_endpoint, tmp_path, monkeypatch):
    stack = f"fb-{uuid.uuid4().hex[:6]}"
    config = tmp_path / "feedbackctl.toml"
    config.write_text(
        '[project]\ndefault_stage = "test"\n'
        f'[stages.test]\nregion = "{REGION}"\nstack_name = "{stack}"\n'
    )
    monkeypatch.setenv("FEEDBACKCTL_CONFIG", str(config))
    return stack


@pytest.fixture
def account_role(moto_endpoint):
    """The account's API Gateway logging role as `feedbackctl setup-account` leaves it; the
    setting is one per account and region, so it is cleared again for the other tests."""
    iam, apigateway = boto3.client("iam"), boto3.client("apigateway")
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        iam.create_role(RoleName=SETUP_ROLE, AssumeRolePolicyDocument=TRUST)
    set_role(SETUP_ROLE_ARN)
    yield SETUP_ROLE_ARN
    set_role("")
    assert apigateway.get_account().get("cloudwatchRoleArn") in (None, "")


def set_role(arn: str) -> None:
    boto3.client("apigateway").update_account(
        patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": arn}]
    )


def run(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def sizes() -> str:
    stage = load_config().stage("test")
    full, bootstrap = len(render_stack(stage).encode()), len(render_bootstrap(stage).encode())
    return (
        f"✓ template size: {full:,} bytes, applied from S3 (limit 1,048,576); "
        f"bootstrap {bootstrap:,} bytes, inline (limit 51,200)"
    )


def test_a_new_stage_passes_and_says_what_the_deploy_will_create(stage, account_role):
    result = run("doctor")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"✓ credentials: account {ACCOUNT} as arn:aws:sts::{ACCOUNT}:user/moto",
        "✓ region: us-east-1 (partition aws): the stage's and the session's",
        f"✓ stack: {stage} does not exist: the deploy will create it",
        "✓ code bucket: none yet: the deploy creates it with the stack",
        f"✓ retained tables: none of {stage}-feedback, -analytics, -ledger exists outside "
        f"stack {stage}",
        f"✓ API Gateway logging role: {SETUP_ROLE_ARN}, set by feedbackctl setup-account "
        f"(stack feedbackctl-apigateway-account-{REGION})",
        sizes(),
        "✓ alarm topic: none yet: the deploy creates it with the stack",
    ]
    assert result.stderr == "✓ stage test: 8 passed\n"


def test_no_logging_role_and_retained_tables_fail_with_their_fixes(stage):
    create_keyed_table(boto3.client("dynamodb"), f"{stage}-ledger")
    result = run("doctor", "--stage", "test")
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[4:7] == [
        f"✗ retained tables: {stage}-ledger exist outside stack {stage} (kept by DeletionPolicy "
        "Retain when an earlier stack went): the deploy refuses to create them",
        "    fix: adopt them: `feedbackctl deploy --stage test --adopt-retained`, or if their "
        f"data may go: `aws dynamodb delete-table --table-name {stage}-ledger --region us-east-1`",
        "✗ API Gateway logging role: not set in us-east-1: API Gateway cannot write this "
        "stage's logs",
    ]
    assert lines[7] == "    fix: `feedbackctl setup-account --stage test`"
    assert result.stderr == "error: stage test: 6 passed, 2 failed\n"


def deployed_stack(stack: str, *, subscribe: bool = True) -> tuple[str, str]:
    """A stack as a deploy leaves it, for what the checks read: the code bucket (through
    CloudFormation), the alarm topic with the orchestrator's live alias subscribed, and the
    rollback alarms sending to it. moto's CloudFormation skips subscriptions and alarms (and
    breaks Topic ARNs), so those are made through their own APIs."""
    names = StackNames(stack)
    topic = boto3.client("sns").create_topic(Name=names.alarms_topic)["TopicArn"]
    orchestrator = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{stack}-rollback-orchestrator:live"
    if subscribe:
        boto3.client("sns").subscribe(TopicArn=topic, Protocol="lambda", Endpoint=orchestrator)
    template = {
        "Resources": {"CodeBucket": {"Type": "AWS::S3::Bucket"}},
        "Outputs": {
            "CodeBucketName": {"Value": {"Ref": "CodeBucket"}},
            "AlarmTopicArn": {"Value": topic},
        },
    }
    boto3.client("cloudformation").create_stack(StackName=stack, TemplateBody=json.dumps(template))
    cloudwatch = boto3.client("cloudwatch")
    for seed in FUNCTION_NAMES:
        for alarm in names.rollback_alarms(seed):
            cloudwatch.put_metric_alarm(
                AlarmName=alarm,
                Namespace="AWS/Lambda",
                MetricName="Errors",
                Statistic="Sum",
                Period=60,
                EvaluationPeriods=1,
                Threshold=1,
                ComparisonOperator="GreaterThanThreshold",
                AlarmActions=[topic],
            )
    return topic, orchestrator


def test_a_deployed_stage_with_its_alarm_wiring_passes(stage, account_role):
    deployed_stack(stage)
    bucket = boto3.client("cloudformation").describe_stacks(StackName=stage)["Stacks"][0][
        "Outputs"
    ][0]["OutputValue"]
    result = run("doctor", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["stage"], report["stack"], report["ok"]) == ("test", stage, True)
    checks = {c["check"]: c for c in report["checks"]}
    assert list(checks) == [
        "credentials",
        "region",
        "stack",
        "code bucket",
        "retained tables",
        "API Gateway logging role",
        "template size",
        "alarm topic",
    ]
    assert checks["stack"] == {
        "check": "stack",
        "status": "pass",
        "found": f"{stage} is CREATE_COMPLETE",
        "fix": "",
    }
    assert checks["code bucket"]["found"] == f"{bucket} (the stack's CodeBucketName) is reachable"
    assert checks["alarm topic"] == {
        "check": "alarm topic",
        "status": "pass",
        "found": f"{stage}-alarms: rollback-orchestrator's live alias subscribed, "
        "12 rollback alarms send to it",
        "fix": "",
    }
    assert result.stderr == ""


def test_an_alarm_topic_without_the_orchestrator_fails_with_the_subscribe_command(
    stage, account_role
):
    topic, orchestrator = deployed_stack(stage, subscribe=False)
    result = run("doctor")
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines()[-2:] == [
        "✗ alarm topic: rollback-orchestrator's live alias is not subscribed: alarms roll "
        "nothing back",
        f"    fix: `aws sns subscribe --topic-arn {topic} --protocol lambda "
        f"--notification-endpoint {orchestrator} --region us-east-1`",
    ]
    assert result.stderr == "error: stage test: 7 passed, 1 failed\n"


def test_the_logging_role_of_this_stages_stack_is_told_from_the_stacks_resources(stage):
    # A stage stack from before `setup-account` declared its own role; CloudFormation named it.
    trust = json.loads(TRUST)
    template = {
        "Resources": {
            "CodeBucket": {"Type": "AWS::S3::Bucket"},
            "ApiGatewayLoggingRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {"AssumeRolePolicyDocument": trust},
            },
        },
        "Outputs": {"CodeBucketName": {"Value": {"Ref": "CodeBucket"}}},
    }
    cfn = boto3.client("cloudformation")
    cfn.create_stack(StackName=stage, TemplateBody=json.dumps(template))
    role = cfn.describe_stack_resource(StackName=stage, LogicalResourceId="ApiGatewayLoggingRole")
    role_name = role["StackResourceDetail"]["PhysicalResourceId"]
    set_role(f"arn:aws:iam::{ACCOUNT}:role/{role_name}")
    try:
        result = run("doctor")
    finally:
        set_role("")
    assert (
        f"✓ API Gateway logging role: arn:aws:iam::{ACCOUNT}:role/{role_name}, set by this "
        "stage's stack"
    ) in result.stdout.splitlines()


def test_a_missing_profile_is_a_failed_check_not_a_traceback(stage):
    result = run("doctor", "--profile", "nosuchprofile")
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "✗ credentials: connecting to AWS: AWS profile 'nosuchprofile' (from --profile) does "
        "not exist"
    )
    assert lines[1].startswith("    fix: ")
    assert lines[3] == "- stack: not checked: no working AWS credentials"
    assert result.stderr == "error: stage test: 2 passed, 1 failed, 5 skipped\n"


def test_on_the_local_platform_only_what_applies_is_checked(stage):
    # `feedbackctl local up` provisions the stack's resources without CloudFormation.
    boto3.client("s3").create_bucket(Bucket=StackNames(stage).local_bucket("CodeBucket"))
    result = run("doctor")
    assert result.exit_code == 0, result.output
    skipped = "not checked on the local platform (`feedbackctl local up` provisions it)"
    assert result.stdout.splitlines()[2:] == [
        f"- stack: {skipped}",
        f"- code bucket: {skipped}",
        f"- retained tables: {skipped}",
        f"- API Gateway logging role: {skipped}",
        f"- template size: {skipped}",
        f"- alarm topic: {skipped}",
    ]


def test_an_expired_session_is_the_credentials_check_with_its_fix(stage):
    """moto never expires a session; STS answers ExpiredToken when one has (Stubber)."""
    sts = boto3.client("sts", region_name=REGION)
    session = Mock(spec=boto3.Session)
    session.client.return_value = sts
    aws = Aws(Target("test", stage, REGION, profile="prod"), session=session)
    stage_config = load_config().stage("test")
    with Stubber(sts) as stub:
        stub.add_client_error(
            "get_caller_identity",
            "ExpiredToken",
            "The security token included in the request is expired",
            http_status_code=403,
        )
        facts = doctor.read_facts(aws, stage_config, "t", "b")
        stub.assert_no_pending_responses()
    assert doctor.check_credentials(facts) == doctor.Check(
        "credentials",
        "fail",
        "your AWS session has expired (ExpiredToken)",
        "refresh your credentials (e.g. `aws sso login --profile prod` and retry)",
    )
    assert facts.skipped == "not checked: no working AWS credentials"


def test_deploy_runs_the_checks_first_and_a_failure_stops_it(stage, capsys):
    """Against AWS (a target that is not the local platform) every check runs before planning;
    retained tables stop the deploy with the doctor's line and fix, before any change."""
    from feedbackctl.cli.commands.deploy.run import PolicyRequest, run_deploy

    create_keyed_table(boto3.client("dynamodb"), f"{stage}-feedback")
    # No endpoint on the target: boto3 still reaches moto through AWS_ENDPOINT_URL.
    aws = Aws(Target("test", stage, REGION))
    assert not aws.target.local
    with pytest.raises(typer.Exit) as stopped:
        run_deploy(
            aws,
            ["health"],
            PolicyRequest(),
            dry_run=True,
            yes=True,
            as_json=False,
            allow_rolled_back=False,
        )
    assert stopped.value.exit_code == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == (
        f"✗ retained tables: {stage}-feedback exist outside stack {stage} (kept by "
        "DeletionPolicy Retain when an earlier stack went): the deploy refuses to create them"
    )
    assert err[-1] == (
        "error: deploy stopped: 2 preflight check(s) failed (all of them: "
        "`feedbackctl doctor --stage test`)"
    )
    stacks = boto3.client("cloudformation").list_stacks()["StackSummaries"]
    assert all(s["StackName"] != stage for s in stacks)


def test_deploy_on_a_local_endpoint_checks_credentials_and_region_only(stage):
    result = run("deploy", "--dry-run", "--function", "health", "--region", "us-west-2")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[:2] == [
        "! region: the session uses us-west-2 (--region), but stage test is in us-east-1",
        "    fix: omit --region to use the stage's region",
    ]
    assert "Plan: create the stack" in result.stdout
