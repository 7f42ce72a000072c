"""GET /feedback?limit=&cursor=: newest first, one page per call, never the email.

One Query on the `createdAt-index` GSI with Limit = limit + 1: the extra item only tells
whether a next page exists, so a page reads at most limit + 1 items whatever the table size.
"""

from __future__ import annotations

import re
from typing import Any

from lambdas.common import cursor, dynamo
from lambdas.common.config import settings
from lambdas.common.http import ApiError, Request, json_response
from lambdas.common.runtime import Runtime

runtime = Runtime("list-feedback")
log = runtime.logger

INDEX_NAME = "createdAt-index"
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
_DIGITS_RE = re.compile(r"[0-9]{1,4}")  # fullmatch: "$" would admit "5\n"
_PROJECTION = "feedbackId, #name, rating, message, sentiment, createdAt"


def parse_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not _DIGITS_RE.fullmatch(raw) or not 1 <= int(raw) <= MAX_LIMIT:
        raise ApiError(
            400,
            "invalid_parameter",
            "limit is invalid",
            [{"field": "limit", "problem": f"must be an integer from 1 to {MAX_LIMIT}"}],
        )
    return int(raw)


def parse_cursor(raw: str | None) -> cursor.Position | None:
    if raw is None:
        return None
    try:
        return cursor.decode(raw)
    except cursor.CursorError:
        raise ApiError(
            400,
            "invalid_cursor",
            "cursor is invalid; start again without a cursor",
            [{"field": "cursor", "problem": "was not issued by this API"}],
        ) from None


def _item(raw: dict[str, Any]) -> dict[str, Any]:
    plain = dynamo.unmarshal_item(raw)
    return {
        k: plain.get(k)
        for k in ("feedbackId", "name", "rating", "message", "sentiment", "createdAt")
    }


@runtime.api
def lambda_handler(request: Request, context: Any) -> dict[str, Any]:
    if request.method != "GET":
        raise ApiError(405, "method_not_allowed", "use GET to list feedback")
    limit = parse_limit(request.query.get("limit"))
    start = parse_cursor(request.query.get("cursor"))
    query: dict[str, Any] = {
        "TableName": settings().require_feedback_table(),
        "IndexName": INDEX_NAME,
        "KeyConditionExpression": "#status = :active",
        "ExpressionAttributeNames": {"#status": "status", "#name": "name"},
        "ExpressionAttributeValues": {":active": {"S": cursor.ACTIVE_STATUS}},
        "ProjectionExpression": _PROJECTION,
        "ScanIndexForward": False,
        "Limit": limit + 1,
    }
    if start is not None:
        query["ExclusiveStartKey"] = start.exclusive_start_key()
    result = dynamo.client().query(**query)
    raw_items = result.get("Items", [])
    items = [_item(raw) for raw in raw_items[:limit]]
    more = len(raw_items) > limit or (len(raw_items) == limit and "LastEvaluatedKey" in result)
    next_cursor = None
    if more and items:
        last = items[-1]
        next_cursor = cursor.encode(cursor.Position(last["createdAt"], last["feedbackId"]))
    return json_response(
        200, {"items": items, "nextCursor": next_cursor}, origin=request.header("origin")
    )
