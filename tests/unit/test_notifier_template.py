"""templates/_notifier.yaml.j2 rendered: the chat notifier and AWS Chatbot, only where configured.

The linters run on these variants in tests/functional/test_chat_notifier_template.py.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import pytest

from feedbackctl.config import StageConfig, load_config
from feedbackctl.errors import ConfigError
from feedbackctl.templating import render_stack
from tests.cfn_yaml import as_list, load, ref_text, resources_of_type
from tests.unit.test_render import run_cli

ROOT = Path(__file__).resolve().parents[2]
CONFIG = load_config(ROOT / "feedbackctl.toml")
HANDLER = ROOT / "lambdas" / "chat_notifier" / "handler.py"
KMS_KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SECRET_NAME = "feedback-prod/chat-webhook"
SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:feedback-prod/chat-AbCdEf"
WORKSPACE, CHANNEL = "T012AB3C4", "C0456DE7F"
NOTIFIER = {
    "ChatNotifierLogGroup": "AWS::Logs::LogGroup",
    "ChatNotifierDeadLetterQueue": "AWS::SQS::Queue",
    "ChatNotifierRole": "AWS::IAM::Role",
    "ChatNotifierFunction": "AWS::Lambda::Function",
    "ChatNotifierSubscription": "AWS::SNS::Subscription",
    "ChatNotifierPermission": "AWS::Lambda::Permission",
    "ChatNotifierDeadLetterQueueAlarm": "AWS::CloudWatch::Alarm",
}
CHATBOT = {
    "ChatbotChannelRole": "AWS::IAM::Role",
    "ChatbotSlackChannel": "AWS::Chatbot::SlackChannelConfiguration",
}


def stage(**changes: Any) -> StageConfig:
    return dataclasses.replace(CONFIG.stage("prod"), **changes)


def rendered(**changes: Any) -> dict[str, Any]:
    return load(render_stack(stage(**changes)))


def chat_resources(template: dict[str, Any]) -> dict[str, str]:
    return {
        name: resource["Type"]
        for name, resource in template["Resources"].items()
        if name.startswith(("ChatNotifier", "Chatbot"))
    }


def statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    [policy] = role["Properties"]["Policies"]
    found: list[dict[str, Any]] = policy["PolicyDocument"]["Statement"]
    return found


def grants(role: dict[str, Any]) -> dict[str, tuple[list[str], list[str]]]:
    """Sid → (actions, resources as text)."""
    return {
        s["Sid"]: (as_list(s["Action"]), [ref_text(r) for r in as_list(s["Resource"])])
        for s in statements(role)
    }


LOGS = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"


# --- nothing unless asked ------------------------------------------------------------------------


@pytest.mark.parametrize("name", CONFIG.stage_names)
def test_a_stage_without_chat_settings_renders_no_notifier(name: str) -> None:
    for variant in (CONFIG.stage(name), dataclasses.replace(CONFIG.stage(name), kms_key_arn=None)):
        template = load(render_stack(variant))
        assert chat_resources(template) == {}
        subscriptions = resources_of_type(template, "AWS::SNS::Subscription").values()
        assert [
            s["Properties"]["Endpoint"]
            for s in subscriptions
            if s["Properties"]["Protocol"] == "lambda"
        ] == [{"Ref": "RollbackOrchestratorLiveAlias"}]


def test_chatbot_alone_adds_no_function() -> None:
    template = rendered(chatbot_slack_workspace_id=WORKSPACE, chatbot_slack_channel_id=CHANNEL)
    assert chat_resources(template) == CHATBOT


# --- the webhook notifier ------------------------------------------------------------------------


def test_a_webhook_secret_adds_the_notifier_subscribed_to_the_notifications_topic() -> None:
    template = rendered(chat_webhook_secret=SECRET_NAME)
    assert chat_resources(template) == NOTIFIER
    resources = template["Resources"]
    assert resources["ChatNotifierSubscription"]["Properties"] == {
        "TopicArn": {"Ref": "NotificationsTopic"},
        "Protocol": "lambda",
        "Endpoint": {"Fn::GetAtt": ["ChatNotifierFunction", "Arn"]},
    }
    assert resources["ChatNotifierPermission"]["Properties"] == {
        "Action": "lambda:InvokeFunction",
        "FunctionName": {"Ref": "ChatNotifierFunction"},
        "Principal": "sns.amazonaws.com",
        "SourceArn": {"Ref": "NotificationsTopic"},
    }
    function = resources["ChatNotifierFunction"]["Properties"]
    assert function["FunctionName"] == "feedback-prod-chat-notifier"
    assert function["Role"] == {"Fn::GetAtt": ["ChatNotifierRole", "Arn"]}
    assert function["Environment"]["Variables"] == {
        "CHAT_WEBHOOK_SECRET_ID": SECRET_NAME,
        "STAGE": "prod",
        "STACK_NAME": "feedback-prod",
        "LOG_LEVEL": "INFO",
    }
    assert function["DeadLetterConfig"] == {
        "TargetArn": {"Fn::GetAtt": ["ChatNotifierDeadLetterQueue", "Arn"]}
    }
    assert function["LoggingConfig"] == {"LogGroup": {"Ref": "ChatNotifierLogGroup"}}
    assert "KmsKeyArn" not in function
    log_group = resources["ChatNotifierLogGroup"]["Properties"]
    assert log_group == {
        "LogGroupName": "/aws/lambda/feedback-prod-chat-notifier",
        "RetentionInDays": CONFIG.stage("prod").log_retention_days,
    }


def test_the_notifier_runs_the_handler_verbatim() -> None:
    function = rendered(chat_webhook_secret=SECRET_NAME)["Resources"]["ChatNotifierFunction"]
    props = function["Properties"]
    assert (props["Runtime"], props["Handler"]) == ("python3.12", "index.lambda_handler")
    assert props["Code"] == {"ZipFile": HANDLER.read_text(encoding="utf-8")}


def test_the_notifiers_role_reads_that_one_secret_keeps_failures_and_writes_its_logs() -> None:
    template = rendered(chat_webhook_secret=SECRET_NAME)
    role = template["Resources"]["ChatNotifierRole"]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ]
    assert "ManagedPolicyArns" not in role["Properties"]
    assert grants(role) == {
        "WriteOwnLogs": (
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [f"{LOGS}/aws/lambda/feedback-prod-chat-notifier:*"],
        ),
        "ReadWebhookUrl": (
            ["secretsmanager:GetSecretValue"],
            [
                "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:"
                f"{SECRET_NAME}-??????"
            ],
        ),
        "KeepUndeliveredMessages": (
            ["sqs:SendMessage"],
            ["${ChatNotifierDeadLetterQueue.Arn}"],
        ),
    }
    assert all(s["Effect"] == "Allow" for s in statements(role))


def test_a_secret_arn_is_granted_as_given_and_the_stage_key_only_with_one() -> None:
    template = rendered(chat_webhook_secret=SECRET_ARN, kms_key_arn=KMS_KEY)
    resources = template["Resources"]
    role = grants(resources["ChatNotifierRole"])
    [secret_reads] = [
        g for g in role.values() if any(a.startswith("secretsmanager:") for a in g[0])
    ]
    assert secret_reads == (["secretsmanager:GetSecretValue"], [SECRET_ARN])
    assert role["UseStageKey"] == (["kms:Decrypt", "kms:GenerateDataKey"], [KMS_KEY])
    assert resources["ChatNotifierFunction"]["Properties"]["KmsKeyArn"] == KMS_KEY
    assert resources["ChatNotifierLogGroup"]["Properties"]["KmsKeyId"] == KMS_KEY
    queue = resources["ChatNotifierDeadLetterQueue"]["Properties"]
    assert (queue["KmsMasterKeyId"], "SqsManagedSseEnabled" in queue) == (KMS_KEY, False)
    assert "UseStageKey" not in grants(
        rendered(chat_webhook_secret=SECRET_ARN)["Resources"]["ChatNotifierRole"]
    )


def test_undelivered_messages_are_kept_and_alarmed_on_to_the_notifications_topic() -> None:
    resources = rendered(chat_webhook_secret=SECRET_NAME)["Resources"]
    queue = resources["ChatNotifierDeadLetterQueue"]["Properties"]
    assert queue == {
        "QueueName": "feedback-prod-chat-notifier-dlq",
        "MessageRetentionPeriod": 1209600,
        "SqsManagedSseEnabled": True,
    }
    alarm = resources["ChatNotifierDeadLetterQueueAlarm"]["Properties"]
    assert alarm["AlarmName"] == "feedback-prod-chat-notifier-dlq"  # the topic policy's <stack>-*
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["ChatNotifierDeadLetterQueue", "QueueName"]}}
    ]
    assert (alarm["Threshold"], alarm["AlarmActions"]) == (0, [{"Ref": "NotificationsTopic"}])


def test_every_notifier_skip_carries_its_reason() -> None:
    resources = rendered(chat_webhook_secret=SECRET_NAME)["Resources"]
    skips = {
        (name, skip["id"]): skip["comment"]
        for name in NOTIFIER
        for skip in resources[name].get("Metadata", {}).get("checkov", {}).get("skip", [])
    }
    assert set(skips) == {
        ("ChatNotifierLogGroup", "CKV_AWS_158"),
        ("ChatNotifierDeadLetterQueue", "CKV_AWS_27"),
        ("ChatNotifierFunction", "CKV_AWS_117"),
        ("ChatNotifierFunction", "CKV_AWS_115"),
        ("ChatNotifierFunction", "CKV_AWS_173"),
    }
    assert all(len(reason) > 40 and "\n" not in reason for reason in skips.values())


# --- AWS Chatbot ---------------------------------------------------------------------------------


def test_chatbot_ids_add_a_slack_channel_on_the_notifications_topic() -> None:
    resources = rendered(chatbot_slack_workspace_id=WORKSPACE, chatbot_slack_channel_id=CHANNEL)[
        "Resources"
    ]
    assert resources["ChatbotSlackChannel"]["Properties"] == {
        "ConfigurationName": "feedback-prod-notifications",
        "IamRoleArn": {"Fn::GetAtt": ["ChatbotChannelRole", "Arn"]},
        "SlackWorkspaceId": WORKSPACE,
        "SlackChannelId": CHANNEL,
        "SnsTopicArns": [{"Ref": "NotificationsTopic"}],
        "GuardrailPolicies": [
            {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/CloudWatchReadOnlyAccess"}
        ],
        "UserRoleRequired": False,
        "LoggingLevel": "ERROR",
    }


def test_chatbots_role_reads_cloudwatch_and_nothing_else() -> None:
    role = rendered(chatbot_slack_workspace_id=WORKSPACE, chatbot_slack_channel_id=CHANNEL)[
        "Resources"
    ]["ChatbotChannelRole"]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "chatbot.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ]
    assert "ManagedPolicyArns" not in role["Properties"]
    assert grants(role) == {
        "ReadAlarmsAndMetrics": (
            ["cloudwatch:Describe*", "cloudwatch:Get*", "cloudwatch:List*"],
            ["*"],
        )
    }


def test_the_webhook_and_chatbot_together() -> None:
    template = rendered(
        chat_webhook_secret=SECRET_NAME,
        chatbot_slack_workspace_id=WORKSPACE,
        chatbot_slack_channel_id=CHANNEL,
    )
    assert chat_resources(template) == {**NOTIFIER, **CHATBOT}


# --- through `feedbackctl render` ----------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copy(ROOT / "feedbackctl.toml", tmp_path / "feedbackctl.toml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FEEDBACKCTL_CONFIG", raising=False)
    monkeypatch.delenv("FEEDBACKCTL_TEMPLATES_DIR", raising=False)
    return tmp_path


def configure(project: Path, lines: str) -> None:
    path = project / "feedbackctl.toml"
    text = path.read_text(encoding="utf-8")
    anchor = 'stack_name = "feedback-dev"\n'
    assert anchor in text
    path.write_text(text.replace(anchor, anchor + lines, 1), encoding="utf-8")


def test_render_refuses_one_chatbot_id_without_the_other(project: Path) -> None:
    configure(project, f'chatbot_slack_workspace_id = "{WORKSPACE}"\n')
    code, out, err = run_cli(["render", "--stage", "dev"])
    assert (code, out) == (2, "")
    assert err == (
        "error: feedbackctl.toml: stages.dev.chatbot_slack_workspace_id is set but "
        "stages.dev.chatbot_slack_channel_id is not; AWS Chatbot needs both (add "
        "chatbot_slack_channel_id (Slack: channel details) or remove chatbot_slack_workspace_id)\n"
    )


def test_render_prints_the_notifier_of_a_configured_stage(project: Path) -> None:
    configure(project, 'chat_webhook_secret = "feedback-dev/chat-webhook"\n')
    code, out, err = run_cli(["render", "--stage", "dev"])
    if code != 0:  # what a missing chat_notifier_source looks like through the CLI
        raise ConfigError(err)
    assert chat_resources(load(out)) == NOTIFIER
