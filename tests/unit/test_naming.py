"""ARNs carry the region's partition (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html):
China and GovCloud topics are not `arn:aws:`."""

from __future__ import annotations

import pytest

from feedbackctl import naming
from feedbackctl.naming import StackNames, partition

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


def test_topic_arn_in_china_and_govcloud():
    names = StackNames("fb-prod")
    assert names.topic_arn("fb-prod-alarms", "cn-north-1", ACCOUNT) == (
        f"arn:aws-cn:sns:cn-north-1:{ACCOUNT}:fb-prod-alarms"
    )
    assert names.topic_arn("fb-prod-alarms", "us-gov-west-1", ACCOUNT) == (
        f"arn:aws-us-gov:sns:us-gov-west-1:{ACCOUNT}:fb-prod-alarms"
    )
    assert names.topic_arn("fb-prod-alarms", "eu-west-1", ACCOUNT) == (
        f"arn:aws:sns:eu-west-1:{ACCOUNT}:fb-prod-alarms"
    )


def test_a_region_newer_than_botocore_still_gets_its_partition():
    # botocore's partitions match regions by pattern too, so an unlisted region is placed.
    assert partition("cn-southwest-9") == "aws-cn"
    assert partition("ap-southeast-99") == "aws"


def test_the_documented_prefixes_when_botocore_cannot_say(monkeypatch):
    monkeypatch.setattr(naming, "known_partition", lambda region: None)
    assert partition("cn-north-1") == "aws-cn"
    assert partition("us-gov-west-1") == "aws-us-gov"
    assert partition("us-isob-east-1") == "aws-iso-b"
    assert partition("us-iso-east-1") == "aws-iso"
    assert partition("eu-west-1") == "aws"


def test_the_partition_never_reads_the_users_aws_profile(monkeypatch):
    # A boto3 Session would resolve AWS_PROFILE (and fail) just to answer this.
    monkeypatch.setenv("AWS_PROFILE", "nosuchprofile")
    assert partition("cn-north-1") == "aws-cn"
