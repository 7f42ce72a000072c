"""The rendered AWS Backup plan: weekly, kept as the stage says, selecting the feedback and
analytics tables, into the stage's vault (encrypted with the stage's key when it has one), run
by a role only AWS Backup can assume."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from feedbackctl.config import load_config
from feedbackctl.templating import render_stack
from tests.cfn_yaml import load, resources_of_type

ROOT = Path(__file__).resolve().parents[2]
CONFIG = load_config(ROOT / "feedbackctl.toml")
KMS_KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.mark.parametrize("days", [7, 35, 400])
def test_the_plan_is_weekly_and_keeps_backups_as_the_stage_says(days: int) -> None:
    stage = dataclasses.replace(CONFIG.stage("prod"), backup_retention_days=days)
    template = load(render_stack(stage))
    [plan] = resources_of_type(template, "AWS::Backup::BackupPlan").values()
    [rule] = plan["Properties"]["BackupPlan"]["BackupPlanRule"]
    assert rule["ScheduleExpression"] == "cron(0 3 ? * SUN *)"
    assert rule["Lifecycle"] == {"DeleteAfterDays": days}
    assert rule["TargetBackupVault"] == {"Ref": "BackupVault"}


def test_the_selection_is_the_feedback_and_analytics_tables() -> None:
    template = load(render_stack(CONFIG.stage("dev")))
    resources = template["Resources"]
    [selection] = resources_of_type(template, "AWS::Backup::BackupSelection").values()
    body = selection["Properties"]["BackupSelection"]
    assert body["Resources"] == [
        {"Fn::GetAtt": ["FeedbackTable", "Arn"]},
        {"Fn::GetAtt": ["AnalyticsTable", "Arn"]},
    ]
    assert body["IamRoleArn"] == {"Fn::GetAtt": ["BackupRole", "Arn"]}
    role = resources["BackupRole"]["Properties"]
    [statement] = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "backup.amazonaws.com"}
    [policy] = role["ManagedPolicyArns"]
    assert "AWSBackupServiceRolePolicyForBackup" in str(policy)
    assert "Restore" not in str(role)  # restores are the operator's, not the plan's


def test_the_vault_uses_the_stages_key_when_it_has_one() -> None:
    plain = load(render_stack(CONFIG.stage("dev")))["Resources"]["BackupVault"]
    assert "EncryptionKeyArn" not in plain["Properties"]
    assert plain["Metadata"]["checkov"]["skip"][0]["id"] == "CKV_AWS_166"
    keyed = dataclasses.replace(CONFIG.stage("dev"), kms_key_arn=KMS_KEY)
    vault = load(render_stack(keyed))["Resources"]["BackupVault"]
    assert vault["Properties"]["EncryptionKeyArn"] == KMS_KEY
    assert "Metadata" not in vault
    assert vault["DeletionPolicy"] == "Retain"


def test_a_retention_outside_aws_backups_bounds_is_a_config_error(tmp_path: Path) -> None:
    from feedbackctl.errors import ConfigError

    config = tmp_path / "feedbackctl.toml"
    config.write_text(
        '[stages.x]\nregion = "eu-west-1"\nstack_name = "fb-x"\nbackup_retention_days = 3\n'
    )
    with pytest.raises(ConfigError, match="backup_retention_days"):
        load_config(config)
