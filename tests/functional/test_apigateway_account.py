"""API Gateway's account setting (feedbackctl.apigateway_account, `feedbackctl setup-account`):
the exact call sequences with botocore's Stubber, the whole command against moto.

The race reproduced here: right after its role is created, UpdateAccount answers
BadRequestException "The role ARN does not have required permissions set to API Gateway" until
IAM has propagated the role (https://github.com/aws/aws-cdk/issues/2194; docs/first-deploy.md).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from feedbackctl import apigateway_account as account
from feedbackctl.aws.stacks import Waiter
from feedbackctl.errors import FeedbackctlError, RefusedError
from feedbackctl.templating import render_apigateway_account
from tests.unit.test_render import run_cli

REGION = "eu-west-1"
ACCOUNT = "123456789012"
STACK = "feedbackctl-apigateway-account-eu-west-1"
ROLE = "arn:aws:iam::123456789012:role/feedbackctl-apigateway-cloudwatch-eu-west-1"
RACE = "The role ARN does not have required permissions set to API Gateway"
TEMPLATE = render_apigateway_account()
SET_ROLE = {"patchOperations": [{"op": "replace", "path": "/cloudwatchRoleArn", "value": ROLE}]}


def clients() -> tuple[Any, Any, Stubber, Stubber]:
    cfn = boto3.client("cloudformation", region_name=REGION, endpoint_url=None)
    apigateway = boto3.client("apigateway", region_name=REGION, endpoint_url=None)
    return cfn, apigateway, Stubber(cfn), Stubber(apigateway)


def stack(status: str = "CREATE_COMPLETE") -> dict[str, Any]:
    return {
        "Stacks": [
            {
                "StackName": STACK,
                "StackStatus": status,
                "CreationTime": datetime(2026, 11, 1, tzinfo=UTC),
                "Outputs": [{"OutputKey": "RoleArn", "OutputValue": ROLE}],
            }
        ]
    }


def read(cfn: Any, apigateway: Any) -> account.AccountState:
    return account.read_state(cfn, apigateway, region=REGION, account=ACCOUNT, partition="aws")


def test_the_setting_is_retried_while_the_new_role_propagates() -> None:
    cfn, apigateway, cfn_stub, api_stub = clients()
    cfn_stub.add_response("describe_stacks", stack(), {"StackName": STACK})
    cfn_stub.add_response(
        "get_template",
        {"TemplateBody": TEMPLATE},
        {"StackName": STACK, "TemplateStage": "Original"},
    )
    api_stub.add_response("get_account", {})
    for _ in range(2):
        api_stub.add_client_error(
            "update_account", "BadRequestException", RACE, 400, expected_params=SET_ROLE
        )
    api_stub.add_response("update_account", {"cloudwatchRoleArn": ROLE}, SET_ROLE)
    sleeps: list[float] = []
    lines: list[str] = []
    with cfn_stub, api_stub:
        plan = account.plan(read(cfn, apigateway), TEMPLATE)
        assert [s.kind for s in plan.steps] == ["set-role"]
        report = account.execute(
            plan,
            cfn,
            apigateway,
            template=TEMPLATE,
            waiter=Waiter(sleep=sleeps.append),
            progress=lines.append,
        )
        cfn_stub.assert_no_pending_responses()
        api_stub.assert_no_pending_responses()
    assert sleeps == [5, 10]
    assert report["setRoleAttempts"] == 3
    assert lines == [
        f"set API Gateway's CloudWatch Logs role in {REGION}: no role -> {ROLE}",
        "the role is still propagating through IAM; retrying in 5 s",
        "the role is still propagating through IAM; retrying in 10 s",
    ]


def test_a_first_setup_creates_the_role_stack_then_sets_the_role() -> None:
    cfn, apigateway, cfn_stub, api_stub = clients()
    cfn_stub.add_client_error(
        "describe_stacks", "ValidationError", f"Stack with id {STACK} does not exist"
    )
    api_stub.add_response("get_account", {"cloudwatchRoleArn": ""})
    name = "feedbackctl-t0k3n"
    cfn_stub.add_response(
        "create_change_set",
        {"Id": "cs", "StackId": "st"},
        {
            "StackName": STACK,
            "ChangeSetName": name,
            "ChangeSetType": "CREATE",
            "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
            "Description": "feedbackctl deploy",
            "TemplateBody": TEMPLATE,
        },
    )
    change = {
        "Type": "Resource",
        "ResourceChange": {
            "Action": "Add",
            "LogicalResourceId": "ApiGatewayCloudWatchRole",
            "ResourceType": "AWS::IAM::Role",
        },
    }
    cfn_stub.add_response(
        "describe_change_set",
        {"Status": "CREATE_COMPLETE", "Changes": [change]},
        {"StackName": STACK, "ChangeSetName": name},
    )
    cfn_stub.add_response(
        "execute_change_set",
        {},
        {"StackName": STACK, "ChangeSetName": name, "RetainExceptOnCreate": True},
    )
    cfn_stub.add_response("describe_stacks", stack(), {"StackName": STACK})  # settled
    cfn_stub.add_response("describe_stacks", stack(), {"StackName": STACK})  # the outcome
    api_stub.add_client_error("update_account", "BadRequestException", RACE, 400)
    api_stub.add_response("update_account", {"cloudwatchRoleArn": ROLE}, SET_ROLE)
    sleeps: list[float] = []
    with cfn_stub, api_stub:
        plan = account.plan(read(cfn, apigateway), TEMPLATE)
        assert [s.kind for s in plan.steps] == ["create-stack", "set-role"]
        report = account.execute(
            plan,
            cfn,
            apigateway,
            template=TEMPLATE,
            waiter=Waiter(sleep=sleeps.append),
            token=lambda: "t0k3n",
        )
        cfn_stub.assert_no_pending_responses()
        api_stub.assert_no_pending_responses()
    assert report["done"] == ["create-stack", "set-role"]
    assert sleeps == [5]


def test_it_gives_up_after_the_bounded_retries_with_what_to_do() -> None:
    _, apigateway, _, api_stub = clients()
    for _ in range(len(account.RACE_DELAYS) + 1):
        api_stub.add_client_error("update_account", "BadRequestException", RACE, 400)
    sleeps: list[float] = []
    with api_stub, pytest.raises(FeedbackctlError) as failed:
        account.set_logging_role(apigateway, ROLE, sleep=sleeps.append)
    api_stub.assert_no_pending_responses()
    assert sleeps == [5, 10, 20, 30, 30, 30]
    assert str(failed.value) == (
        f"setting API Gateway's CloudWatch Logs role: API Gateway still rejects {ROLE} after "
        "7 attempts (125 s): the role has not propagated through IAM (the role is in place: "
        "run `feedbackctl setup-account` again in a few minutes)"
    )


def test_another_bad_request_is_not_retried() -> None:
    _, apigateway, _, api_stub = clients()
    api_stub.add_client_error("update_account", "BadRequestException", "Invalid ARN", 400)
    sleeps: list[float] = []
    with api_stub, pytest.raises(Exception, match="Invalid ARN"):
        account.set_logging_role(apigateway, ROLE, sleep=sleeps.append)
    assert sleeps == []


def state(current: str | None, *, template: str | None = TEMPLATE) -> account.AccountState:
    info = None if template is None else account.stacks.StackInfo(STACK, "UPDATE_COMPLETE")
    return account.AccountState(REGION, ACCOUNT, "aws", info, template, current)


def test_a_role_someone_else_set_is_refused_unless_taken_over() -> None:
    other = "arn:aws:iam::123456789012:role/platform-team-apigw-logs"
    with pytest.raises(RefusedError) as refused:
        account.plan(state(other), TEMPLATE)
    assert "a role feedbackctl does not own; nothing was changed" in str(refused.value)
    assert "--take-over" in str(refused.value)
    taken = account.plan(state(other), TEMPLATE, take_over=True)
    assert (taken.owner, [s.kind for s in taken.steps]) == ("other", ["set-role"])


def test_a_stage_stacks_old_role_is_replaced_without_asking() -> None:
    legacy = "arn:aws:iam::123456789012:role/feedback-dev-ApiGatewayLoggingRole-1A2B3C4D5E6F"
    plan = account.plan(state(legacy), TEMPLATE, stage_stacks=["feedback-dev", "feedback-prod"])
    assert plan.owner == "feedbackctl-legacy"
    assert [s.kind for s in plan.steps] == ["set-role"]


def test_an_account_already_set_up_needs_nothing() -> None:
    plan = account.plan(state(ROLE), TEMPLATE)
    assert (plan.owner, plan.steps) == ("feedbackctl", ())
    changed = account.plan(state(ROLE, template="old"), TEMPLATE)
    assert [s.kind for s in changed.steps] == ["update-stack"]


# --- the command against moto ----------------------------------------------------------------


def test_setup_account_twice_against_moto(moto_endpoint: str) -> None:
    apigateway = boto3.client("apigateway", region_name="eu-west-1", endpoint_url=moto_endpoint)
    apigateway.update_account(
        patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": ""}]
    )
    code, out, err = run_cli(
        ["setup-account", "--stage", "dev", "--yes", "--json", "--endpoint-url", moto_endpoint]
    )
    assert code == 0, err
    assert json.loads(out)["done"] == ["create-stack", "set-role"]
    role = "arn:aws:iam::123456789012:role/feedbackctl-apigateway-cloudwatch-eu-west-1"
    assert apigateway.get_account()["cloudwatchRoleArn"] == role
    code, _, err = run_cli(
        ["setup-account", "--stage", "dev", "--yes", "--endpoint-url", moto_endpoint]
    )
    assert code == 0
    assert f"API Gateway in eu-west-1 already logs through {role}" in err


def test_a_stage_that_leaves_the_setting_alone_is_refused() -> None:
    code, out, err = run_cli(["setup-account", "--stage", "local", "--yes"])
    assert (code, out) == (3, "")
    assert "sets manage_api_gateway_account = false" in err
