"""POST /feedback: validate, classify sentiment, store once.

Rejected input writes nothing. The put is conditional, so no item is ever overwritten; with an
`Idempotency-Key` header the item id is derived from the key, so a retried submission finds
the first one (in the same round trip, via ReturnValuesOnConditionCheckFailure) instead of
storing a second. Same key with a different body is a 409. Whatever a client sends is answered
with a 4xx naming the problem, never a 500 or an ERROR log line (docs/api.md lists the cases).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from typing import Any

from lambdas.common import dynamo, identity
from lambdas.common.config import settings
from lambdas.common.feedback_filter import RATING_SENTIMENT, rating_sentiment
from lambdas.common.http import ApiError, Request, json_response
from lambdas.common.runtime import Runtime
from lambdas.common.sentiment import classify
from lambdas.common.validation import (
    MAX_BODY_BYTES,
    Feedback,
    FieldError,
    field_label,
    validate_feedback,
)

runtime = Runtime("create-feedback")
log = runtime.logger

IDEMPOTENCY_KEY_RE = re.compile(r"[A-Za-z0-9._:-]{8,128}")  # fullmatch: "$" admits a "\n"
# No rule reads more of an integer than its range, and CPython refuses to convert more than
# 4300 digits (a ValueError, not a JSONDecodeError): longer integers keep only their sign and
# size, so `"rating": 999...9` is "must be between 1 and 5", never a 500.
MAX_INT_DIGITS = 64
_OVERSIZED_INT: int = 10**MAX_INT_DIGITS
PUBLIC_FIELDS = ("feedbackId", "name", "rating", "message", "sentiment", "createdAt", "status")


def _invalid_json(problem: str) -> ApiError:
    return ApiError(
        400,
        "invalid_json",
        "request body must be a JSON object",
        [{"field": "body", "problem": problem}],
    )


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ApiError(
            400,
            "invalid_json",
            "request body repeats a field",
            [{"field": field_label(k), "problem": "appears more than once"} for k in duplicates],
        )
    return dict(pairs)


def _reject_constant(name: str) -> Any:
    raise _invalid_json(f"must not contain {name}, which is not JSON")


def _bounded_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits <= MAX_INT_DIGITS:
        return int(text)
    return -_OVERSIZED_INT if text.startswith("-") else _OVERSIZED_INT


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
    except UnicodeDecodeError:
        raise _invalid_json("must be UTF-8 text") from None
    try:
        return json.loads(
            text,
            object_pairs_hook=_reject_duplicates,
            parse_constant=_reject_constant,
            parse_int=_bounded_int,
        )
    except RecursionError:
        # The C scanner recurses per nesting level; a body of scalars never needs depth.
        raise _invalid_json("is nested too deeply") from None
    except ValueError:  # JSONDecodeError, and anything else the decoder refuses
        raise _invalid_json("must be valid JSON") from None


def idempotency_problem(request: Request) -> FieldError | None:
    key = request.header("idempotency-key")
    if key is None or IDEMPOTENCY_KEY_RE.fullmatch(key):
        return None
    return FieldError("Idempotency-Key", "must be 8-128 characters of A-Z a-z 0-9 . _ : -")


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
    sentiment = classify(feedback.message)
    item = {
        "feedbackId": dynamo.s(feedback_id),
        "name": dynamo.s(feedback.name),
        "email": dynamo.s(feedback.email),
        "emailHash": dynamo.s(identity.email_hash(feedback.email)),
        "rating": dynamo.n(feedback.rating),
        "message": dynamo.s(feedback.message),
        "sentiment": dynamo.s(sentiment),
        # The key of the ratingSentiment-index: Browse filtered by rating and sentiment at once.
        RATING_SENTIMENT: dynamo.s(rating_sentiment(feedback.rating, sentiment)),
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
    """Put the item unless its id exists; return the existing item when it does.

    An existing item equal to this one is this request's own write: the SDK retried a put whose
    answer was lost (a read timeout), and the retry found the first attempt's item. That is a
    success, not a collision."""
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
        return None if existing == item else existing
    return None


@runtime.api
def lambda_handler(request: Request, context: Any) -> dict[str, Any]:
    origin = request.header("origin")
    if request.method != "POST":
        raise ApiError(405, "method_not_allowed", "use POST to submit feedback")
    body = parse_body(request)
    feedback, errors = validate_feedback(body)
    key_problem = idempotency_problem(request)
    if feedback is None or key_problem is not None:
        errors += [key_problem] if key_problem else []
        message = "the feedback is invalid" if feedback is None else "Idempotency-Key is malformed"
        raise ApiError(400, "validation_error", message, [e.as_dict() for e in errors])
    key = request.header("idempotency-key")
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
