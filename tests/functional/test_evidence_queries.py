"""The exact GetMetricData call a release check makes on AWS (botocore Stubber), and the same
call against moto answering with the numbers AWS's dimensions imply."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
from botocore.stub import Stubber

from feedbackctl.engine.evidence import MetricsEvidence

START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
END = START + timedelta(minutes=5)


def _dims(version: str) -> list[dict[str, str]]:
    return [
        {"Name": "FunctionName", "Value": "feedback-prod-create-feedback"},
        {"Name": "Resource", "Value": "feedback-prod-create-feedback:live"},
        {"Name": "ExecutedVersion", "Value": version},
    ]


def _stat(query_id: str, namespace: str, metric: str, dims, stat: str) -> dict:
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": metric, "Dimensions": dims},
            "Period": 60,
            "Stat": stat,
        },
        "ReturnData": True,
    }


def _expected_queries(version: str) -> list[dict]:
    dims = _dims(version)
    return [
        _stat(f"inv_{version}", "AWS/Lambda", "Invocations", dims, "Sum"),
        _stat(f"err_{version}", "AWS/Lambda", "Errors", dims, "Sum"),
        _stat(f"thr_{version}", "AWS/Lambda", "Throttles", dims, "Sum"),
        _stat(f"p99_{version}", "AWS/Lambda", "Duration", dims, "p99"),
        _stat(
            f"log_{version}",
            "Feedbackctl/feedback-prod",
            "LoggedErrors",
            [
                {"Name": "Function", "Value": "create-feedback"},
                {"Name": "ExecutedVersion", "Value": version},
            ],
            "Sum",
        ),
    ]


def test_one_get_metric_data_call_per_check_with_aws_lambda_dimensions():
    cloudwatch = boto3.client(
        "cloudwatch", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stubber = Stubber(cloudwatch)
    stubber.add_response(
        "get_metric_data",
        {
            "MetricDataResults": [
                {"Id": "inv_7", "Values": [30.0, 12.0], "Timestamps": [START, START]},
                {"Id": "err_7", "Values": [9.0], "Timestamps": [START]},
                {"Id": "p99_7", "Values": [250.0, 900.0], "Timestamps": [START, START]},
                {"Id": "inv_6", "Values": [400.0], "Timestamps": [START]},
                {"Id": "log_6", "Values": [2.0], "Timestamps": [START]},
            ]
        },
        {
            "MetricDataQueries": _expected_queries("7") + _expected_queries("6"),
            "StartTime": START,
            "EndTime": END + timedelta(seconds=60),
            "ScanBy": "TimestampAscending",
        },
    )
    evidence = MetricsEvidence(
        cloudwatch, "feedback-prod", lambda seed: f"feedback-prod-{seed}", period=60
    )
    with stubber:
        found = evidence.collect("create-feedback", ["7", "6"], START, END)
    stubber.assert_no_pending_responses()
    assert found["7"].as_dict() == {
        "version": "7",
        "invocations": 42,
        "errors": 9,
        "loggedErrors": 0,
        "throttles": 0,
        "errorRate": 0.2143,
        "p99Ms": 900.0,  # the worst bucket's p99: a percentile cannot be summed
    }
    assert (found["6"].invocations, found["6"].logged_errors, found["6"].p99_ms) == (400, 2, None)


def test_moto_answers_the_same_query_with_per_version_numbers(moto_endpoint):
    cloudwatch = boto3.client("cloudwatch")
    now = datetime.now(UTC)
    aggregate = [{"Name": "FunctionName", "Value": "feedback-prod-create-feedback"}]
    cloudwatch.put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[
            {"MetricName": "Invocations", "Dimensions": _dims("7"), "Value": 10, "Timestamp": now},
            {"MetricName": "Errors", "Dimensions": _dims("7"), "Value": 4, "Timestamp": now},
            {"MetricName": "Duration", "Dimensions": _dims("7"), "Value": 30, "Timestamp": now},
            {"MetricName": "Duration", "Dimensions": _dims("7"), "Value": 800, "Timestamp": now},
            {"MetricName": "Invocations", "Dimensions": _dims("6"), "Value": 90, "Timestamp": now},
            # The FunctionName-only aggregate AWS also publishes must not be counted twice.
            {"MetricName": "Errors", "Dimensions": aggregate, "Value": 4, "Timestamp": now},
        ],
    )
    evidence = MetricsEvidence(
        cloudwatch, "feedback-prod", lambda seed: f"feedback-prod-{seed}", period=60
    )
    found = evidence.collect(
        "create-feedback", ["7", "6"], now - timedelta(minutes=1), now + timedelta(seconds=1)
    )
    assert (found["7"].invocations, found["7"].errors, found["7"].p99_ms) == (10, 4, 800)
    assert (found["6"].invocations, found["6"].errors) == (90, 0)
