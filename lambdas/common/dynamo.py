"""DynamoDB access for the functions: one lazily created client per container, and the
small (un)marshalling helpers the handlers use instead of boto3's heavier resource layer.

The client is built with boto3's own endpoint resolution, so AWS_ENDPOINT_URL (the local
platform, tests) is honoured without any code here.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import boto3
from botocore.config import Config

_CLIENT_CONFIG = Config(
    connect_timeout=2,
    read_timeout=5,
    retries={"max_attempts": 3, "mode": "standard"},
)
_client: Any = None


def client() -> Any:
    """The container's DynamoDB client, created on first use and then reused."""
    global _client  # noqa: PLW0603 - one client per container is the point
    if _client is None:
        _client = boto3.client("dynamodb", config=_CLIENT_CONFIG)
    return _client


def reset_client() -> None:
    """Drop the cached client (tests that move the endpoint)."""
    global _client  # noqa: PLW0603
    _client = None


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError, or the exception's type name."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", type(exc).__name__))
    return type(exc).__name__


def s(value: str) -> dict[str, str]:
    return {"S": value}


def n(value: int | float | Decimal) -> dict[str, str]:
    return {"N": str(value)}


def _number(raw: str) -> int | Decimal:
    number = Decimal(raw)
    return int(number) if number == number.to_integral_value() else number


_DECODERS: dict[str, Any] = {
    "S": lambda raw: raw,
    "N": _number,
    "BOOL": bool,
    "NULL": lambda raw: None,
    "M": lambda raw: {k: unmarshal(v) for k, v in raw.items()},
    "L": lambda raw: [unmarshal(v) for v in raw],
    "SS": set,
    "NS": lambda raw: {_number(x) for x in raw},
    "BS": set,
    "B": lambda raw: raw,
}


def unmarshal(value: dict[str, Any]) -> Any:
    """Turn one DynamoDB attribute value into plain Python (N → int or Decimal)."""
    ((kind, raw),) = value.items()
    return _DECODERS[kind](raw)


def unmarshal_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: unmarshal(v) for k, v in item.items()}
