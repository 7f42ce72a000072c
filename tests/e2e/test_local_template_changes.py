"""`deploy --stage local` applies the rendered template to the running local platform: what it
can change is changed and visible through the AWS API (and a function's new configuration is
released), the API's routes and throttling are served by the running gateway, what it cannot
change is named and nothing changes (feedbackctl.local.changes, feedbackctl.local.follow).

Each test renders from its own copy of templates/ (FEEDBACKCTL_TEMPLATES_DIR), so a test edits
the template as a developer would, never the repository's."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner

from feedbackctl.cli.app import app
from feedbackctl.config import CONFIG_ENV, load_config
from feedbackctl.templating import TEMPLATES_ENV
from tests.e2e.conftest import ROOT, http
from tests.e2e.test_drill_faults import stage_config

# moto's state is one per process (S3 names are global): each platform gets a region of its own.
REGIONS = iter(
    ["il-central-1", "ap-northeast-3", "ap-northeast-2", "ap-southeast-3", "ap-southeast-4"]
)


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = stage_config(tmp_path, next(REGIONS))
    monkeypatch.setenv(CONFIG_ENV, str(path))
    return path


@pytest.fixture
def templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", copy)
    monkeypatch.setenv(TEMPLATES_ENV, str(copy))
    return copy


@pytest.fixture
def platform(config: Path, templates: Path, tmp_path: Path) -> Iterator[Any]:
    from feedbackctl.local.platform import LocalPlatform, Options

    local = LocalPlatform(
        load_config().stage("local"), Options(api_port=0, aws_port=0, work_dir=tmp_path / "w")
    )
    local.start()
    yield local
    local.stop()


def edit_stage(config: Path, pattern: str, replacement: str) -> None:
    text = config.read_text(encoding="utf-8")
    local = re.search(r"(?ms)^\[stages\.local\]\n.*?(?=^\[stages\.(?!local))", text)
    assert local, "no local stage"
    changed = re.sub(pattern, replacement, local.group(0), count=1, flags=re.M)
    assert changed != local.group(0), pattern
    config.write_text(text[: local.start()] + changed + text[local.end() :], encoding="utf-8")


def edit_template(templates: Path, name: str, old: str, new: str) -> None:
    path = templates / name
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not once in {name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def deploy(platform: Any, *extra: str) -> Any:
    return CliRunner().invoke(
        app,
        ["deploy", "--stage", "local", "--endpoint-url", platform.endpoint_url, "--yes", *extra],
    )


def client(platform: Any, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=platform.endpoint_url,
        region_name=platform.stage.region,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def test_retention_alarm_and_environment_changes_reach_the_running_platform(platform, config):
    logs, cw, lam = (client(platform, s) for s in ("logs", "cloudwatch", "lambda"))
    function = f"{platform.stage.stack_name}-create-feedback"
    group, alarm = f"/aws/lambda/{function}", f"{function}-errors"
    live_before = lam.get_alias(FunctionName=function, Name="live")
    edit_stage(config, r"^log_retention_days = \d+$", "log_retention_days = 3")
    edit_stage(config, r"^function_errors = \d+$", "function_errors = 7")
    with config.open("a", encoding="utf-8") as toml:  # one function's memory
        toml.write("\n[stages.local.functions.create-feedback]\nmemory = 512\ntimeout = 10\n")

    result = deploy(platform, "--json", "--bake-seconds", "0")

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["plan"]["stack"] == "update"
    changed = {c["logical_id"] for c in report["localStackChanges"]}
    assert "CreateFeedbackLogGroup" in changed
    assert all(c["applicable"] for c in report["localStackChanges"])
    found = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert found[0]["retentionInDays"] == 3
    threshold = cw.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["Threshold"]
    assert threshold == 7
    # The new configuration reaches a published version in the same deploy.
    live = lam.get_alias(FunctionName=function, Name="live")
    assert int(live["FunctionVersion"]) > int(live_before["FunctionVersion"])
    config_now = lam.get_function_configuration(
        FunctionName=function, Qualifier=live["FunctionVersion"]
    )
    assert config_now["MemorySize"] == 512
    # Deploying the same template again changes nothing.
    again = deploy(platform, "--json", "--bake-seconds", "0")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["plan"]["stack"] == "none"


def test_a_change_the_running_platform_cannot_make_is_named_and_nothing_changes(
    platform, config, templates
):
    logs = client(platform, "logs")
    group = f"/aws/lambda/{platform.stage.stack_name}-create-feedback"
    before = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]
    edit_stage(config, r"^log_retention_days = \d+$", "log_retention_days = 5")
    edit_stage(config, r"^batching_window_seconds = \d+$", "batching_window_seconds = 2")
    # An index changed in place (its projection): DynamoDB cannot, CloudFormation refuses it.
    edit_template(templates, "_tables.yaml.j2", CREATED_AT_LAST, "        # Browse")

    result = deploy(platform)

    assert result.exit_code == 3, result.output
    assert "cannot be applied to the running local platform (nothing was changed)" in result.stderr
    assert "StreamAggregatorMapping (AWS::Lambda::EventSourceMapping)" in result.stderr
    assert "FeedbackTable (AWS::DynamoDB::Table)" in result.stderr
    assert "index createdAt-index changed" in result.stderr
    assert "feedbackctl local up --stage local --fresh" in result.stderr
    after = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]
    assert after.get("retentionInDays") == before.get("retentionInDays")
    table = client(platform, "dynamodb").describe_table(
        TableName=f"{platform.stage.stack_name}-feedback"
    )
    projection = table["Table"]["GlobalSecondaryIndexes"][0]["Projection"]
    assert "sentiment" in projection["NonKeyAttributes"]


STATUS_ROUTE = """  StatusResource:
    Type: AWS::ApiGateway::Resource
    Properties:
      RestApiId: !Ref Api
      ParentId: !GetAtt Api.RootResourceId
      PathPart: status

  StatusGetMethod:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !Ref StatusResource
      HttpMethod: GET
      AuthorizationType: NONE
      Integration:
        Type: AWS_PROXY
        IntegrationHttpMethod: POST
        Uri: !Sub "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/\
functions/${HealthLiveAlias}/invocations"

"""


def test_routes_added_and_removed_are_served_by_the_running_gateway(platform, templates):
    api = platform.api_url
    assert http("GET", f"{api}/analytics").status == 200
    missing = http("GET", f"{api}/status")
    assert (missing.status, missing.body["message"]) == (403, "Missing Authentication Token")
    # GET /status is added (answered by the health function); GET /analytics is removed.
    edit_template(
        templates,
        "_api.yaml.j2",
        "  # The POST /feedback body rules",
        STATUS_ROUTE + "  # The POST /feedback body rules",
    )
    edit_template(
        templates,
        "_api.yaml.j2",
        "{% for r in routes %}",
        '{% for r in routes if r.path != "/analytics" %}',
    )

    result = deploy(platform, "--json")

    assert result.exit_code == 0, result.output
    changes = {c["logical_id"]: c for c in json.loads(result.stdout)["localStackChanges"]}
    assert changes["StatusGetMethod"]["action"] == "add"
    assert changes["AnalyticsGetMethod"]["action"] == "remove"
    assert all(c["applicable"] for c in changes.values())
    # Served when the deploy returns: no restart, no waiting.
    status = http("GET", f"{api}/status")
    assert (status.status, status.body["status"]) == (200, "ok")
    gone = http("GET", f"{api}/analytics")
    assert (gone.status, gone.body["message"]) == (403, "Missing Authentication Token")
    assert http("GET", f"{api}/feedback").status == 200  # the rest is served as before


def test_a_throttling_change_is_enforced_by_the_running_gateway(platform, config):
    api = platform.api_url
    assert [http("GET", f"{api}/health").status for _ in range(3)] == [200, 200, 200]
    edit_stage(config, r"^burst_limit = \d+$", "burst_limit = 1")
    edit_stage(config, r"^rate_limit = [\d.]+$", "rate_limit = 0.1")

    result = deploy(platform, "--json")

    assert result.exit_code == 0, result.output
    changed = {c["logical_id"] for c in json.loads(result.stdout)["localStackChanges"]}
    assert "ApiStage" in changed
    # A burst of one, one request per 10 s: the second request at once is throttled.
    first, second = http("GET", f"{api}/health"), http("GET", f"{api}/health")
    assert first.status == 200
    assert (second.status, second.body["message"]) == (429, "Too Many Requests")


# The last projected attribute of createdAt-index, and the comment after it.
CREATED_AT_LAST = "              - sentiment\n        # Browse"
NAME_ATTRIBUTE = """        - AttributeName: createdAt
          AttributeType: S
"""
NAME_INDEX = """              - sentiment
        - IndexName: name-index
          KeySchema:
            - AttributeName: name
              KeyType: HASH
          Projection:
            ProjectionType: KEYS_ONLY
"""


def test_a_global_secondary_index_is_added_and_removed_on_the_running_table(platform, templates):
    ddb = client(platform, "dynamodb")
    table = f"{platform.stage.stack_name}-feedback"
    body = {"name": "Ada Index", "email": "ada@example.com", "rating": 5, "message": "Indexed"}
    stored = http("POST", f"{platform.api_url}/feedback", body)
    assert stored.status == 201, stored.body

    def index_names() -> set[str]:
        described = ddb.describe_table(TableName=table)["Table"]
        return {i["IndexName"] for i in described["GlobalSecondaryIndexes"]}

    before = index_names()
    assert "createdAt-index" in before
    original = (templates / "_tables.yaml.j2").read_text(encoding="utf-8")
    edit_template(
        templates,
        "_tables.yaml.j2",
        NAME_ATTRIBUTE,
        NAME_ATTRIBUTE + "        - AttributeName: name\n          AttributeType: S\n",
    )
    edit_template(templates, "_tables.yaml.j2", CREATED_AT_LAST, NAME_INDEX + "        # Browse")

    added = deploy(platform, "--json")

    assert added.exit_code == 0, added.output
    changes = {c["logical_id"]: c for c in json.loads(added.stdout)["localStackChanges"]}
    assert changes["FeedbackTable"]["applicable"]
    assert "index name-index created" in changes["FeedbackTable"]["note"]
    assert index_names() == before | {"name-index"}
    found = ddb.query(
        TableName=table,
        IndexName="name-index",
        KeyConditionExpression="#n = :n",
        ExpressionAttributeNames={"#n": "name"},
        ExpressionAttributeValues={":n": {"S": "Ada Index"}},
    )["Items"]
    assert [i["feedbackId"]["S"] for i in found] == [stored.body["feedbackId"]]  # backfilled

    (templates / "_tables.yaml.j2").write_text(original, encoding="utf-8")
    removed = deploy(platform, "--json")

    assert removed.exit_code == 0, removed.output
    assert index_names() == before
    with pytest.raises(ClientError):
        ddb.query(
            TableName=table,
            IndexName="name-index",
            KeyConditionExpression="#n = :n",
            ExpressionAttributeNames={"#n": "name"},
            ExpressionAttributeValues={":n": {"S": "Ada Index"}},
        )
    listed = http("GET", f"{platform.api_url}/feedback").body["items"]
    assert [i["feedbackId"] for i in listed] == [stored.body["feedbackId"]]
