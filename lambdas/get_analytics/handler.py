"""GET /analytics: one GetItem of the `global` aggregate, shaped for the dashboard.

Conditional: the body carries a strong `ETag` (a hash of its exact bytes), and a request whose
`If-None-Match` names it is answered 304 with no body, so a dashboard polling every second
re-downloads nothing until a figure (or the date, which moves the daily window) changes.
`Cache-Control: no-cache` keeps every cache on the way revalidating (docs/api.md).
"""

from __future__ import annotations

from typing import Any

from lambdas.common import analytics, dynamo
from lambdas.common.config import settings
from lambdas.common.http import ApiError, Request, cors_headers, json_response
from lambdas.common.runtime import Runtime
from lambdas.get_analytics.conditional import CACHE_CONTROL, none_match, strong_etag

runtime = Runtime("get-analytics")


@runtime.api
def lambda_handler(request: Request, context: Any) -> dict[str, Any]:
    if request.method != "GET":
        raise ApiError(405, "method_not_allowed", "use GET to read analytics")
    result = dynamo.client().get_item(
        TableName=settings().require_analytics_table(),
        Key={"aggregateId": {"S": analytics.GLOBAL_ID}},
    )
    item = dynamo.unmarshal_item(result["Item"]) if "Item" in result else None
    body = analytics.summary(item, analytics.utc_now().date())
    origin = request.header("origin")
    response = json_response(200, body, origin=origin, headers={"Cache-Control": CACHE_CONTROL})
    etag = strong_etag(response["body"])
    if none_match(request.header("if-none-match"), etag):
        return not_modified(etag, origin)
    response["headers"]["ETag"] = etag
    return response


def not_modified(etag: str, origin: str | None) -> dict[str, Any]:
    """304: the validator and the caching and CORS headers a 200 would carry, no body
    (RFC 9110 §15.4.5)."""
    headers = {
        "ETag": etag,
        "Cache-Control": CACHE_CONTROL,
        "X-Content-Type-Options": "nosniff",
        **cors_headers(origin),
    }
    return {"statusCode": 304, "headers": headers, "body": "", "isBase64Encoded": False}
