"""Provisioning the rendered `local` stack on moto through its APIs."""

from __future__ import annotations

import copy
import json
import uuid

import boto3
import pytest

from feedbackctl.cfnyaml import load
from feedbackctl.config import load_config
from feedbackctl.errors import FeedbackctlError
from feedbackctl.local.invoke import CodeStore
from feedbackctl.local.platform import PROVISIONING_SERVICES
from feedbackctl.local.provision import Provisioner
from feedbackctl.templating import render_stack

SERVICES = PROVISIONING_SERVICES


@pytest.fixture(scope="module")
def template():
    return load(render_stack(load_config().stage("local")))


def _provision(template, tmp_path, stack=None):
    clients = {s: boto3.client(s) for s in SERVICES}
    stack = stack or f"fb-{uuid.uuid4().hex[:6]}"
    # Physical names in the template carry the stage's stack name; rename them per test.
    renamed = json.loads(json.dumps(template).replace("feedback-local", stack))
    provisioner = Provisioner(
        clients,
        CodeStore(clients["s3"], tmp_path),
        stack=stack,
        region="us-east-1",
        account="123456789012",
    )
    return stack, clients, provisioner.provision(renamed)


def test_the_local_stack_is_created_with_live_aliases_on_bootstrap_versions(
    moto_endpoint, template, tmp_path
):
    stack, c, result = _provision(template, tmp_path)
    table = c["dynamodb"].describe_table(TableName=f"{stack}-feedback")["Table"]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    assert table["GlobalSecondaryIndexes"][0]["IndexName"] == "createdAt-index"
    for seed in ("create-feedback", "rollback-orchestrator"):
        alias = c["lambda"].get_alias(FunctionName=f"{stack}-{seed}", Name="live")
        assert alias["FunctionVersion"] == "1"
        version = c["lambda"].get_function_configuration(
            FunctionName=f"{stack}-{seed}", Qualifier="1"
        )
        assert version["Description"] == "bootstrap"
        assert version["Handler"] == "index.lambda_handler"
    env = c["lambda"].get_function_configuration(FunctionName=f"{stack}-create-feedback")[
        "Environment"
    ]["Variables"]
    assert env["FEEDBACK_TABLE_NAME"] == f"{stack}-feedback"
    assert "http://127.0.0.1:8000" in env["ALLOWED_ORIGINS"].split(",")
    assert "CodeBucketName" in result.outputs
    assert c["s3"].head_bucket(Bucket=result.outputs["CodeBucketName"])


def test_observability_and_emulated_resources(moto_endpoint, template, tmp_path):
    stack, c, result = _provision(template, tmp_path)
    filters = c["logs"].describe_metric_filters(
        logGroupName=f"/aws/lambda/{stack}-create-feedback"
    )["metricFilters"]
    assert filters[0]["filterPattern"] == '{ $.level = "ERROR" }'
    alarm = c["cloudwatch"].describe_alarms(AlarmNames=[f"{stack}-create-feedback-errors"])[
        "MetricAlarms"
    ][0]
    assert alarm["AlarmActions"] == [f"arn:aws:sns:us-east-1:123456789012:{stack}-alarms"]
    assert alarm["Period"] == 10
    [(topic, subscribers)] = result.lambda_subscriptions.items()
    assert topic.endswith(f"{stack}-alarms")
    assert subscribers[0].endswith(f"function:{stack}-rollback-orchestrator:live")
    [mapping] = result.mappings
    assert (mapping.batch_size, mapping.report_failures, mapping.bisect, mapping.max_retries) == (
        100,
        True,
        True,
        3,
    )
    assert mapping.function.endswith(f"{stack}-stream-aggregator:live")
    assert mapping.on_failure in result.queue_urls
    assert c["lambda"].list_event_source_mappings()["EventSourceMappings"] == []  # never moto's own
    skipped_types = {kind for _, kind, _ in result.skipped}
    assert {"AWS::CloudFront::Distribution", "AWS::ApiGateway::RestApi"} <= skipped_types


def test_a_malformed_resource_is_named(moto_endpoint, template, tmp_path):
    broken = copy.deepcopy(template)
    del broken["Resources"]["FeedbackTable"]["Properties"]["KeySchema"]
    with pytest.raises(
        FeedbackctlError,
        match=r"resource FeedbackTable \(AWS::DynamoDB::Table\) could not be created",
    ):
        _provision(broken, tmp_path)
