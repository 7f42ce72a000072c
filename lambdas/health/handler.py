"""GET /health: the function version and whether both tables answer.

The happy path is one BatchGetItem of a key that never exists (a cheap read touching both
tables). Only when it fails does the handler ask each table alone, to name the one failing.
"""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lambdas.common import dynamo
from lambdas.common.config import ConfigurationError, settings
from lambdas.common.http import ApiError, Request, json_response
from lambdas.common.runtime import Runtime

runtime = Runtime("health")
log = runtime.logger

PROBE_KEYS = {
    "feedbackTable": ("feedbackId", "__health__"),
    "analyticsTable": ("aggregateId", "__health__"),
}


def _tables() -> dict[str, str]:
    config = settings()
    return {
        "feedbackTable": config.require_feedback_table(),
        "analyticsTable": config.require_analytics_table(),
    }


def _probe(request_items: dict[str, Any]) -> None:
    dynamo.client().batch_get_item(RequestItems=request_items)


def _request_items(tables: dict[str, str], which: list[str]) -> dict[str, Any]:
    items = {}
    for dependency in which:
        key_name, key_value = PROBE_KEYS[dependency]
        items[tables[dependency]] = {
            "Keys": [{key_name: {"S": key_value}}],
            "ProjectionExpression": key_name,
        }
    return items


def check_dependencies() -> dict[str, dict[str, Any]]:
    tables = _tables()
    started = time.perf_counter()
    try:
        _probe(_request_items(tables, list(tables)))
        latency = round((time.perf_counter() - started) * 1000, 1)
        return {name: {"ok": True, "latencyMs": latency} for name in tables}
    except (ClientError, BotoCoreError):
        pass
    checks: dict[str, dict[str, Any]] = {}
    for name in tables:
        try:
            _probe(_request_items(tables, [name]))
            checks[name] = {"ok": True}
        except (ClientError, BotoCoreError) as exc:
            checks[name] = {"ok": False, "table": tables[name], "error": dynamo.error_code(exc)}
    return checks


@runtime.api
def lambda_handler(request: Request, context: Any) -> dict[str, Any]:
    if request.method != "GET":
        raise ApiError(405, "method_not_allowed", "use GET for health")
    base = {
        "function": getattr(context, "function_name", "health"),
        "version": getattr(context, "function_version", "$LATEST"),
        "stage": settings().stage or None,
    }
    try:
        checks = check_dependencies()
    except ConfigurationError as exc:
        log.warning("health degraded", reason=str(exc))
        return json_response(
            503, {"status": "unavailable", **base, "failing": ["configuration"], "reason": str(exc)}
        )
    failing = [name for name, check in checks.items() if not check["ok"]]
    if failing:
        log.warning("health degraded", failing=failing)
        return json_response(
            503,
            {"status": "unavailable", **base, "failing": failing, "checks": checks},
            origin=request.header("origin"),
        )
    return json_response(
        200, {"status": "ok", **base, "checks": checks}, origin=request.header("origin")
    )
