"""GET /analytics: one GetItem of the `global` aggregate, shaped for the dashboard."""

from __future__ import annotations

from typing import Any

from lambdas.common import analytics, dynamo
from lambdas.common.config import settings
from lambdas.common.http import ApiError, Request, json_response
from lambdas.common.runtime import Runtime

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
    return json_response(200, body, origin=request.header("origin"))
