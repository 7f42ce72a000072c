"""The code every function runs until its first release (templates/bootstrap_handler.py): it
never answers success for work it cannot do. An alarm delivered by SNS before the orchestrator's
first release fails the invocation, so Lambda retries it and then keeps it in the orchestrator's
dead-letter queue (the template wires it; tests/unit/test_render.py), instead of losing it.
"""

from __future__ import annotations

import importlib.util
import json
from types import ModuleType
from typing import Any

import pytest

from feedbackctl.templating import DEFAULT_TEMPLATES
from tests.conftest import load_event


@pytest.fixture(scope="module")
def bootstrap() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bootstrap_index", DEFAULT_TEMPLATES / "bootstrap_handler.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("event", ["sns_alarm_lambda_errors.json", "sns_alarm_logged_errors.json"])
def test_an_alarm_from_sns_fails_so_it_is_retried_and_kept(
    bootstrap: ModuleType, event: str
) -> None:
    with pytest.raises(bootstrap.NotReleasedError, match="has not been released"):
        bootstrap.lambda_handler(load_event(event), None)


def test_a_stream_batch_is_reported_failed_record_by_record(bootstrap: ModuleType) -> None:
    event = load_event("stream_batch.json")
    result = bootstrap.lambda_handler(event, None)
    expected = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
    assert [f["itemIdentifier"] for f in result["batchItemFailures"]] == expected


def test_an_api_request_is_a_503_not_released(bootstrap: ModuleType) -> None:
    result: dict[str, Any] = bootstrap.lambda_handler(load_event("post_feedback.json"), None)
    assert result["statusCode"] == 503
    assert json.loads(result["body"])["error"] == "not_released"


def test_the_health_check_is_unhealthy(bootstrap: ModuleType) -> None:
    assert bootstrap.lambda_handler({"feedbackctl": "health-check"}, None) == {
        "healthy": False,
        "reason": "bootstrap",
    }
