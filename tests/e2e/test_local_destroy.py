"""`feedbackctl destroy --stage local` tears the running local platform's stack down through the
AWS API on its endpoint (feedbackctl.local.teardown): afterwards the AWS API no longer shows the
stack's functions, aliases, alarms, metric filters, log groups, topics, queues or roles, the
gateway answers that the stack is gone, the tables and buckets keep their data (or, with
`--delete-data`, are gone too), and the next `local up` provisions the stack afresh on the kept
data. The in-process platforms get a region and a stack of their own (moto's state is one per
process); the last test runs `local up` and the CLI as a user does, in processes of their own.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner

from feedbackctl.cli.app import app
from tests.e2e.conftest import http
from tests.e2e.test_local_durable import local_up
from tests.e2e.test_local_reload import own_platform
from tests.e2e.test_local_template_changes import client
from tests.e2e.test_local_up_cli import feedbackctl, free_port, wait_ready

REGIONS = iter(["eu-central-2", "eu-south-2"])
FEEDBACK = {"name": "Kept", "email": "kept@example.com", "rating": 4, "message": "Keep me"}


@pytest.fixture
def platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    yield from own_platform(tmp_path, monkeypatch, next(REGIONS), "destroy")


def cli(platform: Any, *args: str) -> Any:
    return CliRunner().invoke(
        app, [*args, "--stage", "local", "--endpoint-url", platform.endpoint_url]
    )


def stack_resources(platform: Any) -> dict[str, list[str]]:
    """What the AWS API shows of the stack, by kind."""
    stack = platform.stage.stack_name
    lam, cw, logs = (client(platform, s) for s in ("lambda", "cloudwatch", "logs"))
    sns, sqs, iam = (client(platform, s) for s in ("sns", "sqs", "iam"))
    groups = logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{stack}-")["logGroups"]
    return {
        "functions": [
            f["FunctionName"]
            for f in lam.list_functions()["Functions"]
            if f["FunctionName"].startswith(f"{stack}-")
        ],
        "alarms": [
            a["AlarmName"] for a in cw.describe_alarms(AlarmNamePrefix=stack)["MetricAlarms"]
        ],
        "log groups": [g["logGroupName"] for g in groups],
        "metric filters": [
            f["filterName"]
            for f in logs.describe_metric_filters()["metricFilters"]
            if f["logGroupName"].startswith(f"/aws/lambda/{stack}-")
        ],
        "topics": [
            t["TopicArn"] for t in sns.list_topics()["Topics"] if f":{stack}-" in t["TopicArn"]
        ],
        "queues": sqs.list_queues(QueueNamePrefix=stack).get("QueueUrls", []),
        "roles": [
            r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(stack)
        ],
    }


def stored_item(platform: Any, feedback_id: str) -> dict[str, Any] | None:
    table = f"{platform.stage.stack_name}-feedback"
    key = {"feedbackId": {"S": feedback_id}}
    item: dict[str, Any] | None = (
        client(platform, "dynamodb").get_item(TableName=table, Key=key).get("Item")
    )
    return item


def buckets(platform: Any) -> list[str]:
    names = [b["Name"] for b in client(platform, "s3").list_buckets()["Buckets"]]
    return [n for n in names if platform.stage.stack_name in n]


def test_destroy_deletes_the_stack_and_keeps_its_data(platform):
    stored = http("POST", f"{platform.api_url}/feedback", FEEDBACK)
    assert stored.status == 201, stored.body
    before = stack_resources(platform)
    assert all(before.values()), before  # the stack has something of each kind
    kept_buckets = buckets(platform)

    result = cli(platform, "destroy", "--yes", "--json")

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["deleted"], report["localPlatform"], report["deletedData"]) == (True, True, [])
    assert f"{platform.stage.stack_name}-feedback" in report["retained"]
    assert stack_resources(platform) == {kind: [] for kind in before}
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        client(platform, "lambda").get_alias(
            FunctionName=f"{platform.stage.stack_name}-health", Name="live"
        )
    # The data is kept: the item, the tables, the buckets and what they hold.
    assert stored_item(platform, stored.body["feedbackId"]) is not None
    assert buckets(platform) == kept_buckets
    code = f"{platform.stage.stack_name}-codebucket"
    assert [b for b in kept_buckets if b.startswith(code)], kept_buckets
    # The gateway serves the stack no more, and says why.
    gone = http("GET", f"{platform.api_url}/health")
    assert gone.status == 403
    assert f"stack {platform.stage.stack_name} was destroyed" in gone.body["message"]
    status = cli(platform, "status", "--json")
    assert json.loads(status.stdout)["stackStatus"] == "NOT_DEPLOYED", status.output
    again = cli(platform, "destroy", "--yes")
    assert again.exit_code == 0, again.output
    assert f"nothing to delete: the local platform holds no stack {platform.stage.stack_name}" in (
        again.stderr
    )


def test_destroy_with_delete_data_deletes_the_tables_and_buckets_too(platform):
    stored = http("POST", f"{platform.api_url}/feedback", FEEDBACK)
    assert stored.status == 201, stored.body
    tables = [f"{platform.stage.stack_name}-{t}" for t in ("feedback", "analytics", "ledger")]
    data = set(tables) | set(buckets(platform))

    result = cli(platform, "destroy", "--delete-data", "--yes", "--json")

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert data <= set(report["deletedData"])
    assert not data & set(report["retained"])
    assert all(not found for found in stack_resources(platform).values())
    listed = client(platform, "dynamodb").list_tables()["TableNames"]
    assert [t for t in listed if t in tables] == []
    assert buckets(platform) == []
    assert http("GET", f"{platform.api_url}/feedback").status == 403


# --- as a user runs it: `local up` and the CLI in processes of their own ---------------------


def stop(process: subprocess.Popen[str]) -> str:
    if process.poll() is not None:  # it ended on its own: the failure was reported where seen
        return process.stderr.read() if process.stderr else ""
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "Traceback" not in err
    return err


def cli_at(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return feedbackctl(*args, "--stage", "local", FEEDBACKCTL_STATE_DIR=str(state))


def until(check: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_local_up_after_destroy_provisions_afresh_on_the_kept_data(tmp_path):
    state, api, aws = tmp_path / "state", free_port(), free_port()
    base = f"http://127.0.0.1:{api}/local"

    def total() -> int:
        return int(http("GET", f"{base}/analytics").body["totalFeedback"])

    def ids() -> set[str]:
        return {i["feedbackId"] for i in http("GET", f"{base}/feedback?limit=50").body["items"]}

    first = local_up(state, api, aws)
    try:
        wait_ready(first)
        kept = http("POST", f"{base}/feedback", FEEDBACK).body["feedbackId"]
        assert until(lambda: total() == 1), "the aggregator never counted the feedback"
        destroyed = cli_at(state, "destroy", "--yes")
        assert destroyed.returncode == 0, destroyed.stderr
        assert "deleted stack feedback-local from the local platform" in destroyed.stderr
        assert "retained: feedback-local-feedback" in destroyed.stdout
        assert http("GET", f"{base}/health").status == 403
        refused = cli_at(state, "deploy", "--yes")
        assert refused.returncode == 3, refused.stderr
        assert "serves no stack feedback-local" in refused.stderr
    finally:
        stop(first)

    second = local_up(state, api, aws)
    try:
        wait_ready(second)
        assert ids() == {kept}  # the kept table, adopted by the new stack
        added = http("POST", f"{base}/feedback", FEEDBACK).body["feedbackId"]
        # Counted once each: the kept stream's position was kept too.
        assert until(lambda: total() == 2), total()
        assert ids() == {kept, added}
        destroyed = cli_at(state, "destroy", "--delete-data", "--yes")
        assert destroyed.returncode == 0, destroyed.stderr
    finally:
        stop(second)

    third = local_up(state, api, aws)
    try:
        wait_ready(third)
        assert ids() == set()  # the data was deleted with the stack
        fresh = http("POST", f"{base}/feedback", FEEDBACK).body["feedbackId"]
        # A new table's stream starts afresh: its first record is not taken for one handled.
        assert until(lambda: total() == 1), total()
        assert ids() == {fresh}
    finally:
        stop(third)

    gone = cli_at(state, "destroy", "--yes")
    assert gone.returncode == 1
    assert "no local platform is running for stage 'local'" in gone.stderr
