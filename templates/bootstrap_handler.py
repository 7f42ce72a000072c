"""Placeholder code every function runs until its first release replaces it.

CloudFormation creates each function from this file (as `index.py`), so that the bootstrap
version and the `live` alias exist before any real code does. The release engine then owns
the code: it uploads the real package and moves the alias, and this file never changes.
"""

import json
from typing import Any

BODY = {"error": "not_released", "message": "this function has not been released yet"}


class NotReleasedError(Exception):
    """Raised for events that must not be answered with success by code that cannot act."""


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    if not isinstance(event, dict):
        event = {}
    if event.get("feedbackctl") == "health-check":
        return {"healthy": False, "reason": "bootstrap"}
    records = event.get("Records")
    if isinstance(records, list) and any(
        isinstance(r, dict) and r.get("EventSource") == "aws:sns" for r in records
    ):
        # An alarm before the orchestrator's first release: failing the invocation makes Lambda
        # retry it and then keep it in the dead-letter queue; success would lose the alarm.
        raise NotReleasedError(
            "the rollback orchestrator has not been released; alarm kept for retry"
        )
    if (
        isinstance(records, list)
        and records
        and all(isinstance(r, dict) and isinstance(r.get("dynamodb"), dict) for r in records)
    ):
        # A stream batch must not count as processed by code that cannot process it: report
        # every record failed so it is retried and then lands in the on-failure queue.
        return {
            "batchItemFailures": [
                {"itemIdentifier": r["dynamodb"].get("SequenceNumber", "")} for r in records
            ]
        }
    return {
        "statusCode": 503,
        "headers": {"Content-Type": "application/json", "Retry-After": "60"},
        "body": json.dumps(BODY),
    }
