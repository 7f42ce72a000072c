"""API Gateway verbs: the account's CloudWatch Logs role setting (read and set) and an API key's
value.

Over an injected `apigateway` client. The logging role is one setting per account and region
(docs/first-deploy.md); feedbackctl.apigateway_account decides when to change it.
"""

from __future__ import annotations

from typing import Any


def logging_role(client: Any) -> str | None:
    """The ARN API Gateway writes CloudWatch Logs as in this region, or None when unset."""
    return client.get_account().get("cloudwatchRoleArn") or None


def set_logging_role(client: Any, arn: str) -> None:
    client.update_account(
        patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": arn}]
    )


def api_key_value(client: Any, key_id: str) -> str:
    return str(client.get_api_key(apiKey=key_id, includeValue=True)["value"])
