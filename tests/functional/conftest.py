"""Fixtures shared by the handler tests on the moto server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from lambdas.common import dynamo


@pytest.fixture
def scanned(tables: dict[str, str]) -> Iterator[list[int]]:
    """ScannedCount of every Query the handler makes (items read, as DynamoDB bills them)."""
    counts: list[int] = []

    def record(http_response: Any, parsed: dict[str, Any], model: Any, **kwargs: Any) -> None:
        counts.append(parsed.get("ScannedCount", 0))

    client = dynamo.client()
    client.meta.events.register("after-call.dynamodb.Query", record)
    yield counts
    client.meta.events.unregister("after-call.dynamodb.Query", record)
