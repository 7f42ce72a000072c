"""A stage's stack can always be deployed again: what the first deploy relies on in AWS, as
far as it can be shown without CloudFormation (moto's skips it, ../shared/MOTO.md).

The exact CloudFormation sequences (REVIEW_IN_PROGRESS, ROLLBACK_COMPLETE, IMPORT, refused
version and alias changes) are in test_deploy_cfn.py; here: the refusal of retained tables
through the CLI against moto, the import template built from the real rendered templates, and
the regional template URL. docs/first-deploy.md maps each behaviour to its test.
"""

from __future__ import annotations

import json
import uuid

import boto3
import pytest
from typer.testing import CliRunner

from feedbackctl import cfnyaml
from feedbackctl.aws.stacks import import_template
from feedbackctl.cli.app import app
from feedbackctl.config import load_config
from feedbackctl.deploy import regional_s3_url
from feedbackctl.templating import render_bootstrap, render_stack
from tests.conftest import create_keyed_table

TABLE_IDS = ("FeedbackTable", "AnalyticsTable", "LedgerTable")


@pytest.mark.parametrize(
    ("region", "url"),
    [
        ("us-east-1", "https://b.s3.us-east-1.amazonaws.com/templates/k.yaml"),
        ("eu-west-1", "https://b.s3.eu-west-1.amazonaws.com/templates/k.yaml"),
        ("cn-north-1", "https://b.s3.cn-north-1.amazonaws.com.cn/templates/k.yaml"),
        ("us-gov-west-1", "https://b.s3.us-gov-west-1.amazonaws.com/templates/k.yaml"),
        ("aws-global", "https://b.s3.us-east-1.amazonaws.com/templates/k.yaml"),
    ],
)
def test_the_template_url_is_regional_and_virtual_hosted(region, url):
    # The global endpoint answers a bucket just created outside us-east-1 with a 307.
    assert regional_s3_url("b", "templates/k.yaml", region) == url


def test_the_import_template_is_the_deployed_one_plus_exactly_the_tables():
    stage = load_config().stage("dev")
    bootstrap, full = render_bootstrap(stage), render_stack(stage)
    imported = json.loads(import_template(bootstrap, full, TABLE_IDS))
    deployed = cfnyaml.load(bootstrap)
    wanted = cfnyaml.load(full)["Resources"]
    # An import may add the imported resources and change nothing else (outputs included).
    assert set(imported["Resources"]) == set(deployed["Resources"]) | set(TABLE_IDS)
    assert imported["Outputs"] == deployed["Outputs"]
    for logical_id in TABLE_IDS:
        assert imported["Resources"][logical_id] == wanted[logical_id]
        assert imported["Resources"][logical_id]["DeletionPolicy"] == "Retain"
    for logical_id, resource in deployed["Resources"].items():
        assert imported["Resources"][logical_id] == resource


@pytest.fixture
def stage(moto_endpoint, tmp_path, monkeypatch):
    stack = f"fb-{uuid.uuid4().hex[:6]}"
    config = tmp_path / "feedbackctl.toml"
    config.write_text(
        '[project]\ndefault_stage = "test"\n'
        f'[stages.test]\nregion = "us-east-1"\nstack_name = "{stack}"\n'
    )
    monkeypatch.setenv("FEEDBACKCTL_CONFIG", str(config))
    import feedbackctl.cli.commands.deploy.run as flow

    monkeypatch.setattr(flow, "engine_ports", lambda aws: None)
    return stack


def test_a_deploy_onto_retained_tables_is_refused_with_the_command_and_changes_nothing(stage):
    """`destroy` without --delete-data keeps the tables; the next create would collide."""
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    create_keyed_table(ddb, f"{stage}-ledger")
    result = CliRunner().invoke(app, ["deploy", "--function", "health", "--yes"])
    assert result.exit_code == 3, result.output
    assert result.stderr.replace("\n", "") == (
        f"error: checking for retained resources: table(s) {stage}-ledger already exist outside "
        f"stack {stage} (kept by DeletionPolicy Retain when an earlier stack went); the stack "
        "cannot create them (adopt them with `feedbackctl deploy --stage test --adopt-retained`, "
        f"or if their data may go: `aws dynamodb delete-table --table-name {stage}-ledger "
        "--region us-east-1`)"
    )
    stacks = boto3.client("cloudformation").list_stacks()["StackSummaries"]
    assert all(s["StackName"] != stage for s in stacks)
