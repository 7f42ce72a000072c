"""The stage keys of the chat notifier: a webhook's secret, AWS Chatbot's two Slack IDs."""

from __future__ import annotations

from pathlib import Path

import pytest

from feedbackctl.config import StageConfig, config_keys, load_config
from feedbackctl.errors import ConfigError

MINIMAL = """
[project]
default_stage = "dev"

[stages.dev]
region = "eu-west-1"
stack_name = "feedback-dev"
"""
ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:feedback-dev/chat-AbCdEf"


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FEEDBACKCTL_CONFIG", raising=False)
    return tmp_path


def stage_with(directory: Path, addition: str) -> StageConfig:
    (directory / "feedbackctl.toml").write_text(MINIMAL + addition, encoding="utf-8")
    return load_config().stage("dev")


def error_of(directory: Path, addition: str) -> str:
    with pytest.raises(ConfigError) as caught:
        stage_with(directory, addition)
    return str(caught.value)


def test_no_chat_unless_the_stage_asks(in_tmp: Path) -> None:
    stage = stage_with(in_tmp, "")
    assert stage.chat_webhook_secret is None
    assert (stage.chatbot_slack_workspace_id, stage.chatbot_slack_channel_id) == (None, None)


@pytest.mark.parametrize("secret", ["feedback-dev/chat-webhook", ARN])
def test_the_webhook_secret_by_name_or_full_arn(in_tmp: Path, secret: str) -> None:
    assert stage_with(in_tmp, f'chat_webhook_secret = "{secret}"\n').chat_webhook_secret == secret


def test_both_chatbot_ids(in_tmp: Path) -> None:
    stage = stage_with(
        in_tmp, 'chatbot_slack_workspace_id = "T012AB3C4"\nchatbot_slack_channel_id = "C0456DE7F"\n'
    )
    assert (stage.chatbot_slack_workspace_id, stage.chatbot_slack_channel_id) == (
        "T012AB3C4",
        "C0456DE7F",
    )


def test_a_workspace_without_a_channel_is_refused(in_tmp: Path) -> None:
    assert error_of(in_tmp, 'chatbot_slack_workspace_id = "T012AB3C4"\n') == (
        "feedbackctl.toml: stages.dev.chatbot_slack_workspace_id is set but "
        "stages.dev.chatbot_slack_channel_id is not; AWS Chatbot needs both "
        "(add chatbot_slack_channel_id (Slack: channel details) or remove "
        "chatbot_slack_workspace_id)"
    )


def test_a_channel_without_a_workspace_is_refused(in_tmp: Path) -> None:
    assert error_of(in_tmp, 'chatbot_slack_channel_id = "C0456DE7F"\n') == (
        "feedbackctl.toml: stages.dev.chatbot_slack_channel_id is set but "
        "stages.dev.chatbot_slack_workspace_id is not; AWS Chatbot needs both "
        "(add chatbot_slack_workspace_id (Slack: channel details) or remove "
        "chatbot_slack_channel_id)"
    )


def test_a_secret_in_another_region_is_refused(in_tmp: Path) -> None:
    other = ARN.replace("eu-west-1", "us-east-1")
    assert error_of(in_tmp, f'chat_webhook_secret = "{other}"\n') == (
        "feedbackctl.toml: stages.dev.chat_webhook_secret is in us-east-1, the stage is in "
        "eu-west-1 (create the secret (or a replica) in the stage's region and name that one)"
    )


@pytest.mark.parametrize(
    ("addition", "expected"),
    [
        (
            'chat_webhook_secret = "https://hooks.slack.com/services/T0/B0/x"\n',
            "stages.dev.chat_webhook_secret must be a Secrets Manager secret's name or full ARN",
        ),
        (
            'chatbot_slack_workspace_id = "t012ab3c4"\nchatbot_slack_channel_id = "C0456DE7F"\n',
            "stages.dev.chatbot_slack_workspace_id must be a Slack workspace ID",
        ),
        (
            'chatbot_slack_workspace_id = "T012AB3C4"\nchatbot_slack_channel_id = "#alerts"\n',
            "stages.dev.chatbot_slack_channel_id must be a Slack channel ID",
        ),
    ],
)
def test_values_that_are_no_secret_or_slack_id(in_tmp: Path, addition: str, expected: str) -> None:
    assert expected in error_of(in_tmp, addition)


def test_the_keys_are_stage_keys() -> None:
    assert {
        "chat_webhook_secret",
        "chatbot_slack_workspace_id",
        "chatbot_slack_channel_id",
    } <= set(config_keys())
