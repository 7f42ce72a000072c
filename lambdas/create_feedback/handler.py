"""POST /feedback: validate, classify sentiment, store once.

Rejected input writes nothing. The put is conditional, so no item is ever overwritten; with an
`Idempotency-Key` header the item id is derived from the key, so a retried submission finds
the first one (in the same round trip, via ReturnValuesOnConditionCheckFailure) instead of
storing a second. Same key with a different body is a 409.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from typing import Any

from lambdas.common import dynamo
from lambdas.common.config import settings
from lambdas.common.http import ApiError, Request, json_response
from lambdas.common.runtime import Runtime
from lambdas.common.sentiment import classify
from lambdas.common.validation import MAX_BODY_BYTES, Feedback, validate_feedback

runtime = Runtime("create-feedback")
log = runtime.logger

IDEMPOTENCY_KEY_RE = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
PUBLIC_FIELDS = ("feedbackId", "name", "rating", "message", "sentiment", "createdAt", "status")


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ApiError(
            400,
            "invalid_json",
            "request body repeats a field",
            [{"field": k, "problem": "appears more than once"} for k in duplicates],
        )
    return dict(pairs)


def _reject_constant(name: str) -> Any:
    raise ApiError(400, "invalid_json", f"request body contains {name}, which is not valid JSON")


def parse_body(request: Request) -> Any:
    content_type = (request.header("content-type") or "").split(";", 1)[0].strip().lower()
    if content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "Content-Type must be application/json")
    if len(request.raw_body) > MAX_BODY_BYTES:
        raise ApiError(
            413, "payload_too_large", f"request body must be at most {MAX_BODY_BYTES} bytes"
        )
    try:
        text = request.raw_body.decode("utf-8")
        return json.loads(
            text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant
        )
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ApiError(400, "invalid_json", "request body must be a JSON object") from None


def idempotency_key(request: Request) -> str | None:
    key = request.header("idempotency-key")
    if key is None:
        return None
    if not IDEMPOTENCY_KEY_RE.match(key):
        raise ApiError(
            400,
            "validation_error",
            "Idempotency-Key is malformed",
            [
                {
                    "field": "Idempotency-Key",
                    "problem": "must be 8-128 characters of A-Z a-z 0-9 . _ : -",
                }
            ],
        )
    return key


def key_to_id(key: str) -> str:
    """A stable UUID (version-4 layout) for an idempotency key: retries land on one item."""
    digest = hashlib.sha256(b"feedbackctl/idempotency/" + key.encode("ascii")).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def request_hash(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def timestamp(now: float) -> str:
    seconds = int(now)
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        + f".{int((now - seconds) * 1000):03d}Z"
    )


def build_item(
    feedback: Feedback, feedback_id: str, now: float, body_hash: str | None
) -> dict[str, Any]:
    item = {
        "feedbackId": dynamo.s(feedback_id),
        "name": dynamo.s(feedback.name),
        "email": dynamo.s(feedback.email),
        "rating": dynamo.n(feedback.rating),
        "message": dynamo.s(feedback.message),
        "sentiment": dynamo.s(classify(feedback.message)),
        "createdAt": dynamo.s(timestamp(now)),
        "status": dynamo.s("active"),
        "expiresAt": dynamo.n(int(now) + settings().retention_days * 86400),
    }
    if body_hash:
        item["requestHash"] = dynamo.s(body_hash)
    return item


def public_view(item: dict[str, Any]) -> dict[str, Any]:
    """What the API returns for a stored item: never the email or internal attributes."""
    plain = dynamo.unmarshal_item(item)
    return {k: plain[k] for k in PUBLIC_FIELDS if k in plain}


def store(item: dict[str, Any]) -> dict[str, Any] | None:
    """Put the item unless its id exists; return the existing item when it does."""
    client = dynamo.client()
    try:
        client.put_item(
            TableName=settings().require_feedback_table(),
            Item=item,
            ConditionExpression="attribute_not_exists(feedbackId)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except client.exceptions.ConditionalCheckFailedException as exc:
        existing: dict[str, Any] = exc.response.get("Item") or {}
        return existing
    return None


@runtime.api
def lambda_handler(request: Request, context: Any) -> dict[str, Any]:
    origin = request.header("origin")
    if request.method != "POST":
        raise ApiError(405, "method_not_allowed", "use POST to submit feedback")
    body = parse_body(request)
    feedback, errors = validate_feedback(body)
    if feedback is None:
        raise ApiError(
            400, "validation_error", "the feedback is invalid", [e.as_dict() for e in errors]
        )
    key = idempotency_key(request)
    body_hash = request_hash(body) if key else None
    feedback_id = key_to_id(key) if key else str(uuid.uuid4())
    item = build_item(feedback, feedback_id, time.time(), body_hash)
    existing = store(item)
    if existing is not None:
        if not key:  # a uuid4 collision: astronomically rare, never overwrite
            raise ApiError(409, "conflict", "the generated id exists; submit again")
        if existing.get("requestHash", {}).get("S") != body_hash:
            raise ApiError(
                409, "idempotency_conflict", "this Idempotency-Key was used with a different body"
            )
        log.info("idempotent replay", feedbackId=feedback_id)
        return json_response(
            201, public_view(existing), origin=origin, headers={"Idempotent-Replayed": "true"}
        )
    view = public_view(item)
    log.info(
        "feedback stored",
        feedbackId=feedback_id,
        rating=feedback.rating,
        sentiment=view["sentiment"],
    )
    return json_response(201, view, origin=origin)
