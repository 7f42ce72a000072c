"""GET /feedback?limit=&cursor=&rating=&sentiment=&from=&to=: newest first, one page per call,
never the email.

One Query with Limit = limit + 1 on the GSI that serves the filter (lambdas/common/
feedback_filter.py: `createdAt-index`, `rating-index`, `sentiment-index` or, for rating and
sentiment together, `ratingSentiment-index`, each sorted by `createdAt`): the extra item only
tells whether a next page exists, so a page reads at most limit + 1 items whatever the table
size and whatever the filter.
"""

from __future__ import annotations

import re
from typing import Any

from lambdas.common import cursor, dynamo
from lambdas.common.config import settings
from lambdas.common.feedback_filter import Filter, parse_filter
from lambdas.common.http import ApiError, Request, json_response
from lambdas.common.runtime import Runtime

runtime = Runtime("list-feedback")
log = runtime.logger

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
_DIGITS_RE = re.compile(r"[0-9]{1,4}")  # fullmatch: "$" would admit "5\n"
LIMIT_PROBLEM = f"must be an integer from 1 to {MAX_LIMIT}"
_PROJECTION = "feedbackId, #name, rating, message, sentiment, createdAt"


def parse_parameters(query: dict[str, str]) -> tuple[int, Filter]:
    """The page size and the filter; every bad parameter is listed in one 400."""
    raw = query.get("limit")
    limit_ok = raw is None or (_DIGITS_RE.fullmatch(raw) and 1 <= int(raw) <= MAX_LIMIT)
    problems = [] if limit_ok else [{"field": "limit", "problem": LIMIT_PROBLEM}]
    wanted, filter_problems = parse_filter(query)
    problems += filter_problems
    if problems:
        fields = list(dict.fromkeys(p["field"] for p in problems))
        verb = "is" if len(fields) == 1 else "are"
        raise ApiError(400, "invalid_parameter", f"{', '.join(fields)} {verb} invalid", problems)
    return (DEFAULT_LIMIT if raw is None else int(raw)), wanted


def parse_cursor(raw: str | None, wanted: Filter) -> cursor.Position | None:
    if raw is None:
        return None
    try:
        position = cursor.decode(raw)
    except cursor.CursorError:
        position = None
    problem = "was not issued by this API"
    if position is not None and not wanted.covers(position.created_at):
        problem = "is outside the from-to range"  # DynamoDB refuses a start key outside it
    elif position is not None:
        return position
    raise ApiError(
        400,
        "invalid_cursor",
        "cursor is invalid; start again without a cursor",
        [{"field": "cursor", "problem": problem}],
    )


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
    limit, wanted = parse_parameters(request.query)
    start = parse_cursor(request.query.get("cursor"), wanted)
    query: dict[str, Any] = {
        "TableName": settings().require_feedback_table(),
        **wanted.query(),
        "ProjectionExpression": _PROJECTION,
        "ScanIndexForward": False,
        "Limit": limit + 1,
    }
    query["ExpressionAttributeNames"]["#name"] = "name"
    if start is not None:
        _, attribute, value = wanted.partition
        query["ExclusiveStartKey"] = start.exclusive_start_key(attribute, value)
    result = dynamo.client().query(**query)
    raw_items = result.get("Items", [])
    items = [_item(raw) for raw in raw_items[:limit]]
    next_cursor = None
    if len(raw_items) > limit:
        last = items[-1]
        next_cursor = cursor.encode(cursor.Position(last["createdAt"], last["feedbackId"]))
    elif "LastEvaluatedKey" in result:
        # Limit stopped the read (the filter may have skipped what it read): go on from there.
        key = result["LastEvaluatedKey"]
        next_cursor = cursor.encode(cursor.Position(key["createdAt"]["S"], key["feedbackId"]["S"]))
    return json_response(
        200, {"items": items, "nextCursor": next_cursor}, origin=request.header("origin")
    )
