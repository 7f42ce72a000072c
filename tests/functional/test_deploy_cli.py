"""`feedbackctl deploy` through CliRunner against moto: the plan, dry runs and refusals."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest
from typer.testing import CliRunner

from feedbackctl.aws.stacks import StackInfo, check_deployable
from feedbackctl.cli.app import app
from feedbackctl.errors import FeedbackctlError


@pytest.fixture
def stage(moto_endpoint, tmp_path, monkeypatch):
    stack = f"fb-{uuid.uuid4().hex[:6]}"
    config = tmp_path / "feedbackctl.toml"
    config.write_text(
        '[project]\ndefault_stage = "test"\n'
        f'[stages.test]\nregion = "us-east-1"\nstack_name = "{stack}"\n'
    )
    monkeypatch.setenv("FEEDBACKCTL_CONFIG", str(config))
    return stack


def run(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_dry_run_of_a_new_stage_plans_the_stack_and_every_release(stage):
    result = run("deploy", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)["plan"]
    assert plan["stack"] == "create"
    assert len(plan["uploads"]) == 6
    assert {r["action"] for r in plan["releases"]} == {"release"}
    assert boto3.client("cloudformation").list_stacks()["StackSummaries"] == [] or all(
        s["StackName"] != stage
        for s in boto3.client("cloudformation").list_stacks()["StackSummaries"]
    )


def test_dry_run_text_names_each_function(stage):
    result = run("deploy", "--dry-run", "--function", "health", "--strategy", "canary")
    assert result.exit_code == 0, result.output
    assert "Plan: create the stack; 1 artifact(s) to upload; strategy canary" in result.stdout
    assert "health" in result.stdout
    assert "new function: first release after the stack creates it" in result.stdout


def test_unknown_function_and_strategy_are_usage_errors(stage):
    bad_function = run("deploy", "--function", "nope", "--dry-run")
    assert bad_function.exit_code == 2
    assert "unknown function 'nope'; valid names:" in bad_function.output
    bad_strategy = run("deploy", "--strategy", "blue-green", "--dry-run")
    assert bad_strategy.exit_code == 2
    assert (
        "unknown strategy 'blue-green'; choose one of all-at-once, canary, linear"
        in bad_strategy.output
    )


def test_a_real_deploy_without_a_terminal_needs_yes(stage, monkeypatch):
    # Creating a stack is production-affecting: with no terminal and no --yes nothing happens.
    import feedbackctl.cli.commands.deploy.run as flow

    monkeypatch.setattr(flow, "engine_ports", lambda aws: None)
    result = run("deploy", "--function", "health")
    assert result.exit_code == 2
    assert "stdin is not a terminal (pass --yes)" in result.output
    with pytest.raises(
        boto3.client("cloudformation").exceptions.ClientError, match="does not exist"
    ):
        boto3.client("cloudformation").describe_stacks(StackName=stage)


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ("UPDATE_IN_PROGRESS", "wait for the running operation to finish"),
        ("ROLLBACK_COMPLETE", "delete it with `feedbackctl destroy`"),
        ("UPDATE_ROLLBACK_FAILED", "continue-update-rollback"),
    ],
)
def test_a_stack_in_a_failed_or_busy_state_is_refused(status, message):
    with pytest.raises(FeedbackctlError, match=message):
        check_deployable(StackInfo("fb", status))


def test_dry_run_prints_each_release_step_and_the_windows_from_the_stage(stage):
    result = run("deploy", "--dry-run", "--json", "--function", "health", "--strategy", "canary")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)["plan"]
    # The default stage: 300 s periods, one evaluation period, 60 s metric delay.
    assert plan["windows"] == {"stepSeconds": 360.0, "bakeSeconds": 360.0, "pollSeconds": 30.0}
    [release] = plan["releases"]
    assert [s["step"] for s in release["steps"]] == ["publish", "pretraffic", "shift", "record"]
    text = run("deploy", "--dry-run", "--function", "health")
    assert "2. pretraffic: invoke the new version with the health event" in text.stdout


def test_a_window_too_short_to_see_a_datapoint_is_refused_with_the_minimum(stage):
    result = run("deploy", "--dry-run", "--bake-seconds", "60")
    assert result.exit_code == 2
    assert (
        "the bake window of 60 s is too short to see one datapoint on this stage "
        "(alarm period + metric delay); use at least 360 s"
    ) in result.output


def test_a_canary_step_that_holds_nothing_is_refused(stage):
    result = run("deploy", "--dry-run", "--strategy", "canary", "--step-seconds", "0")
    assert result.exit_code == 2
    assert (
        "--step-seconds 0 leaves a canary release no time to judge a step; use at least 360 s, "
        "or --strategy all-at-once"
    ) in result.output
