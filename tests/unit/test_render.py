"""The rendered stack, read back as data: least privilege, the `live` alias, the API model.

Pure and fast: every stage is rendered and parsed; the linters run in
tests/functional/test_validate.py.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from feedbackctl.cli.app import main
from feedbackctl.config import StageConfig, load_config
from feedbackctl.errors import ConfigError
from feedbackctl.functions import FUNCTION_NAMES
from feedbackctl.naming import StackNames
from feedbackctl.templating import (
    ALIAS_NAME,
    DEFAULT_TEMPLATES,
    _context,
    _environment,
    logical_id,
    render_apigateway_account,
    render_bootstrap,
    render_stack,
)
from lambdas.common.validation import feedback_json_schema, validate_feedback
from tests.cfn_yaml import as_list, load, ref_text, resources_of_type

ROOT = Path(__file__).resolve().parents[2]
CONFIG = load_config(ROOT / "feedbackctl.toml")
STAGES = CONFIG.stage_names
KMS_KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def rendered(stage: str) -> dict[str, Any]:
    return load(render_stack(CONFIG.stage(stage)))


def variant(stage: str, **changes: Any) -> StageConfig:
    return dataclasses.replace(CONFIG.stage(stage), **changes)


@pytest.fixture(scope="module", params=STAGES)
def template(request: pytest.FixtureRequest) -> dict[str, Any]:
    return rendered(request.param)


@pytest.fixture(scope="module")
def dev() -> dict[str, Any]:
    return rendered("dev")


# --- rendering -----------------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_renders_to_a_cloudformation_template(stage: str) -> None:
    template = rendered(stage)
    assert template["AWSTemplateFormatVersion"] == "2010-09-09"
    assert len(template["Resources"]) > 90
    assert template["Metadata"]["feedbackctl"]["stage"] == stage


@pytest.mark.parametrize("stage", STAGES)
def test_rendering_is_deterministic(stage: str) -> None:
    assert render_stack(CONFIG.stage(stage)) == render_stack(CONFIG.stage(stage))


def test_rendering_is_fast() -> None:
    render_stack(CONFIG.stage("prod"))  # compiles the templates once
    started = time.perf_counter()
    for _ in range(10):
        render_stack(CONFIG.stage("prod"))
    assert (time.perf_counter() - started) / 10 < 0.2


def test_rendering_imports_no_linter() -> None:
    code = (
        "import sys; from feedbackctl.config import load_config; "
        "from feedbackctl.templating import render_stack; "
        "render_stack(load_config().stage('prod')); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('cfnlint', 'checkov')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_outputs(template: dict[str, Any]) -> None:
    assert set(template["Outputs"]) >= {
        "ApiUrl",
        "SiteUrl",
        "FeedbackTableName",
        "AnalyticsTableName",
        "LedgerTableName",
        "AlarmTopicArn",
        "NotificationsTopicArn",
        "SiteBucketName",
        "CodeBucketName",
    }


@pytest.mark.parametrize("stage", STAGES)
def test_bootstrap_stack_is_the_full_stacks_buckets_verbatim(stage: str) -> None:
    bootstrap = load(render_bootstrap(CONFIG.stage(stage)))
    full = rendered(stage)
    assert set(bootstrap["Resources"]) == {
        "AccessLogsBucket",
        "AccessLogsBucketPolicy",
        "CodeBucket",
        "CodeBucketPolicy",
    }
    for name, resource in bootstrap["Resources"].items():
        assert resource == full["Resources"][name], name
    assert bootstrap["Outputs"]["CodeBucketName"] == full["Outputs"]["CodeBucketName"]
    assert render_bootstrap(CONFIG.stage(stage)) == render_bootstrap(CONFIG.stage(stage))


# --- tables --------------------------------------------------------------------------------


def test_feedback_table(dev: dict[str, Any]) -> None:
    table = dev["Resources"]["FeedbackTable"]
    props = table["Properties"]
    assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert props["TableName"] == "feedback-dev-feedback"
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [{"AttributeName": "feedbackId", "KeyType": "HASH"}]
    assert props["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True
    index, by_rating, by_sentiment, by_both, by_email = props["GlobalSecondaryIndexes"]
    assert by_email == {  # the keyed hash only: an address never reaches an index
        "IndexName": "emailHash-index",
        "KeySchema": [{"AttributeName": "emailHash", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "KEYS_ONLY"},
    }
    assert index["IndexName"] == "createdAt-index"
    assert index["KeySchema"] == [
        {"AttributeName": "status", "KeyType": "HASH"},
        {"AttributeName": "createdAt", "KeyType": "RANGE"},
    ]
    assert index["Projection"] == {
        "ProjectionType": "INCLUDE",
        "NonKeyAttributes": ["name", "rating", "message", "sentiment"],
    }
    # The Browse filters: newest first within one rating, one sentiment or one pair of both
    # ("1#negative"), never the email.
    for filtered, key in (
        (by_rating, "rating"),
        (by_sentiment, "sentiment"),
        (by_both, "ratingSentiment"),
    ):
        assert filtered["IndexName"] == f"{key}-index"
        assert filtered["KeySchema"] == [
            {"AttributeName": key, "KeyType": "HASH"},
            {"AttributeName": "createdAt", "KeyType": "RANGE"},
        ]
        projected = filtered["Projection"]["NonKeyAttributes"]
        assert set(projected) == {"name", "rating", "message", "sentiment", "status"} - {key}
    defined = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
    assert defined["ratingSentiment"] == "S"


def test_analytics_and_ledger_tables(dev: dict[str, Any]) -> None:
    analytics = dev["Resources"]["AnalyticsTable"]["Properties"]
    ledger = dev["Resources"]["LedgerTable"]["Properties"]
    assert analytics["KeySchema"] == [{"AttributeName": "aggregateId", "KeyType": "HASH"}]
    assert analytics["TimeToLiveSpecification"]["AttributeName"] == "expiresAt"
    assert ledger["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert "TimeToLiveSpecification" not in ledger
    for props in (analytics, ledger):
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert props["SSESpecification"]["SSEEnabled"] is True


def test_production_tables_are_protected_from_deletion() -> None:
    for stage, protected in (("prod", True), ("dev", False)):
        tables = resources_of_type(rendered(stage), "AWS::DynamoDB::Table")
        assert {t["Properties"]["DeletionProtectionEnabled"] for t in tables.values()} == {
            protected
        }


# --- functions -----------------------------------------------------------------------------


def test_every_function_runs_the_bootstrap_code(template: dict[str, Any]) -> None:
    bootstrap = (DEFAULT_TEMPLATES / "bootstrap_handler.py").read_text(encoding="utf-8")
    functions = resources_of_type(template, "AWS::Lambda::Function")
    assert len(functions) == len(FUNCTION_NAMES)
    for function in functions.values():
        props = function["Properties"]
        assert props["Runtime"] == "python3.12"
        assert props["Handler"] == "index.lambda_handler"
        assert props["Code"]["ZipFile"] == bootstrap
        assert props["TracingConfig"] == {"Mode": "Active"}


@pytest.mark.parametrize("stage", STAGES)
def test_memory_timeout_and_names_follow_the_config(stage: str) -> None:
    config = CONFIG.stage(stage)
    resources = rendered(stage)["Resources"]
    for seed in FUNCTION_NAMES:
        props = resources[f"{logical_id(seed)}Function"]["Properties"]
        assert props["FunctionName"] == f"{config.stack_name}-{seed}"
        assert props["MemorySize"] == config.function(seed).memory
        assert props["Timeout"] == config.function(seed).timeout
        log_group = resources[f"{logical_id(seed)}LogGroup"]["Properties"]
        assert log_group["LogGroupName"] == f"/aws/lambda/{config.stack_name}-{seed}"
        assert log_group["RetentionInDays"] == config.log_retention_days


def test_environment_variables(dev: dict[str, Any]) -> None:
    resources = dev["Resources"]
    api_keys = {
        "FEEDBACK_TABLE_NAME",
        "ANALYTICS_TABLE_NAME",
        "LOG_LEVEL",
        "RETENTION_DAYS",
        "ALLOWED_ORIGINS",
        "STAGE",
    }
    for seed in ("create-feedback", "list-feedback", "get-analytics", "health"):
        env = resources[f"{logical_id(seed)}Function"]["Properties"]["Environment"]["Variables"]
        assert api_keys <= set(env)
        assert env["FEEDBACK_TABLE_NAME"] == {"Ref": "FeedbackTable"}
        assert env["RETENTION_DAYS"] == "90"
        site, *configured = env["ALLOWED_ORIGINS"]["Fn::Join"][1]
        assert site == {"Fn::Sub": "https://${SiteDistribution.DomainName}"}
        assert configured == ["http://localhost:5173"]
    orchestrator = resources["RollbackOrchestratorFunction"]["Properties"]
    env = orchestrator["Environment"]["Variables"]
    assert {"LEDGER_TABLE_NAME", "NOTIFICATIONS_TOPIC_ARN", "STACK_NAME", "STAGE", "LOG_LEVEL"} <= (
        set(env)
    )
    assert env["STACK_NAME"] == "feedback-dev"
    # The orchestrator judges blame with the stage's verdict rules (the dev stage's defaults).
    assert {k: v for k, v in env.items() if k.startswith("VERDICT_")} == {
        "VERDICT_MIN_INVOCATIONS": "20",
        "VERDICT_MAX_ERROR_RATE_INCREASE": "0.05",
        "VERDICT_MAX_P99_RATIO": "2.0",
        "VERDICT_P99_FLOOR_MS": "100",
        "VERDICT_P99_MIN_INVOCATIONS": "200",
    }


# --- least privilege -----------------------------------------------------------------------

LOGS = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/"
FUNCTION_ARN = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:"


def expected_grants(stack: str, seed: str) -> set[tuple[str, str]]:
    """(action, resource) pairs each role must allow: the calls its handler makes, no more."""
    own = {
        ("logs:CreateLogStream", f"{LOGS}{stack}-{seed}:*"),
        ("logs:PutLogEvents", f"{LOGS}{stack}-{seed}:*"),
        ("xray:PutTraceSegments", "*"),
        ("xray:PutTelemetryRecords", "*"),
    }
    feedback, analytics, ledger = (
        "${FeedbackTable.Arn}",
        "${AnalyticsTable.Arn}",
        "${LedgerTable.Arn}",
    )
    functions = [
        f"{FUNCTION_ARN}{stack}-{s}{suffix}" for s in FUNCTION_NAMES for suffix in ("", ":*")
    ]
    grants = {
        "create-feedback": {
            ("dynamodb:PutItem", feedback),
            ("secretsmanager:GetSecretValue", "${EmailHashKey}"),
        },
        "list-feedback": {
            ("dynamodb:Query", f"{feedback}/index/{index}-index")
            for index in ("createdAt", "rating", "sentiment", "ratingSentiment")
        },
        "get-analytics": {("dynamodb:GetItem", analytics)},
        "health": {("dynamodb:BatchGetItem", feedback), ("dynamodb:BatchGetItem", analytics)},
        "stream-aggregator": {
            ("dynamodb:BatchGetItem", analytics),
            ("dynamodb:PutItem", analytics),
            ("dynamodb:UpdateItem", analytics),
            ("dynamodb:DescribeStream", "${FeedbackTable.StreamArn}"),
            ("dynamodb:GetRecords", "${FeedbackTable.StreamArn}"),
            ("dynamodb:GetShardIterator", "${FeedbackTable.StreamArn}"),
            ("dynamodb:ListStreams", f"{feedback}/stream/*"),
            ("sqs:SendMessage", "${StreamFailureQueue.Arn}"),
        },
        "rollback-orchestrator": {
            *(
                (action, arn)
                for action in (
                    "lambda:GetAlias",
                    "lambda:UpdateAlias",
                    "lambda:ListVersionsByFunction",
                    "lambda:GetFunctionConfiguration",
                    "lambda:InvokeFunction",
                )
                for arn in functions
            ),
            *((action, ledger) for action in ("dynamodb:GetItem", "dynamodb:PutItem")),
            *((action, ledger) for action in ("dynamodb:UpdateItem", "dynamodb:Query")),
            ("sns:Publish", "${NotificationsTopic}"),
            # Per-version evidence; GetMetricData has no resource-level permissions.
            ("cloudwatch:GetMetricData", "*"),
            ("sqs:SendMessage", "${OrchestratorDeadLetterQueue.Arn}"),
        },
    }
    return own | grants[seed]


def granted(role: dict[str, Any]) -> set[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for policy in role["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            assert not {"NotAction", "NotResource", "Condition"} & set(statement)
            for action in as_list(statement["Action"]):
                for resource in as_list(statement["Resource"]):
                    pairs.add((action, ref_text(resource)))
    return pairs


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("seed", FUNCTION_NAMES)
def test_each_role_allows_exactly_what_its_function_calls(stage: str, seed: str) -> None:
    role = rendered(stage)["Resources"][f"{logical_id(seed)}Role"]
    assert granted(role) == expected_grants(CONFIG.stage(stage).stack_name, seed)


def test_each_role_is_assumable_by_lambda_only_and_has_no_managed_policy(
    template: dict[str, Any],
) -> None:
    for seed in FUNCTION_NAMES:
        role = template["Resources"][f"{logical_id(seed)}Role"]["Properties"]
        assert "ManagedPolicyArns" not in role
        (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
        assert statement["Action"] == "sts:AssumeRole"


def test_star_resources_only_where_aws_requires_them(template: dict[str, Any]) -> None:
    for name, role in resources_of_type(template, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):  # AWS Backup's: a managed one
            for statement in policy["PolicyDocument"]["Statement"]:
                if "*" in as_list(statement["Resource"]):
                    # X-Ray's write calls and CloudWatch's GetMetricData have no resource-level
                    # permissions.
                    assert set(as_list(statement["Action"])) <= {
                        "xray:PutTraceSegments",
                        "xray:PutTelemetryRecords",
                        "cloudwatch:GetMetricData",
                    }, name


def test_a_stage_key_adds_use_of_that_key_only() -> None:
    stage = variant("dev", kms_key_arn=KMS_KEY)
    resources = load(render_stack(stage))["Resources"]
    for seed in FUNCTION_NAMES:
        extra = granted(resources[f"{logical_id(seed)}Role"]) - expected_grants(
            stage.stack_name, seed
        )
        assert extra == {("kms:Decrypt", KMS_KEY), ("kms:GenerateDataKey", KMS_KEY)}
        assert resources[f"{logical_id(seed)}Function"]["Properties"]["KmsKeyArn"] == KMS_KEY
        assert resources[f"{logical_id(seed)}LogGroup"]["Properties"]["KmsKeyId"] == KMS_KEY
    assert resources["FeedbackTable"]["Properties"]["SSESpecification"] == {
        "SSEEnabled": True,
        "SSEType": "KMS",
        "KMSMasterKeyId": KMS_KEY,
    }
    assert resources["AlarmTopic"]["Properties"]["KmsMasterKeyId"] == KMS_KEY
    assert resources["StreamFailureQueue"]["Properties"]["KmsMasterKeyId"] == KMS_KEY


# --- the live alias --------------------------------------------------------------------------


def live_aliases(template: dict[str, Any]) -> set[str]:
    aliases = resources_of_type(template, "AWS::Lambda::Alias")
    assert len(aliases) == len(FUNCTION_NAMES)
    assert {a["Properties"]["Name"] for a in aliases.values()} == {ALIAS_NAME}
    return set(aliases)


def test_every_api_method_invokes_a_live_alias(template: dict[str, Any]) -> None:
    aliases = live_aliases(template)
    proxied = 0
    for method in resources_of_type(template, "AWS::ApiGateway::Method").values():
        integration = method["Properties"]["Integration"]
        if integration["Type"] == "MOCK":
            assert method["Properties"]["HttpMethod"] == "OPTIONS"
            continue
        assert integration["Type"] == "AWS_PROXY"
        uri = integration["Uri"]["Fn::Sub"]
        target = uri.split("/functions/${", 1)[1].split("}", 1)[0]
        assert target in aliases
        assert uri.endswith("}/invocations")
        proxied += 1
    assert proxied == 4


def test_stream_mapping_targets_the_aggregators_live_alias(template: dict[str, Any]) -> None:
    live_aliases(template)
    (mapping,) = resources_of_type(template, "AWS::Lambda::EventSourceMapping").values()
    props = mapping["Properties"]
    assert props["FunctionName"] == {"Ref": "StreamAggregatorLiveAlias"}
    assert props["EventSourceArn"] == {"Fn::GetAtt": ["FeedbackTable", "StreamArn"]}
    assert props["BatchSize"] == 100
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BisectBatchOnFunctionError"] is True
    assert props["ParallelizationFactor"] == 1
    assert props["StartingPosition"] == "TRIM_HORIZON"
    assert props["DestinationConfig"] == {
        "OnFailure": {"Destination": {"Fn::GetAtt": ["StreamFailureQueue", "Arn"]}}
    }


@pytest.mark.parametrize("stage", STAGES)
def test_stream_mapping_bounds_follow_the_config(stage: str) -> None:
    config = CONFIG.stage(stage).stream
    mapping = rendered(stage)["Resources"]["StreamAggregatorMapping"]["Properties"]
    assert mapping["MaximumRetryAttempts"] == config.max_retry_attempts
    assert mapping["MaximumRecordAgeInSeconds"] == config.max_record_age_seconds
    assert mapping["MaximumBatchingWindowInSeconds"] == config.batching_window_seconds


def test_alarm_subscription_targets_the_orchestrators_live_alias(template: dict[str, Any]) -> None:
    subscriptions = resources_of_type(template, "AWS::SNS::Subscription")
    lambdas = [s for s in subscriptions.values() if s["Properties"]["Protocol"] == "lambda"]
    assert [s["Properties"]["Endpoint"] for s in lambdas] == [
        {"Ref": "RollbackOrchestratorLiveAlias"}
    ]
    assert lambdas[0]["Properties"]["TopicArn"] == {"Ref": "AlarmTopic"}


def test_every_invoke_permission_is_on_a_live_alias(template: dict[str, Any]) -> None:
    aliases = live_aliases(template)
    permissions = resources_of_type(template, "AWS::Lambda::Permission")
    assert len(permissions) == 5  # four API routes and the alarm topic
    for permission in permissions.values():
        props = permission["Properties"]
        assert props["Action"] == "lambda:InvokeFunction"
        assert props["FunctionName"]["Ref"] in aliases


def test_api_permissions_are_scoped_to_their_method_and_path(dev: dict[str, Any]) -> None:
    sources = {
        name: ref_text(p["Properties"]["SourceArn"])
        for name, p in resources_of_type(dev, "AWS::Lambda::Permission").items()
        if p["Properties"]["Principal"] == "apigateway.amazonaws.com"
    }
    prefix = "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/dev/"
    assert sources == {
        "CreateFeedbackApiPermission": prefix + "POST/feedback",
        "ListFeedbackApiPermission": prefix + "GET/feedback",
        "GetAnalyticsApiPermission": prefix + "GET/analytics",
        "HealthApiPermission": prefix + "GET/health",
    }


def test_nothing_invokes_latest_or_a_bare_version(template: dict[str, Any]) -> None:
    text = json.dumps(template)
    assert "$LATEST" not in text
    targets = [
        m["Properties"]["FunctionName"]
        for m in resources_of_type(template, "AWS::Lambda::EventSourceMapping").values()
    ] + [
        p["Properties"]["FunctionName"]
        for p in resources_of_type(template, "AWS::Lambda::Permission").values()
    ]
    assert all(t["Ref"].endswith("LiveAlias") for t in targets)


def alias_and_version(template: dict[str, Any]) -> dict[str, Any]:
    kinds = ("AWS::Lambda::Alias", "AWS::Lambda::Version")
    return {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] in kinds
    }


def test_aliases_are_created_once_on_the_bootstrap_version(dev: dict[str, Any]) -> None:
    for seed in FUNCTION_NAMES:
        prefix = logical_id(seed)
        alias = dev["Resources"][f"{prefix}LiveAlias"]["Properties"]
        assert alias["FunctionVersion"] == {"Fn::GetAtt": [f"{prefix}BootstrapVersion", "Version"]}
        assert "RoutingConfig" not in alias
        version = dev["Resources"][f"{prefix}BootstrapVersion"]["Properties"]
        assert version == {"FunctionName": {"Ref": f"{prefix}Function"}, "Description": "bootstrap"}


def test_alias_properties_do_not_change_with_code_or_settings(tmp_path: Path) -> None:
    """Changing the function code, sizes or environment never touches a version or an alias."""
    templates = tmp_path / "templates"
    shutil.copytree(DEFAULT_TEMPLATES, templates)
    bootstrap = templates / "bootstrap_handler.py"
    bootstrap.write_text(bootstrap.read_text() + "\n# another build\n", encoding="utf-8")
    changed = variant(
        "dev",
        log_level="ERROR",
        feedback_retention_days=7,
        functions={
            seed: dataclasses.replace(settings, memory=1024, timeout=20)
            for seed, settings in CONFIG.stage("dev").functions.items()
        },
    )
    first = load(render_stack(CONFIG.stage("dev")))
    second = load(render_stack(changed, templates=templates))
    assert first["Resources"]["HealthFunction"] != second["Resources"]["HealthFunction"]
    assert alias_and_version(first) == alias_and_version(second)


# --- the API ---------------------------------------------------------------------------------


def test_post_feedback_model_is_the_shared_schema(template: dict[str, Any]) -> None:
    model = template["Resources"]["FeedbackSubmissionModel"]["Properties"]
    assert model["ContentType"] == "application/json"
    assert model["Schema"] == feedback_json_schema()
    post = template["Resources"]["FeedbackPostMethod"]["Properties"]
    assert post["RequestModels"] == {"application/json": {"Ref": "FeedbackSubmissionModel"}}
    validator = template["Resources"][post["RequestValidatorId"]["Ref"]]["Properties"]
    assert validator["ValidateRequestBody"] is True


@pytest.mark.parametrize("stage", STAGES)
def test_stage_throttling_tracing_and_access_logs(stage: str) -> None:
    config = CONFIG.stage(stage)
    resources = rendered(stage)["Resources"]
    props = resources["ApiStage"]["Properties"]
    assert props["StageName"] == stage
    assert props["TracingEnabled"] is True
    (settings,) = props["MethodSettings"]
    assert settings["ThrottlingBurstLimit"] == config.throttling.burst_limit
    assert settings["ThrottlingRateLimit"] == config.throttling.rate_limit
    assert settings["MetricsEnabled"] is True
    access = props["AccessLogSetting"]
    assert "${ApiAccessLogGroup}" in ref_text(access["DestinationArn"])
    assert json.loads(access["Format"])["requestId"] == "$context.requestId"
    plan = resources["ApiUsagePlan"]["Properties"]
    assert plan["Throttle"] == {
        "BurstLimit": config.usage_plan.burst_limit,
        "RateLimit": config.usage_plan.rate_limit,
    }
    assert plan["Quota"] == {"Limit": config.usage_plan.quota_per_day, "Period": "DAY"}
    key = resources["ApiUsagePlanKey"]["Properties"]
    assert (key["KeyId"], key["UsagePlanId"]) == ({"Ref": "ApiKey"}, {"Ref": "ApiUsagePlan"})


def test_cors_preflight_on_every_resource(dev: dict[str, Any]) -> None:
    methods = resources_of_type(dev, "AWS::ApiGateway::Method")
    options = {
        name: m["Properties"]
        for name, m in methods.items()
        if m["Properties"]["HttpMethod"] == "OPTIONS"
    }
    assert set(options) == {
        "FeedbackOptionsMethod",
        "AnalyticsOptionsMethod",
        "HealthOptionsMethod",
    }
    feedback = options["FeedbackOptionsMethod"]["Integration"]["IntegrationResponses"][0]
    headers = feedback["ResponseParameters"]
    assert headers["method.response.header.Access-Control-Allow-Headers"] == (
        "'Content-Type,Idempotency-Key,X-Api-Key'"
    )
    assert headers["method.response.header.Access-Control-Allow-Methods"] == "'POST,GET,OPTIONS'"
    echo = feedback["ResponseTemplates"]["application/json"]["Fn::Sub"]
    assert '"$!origin" == "http://localhost:5173"' in echo
    assert '"$!origin" == "https://${SiteDistribution.DomainName}"' in echo


def test_api_key_is_required_only_when_the_stage_says_so() -> None:
    def required(template: dict[str, Any]) -> dict[str, bool]:
        return {
            name: m["Properties"]["ApiKeyRequired"]
            for name, m in resources_of_type(template, "AWS::ApiGateway::Method").items()
            if m["Properties"]["HttpMethod"] != "OPTIONS"
        }

    assert set(required(rendered("dev")).values()) == {False}
    keyed = required(load(render_stack(variant("dev", api_key_required=True))))
    assert keyed == {
        "FeedbackPostMethod": True,
        "FeedbackGetMethod": True,
        "AnalyticsGetMethod": True,
        "HealthGetMethod": False,
    }


def deployment(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    ((name, resource),) = resources_of_type(template, "AWS::ApiGateway::Deployment").items()
    return name, resource


API_DEFINITION_TYPES = {
    "AWS::ApiGateway::Method",
    "AWS::ApiGateway::Resource",
    "AWS::ApiGateway::Model",
    "AWS::ApiGateway::RequestValidator",
    "AWS::ApiGateway::GatewayResponse",
}


@pytest.mark.parametrize("stage", STAGES)
def test_the_deployment_waits_for_every_part_of_the_api_definition(stage: str) -> None:
    """A deployment snapshots the API when it is created: a gateway response, model or validator
    updated after that would not be in it."""
    template = rendered(stage)
    _, resource = deployment(template)
    members = {name for kind in API_DEFINITION_TYPES for name in resources_of_type(template, kind)}
    assert len(members) == 15  # 7 methods, 3 resources, model, validator, 3 responses
    assert set(resource["DependsOn"]) == members
    assert {"Default4XxGatewayResponse", "BadRequestBodyGatewayResponse"} <= members


def test_a_changed_gateway_response_gets_a_new_deployment(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(DEFAULT_TEMPLATES, templates)
    api = templates / "_api.yaml.j2"
    api.write_text(api.read_text().replace('"the feedback is invalid"', '"invalid feedback"'))
    name, _ = deployment(rendered("dev"))
    changed, _ = deployment(load(render_stack(CONFIG.stage("dev"), templates=templates)))
    assert changed != name


def test_a_changed_api_definition_gets_a_new_deployment() -> None:
    name, _ = deployment(rendered("dev"))
    assert rendered("dev")["Resources"]["ApiStage"]["Properties"]["DeploymentId"] == {"Ref": name}
    # Settings outside the API definition keep the deployment; a route change replaces it.
    same, _ = deployment(load(render_stack(variant("dev", log_level="ERROR"))))
    other, _ = deployment(load(render_stack(variant("dev", api_key_required=True))))
    assert same == name
    assert other != name


# --- log groups and the account setting -----------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_every_log_group_has_the_stages_retention(stage: str) -> None:
    groups = resources_of_type(rendered(stage), "AWS::Logs::LogGroup")
    assert len(groups) == 8  # six functions, the API's access log, its execution log
    for name, group in groups.items():
        assert group["Properties"]["RetentionInDays"] == CONFIG.stage(stage).log_retention_days, (
            name
        )


@pytest.mark.parametrize("stage", STAGES)
def test_the_stack_owns_api_gateways_execution_log_group(stage: str) -> None:
    """API Gateway creates `API-Gateway-Execution-Logs_<api id>/<stage>` itself when it is
    missing (no retention, outside the stack); declared before the stage, the stack owns it."""
    resources = rendered(stage)["Resources"]
    group = resources["ApiExecutionLogGroup"]
    assert group["Properties"]["LogGroupName"] == {
        "Fn::Sub": f"API-Gateway-Execution-Logs_${{Api}}/{stage}"
    }
    assert resources["ApiStage"]["DependsOn"] == "ApiExecutionLogGroup"


@pytest.mark.parametrize("stage", STAGES)
def test_every_log_group_is_deleted_with_the_stack_and_importable(stage: str) -> None:
    """An IMPORT change set refuses a resource without DeletionPolicy; Delete (the default made
    explicit) keeps `destroy` removing the group."""
    groups = resources_of_type(rendered(stage), "AWS::Logs::LogGroup")
    assert len(groups) == 8
    for group in groups.values():
        assert group["DeletionPolicy"] == "Delete"
        assert group["UpdateReplacePolicy"] == "Delete"


@pytest.mark.parametrize("stage", STAGES)
def test_no_stage_stack_claims_the_accounts_api_gateway_setting(stage: str) -> None:
    for manage in (True, False):
        template = load(render_stack(variant(stage, manage_api_gateway_account=manage)))
        assert resources_of_type(template, "AWS::ApiGateway::Account") == {}
        services = {
            name: role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
            for name, role in resources_of_type(template, "AWS::IAM::Role").items()
        }
        others = {"LogArchiveDeliveryRole", "LogArchiveSubscriptionRole", "BackupRole"}
        assert {services.pop(n)["Service"] for n in others} == {
            "firehose.amazonaws.com",
            "logs.amazonaws.com",
            "backup.amazonaws.com",
        }
        assert all(s == {"Service": "lambda.amazonaws.com"} for s in services.values())


def test_the_account_stack_holds_only_the_logging_role_in_awss_documented_form() -> None:
    text = render_apigateway_account()
    assert text == render_apigateway_account()  # no stage, no region: the same bytes everywhere
    template = load(text)
    assert set(template["Resources"]) == {"ApiGatewayCloudWatchRole"}
    role = template["Resources"]["ApiGatewayCloudWatchRole"]
    assert role["Type"] == "AWS::IAM::Role"
    props = role["Properties"]
    assert props["RoleName"] == {"Fn::Sub": "feedbackctl-apigateway-cloudwatch-${AWS::Region}"}
    # https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html
    assert props["AssumeRolePolicyDocument"] == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "apigateway.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    assert props["ManagedPolicyArns"] == [
        {
            "Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs"
        }
    ]
    assert "Policies" not in props
    assert template["Outputs"]["RoleArn"]["Value"] == {
        "Fn::GetAtt": ["ApiGatewayCloudWatchRole", "Arn"]
    }


def test_the_orchestrator_keeps_alarms_its_bootstrap_code_fails_on(dev: dict[str, Any]) -> None:
    """The bootstrap code fails SNS events; Lambda retries an asynchronous invocation and then
    sends it to the function's dead-letter queue, which the role may write to."""
    props = dev["Resources"]["RollbackOrchestratorFunction"]["Properties"]
    assert props["DeadLetterConfig"] == {
        "TargetArn": {"Fn::GetAtt": ["OrchestratorDeadLetterQueue", "Arn"]}
    }
    role = dev["Resources"]["RollbackOrchestratorRole"]["Properties"]["Policies"][0]
    sends = [
        s for s in role["PolicyDocument"]["Statement"] if "sqs:SendMessage" in as_list(s["Action"])
    ]
    assert [s["Resource"] for s in sends] == [
        {"Fn::GetAtt": ["OrchestratorDeadLetterQueue", "Arn"]}
    ]
    subscription = dev["Resources"]["OrchestratorAlarmSubscription"]["Properties"]
    assert subscription["Endpoint"] == {"Ref": "RollbackOrchestratorLiveAlias"}
    assert (
        dev["Resources"]["OrchestratorDeadLetterQueue"]["Properties"]["MessageRetentionPeriod"]
        == 1209600
    )


# --- the site --------------------------------------------------------------------------------


def test_buckets_are_private_versioned_encrypted_and_kept(dev: dict[str, Any]) -> None:
    buckets = resources_of_type(dev, "AWS::S3::Bucket")
    assert set(buckets) == {"SiteBucket", "CodeBucket", "AccessLogsBucket", "LogArchiveBucket"}
    for bucket in buckets.values():
        props = bucket["Properties"]
        assert bucket["DeletionPolicy"] == "Retain"
        assert set(props["PublicAccessBlockConfiguration"].values()) == {True}
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]


def test_distribution_serves_the_spa_over_https_through_oac(dev: dict[str, Any]) -> None:
    config = dev["Resources"]["SiteDistribution"]["Properties"]["DistributionConfig"]
    (origin,) = config["Origins"]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["SiteOriginAccessControl", "Id"]}
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert config["DefaultCacheBehavior"]["ResponseHeadersPolicyId"] == {
        "Ref": "SiteSecurityHeaders"
    }
    fallbacks = {
        e["ErrorCode"]: (e["ResponseCode"], e["ResponsePagePath"])
        for e in config["CustomErrorResponses"]
    }
    assert fallbacks == {403: (200, "/index.html"), 404: (200, "/index.html")}
    policy = dev["Resources"]["SiteBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert policy[0]["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert "${SiteDistribution}" in ref_text(
        policy[0]["Condition"]["StringEquals"]["AWS:SourceArn"]
    )


# --- observability ---------------------------------------------------------------------------


ERROR_PATTERN = '{ $.level = "ERROR" }'


@pytest.mark.parametrize("stage", STAGES)
def test_logged_errors_are_one_metric_carrying_function_and_version(stage: str) -> None:
    config = CONFIG.stage(stage)
    resources = rendered(stage)["Resources"]
    for seed in FUNCTION_NAMES:
        prefix = logical_id(seed)
        transforms = {}
        for name in ("ErrorMetricFilter", "VersionErrorMetricFilter"):
            metric_filter = resources[f"{prefix}{name}"]["Properties"]
            assert metric_filter["FilterPattern"] == ERROR_PATTERN
            assert metric_filter["LogGroupName"] == {"Ref": f"{prefix}LogGroup"}
            (transform,) = metric_filter["MetricTransformations"]
            assert (transform["MetricNamespace"], transform["MetricName"]) == (
                f"Feedbackctl/{config.stack_name}",
                "LoggedErrors",
            )
            # CloudWatch Logs takes no default value on a filter with dimensions.
            assert "DefaultValue" not in transform
            transforms[name] = {d["Key"]: d["Value"] for d in transform["Dimensions"]}
        # The keys our JSON log lines carry (lambdas/common/log.py, runtime.py).
        assert transforms == {
            "ErrorMetricFilter": {"Function": "$.service"},
            "VersionErrorMetricFilter": {
                "Function": "$.service",
                "ExecutedVersion": "$.function_version",
            },
        }


@pytest.mark.parametrize("stage", STAGES)
def test_two_rollback_alarms_per_function_name_it_by_their_dimensions(stage: str) -> None:
    config = CONFIG.stage(stage)
    resources = rendered(stage)["Resources"]
    names = StackNames(config.stack_name)
    for seed in FUNCTION_NAMES:
        prefix = logical_id(seed)
        logged = resources[f"{prefix}ErrorAlarm"]["Properties"]
        runtime = resources[f"{prefix}LambdaErrorAlarm"]["Properties"]
        assert [logged["AlarmName"], runtime["AlarmName"]] == names.rollback_alarms(seed)
        assert (logged["Namespace"], logged["MetricName"], logged["Dimensions"]) == (
            f"Feedbackctl/{config.stack_name}",
            "LoggedErrors",
            [{"Name": "Function", "Value": seed}],
        )
        physical = names.function(seed)
        assert (runtime["Namespace"], runtime["MetricName"], runtime["Dimensions"]) == (
            "AWS/Lambda",
            "Errors",
            [
                {"Name": "FunctionName", "Value": physical},
                {"Name": "Resource", "Value": f"{physical}:{ALIAS_NAME}"},
            ],
        )
        for alarm in (logged, runtime):
            assert alarm["Statistic"] == "Sum"
            assert alarm["Threshold"] == config.error_threshold(seed)
            assert alarm["Period"] == config.alarms.period_seconds
            assert alarm["EvaluationPeriods"] == config.alarms.evaluation_periods
            assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
            assert alarm["TreatMissingData"] == "notBreaching"
            assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
            assert alarm["OKActions"] == [{"Ref": "NotificationsTopic"}]
        throttle = resources[f"{prefix}ThrottleAlarm"]["Properties"]
        assert throttle["MetricName"] == "Throttles"
        assert throttle["AlarmActions"] == [{"Ref": "NotificationsTopic"}]


@pytest.mark.parametrize("stage", STAGES)
def test_only_the_two_error_alarms_of_each_function_can_trigger_a_rollback(stage: str) -> None:
    to_orchestrator = sorted(
        alarm["Properties"]["AlarmName"]
        for alarm in resources_of_type(rendered(stage), "AWS::CloudWatch::Alarm").values()
        if {"Ref": "AlarmTopic"} in alarm["Properties"].get("AlarmActions", [])
    )
    names = StackNames(CONFIG.stage(stage).stack_name)
    assert to_orchestrator == sorted(n for s in FUNCTION_NAMES for n in names.rollback_alarms(s))


@pytest.mark.parametrize("stage", STAGES)
def test_orchestrator_verdict_rules_follow_the_release_settings(stage: str) -> None:
    """The environment the orchestrator's function renders from `[stages.S.release]`."""
    config = CONFIG.stage(stage)
    module = (
        _environment(DEFAULT_TEMPLATES.resolve())
        .get_template("_orchestrator.yaml.j2")
        .make_module(_context(config, DEFAULT_TEMPLATES.resolve()))
    )
    variables = load("Variables:\n" + str(module.verdict_environment(indent=2)))["Variables"]
    release = config.release
    assert variables == {
        "VERDICT_MIN_INVOCATIONS": str(release.min_invocations),
        "VERDICT_MAX_ERROR_RATE_INCREASE": str(release.max_error_rate_increase),
        "VERDICT_MAX_P99_RATIO": str(release.max_p99_ratio),
        "VERDICT_P99_FLOOR_MS": str(release.p99_floor_ms),
        "VERDICT_P99_MIN_INVOCATIONS": str(release.p99_min_invocations),
    }


def test_api_alarms(dev: dict[str, Any]) -> None:
    config = CONFIG.stage("dev")
    errors = dev["Resources"]["Api5xxAlarm"]["Properties"]
    latency = dev["Resources"]["ApiLatencyAlarm"]["Properties"]
    assert (errors["MetricName"], errors["Threshold"]) == ("5XXError", config.alarms.api_5xx_errors)
    assert (latency["ExtendedStatistic"], latency["Threshold"]) == (
        "p99",
        config.alarms.api_latency_p99_ms,
    )


def test_dashboard_body_is_json(template: dict[str, Any]) -> None:
    body = json.loads(template["Resources"]["Dashboard"]["Properties"]["DashboardBody"])
    assert len(body["widgets"]) == 2 + len(FUNCTION_NAMES) + 2


def test_dashboard_shows_each_functions_logged_errors_metric(dev: dict[str, Any]) -> None:
    body = json.loads(dev["Resources"]["Dashboard"]["Properties"]["DashboardBody"])
    for seed in FUNCTION_NAMES:
        (widget,) = [w for w in body["widgets"] if w["properties"]["title"].startswith(seed + ":")]
        assert ["Feedbackctl/feedback-dev", "LoggedErrors", "Function", seed] in widget[
            "properties"
        ]["metrics"]


def test_alarm_email_subscribes_to_notifications() -> None:
    plain = resources_of_type(rendered("dev"), "AWS::SNS::Subscription")
    assert [s["Properties"]["Protocol"] for s in plain.values()] == ["lambda"]
    emailed = load(render_stack(variant("dev", alarm_email="oncall@example.com")))
    subscription = emailed["Resources"]["NotificationsEmailSubscription"]["Properties"]
    assert subscription["Endpoint"] == "oncall@example.com"
    assert subscription["TopicArn"] == {"Ref": "NotificationsTopic"}


# --- checkov skips are in the template, each with its reason ---------------------------------


def skips(template: dict[str, Any]) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for name, resource in template["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            found.setdefault(name, {})[skip["id"]] = skip["comment"]
    return found


def test_every_skip_has_a_one_line_reason(template: dict[str, Any]) -> None:
    for resource, checks in skips(template).items():
        for check, reason in checks.items():
            assert len(reason) > 30, (resource, check)
            assert "\n" not in reason, (resource, check)


def test_a_stage_key_removes_the_encryption_skips() -> None:
    encryption_checks = {"CKV_AWS_119", "CKV_AWS_158", "CKV_AWS_173", "CKV_AWS_26", "CKV_AWS_27"}
    plain = {c for checks in skips(rendered("dev")).values() for c in checks}
    keyed = load(render_stack(variant("dev", kms_key_arn=KMS_KEY)))
    with_key = {c for checks in skips(keyed).values() for c in checks}
    assert encryption_checks <= plain
    assert not encryption_checks & with_key


# --- the POST /feedback model accepts and rejects what the handler does ----------------------

VALID = {"name": "Ada", "email": "ada@example.com", "rating": 5, "message": "Great"}


def body(**changes: Any) -> dict[str, Any]:
    result = {**VALID, **changes}
    return {k: v for k, v in result.items() if v is not _DROP}


_DROP = object()

CASES: list[tuple[str, Any, bool]] = [
    ("minimal valid", body(), True),
    ("rating 1", body(rating=1), True),
    ("rating 0", body(rating=0), False),
    ("rating 6", body(rating=6), False),
    ("rating as string", body(rating="5"), False),
    ("rating true", body(rating=True), False),
    ("rating 4.5", body(rating=4.5), False),
    ("rating 5.0", body(rating=5.0), False),
    ("rating null", body(rating=None), False),
    ("missing name", body(name=_DROP), False),
    ("missing email", body(email=_DROP), False),
    ("missing rating", body(rating=_DROP), False),
    ("missing message", body(message=_DROP), False),
    ("unknown field", body(extra="x"), False),
    ("empty object", {}, False),
    ("array body", [VALID], False),
    ("string body", "hello", False),
    ("null body", None, False),
    ("number body", 5, False),
    ("name empty", body(name=""), False),
    ("name only spaces", body(name="   "), False),
    ("name padded", body(name="  Ada  "), True),
    ("name 100 chars", body(name="a" * 100), True),
    ("name 101 chars", body(name="a" * 101), False),
    ("name with a tab", body(name="A\tda"), False),
    ("name with an inner newline", body(name="A\nda"), False),
    ("name with CRLF at the end", body(name="Ada\r\n"), False),
    ("name with C1 control", body(name="A\u0085da"), False),
    ("name with DEL", body(name="A\u007fda"), False),
    ("name unicode", body(name="Zoë 🎉"), True),
    ("name number", body(name=5), False),
    ("message 2000 chars", body(message="m" * 2000), True),
    ("message 2001 chars", body(message="m" * 2001), False),
    ("message with tab and newlines", body(message="line one\n\tline two\r\n"), True),
    ("message only newlines", body(message="\n\n"), False),
    ("message with NUL", body(message="a\u0000b"), False),
    ("message with vertical tab", body(message="a\u000bb"), False),
    ("message with non-breaking space only", body(message="\u00a0"), False),
    ("message as list", body(message=["hi"]), False),
    ("email plain", body(email="first.last+tag@sub.example.co.uk"), True),
    ("email without at", body(email="ada.example.com"), False),
    ("email without dot in domain", body(email="ada@localhost"), False),
    ("email with space", body(email="ada @example.com"), False),
    ("email two ats", body(email="a@b@example.com"), False),
    ("email local part 64", body(email="a" * 64 + "@example.com"), True),
    ("email local part 65", body(email="a" * 65 + "@example.com"), False),
    ("email label with leading hyphen", body(email="ada@-example.com"), False),
    ("email too long", body(email="a@" + ".".join(["b" * 60] * 5) + ".com"), False),
    ("email number", body(email=42), False),
    ("email unicode", body(email="zoë@example.com"), False),
]


# A trailing newline once slipped past anchored "^...$" patterns in both validators; the rules
# now forbid characters anywhere ("not": {"pattern": class}), and these cases keep it that way.
KNOWN_GAPS: list[Any] = [
    pytest.param("name with a trailing newline", body(name="Ada\n"), False),
    pytest.param("email with a trailing newline", body(email="ada@example.com\n"), False),
    pytest.param("email with a leading space", body(email=" ada@example.com"), False),
    pytest.param("message with a trailing bell", body(message="hello\u0007"), False),
]


def test_the_table_is_big_enough() -> None:
    assert len(CASES) >= 30
    assert sum(accepted for *_, accepted in CASES) >= 8


def model_accepts(candidate: Any) -> bool:
    model = rendered_model()
    jsonschema.Draft4Validator.check_schema(model)
    return bool(jsonschema.Draft4Validator(model).is_valid(candidate))


def handler_accepts(candidate: Any) -> bool:
    return validate_feedback(candidate)[0] is not None


@pytest.mark.parametrize(
    ("name", "candidate"),
    [(n, c) for n, c, _ in CASES] + [(p.values[0], p.values[1]) for p in KNOWN_GAPS],
)
def test_model_and_handler_agree(name: str, candidate: Any) -> None:
    assert model_accepts(candidate) == handler_accepts(candidate), name


@pytest.mark.parametrize(("name", "candidate", "accepted"), [*CASES, *KNOWN_GAPS])
def test_both_follow_the_documented_rules(name: str, candidate: Any, accepted: bool) -> None:
    assert handler_accepts(candidate) == accepted, name
    assert model_accepts(candidate) == accepted, name


_MODEL: dict[str, Any] = {}


def rendered_model() -> dict[str, Any]:
    """The Schema exactly as it stands in the rendered template (not the Python dict)."""
    if not _MODEL:
        _MODEL.update(rendered("prod")["Resources"]["FeedbackSubmissionModel"]["Properties"])
    schema: dict[str, Any] = _MODEL["Schema"]
    return schema


# --- the render command and its bad input ------------------------------------------------------


def run_cli(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run the real entry point (`main`, the one exit path) under CliRunner's isolation."""
    runner = CliRunner()
    code = 0
    with runner.isolation(env=env) as (stdout, stderr, _), pytest.MonkeyPatch.context() as mp:
        mp.setattr(sys, "argv", ["feedbackctl", *args])
        try:
            main()
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = stdout.getvalue().decode(), stderr.getvalue().decode()
    return code, out, err


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project directory holding a copy of the real feedbackctl.toml."""
    shutil.copy(ROOT / "feedbackctl.toml", tmp_path / "feedbackctl.toml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FEEDBACKCTL_CONFIG", raising=False)
    monkeypatch.delenv("FEEDBACKCTL_TEMPLATES_DIR", raising=False)
    return tmp_path


def test_render_prints_the_template(project: Path) -> None:
    code, out, err = run_cli(["render", "--stage", "prod"])
    assert (code, err) == (0, "")
    assert out == render_stack(CONFIG.stage("prod"))


def test_render_uses_the_default_stage(project: Path) -> None:
    code, out, _ = run_cli(["render"])
    assert code == 0
    assert load(out)["Metadata"]["feedbackctl"]["stage"] == "dev"


def test_render_writes_a_file(project: Path) -> None:
    code, out, err = run_cli(["render", "-s", "local", "-o", "stack.yaml"])
    assert (code, out) == (0, "")
    assert err.startswith("✓ wrote stack.yaml: stack feedback-local (stage local), ")
    assert (project / "stack.yaml").read_text() == render_stack(CONFIG.stage("local"))


# The line of the dev stage's stack_name in the project's feedbackctl.toml (the case breaks it).
DEV_STACK_LINE = next(
    number
    for number, line in enumerate(
        (Path(__file__).resolve().parents[2] / "feedbackctl.toml").read_text().splitlines(), 1
    )
    if line.startswith('stack_name = "feedback-dev"')
)

BAD_INPUT = [
    (
        "unknown stage",
        ["render", "--stage", "qa"],
        None,
        "error: feedbackctl.toml: unknown stage 'qa' (pick one of: dev, local, prod; or add "
        "[stages.qa])",
    ),
    (
        "missing stage",
        ["render"],
        ('[project]\ndefault_stage = "dev"\n', ""),
        "error: no stage given and feedbackctl.toml sets no [project] default_stage (pass "
        "--stage with one of: dev, local, prod)",
    ),
    (
        "malformed TOML",
        ["render", "--stage", "dev"],
        ('stack_name = "feedback-dev"', 'stack_name = "feedback-dev'),
        f"error: feedbackctl.toml:{DEV_STACK_LINE}: malformed TOML, column 27: "
        "Illegal character '\\n' (fix the syntax at that line)",
    ),
    (
        "threshold of the wrong type",
        ["render", "--stage", "prod"],
        ("api_5xx_errors = 10", 'api_5xx_errors = "10"'),
        "error: feedbackctl.toml: stages.prod.alarms.api_5xx_errors must be an integer, got a "
        "string ('10') (write an integer, e.g. api_5xx_errors = 5)",
    ),
    (
        "unknown key",
        ["render"],
        ("burst_limit = 50\n", "burst_limt = 50\n"),
        "error: feedbackctl.toml: unknown key stages.dev.throttling.burst_limt (did you mean "
        "'burst_limit'? known keys here: burst_limit, rate_limit)",
    ),
]


@pytest.mark.parametrize(
    ("case", "args", "edit", "expected"), BAD_INPUT, ids=[case[0] for case in BAD_INPUT]
)
def test_bad_input_is_one_line_and_exit_2(
    project: Path, case: str, args: list[str], edit: tuple[str, str] | None, expected: str
) -> None:
    if edit:
        path = project / "feedbackctl.toml"
        text = path.read_text()
        assert edit[0] in text, case
        path.write_text(text.replace(edit[0], edit[1], 1))
    code, out, err = run_cli(args)
    assert (code, out) == (2, "")
    assert err == expected + "\n"


def test_template_syntax_error_names_the_template_and_line(project: Path, tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(DEFAULT_TEMPLATES, templates)
    partial = templates / "_stream.yaml.j2"
    lines = partial.read_text().splitlines(keepends=True)
    lines[14] = "      QueueName: {{ stack ~ }}\n"
    partial.write_text("".join(lines))
    code, out, err = run_cli(
        ["render", "--stage", "dev"], env={"FEEDBACKCTL_TEMPLATES_DIR": str(templates)}
    )
    assert (code, out) == (2, "")
    assert err == (
        "error: templates/_stream.yaml.j2:15: template syntax error: "
        "unexpected 'end of print statement' (fix the template at that line)\n"
    )


def test_template_undefined_name_names_the_template_and_line(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(DEFAULT_TEMPLATES, templates)
    partial = templates / "_outputs.yaml.j2"
    partial.write_text(partial.read_text() + "    Value: {{ no_such_value }}\n")
    with pytest.raises(ConfigError) as caught:
        render_stack(CONFIG.stage("dev"), templates=templates)
    line = len(partial.read_text().splitlines())
    assert str(caught.value) == (
        f"templates/_outputs.yaml.j2:{line}: template error: 'no_such_value' is undefined "
        "(fix the template at that line)"
    )


@pytest.mark.parametrize("stage", STAGES)
def test_every_function_s_logs_are_archived_compressed_for_the_stage_s_days(stage: str) -> None:
    template = rendered(stage)
    subscriptions = resources_of_type(template, "AWS::Logs::SubscriptionFilter")
    groups = {s["Properties"]["LogGroupName"]["Ref"] for s in subscriptions.values()}
    assert groups == {f"{logical_id(seed)}LogGroup" for seed in FUNCTION_NAMES}
    for sub in subscriptions.values():
        assert sub["Properties"]["FilterPattern"] == ""  # every line
        assert sub["Properties"]["DestinationArn"] == {"Fn::GetAtt": ["LogArchiveStream", "Arn"]}
    s3 = template["Resources"]["LogArchiveStream"]["Properties"][
        "ExtendedS3DestinationConfiguration"
    ]
    assert s3["BucketARN"] == {"Fn::GetAtt": ["LogArchiveBucket", "Arn"]}
    rules = template["Resources"]["LogArchiveBucket"]["Properties"]["LifecycleConfiguration"][
        "Rules"
    ]
    assert rules[0]["ExpirationInDays"] == 365
    put = template["Resources"]["LogArchiveSubscriptionRole"]["Properties"]["Policies"][0]
    assert put["PolicyDocument"]["Statement"] == [
        {
            "Effect": "Allow",
            "Action": ["firehose:PutRecord", "firehose:PutRecordBatch"],
            "Resource": {"Fn::GetAtt": ["LogArchiveStream", "Arn"]},
        }
    ]
