"""POST /feedback against DynamoDB on a moto server: storage, validation, idempotency."""

from __future__ import annotations

import json
import re
import time

import pytest

from lambdas.create_feedback import handler as create
from tests.conftest import scan_all
from tests.functional.handlers import VALID, body_of, invoke, post_event

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def test_stores_the_feedback_and_returns_201(tables, ddb):
    response = invoke(create, post_event())
    assert response["statusCode"] == 201
    body = body_of(response)
    assert UUID4.match(body["feedbackId"])
    assert ISO.match(body["createdAt"])
    assert body["sentiment"] == "positive"
    assert body["status"] == "active"
    assert "email" not in body
    [item] = scan_all(ddb, tables["feedback"])
    assert item["feedbackId"]["S"] == body["feedbackId"]
    assert item["email"]["S"] == "ada@example.com"
    assert item["rating"]["N"] == "5"
    assert item["status"]["S"] == "active"
    expires = int(item["expiresAt"]["N"])
    assert abs(expires - (time.time() + 30 * 86400)) < 120


@pytest.mark.parametrize("message", ["it took hours", "Loading takes seconds."])
def test_a_message_ending_in_a_timed_phrase_is_stored_and_classified(tables, ddb, message):
    # "took * hours" with nothing between its words, at the very end of the message
    response = invoke(create, post_event({**VALID, "message": message}))
    assert response["statusCode"] == 201
    assert body_of(response)["sentiment"] == "negative"
    [item] = scan_all(ddb, tables["feedback"])
    assert item["message"]["S"] == message


def test_trims_text_and_keeps_cors_for_allowed_origin(tables, ddb):
    response = invoke(create, post_event({**VALID, "name": "  Ada  ", "message": "\n ok \t"}))
    assert response["statusCode"] == 201
    assert response["headers"]["Access-Control-Allow-Origin"] == "https://app.example.com"
    [item] = scan_all(ddb, tables["feedback"])
    assert item["name"]["S"] == "Ada"
    assert item["message"]["S"] == "ok"


def test_unknown_origin_gets_no_cors_grant(tables):
    response = invoke(create, post_event(headers={"Origin": "https://evil.example"}))
    assert response["statusCode"] == 201
    assert "Access-Control-Allow-Origin" not in response["headers"]


def test_email_never_reaches_the_logs(tables, capsys):
    invoke(create, post_event())
    out = capsys.readouterr().out
    assert out  # the handler logged
    assert "ada@example.com" not in out
    for line in out.splitlines():
        record = json.loads(line)
        assert {"level", "message", "timestamp", "service", "location", "cold_start"} <= set(record)


BAD_INPUTS = [
    # (id, raw body or None, headers override, expected status, expected error, field or None)
    ("not-json", "{name", None, 400, "invalid_json", None),
    ("empty-body", "", None, 400, "invalid_json", None),
    ("array-body", json.dumps([VALID]), None, 400, "validation_error", "body"),
    ("string-body", json.dumps("hello"), None, 400, "validation_error", "body"),
    ("null-body", "null", None, 400, "validation_error", "body"),
    (
        "nan",
        '{"name":"a","email":"a@b.co","rating":NaN,"message":"m"}',
        None,
        400,
        "invalid_json",
        None,
    ),
    (
        "duplicate-key",
        '{"name":"a","name":"b","email":"a@b.co","rating":5,"message":"m"}',
        None,
        400,
        "invalid_json",
        "name",
    ),
    ("unknown-field", json.dumps({**VALID, "admin": True}), None, 400, "validation_error", "admin"),
    (
        "missing-name",
        json.dumps({k: v for k, v in VALID.items() if k != "name"}),
        None,
        400,
        "validation_error",
        "name",
    ),
    (
        "missing-email",
        json.dumps({k: v for k, v in VALID.items() if k != "email"}),
        None,
        400,
        "validation_error",
        "email",
    ),
    (
        "missing-rating",
        json.dumps({k: v for k, v in VALID.items() if k != "rating"}),
        None,
        400,
        "validation_error",
        "rating",
    ),
    (
        "missing-message",
        json.dumps({k: v for k, v in VALID.items() if k != "message"}),
        None,
        400,
        "validation_error",
        "message",
    ),
    ("empty-name", json.dumps({**VALID, "name": ""}), None, 400, "validation_error", "name"),
    ("blank-name", json.dumps({**VALID, "name": "   "}), None, 400, "validation_error", "name"),
    ("long-name", json.dumps({**VALID, "name": "x" * 101}), None, 400, "validation_error", "name"),
    ("name-number", json.dumps({**VALID, "name": 42}), None, 400, "validation_error", "name"),
    (
        "name-newline",
        json.dumps({**VALID, "name": "Ada\nLovelace"}),
        None,
        400,
        "validation_error",
        "name",
    ),
    ("name-nul", json.dumps({**VALID, "name": "Ada\u0000"}), None, 400, "validation_error", "name"),
    # An unpaired surrogate once reached DynamoDB, which refused it: a 500 and an ERROR line.
    (
        "name-lone-surrogate",
        '{"name":"x \\ud800","email":"a@b.co","rating":5,"message":"m"}',
        None,
        400,
        "validation_error",
        "name",
    ),
    (
        "name-zero-width",
        json.dumps({**VALID, "name": "\u200b"}),
        None,
        400,
        "validation_error",
        "name",
    ),
    (
        "name-bidi-override",
        json.dumps({**VALID, "name": "Ada\u202e"}),
        None,
        400,
        "validation_error",
        "name",
    ),
    (
        "message-noncharacter",
        json.dumps({**VALID, "message": "hi\uffff"}),
        None,
        400,
        "validation_error",
        "message",
    ),
    (
        "rating-5000-digits",
        '{"name":"a","email":"a@b.co","rating":' + "9" * 5000 + ',"message":"m"}',
        None,
        400,
        "validation_error",
        "rating",
    ),
    ("deeply-nested", "[" * 5000, None, 400, "invalid_json", "body"),
    (
        "bad-email",
        json.dumps({**VALID, "email": "not-an-email"}),
        None,
        400,
        "validation_error",
        "email",
    ),
    (
        "email-no-tld",
        json.dumps({**VALID, "email": "a@localhost"}),
        None,
        400,
        "validation_error",
        "email",
    ),
    (
        "email-two-at",
        json.dumps({**VALID, "email": "a@@b.co"}),
        None,
        400,
        "validation_error",
        "email",
    ),
    (
        "email-space",
        json.dumps({**VALID, "email": "a b@c.co"}),
        None,
        400,
        "validation_error",
        "email",
    ),
    (
        "long-email",
        json.dumps({**VALID, "email": "a" * 64 + "@" + ("b" * 60 + ".") * 4 + "com"}),
        None,
        400,
        "validation_error",
        "email",
    ),
    ("rating-zero", json.dumps({**VALID, "rating": 0}), None, 400, "validation_error", "rating"),
    ("rating-six", json.dumps({**VALID, "rating": 6}), None, 400, "validation_error", "rating"),
    (
        "rating-negative",
        json.dumps({**VALID, "rating": -1}),
        None,
        400,
        "validation_error",
        "rating",
    ),
    (
        "rating-string",
        json.dumps({**VALID, "rating": "5"}),
        None,
        400,
        "validation_error",
        "rating",
    ),
    ("rating-float", json.dumps({**VALID, "rating": 4.5}), None, 400, "validation_error", "rating"),
    (
        "rating-float-integral",
        '{"name":"a","email":"a@b.co","rating":5.0,"message":"m"}',
        None,
        400,
        "validation_error",
        "rating",
    ),
    ("rating-bool", json.dumps({**VALID, "rating": True}), None, 400, "validation_error", "rating"),
    ("rating-null", json.dumps({**VALID, "rating": None}), None, 400, "validation_error", "rating"),
    (
        "empty-message",
        json.dumps({**VALID, "message": ""}),
        None,
        400,
        "validation_error",
        "message",
    ),
    (
        "blank-message",
        json.dumps({**VALID, "message": " \n\t "}),
        None,
        400,
        "validation_error",
        "message",
    ),
    (
        "long-message",
        json.dumps({**VALID, "message": "m" * 2001}),
        None,
        400,
        "validation_error",
        "message",
    ),
    (
        "message-control",
        json.dumps({**VALID, "message": "hi\u0007there"}),
        None,
        400,
        "validation_error",
        "message",
    ),
    (
        "message-object",
        json.dumps({**VALID, "message": {"text": "hi"}}),
        None,
        400,
        "validation_error",
        "message",
    ),
    (
        "oversized",
        json.dumps({**VALID, "message": "m" * 11000}),
        None,
        413,
        "payload_too_large",
        None,
    ),
    (
        "no-content-type",
        json.dumps(VALID),
        {"Content-Type": ""},
        415,
        "unsupported_media_type",
        None,
    ),
    (
        "form-content-type",
        json.dumps(VALID),
        {"Content-Type": "application/x-www-form-urlencoded"},
        415,
        "unsupported_media_type",
        None,
    ),
    (
        "bad-idempotency-key",
        json.dumps(VALID),
        {"Idempotency-Key": "short"},
        400,
        "validation_error",
        "Idempotency-Key",
    ),
    (
        "idempotency-key-spaces",
        json.dumps(VALID),
        {"Idempotency-Key": "has spaces in it"},
        400,
        "validation_error",
        "Idempotency-Key",
    ),
]


@pytest.mark.parametrize(
    ("raw", "headers", "status", "code", "field"),
    [pytest.param(*case[1:], id=case[0]) for case in BAD_INPUTS],
)
def test_bad_input_is_rejected_and_nothing_is_written(
    tables, ddb, capsys, raw, headers, status, code, field
):
    response = invoke(create, post_event(raw=raw, headers=headers))
    # A client's mistake is never an ERROR line: those count against the release.
    levels = {json.loads(line)["level"] for line in capsys.readouterr().out.splitlines()}
    assert levels == {"INFO"}
    assert response["statusCode"] == status
    body = body_of(response)
    assert body["error"] == code
    assert isinstance(body["message"], str)
    assert body["message"]
    assert isinstance(body["details"], list)
    if field is not None:
        assert field in [d["field"] for d in body["details"]]
        assert all(set(d) == {"field", "problem"} for d in body["details"])
    assert scan_all(ddb, tables["feedback"]) == []


def test_bad_input_table_has_at_least_thirty_cases():
    assert len(BAD_INPUTS) >= 30


def test_every_field_error_is_reported_at_once(tables):
    response = invoke(create, post_event({"name": "", "email": "x", "rating": 9, "message": ""}))
    fields = sorted(d["field"] for d in body_of(response)["details"])
    assert fields == ["email", "message", "name", "rating"]


def test_base64_body_is_decoded(tables):
    import base64

    event = post_event()
    event["body"] = base64.b64encode(event["body"].encode()).decode()
    event["isBase64Encoded"] = True
    assert invoke(create, event)["statusCode"] == 201


def test_retry_with_same_idempotency_key_stores_once(tables, ddb):
    headers = {"Idempotency-Key": "retry-key-0001"}
    first = invoke(create, post_event(headers=headers))
    second = invoke(create, post_event(headers=headers))
    assert first["statusCode"] == second["statusCode"] == 201
    assert body_of(first) == body_of(second)
    assert second["headers"]["Idempotent-Replayed"] == "true"
    assert len(scan_all(ddb, tables["feedback"])) == 1


def test_same_idempotency_key_with_other_body_is_409(tables, ddb):
    headers = {"Idempotency-Key": "retry-key-0002"}
    assert invoke(create, post_event(headers=headers))["statusCode"] == 201
    response = invoke(create, post_event({**VALID, "rating": 1}, headers=headers))
    assert response["statusCode"] == 409
    assert body_of(response)["error"] == "idempotency_conflict"
    [item] = scan_all(ddb, tables["feedback"])
    assert item["rating"]["N"] == "5"


def test_different_keys_store_two_items(tables, ddb):
    invoke(create, post_event(headers={"Idempotency-Key": "key-aaaa-0001"}))
    invoke(create, post_event(headers={"Idempotency-Key": "key-aaaa-0002"}))
    assert len(scan_all(ddb, tables["feedback"])) == 2


def test_wrong_method_is_405(tables):
    event = post_event()
    event["httpMethod"] = "PUT"
    assert invoke(create, event)["statusCode"] == 405


def test_preflight_answers_204_with_cors(tables, ddb):
    from tests.conftest import load_event

    response = invoke(create, load_event("options_feedback.json"))
    assert response["statusCode"] == 204
    assert response["headers"]["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "Idempotency-Key" in response["headers"]["Access-Control-Allow-Headers"]
    assert scan_all(ddb, tables["feedback"]) == []


def test_missing_table_is_a_500_with_a_logged_error(tables, monkeypatch, capsys):
    from lambdas.common.config import reload_settings

    monkeypatch.setenv("FEEDBACK_TABLE_NAME", "no-such-table")
    reload_settings()
    response = invoke(create, post_event())
    assert response["statusCode"] == 500
    assert body_of(response)["error"] == "internal_error"
    errors = [json.loads(x) for x in capsys.readouterr().out.splitlines() if '"ERROR"' in x]
    assert errors
    assert errors[0]["errorType"] == "ResourceNotFoundException"


def test_a_put_retried_after_its_answer_was_lost_is_a_success_not_a_collision(tables, ddb):
    """The SDK retries a PutItem whose answer timed out; the retry's condition fails on the
    item the first attempt stored. That item is this request's own: stored, not a 409."""
    from lambdas.common.validation import validate_feedback
    from lambdas.create_feedback.handler import build_item, store

    feedback, _ = validate_feedback(dict(VALID))
    assert feedback is not None
    item = build_item(feedback, "0b6f2c1e-3f5a-4c1e-9a39-6a4b1f2d7c10", 1764064800.0, None)
    ddb.put_item(TableName=tables["feedback"], Item=item)  # the attempt whose answer was lost
    assert store(item) is None  # the retry: the same item, so a success
    other = {**item, "message": {"S": "someone else's words"}}
    assert store(other) == item  # a different item under that id: the existing one, a collision
