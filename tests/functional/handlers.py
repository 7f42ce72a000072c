"""Helpers for invoking the handlers as Lambda would, on the stored events."""

from __future__ import annotations

import copy
import json
from typing import Any

from feedbackctl.sandbox import InvocationContext
from tests.conftest import load_event


def invoke(module: Any, event: dict[str, Any], version: str = "7") -> dict[str, Any]:
    context = InvocationContext(function_name=module.runtime.service, function_version=version)
    result: dict[str, Any] = module.lambda_handler(event, context)
    return result


def body_of(response: dict[str, Any]) -> Any:
    return json.loads(response["body"]) if response.get("body") else None


def post_event(
    body: Any = None, *, raw: str | None = None, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    event = copy.deepcopy(load_event("post_feedback.json"))
    if raw is not None or body is not None:
        event["body"] = raw if raw is not None else json.dumps(body)
    if headers is not None:
        event["headers"] = {**event["headers"], **headers}
    return event


def list_event(query: dict[str, str] | None) -> dict[str, Any]:
    event = copy.deepcopy(load_event("list_feedback.json"))
    event["queryStringParameters"] = query
    return event


VALID = {
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "rating": 5,
    "message": "The new dashboard is excellent, I love how fast it is!",
}
