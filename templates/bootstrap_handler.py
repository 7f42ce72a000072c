"""Placeholder code every function runs until its first release replaces it.

CloudFormation creates each function from this file (as `index.py`), so that the bootstrap
version and the `live` alias exist before any real code does. The release engine then owns
the code: it uploads the real package and moves the alias, and this file never changes.
"""

import json
from typing import Any

BODY = {"error": "not_released", "message": "this function has not been released yet"}


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    if not isinstance(event, dict):
        event = {}
    if event.get("feedbackctl") == "health-check":
        return {"healthy": False, "reason": "bootstrap"}
    records = event.get("Records")
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
