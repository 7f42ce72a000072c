"""`deploy --stage local` applies the rendered template to the running local platform: what it
can change is changed and visible through the AWS API (and a function's new configuration is
released), what it cannot is named and nothing changes (feedbackctl.local.changes)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from feedbackctl.cli.app import app
from feedbackctl.config import CONFIG_ENV, load_config
from tests.e2e.test_drill_faults import stage_config

# moto's state is one per process (S3 names are global): each platform gets a region of its own.
REGIONS = iter(["il-central-1", "ap-northeast-3", "ca-west-1"])


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = stage_config(tmp_path, next(REGIONS))
    monkeypatch.setenv(CONFIG_ENV, str(path))
    return path


@pytest.fixture
def platform(config: Path, tmp_path: Path) -> Iterator[Any]:
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


def test_a_change_the_running_platform_cannot_make_is_named_and_nothing_changes(platform, config):
    logs = client(platform, "logs")
    group = f"/aws/lambda/{platform.stage.stack_name}-create-feedback"
    before = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]
    edit_stage(config, r"^log_retention_days = \d+$", "log_retention_days = 5")
    edit_stage(config, r"^rate_limit = [\d.]+$", "rate_limit = 7")

    result = deploy(platform)

    assert result.exit_code == 3, result.output
    assert "cannot be applied to the running local platform (nothing was changed)" in result.stderr
    assert "ApiStage (AWS::ApiGateway::Stage)" in result.stderr
    assert "feedbackctl local up --stage local --fresh" in result.stderr
    after = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]
    assert after.get("retentionInDays") == before.get("retentionInDays")
