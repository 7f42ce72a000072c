"""The stacks of stages with a chat pass the real cfn-lint and checkov, every skip with a reason.

tests/functional/test_validate.py lints the project's stages, none of which has a chat; these
are the same checks on the variants that render templates/_notifier.yaml.j2.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from feedbackctl import lint
from feedbackctl.config import StageConfig
from feedbackctl.templating import render_stack
from tests.cfn_yaml import load
from tests.functional.test_validate import checkov_wanted
from tests.unit.test_notifier_template import (
    CHANNEL,
    CONFIG,
    KMS_KEY,
    SECRET_ARN,
    SECRET_NAME,
    WORKSPACE,
)

CHATBOT = {"chatbot_slack_workspace_id": WORKSPACE, "chatbot_slack_channel_id": CHANNEL}


def variant(**changes: Any) -> StageConfig:
    return dataclasses.replace(CONFIG.stage("prod"), **changes)


VARIANTS = {
    "webhook": variant(chat_webhook_secret=SECRET_NAME),
    "webhook+kms": variant(
        chat_webhook_secret=SECRET_ARN,
        kms_key_arn=KMS_KEY,
        alarm_email="oncall@example.com",
        api_key_required=True,
    ),
    "chatbot": variant(**CHATBOT),
    "webhook+chatbot": variant(chat_webhook_secret=SECRET_NAME, **CHATBOT),
}


PARAMS = list(VARIANTS)


@pytest.fixture(scope="module")
def checkov_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, lint.CheckovResult]:
    """One checkov run per variant that renders, all started at once."""
    if not checkov_wanted():
        pytest.skip("FEEDBACKCTL_SKIP_CHECKOV=1")
    directory = tmp_path_factory.mktemp("checkov-chat")
    runs = {}
    for name, stage in VARIANTS.items():
        path = directory / f"{name}.yaml"
        path.write_text(render_stack(stage), encoding="utf-8")
        runs[name] = lint.start_checkov(path)
    return {name: run.result() for name, run in runs.items()}


@pytest.mark.slow
@pytest.mark.parametrize("name", PARAMS)
def test_cfn_lint_finds_nothing(name: str) -> None:
    stage = VARIANTS[name]
    assert lint.run_cfn_lint(render_stack(stage), region=stage.region) == []


@pytest.mark.slow
@pytest.mark.parametrize("name", PARAMS)
def test_checkov_fails_nothing_and_every_skip_is_written_with_its_reason(
    checkov_results: dict[str, lint.CheckovResult], name: str
) -> None:
    result = checkov_results[name]
    assert (result.failed, result.unjustified, result.parsing_errors) == ((), (), ())
    assert result.clean
    template = load(render_stack(VARIANTS[name]))
    written = {
        (f"{resource['Type']}.{logical}", skip["id"], skip["comment"])
        for logical, resource in template["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    }
    assert {(s.resource, s.check_id, s.reason) for s in result.skipped} == written


@pytest.mark.slow
def test_the_stage_key_leaves_only_the_notifiers_vpc_and_concurrency_skips(
    checkov_results: dict[str, lint.CheckovResult],
) -> None:
    skipped = {
        (s.resource, s.check_id)
        for s in checkov_results["webhook+kms"].skipped
        if ".Chat" in s.resource
    }
    assert skipped == {
        ("AWS::Lambda::Function.ChatNotifierFunction", "CKV_AWS_115"),
        ("AWS::Lambda::Function.ChatNotifierFunction", "CKV_AWS_117"),
    }
