"""A data stage on the moto server for the data commands' tests (forget, restore): the feedback
and analytics tables, the email-hash key, a feedbackctl.toml naming the stack, the handlers'
environment pointing at them, and a pump of the feedback table's stream."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from feedbackctl.naming import StackNames
from feedbackctl.sandbox import StreamPump, create_email_key, create_tables
from lambdas.common import dynamo, identity
from lambdas.common.config import reload_settings


@dataclass(frozen=True)
class DataStage:
    names: StackNames
    pump: StreamPump
    clients: dict[str, Any]


def data_stage(
    ddb: Any, endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prefix: str
) -> Iterator[DataStage]:
    stack = f"{prefix}-{uuid.uuid4().hex[:8]}"
    names = StackNames(stack)
    create_tables(ddb, names.feedback_table, names.analytics_table)
    secrets = boto3.client("secretsmanager", endpoint_url=endpoint)
    key = create_email_key(secrets, names.email_hash_key)
    config = tmp_path / "feedbackctl.toml"
    config.write_text(
        '[project]\ndefault_stage = "test"\n'
        f'[stages.test]\nregion = "us-east-1"\nstack_name = "{stack}"\n'
    )
    monkeypatch.setenv("FEEDBACKCTL_CONFIG", str(config))
    monkeypatch.setenv("FEEDBACK_TABLE_NAME", names.feedback_table)
    monkeypatch.setenv("ANALYTICS_TABLE_NAME", names.analytics_table)
    monkeypatch.setenv("EMAIL_HASH_SECRET_ARN", key)
    monkeypatch.setenv("RETENTION_DAYS", "30")
    reload_settings()
    dynamo.reset_client()
    identity.reset_key()
    arn = ddb.describe_table(TableName=names.feedback_table)["Table"]["LatestStreamArn"]
    pump = StreamPump(boto3.client("dynamodbstreams", endpoint_url=endpoint), arn)
    yield DataStage(names, pump, {"dynamodb": ddb, "secretsmanager": secrets})
    reload_settings()
    identity.reset_key()
