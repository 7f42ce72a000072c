"""API Gateway REST (payload v1) proxy events in, proxy responses out.

`Request` gives case-insensitive headers, query parameters and the decoded body; `ApiError`
is how a handler says 4xx; `json_response` adds CORS (echoing an allowed Origin only) and the
headers every API response carries. Nothing a client sends can make these raise anything but
ApiError, and every response they build is valid UTF-8 (docs/api.md).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from lambdas.common.config import settings

ALLOWED_HEADERS = "Content-Type,Idempotency-Key,X-Api-Key,If-None-Match"
# Response headers a cross-origin page may read beyond the CORS-safelisted ones: the analytics
# validator (for its next If-None-Match) and a submission's replay flag.
EXPOSED_HEADERS = "ETag,Idempotent-Replayed"
ALLOWED_METHODS = "GET,POST,OPTIONS"


class ApiError(Exception):
    """A client error: becomes `{error, message, details}` with the given status."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, "details": self.details}


@dataclass
class Request:
    """The parts of a proxy event a handler reads."""

    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, str]
    raw_body: bytes
    request_id: str
    resource: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> Request:
        headers = {
            str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items() if v is not None
        }
        query = {
            str(k): str(v)
            for k, v in (event.get("queryStringParameters") or {}).items()
            if v is not None
        }
        body = event.get("body")
        if body is None:
            raw = b""
        elif event.get("isBase64Encoded"):
            try:
                raw = base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError):
                raise ApiError(
                    400,
                    "invalid_body",
                    "request body is not valid base64",
                    [{"field": "body", "problem": "must be base64 when isBase64Encoded is true"}],
                ) from None
        else:
            # surrogatepass: a text body holding an unpaired surrogate (a JSON "\ud800" in the
            # event) becomes bytes that are not UTF-8, which the handler rejects as a 400 when
            # it decodes them, instead of a UnicodeEncodeError here (a 500).
            raw = str(body).encode("utf-8", "surrogatepass")
        context = event.get("requestContext") or {}
        return cls(
            method=str(event.get("httpMethod") or "GET").upper(),
            path=str(event.get("path") or "/"),
            headers=headers,
            query=query,
            raw_body=raw,
            request_id=str(context.get("requestId") or ""),
            resource=str(event.get("resource") or ""),
        )

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def cors_headers(origin: str | None) -> dict[str, str]:
    """CORS headers for `origin`: echoed only when the stage allows it, never a wildcard."""
    headers = {"Vary": "Origin"}
    # Only an origin that is printable ASCII can be echoed into a header (even under "*").
    if not origin or not (origin.isascii() and origin.isprintable()):
        return headers
    allowed = settings().allowed_origins
    if origin.rstrip("/") in allowed or "*" in allowed:
        headers.update(
            {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                "Access-Control-Expose-Headers": EXPOSED_HEADERS,
                "Access-Control-Allow-Methods": ALLOWED_METHODS,
                "Access-Control-Max-Age": "600",
            }
        )
    return headers


def json_response(
    status: int,
    body: Any,
    *,
    origin: str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A proxy response with a JSON body, CORS and the no-store/nosniff headers."""
    all_headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        **cors_headers(origin),
        **(headers or {}),
    }
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # Last line of defence: an unpaired surrogate that reached a response is escaped
        # (ASCII JSON) rather than breaking the Lambda runtime's or the gateway's UTF-8 encoding.
        text = json.dumps(body, separators=(",", ":"))
    return {
        "statusCode": status,
        "headers": all_headers,
        "body": text,
        "isBase64Encoded": False,
    }


def error_response(error: ApiError, *, origin: str | None = None) -> dict[str, Any]:
    return json_response(error.status, error.body(), origin=origin, headers=error.headers)
