"""Shared fixtures: a moto server on 127.0.0.1 that every AWS client in the tests talks to,
fresh tables per test, and the handlers' environment pointed at them.

At import time the environment gets dummy credentials and an endpoint on a closed local port,
so no test can reach real AWS even by mistake.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # replaced by the moto server fixture
    }
)
os.environ.pop("AWS_PROFILE", None)

EVENTS_DIR = Path(__file__).parent / "events"


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS_DIR / name).read_text())
    return event


@pytest.fixture(scope="session")
def moto_server() -> Iterator[Any]:
    """The session's moto server (`sandbox.MotoServer`): its URL, and its application for a
    caller in this process (`in_process()`)."""
    from feedbackctl.sandbox import start_moto_server

    server, endpoint = start_moto_server()
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto_endpoint(moto_server: Any) -> str:
    return str(moto_server.url)


@pytest.fixture
def ddb(moto_endpoint: str) -> Any:
    import boto3

    return boto3.client("dynamodb", endpoint_url=moto_endpoint)


@pytest.fixture
def tables(ddb: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Fresh feedback and analytics tables; the handlers' environment points at them."""
    from feedbackctl.sandbox import create_email_key, create_tables
    from lambdas.common import dynamo, identity
    from lambdas.common.config import reload_settings

    suffix = uuid.uuid4().hex[:8]
    names = {"feedback": f"feedback-{suffix}", "analytics": f"analytics-{suffix}"}
    create_tables(ddb, names["feedback"], names["analytics"])
    secrets = boto3.client("secretsmanager", endpoint_url=ddb.meta.endpoint_url)
    names["email_key"] = create_email_key(secrets, f"email-key-{suffix}")
    monkeypatch.setenv("EMAIL_HASH_SECRET_ARN", names["email_key"])
    identity.reset_key()
    monkeypatch.setenv("FEEDBACK_TABLE_NAME", names["feedback"])
    monkeypatch.setenv("ANALYTICS_TABLE_NAME", names["analytics"])
    monkeypatch.setenv("ALLOWED_ORIGINS", "https://app.example.com,http://localhost:5173")
    monkeypatch.setenv("RETENTION_DAYS", "30")
    monkeypatch.setenv("STAGE", "test")
    reload_settings()
    dynamo.reset_client()
    yield names
    reload_settings()


def scan_all(ddb: Any, table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table}
    while True:
        page = ddb.scan(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def create_keyed_table(ddb: Any, name: str, key: str = "pk", **extra: Any) -> None:
    """An on-demand table keyed by one string attribute, `key` (`extra`: more CreateTable
    parameters, a stream's for instance)."""
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )


def process_gone(pid: int) -> bool:
    """The process has exited: no longer listed, or a zombie its parent has not reaped yet."""
    status = Path(f"/proc/{pid}/status")
    try:
        return "zombie" in status.read_text().lower()
    except FileNotFoundError:
        return True
