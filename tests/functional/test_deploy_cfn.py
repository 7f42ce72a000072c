"""The exact CloudFormation change-set sequence of a deploy, with botocore's Stubber.

S3 is a real moto server (the template is uploaded there); CloudFormation is stubbed because
moto's change sets and stack events are not faithful (../shared/MOTO.md).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from feedbackctl.cfn import Waiter
from feedbackctl.deploy import DeployClients, DeployContext, Deployer, DeployPlan
from feedbackctl.engine.release import ReleasePolicy
from feedbackctl.errors import FeedbackctlError
from feedbackctl.naming import StackNames

STACK = "fb-test"
NOW = datetime(2026, 11, 25, tzinfo=UTC)


def _stack(status: str, outputs: dict[str, str] | None = None) -> dict[str, Any]:
    stack = {"StackName": STACK, "StackStatus": status, "CreationTime": NOW}
    if outputs:
        stack["Outputs"] = [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()]
    return {"Stacks": [stack]}


def _change_set(status: str = "CREATE_COMPLETE", reason: str = "", changes=()) -> dict[str, Any]:
    return {
        "ChangeSetName": "cs",
        "StackName": STACK,
        "Status": status,
        "StatusReason": reason,
        "ExecutionStatus": "AVAILABLE",
        "Changes": [
            {
                "Type": "Resource",
                "ResourceChange": {"Action": a, "LogicalResourceId": lid, "ResourceType": t},
            }
            for a, lid, t in changes
        ],
    }


@pytest.fixture
def bucket(moto_endpoint):
    s3 = boto3.client("s3")
    name = f"code-{id(s3)}"
    s3.create_bucket(Bucket=name)
    return s3, name


def deployer(cfn_client, s3, confirmations: list[str]) -> Deployer:
    clients = DeployClients(
        cfn=cfn_client,
        s3=s3,
        lambda_=None,
        cloudwatch=None,
        ledger=None,
        names=StackNames(STACK),
        engine=None,
    )  # type: ignore[arg-type]
    context = DeployContext(
        actor="tester",
        git_commit="abc123",
        template="Resources: {}\n# full",
        bootstrap_template="Resources: {}\n# bootstrap",
        confirm=lambda question: confirmations.append(question) or True,
        progress=lambda _: None,
        waiter=Waiter(sleep=lambda _: None, clock=lambda: 0.0, interval=1),
    )
    return Deployer(clients, context)


def test_first_deploy_creates_the_code_bucket_then_applies_the_full_template_from_s3(bucket):
    s3, name = bucket
    cfn_client = boto3.client("cloudformation", region_name="us-east-1")
    stub = Stubber(cfn_client)
    caps = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]
    stub.add_response(
        "create_change_set",
        {"Id": "cs-1"},
        {
            "StackName": STACK,
            "ChangeSetName": ANY,
            "ChangeSetType": "CREATE",
            "TemplateBody": "Resources: {}\n# bootstrap",
            "Capabilities": caps,
            "Description": "feedbackctl deploy",
        },
    )
    stub.add_response(
        "describe_change_set",
        _change_set("CREATE_PENDING"),
        {"StackName": STACK, "ChangeSetName": ANY},
    )
    stub.add_response(
        "describe_change_set",
        _change_set(changes=[("Add", "CodeBucket", "AWS::S3::Bucket")]),
        {"StackName": STACK, "ChangeSetName": ANY},
    )
    stub.add_response("execute_change_set", {}, {"StackName": STACK, "ChangeSetName": ANY})
    stub.add_response("describe_stacks", _stack("CREATE_IN_PROGRESS"), {"StackName": STACK})
    stub.add_response("describe_stacks", _stack("CREATE_COMPLETE"), {"StackName": STACK})
    stub.add_response(
        "describe_stacks", _stack("CREATE_COMPLETE", {"CodeBucketName": name}), {"StackName": STACK}
    )
    stub.add_response(
        "describe_stacks", _stack("CREATE_COMPLETE", {"CodeBucketName": name}), {"StackName": STACK}
    )
    stub.add_response(
        "create_change_set",
        {"Id": "cs-2"},
        {
            "StackName": STACK,
            "ChangeSetName": ANY,
            "ChangeSetType": "UPDATE",
            "TemplateURL": ANY,
            "Capabilities": caps,
            "Description": "feedbackctl deploy",
        },
    )
    stub.add_response(
        "describe_change_set",
        _change_set(
            changes=[
                ("Add", "FeedbackTable", "AWS::DynamoDB::Table"),
                ("Add", "Api", "AWS::ApiGateway::RestApi"),
            ]
        ),
        {"StackName": STACK, "ChangeSetName": ANY},
    )
    stub.add_response("execute_change_set", {}, {"StackName": STACK, "ChangeSetName": ANY})
    stub.add_response(
        "describe_stacks", _stack("UPDATE_COMPLETE", {"CodeBucketName": name}), {"StackName": STACK}
    )
    stub.add_response(
        "describe_stacks", _stack("UPDATE_COMPLETE", {"CodeBucketName": name}), {"StackName": STACK}
    )
    confirmations: list[str] = []
    with stub:
        result = deployer(cfn_client, s3, confirmations).infrastructure(
            DeployPlan("create", (), (), ReleasePolicy())
        )
        stub.assert_no_pending_responses()
    assert result == name
    assert "Add     CodeBucket (AWS::S3::Bucket)" in confirmations[0]
    assert "Add     FeedbackTable (AWS::DynamoDB::Table)" in confirmations[1]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=name)["Contents"]]
    assert len(keys) == 1
    assert keys[0].startswith("templates/")
    assert s3.get_object(Bucket=name, Key=keys[0])["Body"].read() == b"Resources: {}\n# full"


def test_an_empty_change_set_is_deleted_and_nothing_executes(bucket):
    s3, name = bucket
    cfn_client = boto3.client("cloudformation", region_name="us-east-1")
    stub = Stubber(cfn_client)
    stub.add_response(
        "describe_stacks", _stack("UPDATE_COMPLETE", {"CodeBucketName": name}), {"StackName": STACK}
    )
    stub.add_response("create_change_set", {"Id": "cs"}, None)
    stub.add_response(
        "describe_change_set",
        _change_set(
            "FAILED",
            "The submitted information didn't contain changes. Submit different information.",
        ),
        None,
    )
    stub.add_response("delete_change_set", {}, {"StackName": STACK, "ChangeSetName": ANY})
    confirmations: list[str] = []
    with stub:
        deployer(cfn_client, s3, confirmations).infrastructure(
            DeployPlan("update", (), (), ReleasePolicy())
        )
        stub.assert_no_pending_responses()
    assert confirmations == []


def test_a_declined_change_set_is_deleted(bucket):
    s3, name = bucket
    cfn_client = boto3.client("cloudformation", region_name="us-east-1")
    stub = Stubber(cfn_client)
    stub.add_response(
        "describe_stacks", _stack("UPDATE_COMPLETE", {"CodeBucketName": name}), {"StackName": STACK}
    )
    stub.add_response("create_change_set", {"Id": "cs"}, None)
    stub.add_response(
        "describe_change_set",
        _change_set(changes=[("Modify", "Api", "AWS::ApiGateway::RestApi")]),
        None,
    )
    stub.add_response("delete_change_set", {}, {"StackName": STACK, "ChangeSetName": ANY})
    d = deployer(cfn_client, s3, [])
    d.ctx.confirm = lambda question: False
    with (
        stub,
        pytest.raises(FeedbackctlError, match="deploy cancelled; the change set was deleted"),
    ):
        d.infrastructure(DeployPlan("update", (), (), ReleasePolicy()))
    stub.assert_no_pending_responses()


def test_a_failed_update_reports_the_failing_resources(bucket):
    s3, name = bucket
    cfn_client = boto3.client("cloudformation", region_name="us-east-1")
    stub = Stubber(cfn_client)
    stub.add_response(
        "describe_stacks", _stack("UPDATE_COMPLETE", {"CodeBucketName": name}), {"StackName": STACK}
    )
    stub.add_response("create_change_set", {"Id": "cs"}, None)
    stub.add_response(
        "describe_change_set",
        _change_set(changes=[("Modify", "Api", "AWS::ApiGateway::RestApi")]),
        None,
    )
    stub.add_response("execute_change_set", {}, None)
    stub.add_response("describe_stacks", _stack("UPDATE_ROLLBACK_COMPLETE"), None)
    stub.add_response("describe_stacks", _stack("UPDATE_ROLLBACK_COMPLETE"), None)
    stub.add_response(
        "describe_stack_events",
        {
            "StackEvents": [
                {
                    "StackId": "s",
                    "EventId": "e",
                    "StackName": STACK,
                    "Timestamp": NOW,
                    "LogicalResourceId": "Api",
                    "ResourceStatus": "UPDATE_FAILED",
                    "ResourceStatusReason": "Invalid model schema",
                }
            ]
        },
        None,
    )
    with (
        stub,
        pytest.raises(
            FeedbackctlError, match="ended in UPDATE_ROLLBACK_COMPLETE: Api: Invalid model schema"
        ),
    ):
        deployer(cfn_client, s3, []).infrastructure(DeployPlan("update", (), (), ReleasePolicy()))
