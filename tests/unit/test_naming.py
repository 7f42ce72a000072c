"""ARNs carry the region's partition (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html):
China and GovCloud topics are not `arn:aws:`. The partition is the AWS boundary's
(feedbackctl.aws, botocore's data); the names are naming.py's, one rule for CLI and engine."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from feedbackctl import aws, naming
from feedbackctl.aws import partition
from feedbackctl.engine.aws_ports import LambdaOps
from feedbackctl.engine.incident import function_for_alarm
from feedbackctl.naming import StackNames, function_name

ACCOUNT = "123456789012"


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("us-east-1", "aws"),
        ("eu-west-1", "aws"),
        ("cn-north-1", "aws-cn"),
        ("cn-northwest-1", "aws-cn"),
        ("us-gov-west-1", "aws-us-gov"),
        ("us-gov-east-1", "aws-us-gov"),
        ("us-iso-east-1", "aws-iso"),
        ("us-isob-east-1", "aws-iso-b"),
    ],
)
def test_partition_of_a_region(region, expected):
    assert partition(region) == expected


def _topic_arn(region: str) -> str:
    return StackNames("fb-prod").topic_arn(
        "fb-prod-alarms", region, ACCOUNT, partition=partition(region)
    )


def test_topic_arn_in_china_and_govcloud():
    assert _topic_arn("cn-north-1") == f"arn:aws-cn:sns:cn-north-1:{ACCOUNT}:fb-prod-alarms"
    assert _topic_arn("us-gov-west-1") == (
        f"arn:aws-us-gov:sns:us-gov-west-1:{ACCOUNT}:fb-prod-alarms"
    )
    assert _topic_arn("eu-west-1") == f"arn:aws:sns:eu-west-1:{ACCOUNT}:fb-prod-alarms"


def test_the_target_carries_its_regions_partition():
    assert aws.Target("prod", "fb-prod", "cn-northwest-1").partition == "aws-cn"


def test_a_region_newer_than_botocore_still_gets_its_partition():
    # botocore's partitions match regions by pattern too, so an unlisted region is placed.
    assert partition("cn-southwest-9") == "aws-cn"
    assert partition("ap-southeast-99") == "aws"


def test_the_documented_prefixes_when_botocore_cannot_say(monkeypatch):
    monkeypatch.setattr(aws, "known_partition", lambda region: None)
    assert partition("cn-north-1") == "aws-cn"
    assert partition("us-gov-west-1") == "aws-us-gov"
    assert partition("us-isob-east-1") == "aws-iso-b"
    assert partition("us-iso-east-1") == "aws-iso"
    assert partition("eu-west-1") == "aws"


def test_the_partition_never_reads_the_users_aws_profile(monkeypatch):
    # A boto3 Session would resolve AWS_PROFILE (and fail) just to answer this.
    monkeypatch.setenv("AWS_PROFILE", "nosuchprofile")
    assert partition("cn-north-1") == "aws-cn"


# --- one naming rule ----------------------------------------------------------------------------


def test_the_cli_and_the_engine_name_functions_with_the_same_rule():
    assert function_name("fb-prod", "health") == "fb-prod-health"
    assert StackNames("fb-prod").function("health") == function_name("fb-prod", "health")
    assert LambdaOps(client=None, stack_name="fb-prod").physical("health") == "fb-prod-health"
    # The orchestrator maps an alarm's FunctionName dimension back to the seed by the same rule.
    alarm = {"Trigger": {"Dimensions": [{"name": "FunctionName", "value": "fb-prod-health"}]}}
    assert function_for_alarm(alarm, "fb-prod", ["health", "list-feedback"]) == "health"


def test_naming_imports_only_the_standard_library():
    # It ships in the orchestrator's zip (packaging.py) and must stay free of the AWS SDK.
    tree = ast.parse(Path(naming.__file__).read_text(encoding="utf-8"))
    imported = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported == {"__future__", "dataclasses"}
