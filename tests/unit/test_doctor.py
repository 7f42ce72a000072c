"""Each doctor check over in-memory facts: the exact line it prints and the fix it names."""

from __future__ import annotations

from dataclasses import replace

import pytest

from feedbackctl.aws.stacks import StackInfo
from feedbackctl.doctor import (
    AlarmWiring,
    ApiGatewayRole,
    Check,
    Facts,
    Identity,
    Unreadable,
    check_alarm_topic,
    check_api_gateway_role,
    check_code_bucket,
    check_credentials,
    check_region,
    check_retained,
    check_stack,
    check_template_size,
    role_owner,
    run_checks,
)

STACK = "feedback-prod"
REGION = "eu-west-1"
ACCOUNT = "111122223333"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:{STACK}-alarms"
ORCHESTRATOR = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{STACK}-rollback-orchestrator:live"
SETUP_ROLE = f"arn:aws:iam::{ACCOUNT}:role/feedbackctl-apigateway-cloudwatch-{REGION}"
DEPLOYED = StackInfo(STACK, "UPDATE_COMPLETE", {"CodeBucketName": "code-b", "AlarmTopicArn": TOPIC})
ALARMS = (f"{STACK}-health-errors", f"{STACK}-health-lambda-errors")


def wiring(**changes) -> AlarmWiring:
    good = AlarmWiring(
        TOPIC,
        ORCHESTRATOR,
        topic_exists=True,
        subscriptions=(("lambda", ORCHESTRATOR),),
        expected_alarms=ALARMS,
        alarm_actions={a: (TOPIC,) for a in ALARMS},
    )
    return replace(good, **changes)


def facts(**changes) -> Facts:
    """A deployed, healthy stage; each test changes what it looks at."""
    healthy = Facts(
        stage="prod",
        stack_name=STACK,
        config_file="feedbackctl.toml",
        stage_region=REGION,
        session_region=REGION,
        partition="aws",
        manage_api_gateway_account=True,
        template_bytes=113_495,
        bootstrap_bytes=3_902,
        template_sets_account=False,
        identity=Identity(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:user/release"),
        stack=DEPLOYED,
        code_bucket="reachable",
        retained=(),
        api_role=ApiGatewayRole(SETUP_ROLE, True),
        alarms=wiring(),
    )
    return replace(healthy, **changes)


def test_a_healthy_stage_passes_every_check():
    assert [(c.name, c.status) for c in run_checks(facts())] == [
        ("credentials", "pass"),
        ("region", "pass"),
        ("stack", "pass"),
        ("code bucket", "pass"),
        ("retained tables", "pass"),
        ("API Gateway logging role", "pass"),
        ("template size", "pass"),
        ("alarm topic", "pass"),
    ]


def test_credentials():
    assert check_credentials(facts()) == Check(
        "credentials", "pass", f"account {ACCOUNT} as arn:aws:iam::{ACCOUNT}:user/release"
    )
    expired = Unreadable(
        "your AWS session has expired (ExpiredToken)",
        "refresh your credentials (e.g. `aws sso login --profile prod` and retry)",
    )
    assert check_credentials(facts(identity=expired)) == Check(
        "credentials",
        "fail",
        "your AWS session has expired (ExpiredToken)",
        "refresh your credentials (e.g. `aws sso login --profile prod` and retry)",
    )


def test_without_credentials_the_stage_is_not_read_and_says_so():
    checks = run_checks(
        facts(identity=Unreadable("no AWS credentials found"), skipped="not checked: no creds")
    )
    assert [c.status for c in checks] == [
        "fail",
        "pass",
        "skip",
        "skip",
        "skip",
        "skip",
        "pass",
        "skip",
    ]
    assert checks[2] == Check("stack", "skip", "not checked: no creds")


def test_region():
    assert check_region(facts()) == Check(
        "region", "pass", "eu-west-1 (partition aws): the stage's and the session's"
    )
    assert check_region(facts(session_region="eu-central-1")) == Check(
        "region",
        "warn",
        "the session uses eu-central-1 (--region), but stage prod is in eu-west-1",
        "omit --region to use the stage's region",
    )
    assert check_region(facts(session_region="eu-nowhere-9", partition=None)) == Check(
        "region",
        "fail",
        "eu-nowhere-9 is not an AWS region",
        'set region (e.g. "eu-west-1") under [stages.prod] in feedbackctl.toml',
    )


def stack_check(status: str) -> Check:
    return check_stack(facts(stack=StackInfo(STACK, status)))


def test_stack_absent_or_settled():
    assert check_stack(facts(stack=None)) == Check(
        "stack", "pass", "feedback-prod does not exist: the deploy will create it"
    )
    assert stack_check("UPDATE_ROLLBACK_COMPLETE") == Check(
        "stack", "pass", "feedback-prod is UPDATE_ROLLBACK_COMPLETE"
    )


def test_a_stack_a_first_create_left_behind_is_what_the_deploy_replaces():
    assert stack_check("REVIEW_IN_PROGRESS") == Check(
        "stack",
        "warn",
        "feedback-prod is REVIEW_IN_PROGRESS (a create change set was declined or failed; "
        "nothing was created): the deploy deletes it and creates the stack afresh",
    )
    assert stack_check("ROLLBACK_COMPLETE") == Check(
        "stack",
        "warn",
        "feedback-prod is ROLLBACK_COMPLETE (its first create failed; it can only be deleted): "
        "the deploy asks to delete it and create it again",
        "confirm at the prompt, or `feedbackctl deploy --stage prod --yes`",
    )


@pytest.mark.parametrize(
    ("status", "fix"),
    [
        (
            "UPDATE_IN_PROGRESS",
            "wait for it: `aws cloudformation wait stack-update-complete "
            "--stack-name feedback-prod --region eu-west-1`",
        ),
        (
            "UPDATE_ROLLBACK_IN_PROGRESS",
            "wait for it: `aws cloudformation wait stack-rollback-complete "
            "--stack-name feedback-prod --region eu-west-1`",
        ),
        (
            "ROLLBACK_IN_PROGRESS",
            "wait until it ends: `aws cloudformation describe-stacks --stack-name feedback-prod "
            "--query Stacks[0].StackStatus --region eu-west-1`",
        ),
    ],
)
def test_a_running_operation_is_waited_for(status, fix):
    assert stack_check(status) == Check(
        "stack", "fail", f"feedback-prod is {status}: an operation is running", fix
    )


def test_failed_stacks_name_the_command_that_recovers_them():
    assert stack_check("UPDATE_ROLLBACK_FAILED") == Check(
        "stack",
        "fail",
        "feedback-prod is UPDATE_ROLLBACK_FAILED: an update failed and so did its rollback",
        "`aws cloudformation continue-update-rollback --stack-name feedback-prod "
        "--region eu-west-1`",
    )
    assert stack_check("UPDATE_FAILED").fix == (
        "`aws cloudformation rollback-stack --stack-name feedback-prod --region eu-west-1`"
    )
    for status in ("ROLLBACK_FAILED", "DELETE_FAILED", "CREATE_FAILED"):
        assert stack_check(status) == Check(
            "stack",
            "fail",
            f"feedback-prod is {status}: it cannot be updated",
            "`aws cloudformation delete-stack --stack-name feedback-prod --region eu-west-1`",
        )


def test_an_unreadable_stack_fails_and_the_checks_that_need_it_are_skipped():
    denied = Unreadable(
        "reading stack feedback-prod: AWS said: AccessDenied: no",
        "check the profile's IAM permissions for this stage",
    )
    checks = {c.name: c for c in run_checks(facts(stack=denied))}
    assert checks["stack"] == Check(
        "stack",
        "fail",
        "reading stack feedback-prod: AWS said: AccessDenied: no",
        "check the profile's IAM permissions for this stage",
    )
    assert checks["code bucket"] == Check(
        "code bucket", "skip", "not checked: the stack could not be read"
    )


def test_code_bucket():
    assert check_code_bucket(facts()) == Check(
        "code bucket", "pass", "code-b (the stack's CodeBucketName) is reachable"
    )
    assert check_code_bucket(facts(stack=None, code_bucket=None)) == Check(
        "code bucket", "pass", "none yet: the deploy creates it with the stack"
    )
    assert check_code_bucket(facts(code_bucket="missing")) == Check(
        "code bucket",
        "fail",
        "code-b (the stack's CodeBucketName) does not exist: deleted outside the stack",
        "see what else went: `aws cloudformation detect-stack-drift --stack-name feedback-prod "
        "--region eu-west-1`",
    )
    assert check_code_bucket(facts(code_bucket="denied")) == Check(
        "code bucket",
        "fail",
        "code-b (the stack's CodeBucketName) is not reachable: access denied",
        "allow s3:ListBucket and s3:PutObject on arn:aws:s3:::code-b",
    )
    foreign = StackInfo(STACK, "CREATE_COMPLETE", {})
    assert check_code_bucket(facts(stack=foreign, code_bucket=None)) == Check(
        "code bucket",
        "fail",
        "stack feedback-prod has no CodeBucketName output: feedbackctl did not make it",
        "check stack_name under [stages.prod] in feedbackctl.toml",
    )


def test_retained_tables():
    assert check_retained(facts()) == Check(
        "retained tables",
        "pass",
        "none of feedback-prod-feedback, -analytics, -ledger exists outside stack feedback-prod",
    )
    found = ("feedback-prod-feedback", "feedback-prod-ledger")
    assert check_retained(facts(stack=None, retained=found)) == Check(
        "retained tables",
        "fail",
        "feedback-prod-feedback, feedback-prod-ledger exist outside stack feedback-prod (kept "
        "by DeletionPolicy Retain when an earlier stack went): the deploy refuses to create them",
        "adopt them: `feedbackctl deploy --stage prod --adopt-retained`, or if their data may "
        "go: `aws dynamodb delete-table --table-name feedback-prod-feedback --region eu-west-1 "
        "&& aws dynamodb delete-table --table-name feedback-prod-ledger --region eu-west-1`",
    )
    assert check_retained(facts(stack=None, retained=found, adopt_retained=True)) == Check(
        "retained tables",
        "pass",
        "feedback-prod-feedback, feedback-prod-ledger exist outside the stack: "
        "the deploy adopts them",
    )


@pytest.mark.parametrize(
    ("role_name", "role", "owner"),
    [
        (
            "feedbackctl-apigateway-cloudwatch-eu-west-1",
            ApiGatewayRole(""),
            (
                "setup-account",
                "feedbackctl setup-account (stack feedbackctl-apigateway-account-eu-west-1)",
            ),
        ),
        (
            "feedback-prod-ApiGatewayLoggingRole-1A2B3C",
            ApiGatewayRole(
                "", stack_roles=frozenset({"feedback-prod-ApiGatewayLoggingRole-1A2B3C"})
            ),
            ("this-stack", "this stage's stack"),
        ),
        (
            "feedback-dev-ApiGatewayLoggingRole-9Z8Y7X",
            ApiGatewayRole(""),
            ("stack", "stack feedback-dev"),
        ),
        (
            "renamed-role",
            ApiGatewayRole("", tags={"aws:cloudformation:stack-name": "platform-logging"}),
            ("stack", "stack platform-logging"),
        ),
        ("apigw-logs", ApiGatewayRole(""), ("unknown", "not a feedbackctl stack")),
    ],
)
def test_who_set_the_logging_role(role_name, role, owner):
    assert role_owner(f"arn:aws:iam::{ACCOUNT}:role/{role_name}", STACK, role) == owner


def test_api_gateway_logging_role():
    name = "API Gateway logging role"
    assert check_api_gateway_role(facts()) == Check(
        name,
        "pass",
        f"{SETUP_ROLE}, set by feedbackctl setup-account "
        "(stack feedbackctl-apigateway-account-eu-west-1)",
    )
    unset = ApiGatewayRole(None)
    assert check_api_gateway_role(facts(api_role=unset)) == Check(
        name,
        "fail",
        "not set in eu-west-1: API Gateway cannot write this stage's logs",
        "`feedbackctl setup-account --stage prod`",
    )
    assert check_api_gateway_role(facts(api_role=unset, template_sets_account=True)) == Check(
        name, "pass", "not set in eu-west-1: this stage's stack sets it"
    )
    gone = ApiGatewayRole(SETUP_ROLE, role_exists=False)
    assert check_api_gateway_role(facts(api_role=gone, manage_api_gateway_account=False)) == Check(
        name,
        "fail",
        f"set to {SETUP_ROLE}, which no longer exists; manage_api_gateway_account = false: this "
        "stage leaves the setting alone",
        # setup-account refuses such a stage: the setting is made by hand, outside feedbackctl.
        "`aws apigateway update-account --patch-operations op=replace,path=/cloudwatchRoleArn,"
        "value=arn:aws:iam::111122223333:role/ROLE_NAME --region eu-west-1`",
    )


def test_two_stacks_claiming_the_account_setting_is_a_warning_with_the_config_key():
    dev_role = f"arn:aws:iam::{ACCOUNT}:role/feedback-dev-ApiGatewayLoggingRole-9Z8Y7X"
    check = check_api_gateway_role(
        facts(api_role=ApiGatewayRole(dev_role, True), template_sets_account=True)
    )
    assert check == Check(
        "API Gateway logging role",
        "warn",
        f"{dev_role}, set by stack feedback-dev; this stage's stack would set it too",
        "set manage_api_gateway_account = false under [stages.prod] in feedbackctl.toml",
    )
    unmanaged = check_api_gateway_role(
        facts(api_role=ApiGatewayRole(dev_role, True), manage_api_gateway_account=False)
    )
    assert unmanaged == Check(
        "API Gateway logging role",
        "pass",
        f"{dev_role}, set by stack feedback-dev; manage_api_gateway_account = false: this stage "
        "leaves the setting alone",
    )


def test_template_size():
    assert check_template_size(facts()) == Check(
        "template size",
        "pass",
        "113,495 bytes, applied from S3 (limit 1,048,576); bootstrap 3,902 bytes, inline "
        "(limit 51,200)",
    )
    too_big = check_template_size(facts(bootstrap_bytes=51_201))
    assert (too_big.status, too_big.fix) == (
        "fail",
        "shorten the templates in templates/ (or split the stack)",
    )
    assert check_template_size(facts(template_bytes=1_048_577)).status == "fail"
    near = check_template_size(facts(template_bytes=950_000))
    assert near.status == "warn"
    assert near.found.endswith(": over 90% of a limit")
    assert check_template_size(facts(local_platform=True, skipped="local")).status == "skip"


def test_alarm_topic_wired():
    assert check_alarm_topic(facts()) == Check(
        "alarm topic",
        "pass",
        "feedback-prod-alarms: rollback-orchestrator's live alias subscribed, "
        "2 rollback alarms send to it",
    )
    assert check_alarm_topic(facts(stack=None, alarms=None)) == Check(
        "alarm topic", "pass", "none yet: the deploy creates it with the stack"
    )


def test_alarm_topic_miswired_names_every_problem_and_its_fix():
    bare = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{STACK}-rollback-orchestrator"
    broken = wiring(
        subscriptions=(("lambda", bare),),
        alarm_actions={ALARMS[0]: ("arn:aws:sns:eu-west-1:111122223333:elsewhere",)},
        actions_disabled=(ALARMS[0],),
    )
    drift = "`aws cloudformation detect-stack-drift --stack-name feedback-prod --region eu-west-1`"
    assert check_alarm_topic(facts(alarms=broken)) == Check(
        "alarm topic",
        "fail",
        "rollback-orchestrator's live alias is not subscribed: alarms roll nothing back; "
        "rollback alarm(s) missing: feedback-prod-health-lambda-errors; "
        "alarm(s) not sending to the topic: feedback-prod-health-errors; "
        "alarm actions disabled: feedback-prod-health-errors",
        f"`aws sns subscribe --topic-arn {TOPIC} --protocol lambda --notification-endpoint "
        f"{ORCHESTRATOR} --region eu-west-1`; {drift}; `aws cloudwatch enable-alarm-actions "
        "--alarm-names feedback-prod-health-errors --region eu-west-1`",
    )
    assert check_alarm_topic(facts(alarms=wiring(topic_exists=False))) == Check(
        "alarm topic",
        "fail",
        f"{TOPIC} does not exist: deleted outside the stack",
        f"see what else went: {drift}",
    )
