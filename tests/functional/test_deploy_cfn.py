"""The exact CloudFormation change-set sequence of a deploy, with botocore's Stubber.

S3 is a real moto server (the template is uploaded there); CloudFormation and the DynamoDB
look-ups for retained tables are stubbed because moto's change sets, stack states and stack
events are not faithful (../shared/MOTO.md). docs/first-deploy.md names the AWS behaviour each
test reproduces.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from feedbackctl.aws.stacks import Waiter
from feedbackctl.deploy import DeployClients, DeployContext, Deployer, DeployPlan, read_facts
from feedbackctl.engine.release import ReleasePolicy
from feedbackctl.errors import FeedbackctlError, RefusedError
from feedbackctl.naming import StackNames

STACK = "fb-test"
NOW = datetime(2026, 11, 25, tzinfo=UTC)
CAPS = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]
TABLES = {
    "FeedbackTableName": f"{STACK}-feedback",
    "AnalyticsTableName": f"{STACK}-analytics",
    "LedgerTableName": f"{STACK}-ledger",
}
FULL_TEMPLATE = f"""Resources:
  CodeBucket:
    Type: AWS::S3::Bucket
    DeletionPolicy: Retain
  FeedbackTable:
    Type: AWS::DynamoDB::Table
    DeletionPolicy: Retain
    UpdateReplacePolicy: Retain
    Properties:
      TableName: {STACK}-feedback
      BillingMode: PAY_PER_REQUEST
      KeySchema: [{{AttributeName: feedbackId, KeyType: HASH}}]
      AttributeDefinitions: [{{AttributeName: feedbackId, AttributeType: S}}]
  Api:
    Type: AWS::ApiGateway::RestApi
  ApiExecutionLogGroup:
    Type: AWS::Logs::LogGroup
    DeletionPolicy: Delete
    UpdateReplacePolicy: Delete
    Properties:
      LogGroupName: !Sub "API-Gateway-Execution-Logs_${{Api}}/test"
      RetentionInDays: 30
# full
"""
BOOTSTRAP_TEMPLATE = """Resources:
  CodeBucket:
    Type: AWS::S3::Bucket
    DeletionPolicy: Retain
Outputs:
  CodeBucketName:
    Value: !Ref CodeBucket
# bootstrap
"""


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


def _missing_stack(stub: Stubber) -> None:
    stub.add_client_error(
        "describe_stacks",
        "ValidationError",
        f"Stack with id {STACK} does not exist",
        expected_params={"StackName": STACK},
    )


def _tables(exist: tuple[str, ...] = ()) -> Stubber:
    """DynamoDB answering DescribeTable for the three fixed names, in the deployer's order."""
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    stub = Stubber(ddb)
    for table in TABLES.values():
        if table in exist:
            stub.add_response(
                "describe_table",
                {"Table": {"TableName": table, "TableStatus": "ACTIVE"}},
                {"TableName": table},
            )
        else:
            stub.add_client_error(
                "describe_table",
                "ResourceNotFoundException",
                f"Requested resource not found: Table: {table} not found",
                expected_params={"TableName": table},
            )
    return stub


def _execute(stub: Stubber) -> None:
    stub.add_response(
        "execute_change_set",
        {},
        {"StackName": STACK, "ChangeSetName": ANY, "RetainExceptOnCreate": True},
    )


def _create_bootstrap(stub: Stubber, name: str) -> None:
    """The code bucket's CREATE change set, executed, then the outputs read."""
    stub.add_response(
        "create_change_set",
        {"Id": "cs-1"},
        {
            "StackName": STACK,
            "ChangeSetName": ANY,
            "ChangeSetType": "CREATE",
            "TemplateBody": BOOTSTRAP_TEMPLATE,
            "Capabilities": CAPS,
            "Description": "feedbackctl deploy",
        },
    )
    stub.add_response(
        "describe_change_set",
        _change_set(changes=[("Add", "CodeBucket", "AWS::S3::Bucket")]),
        {"StackName": STACK, "ChangeSetName": ANY},
    )
    _execute(stub)
    stub.add_response("describe_stacks", _stack("CREATE_COMPLETE"), {"StackName": STACK})
    stub.add_response(
        "describe_stacks", _stack("CREATE_COMPLETE", {"CodeBucketName": name}), {"StackName": STACK}
    )
    stub.add_response(
        "describe_stacks", _stack("CREATE_COMPLETE", {"CodeBucketName": name}), {"StackName": STACK}
    )


def _full_update(stub: Stubber, name: str, region: str = "us-east-1") -> None:
    """The full template's UPDATE change set read from S3's regional endpoint, executed."""
    key = f"templates/{hashlib.sha256(FULL_TEMPLATE.encode()).hexdigest()}.yaml"
    stub.add_response(
        "create_change_set",
        {"Id": "cs-2"},
        {
            "StackName": STACK,
            "ChangeSetName": ANY,
            "ChangeSetType": "UPDATE",
            "TemplateURL": f"https://{name}.s3.{region}.amazonaws.com/{key}",
            "Capabilities": CAPS,
            "Description": "feedbackctl deploy",
        },
    )
    stub.add_response(
        "describe_change_set",
        _change_set(changes=[("Add", "Api", "AWS::ApiGateway::RestApi")]),
        {"StackName": STACK, "ChangeSetName": ANY},
    )
    _execute(stub)
    full = {"CodeBucketName": name, **TABLES}
    stub.add_response("describe_stacks", _stack("UPDATE_COMPLETE", full), {"StackName": STACK})
    stub.add_response("describe_stacks", _stack("UPDATE_COMPLETE", full), {"StackName": STACK})


def _import_change_set(
    stub: Stubber, template: dict[str, Any], kind: str, logical_id: str, identifier: dict[str, str]
) -> None:
    """The IMPORT change set of one resource, with exactly this template, described."""
    stub.add_response(
        "create_change_set",
        {"Id": "cs-import"},
        {
            "StackName": STACK,
            "ChangeSetName": ANY,
            "ChangeSetType": "IMPORT",
            "TemplateBody": json.dumps(template, indent=1, sort_keys=True),
            "Capabilities": CAPS,
            "Description": "feedbackctl deploy",
            "ResourcesToImport": [
                {
                    "ResourceType": kind,
                    "LogicalResourceId": logical_id,
                    "ResourceIdentifier": identifier,
                }
            ],
        },
    )
    stub.add_response(
        "describe_change_set",
        _change_set(changes=[("Import", logical_id, kind)]),
        {"StackName": STACK, "ChangeSetName": ANY},
    )


@pytest.fixture
def bucket(moto_endpoint):
    s3 = boto3.client("s3")
    name = f"code-{id(s3)}"
    s3.create_bucket(Bucket=name)
    return s3, name


def deployer(
    cfn_client,
    s3,
    confirmations: list[str],
    ddb=None,
    *,
    progress: list[str] | None = None,
    answer: bool = True,
    adopt: bool = False,
    logs=None,
) -> Deployer:
    clients = DeployClients(
        cfn=cfn_client,
        s3=s3,
        lambda_=None,
        cloudwatch=None,
        ledger=None,
        names=StackNames(STACK),
        engine=None,
        dynamodb=ddb,
        logs=logs,
    )  # type: ignore[arg-type]
    lines = progress if progress is not None else []
    context = DeployContext(
        actor="tester",
        git_commit="abc123",
        template=FULL_TEMPLATE,
        bootstrap_template=BOOTSTRAP_TEMPLATE,
        confirm=lambda question: confirmations.append(question) is None and answer,
        progress=lines.append,
        waiter=Waiter(sleep=lambda _: None, clock=lambda: 0.0, interval=1),
        adopt_retained=adopt,
        stage="test",
    )
    return Deployer(clients, context)


def test_first_deploy_creates_the_code_bucket_then_applies_the_full_template_from_s3(bucket):
    s3, name = bucket
    cfn_client = boto3.client("cloudformation", region_name="us-east-1")
    stub = Stubber(cfn_client)
    _missing_stack(stub)
    stub.add_response(
        "create_change_set",
        {"Id": "cs-1"},
        {
            "StackName": STACK,
            "ChangeSetName": ANY,
            "ChangeSetType": "CREATE",
            "TemplateBody": BOOTSTRAP_TEMPLATE,
            "Capabilities": CAPS,
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
    _execute(stub)  # RetainExceptOnCreate=True: a failed create deletes what it created
    stub.add_response("describe_stacks", _stack("CREATE_IN_PROGRESS"), {"StackName": STACK})
    stub.add_response("describe_stacks", _stack("CREATE_COMPLETE"), {"StackName": STACK})
    stub.add_response(
        "describe_stacks", _stack("CREATE_COMPLETE", {"CodeBucketName": name}), {"StackName": STACK}
    )
    stub.add_response(
        "describe_stacks", _stack("CREATE_COMPLETE", {"CodeBucketName": name}), {"StackName": STACK}
    )
    _full_update(stub, name, s3.meta.region_name)
    tables = _tables()
    confirmations: list[str] = []
    with stub, tables:
        result = deployer(cfn_client, s3, confirmations, tables.client).infrastructure(
            DeployPlan("create", (), (), ReleasePolicy())
        )
        stub.assert_no_pending_responses()
        tables.assert_no_pending_responses()
    assert result == name
    assert "Add     CodeBucket (AWS::S3::Bucket)" in confirmations[0]
    assert "Add     Api (AWS::ApiGateway::RestApi)" in confirmations[1]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=name)["Contents"]]
    assert len(keys) == 1
    assert keys[0].startswith("templates/")
    assert s3.get_object(Bucket=name, Key=keys[0])["Body"].read() == FULL_TEMPLATE.encode()


def test_an_empty_change_set_is_deleted_and_nothing_executes(bucket):
    s3, name = bucket
    cfn_client = boto3.client("cloudformation", region_name="us-east-1")
    stub = Stubber(cfn_client)
    stub.add_response(
        "describe_stacks",
        _stack("UPDATE_COMPLETE", {"CodeBucketName": name, **TABLES}),
        {"StackName": STACK},
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
        "describe_stacks",
        _stack("UPDATE_COMPLETE", {"CodeBucketName": name, **TABLES}),
        {"StackName": STACK},
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
        "describe_stacks",
        _stack("UPDATE_COMPLETE", {"CodeBucketName": name, **TABLES}),
        {"StackName": STACK},
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


# --- a stack that can always be deployed again ------------------------------------------


def test_a_stack_left_in_review_in_progress_is_deleted_and_created_afresh(bucket):
    """A declined or failed CREATE change set leaves the stack in REVIEW_IN_PROGRESS; no
    operation runs on it, so waiting would never end."""
    s3, name = bucket
    cfn_client = boto3.client("cloudformation", region_name="us-east-1")
    stub = Stubber(cfn_client)
    # Planning: the leftover stack is planned over as a create (read-only).
    stub.add_response("describe_stacks", _stack("REVIEW_IN_PROGRESS"), {"StackName": STACK})
    # Executing: re-read, delete, wait for DELETE_COMPLETE, create.
    stub.add_response("describe_stacks", _stack("REVIEW_IN_PROGRESS"), {"StackName": STACK})
    stub.add_response("delete_stack", {}, {"StackName": STACK})
    stub.add_response("describe_stacks", _stack("DELETE_IN_PROGRESS"), {"StackName": STACK})
    stub.add_response("describe_stacks", _stack("DELETE_COMPLETE"), {"StackName": STACK})
    _missing_stack(stub)
    _create_bootstrap(stub, name)
    _full_update(stub, name)
    tables = _tables()
    progress: list[str] = []
    d = deployer(cfn_client, s3, [], tables.client, progress=progress)
    with stub, tables:
        facts = read_facts(d.c, FULL_TEMPLATE, None, [])  # type: ignore[arg-type]
        assert facts.stack is None
        assert facts.template_changed
        d.infrastructure(DeployPlan("create", (), (), ReleasePolicy()))
        stub.assert_no_pending_responses()
    assert progress[:2] == [
        f"stack {STACK} is REVIEW_IN_PROGRESS (a create change set was declined or failed; "
        "nothing was created): deleting it and creating the stack afresh…",
        f"creating stack {STACK} (code bucket first)…",
    ]


@pytest.mark.parametrize(
    ("status", "said"),
    [
        (
            "REVIEW_IN_PROGRESS",
            "Plan: delete the stack left REVIEW_IN_PROGRESS by a declined or failed first create "
            "(it holds nothing), then create it;",
        ),
        (
            "ROLLBACK_COMPLETE",
            "Plan: delete the stack left ROLLBACK_COMPLETE by its failed first create "
            "(after confirmation), then create it;",
        ),
    ],
)
def test_the_plan_of_a_leftover_stack_says_it_is_deleted_first(bucket, capsys, status, said):
    """`deploy --dry-run` shows the plan only: it must not read as a plain create."""
    from feedbackctl.cli.commands.deploy.views import plan_dict, show_plan
    from feedbackctl.cli.console import Terminal
    from feedbackctl.deploy import plan_deploy
    from feedbackctl.packaging import Manifest

    s3, _ = bucket
    cfn_client = boto3.client("cloudformation", region_name="us-east-1")
    stub = Stubber(cfn_client)
    stub.add_response("describe_stacks", _stack(status), {"StackName": STACK})
    with stub:
        facts = read_facts(deployer(cfn_client, s3, []).c, FULL_TEMPLATE, None, [])  # type: ignore[arg-type]
    plan = plan_deploy(facts, Manifest({}), [], ReleasePolicy())
    assert (plan.stack_action, plan.leftover) == ("create", status)
    show_plan(Terminal(no_color=True), plan)
    assert capsys.readouterr().out.startswith(said)
    assert plan_dict(plan)["replacesStack"] == status


def test_a_stack_in_rollback_complete_is_replaced_after_confirmation(bucket):
    s3, name = bucket
    cfn_client = boto3.client("cloudformation", region_name="us-east-1")
    stub = Stubber(cfn_client)
    stub.add_response("describe_stacks", _stack("ROLLBACK_COMPLETE"), {"StackName": STACK})
    stub.add_response("delete_stack", {}, {"StackName": STACK})
    _missing_stack(stub)
    _missing_stack(stub)
    _create_bootstrap(stub, name)
    _full_update(stub, name)
    tables = _tables()
    confirmations: list[str] = []
    with stub, tables:
        deployer(cfn_client, s3, confirmations, tables.client).infrastructure(
            DeployPlan("create", (), (), ReleasePolicy())
        )
        stub.assert_no_pending_responses()
    assert confirmations[0] == (
        f"Stack {STACK} is ROLLBACK_COMPLETE: its first create failed and it can only be "
        "deleted. Delete it and create the stack again?"
    )


def test_a_declined_replacement_of_a_rollback_complete_stack_changes_nothing(bucket):
    s3, _ = bucket
    cfn_client = boto3.client("cloudformation", region_name="us-east-1")
    stub = Stubber(cfn_client)
    stub.add_response("describe_stacks", _stack("ROLLBACK_COMPLETE"), {"StackName": STACK})
    tables = _tables()
    d = deployer(cfn_client, s3, [], tables.client, answer=False)
    with stub, tables, pytest.raises(RefusedError) as refused:
        d.infrastructure(DeployPlan("create", (), (), ReleasePolicy()))
    stub.assert_no_pending_responses()
    assert str(refused.value) == (
        f"creating the stack: stack {STACK} is ROLLBACK_COMPLETE (its first create failed) and "
        "was not replaced (confirm the replacement (`feedbackctl deploy --stage test --yes`), "
        f"or delete it: `aws cloudformation delete-stack --stack-name {STACK} --region us-east-1`)"
    )


def test_retained_tables_are_refused_before_any_change_with_the_commands_that_resolve_it(bucket):
    """The tables' fixed names and DeletionPolicy Retain: a stack created again collides."""
    s3, _ = bucket
    cfn_client = boto3.client("cloudformation", region_name="us-east-1")
    stub = Stubber(cfn_client)  # not one CloudFormation call
    tables = _tables(exist=(f"{STACK}-feedback", f"{STACK}-ledger"))
    with stub, tables, pytest.raises(RefusedError) as refused:
        deployer(cfn_client, s3, [], tables.client).infrastructure(
            DeployPlan("create", (), (), ReleasePolicy())
        )
    tables.assert_no_pending_responses()
    assert str(refused.value) == (
        f"checking for retained resources: table(s) {STACK}-feedback, {STACK}-ledger already "
        f"exist outside stack {STACK} (kept by DeletionPolicy Retain when an earlier stack went); "
        "the stack cannot create them (adopt them with "
        "`feedbackctl deploy --stage test --adopt-retained`, or if their data may go: "
        f"`aws dynamodb delete-table --table-name {STACK}-feedback --region us-east-1 && "
        f"aws dynamodb delete-table --table-name {STACK}-ledger --region us-east-1`)"
    )


def test_a_stack_whose_first_update_failed_checks_for_its_tables_before_the_update(bucket):
    """Only the code bucket made it (a failed first full update before RetainExceptOnCreate
    kept its new tables); the next update would fail on them."""
    s3, name = bucket
    cfn_client = boto3.client("cloudformation", region_name="us-east-1")
    stub = Stubber(cfn_client)
    stub.add_response(
        "describe_stacks",
        _stack("UPDATE_ROLLBACK_COMPLETE", {"CodeBucketName": name}),
        {"StackName": STACK},
    )
    tables = _tables(exist=(f"{STACK}-analytics",))
    with stub, tables, pytest.raises(RefusedError, match=f"table\\(s\\) {STACK}-analytics already"):
        deployer(cfn_client, s3, [], tables.client).infrastructure(
            DeployPlan("update", (), (), ReleasePolicy())
        )
    stub.assert_no_pending_responses()


def test_adopt_retained_imports_the_tables_then_applies_the_full_template(bucket):
    s3, name = bucket
    cfn_client = boto3.client("cloudformation", region_name="us-east-1")
    stub = Stubber(cfn_client)
    _missing_stack(stub)
    _create_bootstrap(stub, name)
    stub.add_response(
        "get_template",
        {"TemplateBody": BOOTSTRAP_TEMPLATE},
        {"StackName": STACK, "TemplateStage": "Original"},
    )
    expected_import = {
        "Outputs": {"CodeBucketName": {"Value": {"Ref": "CodeBucket"}}},
        "Resources": {
            "CodeBucket": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"},
            "FeedbackTable": {
                "Type": "AWS::DynamoDB::Table",
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                "Properties": {
                    "TableName": f"{STACK}-feedback",
                    "BillingMode": "PAY_PER_REQUEST",
                    "KeySchema": [{"AttributeName": "feedbackId", "KeyType": "HASH"}],
                    "AttributeDefinitions": [{"AttributeName": "feedbackId", "AttributeType": "S"}],
                },
            },
        },
    }
    _import_change_set(
        stub,
        expected_import,
        "AWS::DynamoDB::Table",
        "FeedbackTable",
        {"TableName": f"{STACK}-feedback"},
    )
    _execute(stub)
    stub.add_response("describe_stacks", _stack("IMPORT_COMPLETE"), {"StackName": STACK})
    stub.add_response(
        "describe_stacks", _stack("IMPORT_COMPLETE", {"CodeBucketName": name}), {"StackName": STACK}
    )
    _full_update(stub, name)
    tables = _tables(exist=(f"{STACK}-feedback",))
    confirmations: list[str] = []
    progress: list[str] = []
    d = deployer(cfn_client, s3, confirmations, tables.client, progress=progress, adopt=True)
    with stub, tables:
        d.infrastructure(DeployPlan("create", (), (), ReleasePolicy()))
        stub.assert_no_pending_responses()
    assert confirmations[1] == (
        f"Import these existing tables into {STACK}?\n"
        "  Import  FeedbackTable (AWS::DynamoDB::Table)"
    )
    assert f"adopting table {STACK}-feedback into {STACK} (IMPORT change set)…" in progress


DEPLOYED_BEFORE_THE_LOG_GROUP = """Resources:
  CodeBucket:
    Type: AWS::S3::Bucket
    DeletionPolicy: Retain
  Api:
    Type: AWS::ApiGateway::RestApi
Outputs:
  CodeBucketName:
    Value: !Ref CodeBucket
"""


def _stack_resources(stub: Stubber) -> None:
    stub.add_response(
        "list_stack_resources",
        {
            "StackResourceSummaries": [
                {
                    "LogicalResourceId": "Api",
                    "PhysicalResourceId": "a1b2c3",
                    "ResourceType": "AWS::ApiGateway::RestApi",
                    "LastUpdatedTimestamp": NOW,
                    "ResourceStatus": "CREATE_COMPLETE",
                }
            ]
        },
        {"StackName": STACK},
    )


def _deployed(stub: Stubber, body: str) -> None:
    stub.add_response(
        "get_template", {"TemplateBody": body}, {"StackName": STACK, "TemplateStage": "Original"}
    )


def test_an_execution_log_group_api_gateway_made_earlier_is_imported_before_the_update(bucket):
    """A stage deployed before the stack declared ApiExecutionLogGroup: API Gateway created
    `API-Gateway-Execution-Logs_<api id>/<stage>` itself, so adding it fails "already exists".
    The deploy finds it by the name the template resolves to and imports it first."""
    s3, name = bucket
    logs = boto3.client("logs", region_name="us-east-1")
    group = "API-Gateway-Execution-Logs_a1b2c3/test"
    logs.create_log_group(logGroupName=group)
    logs.create_log_group(logGroupName="API-Gateway-Execution-Logs_a1b2c3/test-other")
    cfn_client = boto3.client("cloudformation", region_name="us-east-1")
    stub = Stubber(cfn_client)
    full = {"CodeBucketName": name, **TABLES}
    stub.add_response("describe_stacks", _stack("UPDATE_COMPLETE", full), {"StackName": STACK})
    _deployed(stub, DEPLOYED_BEFORE_THE_LOG_GROUP)
    _stack_resources(stub)
    _deployed(stub, DEPLOYED_BEFORE_THE_LOG_GROUP)
    expected_import = {
        "Outputs": {"CodeBucketName": {"Value": {"Ref": "CodeBucket"}}},
        "Resources": {
            "CodeBucket": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"},
            "Api": {"Type": "AWS::ApiGateway::RestApi"},
            "ApiExecutionLogGroup": {
                "Type": "AWS::Logs::LogGroup",
                "DeletionPolicy": "Delete",
                "UpdateReplacePolicy": "Delete",
                "Properties": {
                    "LogGroupName": {"Fn::Sub": "API-Gateway-Execution-Logs_${Api}/test"},
                    "RetentionInDays": 30,
                },
            },
        },
    }
    _import_change_set(
        stub,
        expected_import,
        "AWS::Logs::LogGroup",
        "ApiExecutionLogGroup",
        {"LogGroupName": group},
    )
    _execute(stub)
    stub.add_response("describe_stacks", _stack("IMPORT_COMPLETE", full), {"StackName": STACK})
    stub.add_response("describe_stacks", _stack("IMPORT_COMPLETE", full), {"StackName": STACK})
    _full_update(stub, name)
    confirmations: list[str] = []
    progress: list[str] = []
    d = deployer(cfn_client, s3, confirmations, progress=progress, logs=logs)
    with stub:
        d.infrastructure(DeployPlan("update", (), (), ReleasePolicy()))
        stub.assert_no_pending_responses()
    assert confirmations[0] == (
        f"Import these existing resources into {STACK}?\n"
        "  Import  ApiExecutionLogGroup (AWS::Logs::LogGroup)"
    )
    assert f"adopting log group {group} into {STACK} (IMPORT change set)…" in progress


def test_an_update_whose_log_groups_are_new_or_already_the_stacks_imports_nothing(bucket):
    s3, name = bucket
    logs = boto3.client("logs", region_name="us-east-1")
    cfn_client = boto3.client("cloudformation", region_name="us-east-1")
    stub = Stubber(cfn_client)
    full = {"CodeBucketName": name, **TABLES}
    stub.add_response("describe_stacks", _stack("UPDATE_COMPLETE", full), {"StackName": STACK})
    _deployed(stub, FULL_TEMPLATE)  # the group is the stack's already: nothing to look up
    _stack_resources(stub)
    _full_update(stub, name)
    with stub:
        deployer(cfn_client, s3, [], logs=logs).infrastructure(
            DeployPlan("update", (), (), ReleasePolicy())
        )
        stub.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("change", "replacement"),
    [
        (("Modify", "HealthLiveAlias", "AWS::Lambda::Alias"), "False"),
        (("Modify", "HealthBootstrapVersion", "AWS::Lambda::Version"), "True"),
        (("Remove", "HealthLiveAlias", "AWS::Lambda::Alias"), ""),
    ],
)
def test_a_change_set_touching_a_version_or_alias_is_refused_and_deleted(
    bucket, change, replacement
):
    """Found on the second page of the change set's changes: every page is read."""
    s3, name = bucket
    cfn_client = boto3.client("cloudformation", region_name="us-east-1")
    stub = Stubber(cfn_client)
    stub.add_response(
        "describe_stacks",
        _stack("UPDATE_COMPLETE", {"CodeBucketName": name, **TABLES}),
        {"StackName": STACK},
    )
    stub.add_response("create_change_set", {"Id": "cs"}, None)
    first = _change_set(changes=[("Modify", "Api", "AWS::ApiGateway::RestApi")])
    first["NextToken"] = "page-2"
    stub.add_response("describe_change_set", first, {"StackName": STACK, "ChangeSetName": ANY})
    second = _change_set(changes=[change])
    second["Changes"][0]["ResourceChange"]["Replacement"] = replacement or "False"
    stub.add_response(
        "describe_change_set",
        second,
        {"StackName": STACK, "ChangeSetName": ANY, "NextToken": "page-2"},
    )
    stub.add_response("delete_change_set", {}, {"StackName": STACK, "ChangeSetName": ANY})
    confirmations: list[str] = []
    with stub, pytest.raises(RefusedError) as refused:
        deployer(cfn_client, s3, confirmations).infrastructure(
            DeployPlan("update", (), (), ReleasePolicy())
        )
    stub.assert_no_pending_responses()
    assert confirmations == []
    action, logical_id, kind = change
    assert str(refused.value) == (
        "checking the stack changes: the change set would change what the release engine owns "
        f"({action} {logical_id} ({kind})), which would move production traffic; the change set "
        "was deleted (keep each function's BootstrapVersion and LiveAlias exactly as they are in "
        "templates/_functions.yaml.j2 and deploy again; releases move the alias)"
    )
