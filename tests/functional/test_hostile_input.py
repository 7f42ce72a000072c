"""Hostile input to the API handlers, on moto: every one is a 4xx naming the problem (or the
documented 2xx), nothing is written, and no ERROR line is logged.

An ERROR line is what the release engine counts against a version, so a client who can make a
handler log one can roll back a healthy release (docs/api.md, "What is rejected and why"). The
last section sends the same input through the local API gateway (edge validation, then the
real handlers), which must answer 400 too, never a 5xx or a dropped connection.
"""

from __future__ import annotations

import base64
import copy
import http.client
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from feedbackctl.config import load_config
from feedbackctl.local.apimodel import ApiModel
from feedbackctl.local.gateway import Gateway
from feedbackctl.local.interfaces import InvokeResult
from feedbackctl.sandbox import InvocationContext
from feedbackctl.templating import render_stack
from lambdas.create_feedback import handler as create
from lambdas.get_analytics import handler as analytics
from lambdas.list_feedback import handler as listing
from tests.cfn_yaml import load
from tests.conftest import load_event, scan_all
from tests.functional.handlers import VALID, body_of, invoke, list_event, post_event

# --- what a user (and the release engine) would see --------------------------------------------


def log_records(out: str) -> list[dict[str, Any]]:
    """The handlers' stdout: one JSON object per line (a line that is not JSON fails here)."""
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def assert_answered_quietly(response: dict[str, Any], out: str) -> dict[str, Any]:
    """The response is deliverable (valid UTF-8 JSON) and nothing was logged at ERROR."""
    response["body"].encode("utf-8")  # strict: an unpaired surrogate would raise here
    records = log_records(out)
    assert [r for r in records if r["level"] == "ERROR"] == []
    assert any(r["message"] == "request" for r in records)  # the access line was written
    answer: dict[str, Any] = body_of(response)
    return answer


def raw_body(**changes: str) -> str:
    """A JSON body as a client could type it: `changes` are raw JSON text per field."""
    fields = {k: json.dumps(v) for k, v in VALID.items()}
    fields.update(changes)
    return "{" + ",".join(f'"{k}":{v}' for k, v in fields.items()) + "}"


def with_body(raw: str | None, *, encoded: bytes | None = None) -> dict[str, Any]:
    """A POST event whose body is exactly `raw` (or `encoded`, base64 with isBase64Encoded)."""
    event = post_event()
    if encoded is not None:
        event["body"] = base64.b64encode(encoded).decode("ascii")
        event["isBase64Encoded"] = True
    else:
        event["body"] = raw
    return event


EMPTY = "must not be empty"
SURROGATE = "must not contain unpaired surrogates"
BIDI = "must not contain bidirectional control characters"
NONCHARACTER = "must not contain Unicode noncharacters"
NOT_UTF8 = [("body", "must be UTF-8 text")]
NOT_JSON = [("body", "must be valid JSON")]
NOT_OBJECT = [("body", "must be a JSON object")]
BAD_KEY = [("Idempotency-Key", "must be 8-128 characters of A-Z a-z 0-9 . _ : -")]
VALID_BYTES = json.dumps(VALID).encode()

# (id, event, status, error code, details as (field, problem) pairs)
CREATE_CASES: list[tuple[str, dict[str, Any], int, str, list[tuple[str, str]]]] = [
    # Unpaired UTF-16 surrogates, as JSON escapes (what a browser's JSON.stringify can send).
    (
        "surrogate-high-in-name",
        with_body(raw_body(name='"x \\ud800"')),
        400,
        "validation_error",
        [("name", SURROGATE)],
    ),
    (
        "surrogate-low-in-message",
        with_body(raw_body(message='"m \\udc00"')),
        400,
        "validation_error",
        [("message", SURROGATE)],
    ),
    (
        "surrogates-reversed-pair",
        with_body(raw_body(name='"\\udc00\\ud800"')),
        400,
        "validation_error",
        [("name", SURROGATE)],
    ),
    (
        "surrogate-after-control",
        with_body(raw_body(name='"\\u0007\\ud800"')),
        400,
        "validation_error",
        [("name", SURROGATE)],
    ),
    (
        "surrogate-in-email",
        with_body(raw_body(email='"a\\ud800@b.co"')),
        400,
        "validation_error",
        [("email", "must be a valid email address")],
    ),
    (
        "surrogate-as-a-key",
        with_body(raw_body(**{"\\ud800": "1"})),
        400,
        "validation_error",
        [("\\ud800", "unknown field")],
    ),
    (
        "surrogate-key-repeated",
        with_body('{"\\ud800":1,"\\ud800":2}'),
        400,
        "invalid_json",
        [("\\ud800", "appears more than once")],
    ),
    (
        "surrogate-in-unknown-value",
        with_body(raw_body(extra='"\\udfff"')),
        400,
        "validation_error",
        [("extra", "unknown field")],
    ),
    # A text body holding an unpaired surrogate itself (the event's JSON said "\ud800").
    ("surrogate-in-text-body", with_body('{"name":"x \ud800"}'), 400, "invalid_json", NOT_UTF8),
    # Bytes that are not UTF-8, sent base64-encoded (how API Gateway passes binary bodies).
    (
        "invalid-utf8-base64",
        with_body(None, encoded=VALID_BYTES.replace(b"Ada", b"\xffda")),
        400,
        "invalid_json",
        NOT_UTF8,
    ),
    (
        "encoded-surrogate-base64",
        with_body(None, encoded=VALID_BYTES.replace(b"Ada", b"\xed\xa0\x80")),
        400,
        "invalid_json",
        NOT_UTF8,
    ),
    (
        "overlong-utf8-base64",
        with_body(None, encoded=VALID_BYTES.replace(b"Ada", b"\xc0\xaf")),
        400,
        "invalid_json",
        NOT_UTF8,
    ),
    (
        "truncated-utf8-base64",
        with_body(None, encoded=VALID_BYTES[:-3] + b"\xe2\x82"),
        400,
        "invalid_json",
        NOT_UTF8,
    ),
    (
        "not-base64",
        {**post_event(), "isBase64Encoded": True, "body": "not base64!"},
        400,
        "invalid_body",
        [("body", "must be base64 when isBase64Encoded is true")],
    ),
    # Names and messages that are blank to a reader.
    *[
        (
            f"only-U+{ord(c):04X}-name",
            with_body(raw_body(name=json.dumps(c))),
            400,
            "validation_error",
            [("name", EMPTY)],
        )
        for c in "\u200b\u200c\u200d\u2060\ufeff\u00ad\u2800\u3164\u115f\ufe0f\u061c\u200f"
    ],
    (
        "zero-width-and-spaces-name",
        with_body(raw_body(name='" \\u200b \\ufeff\\u2060 "')),
        400,
        "validation_error",
        [("name", EMPTY)],
    ),
    (
        "tag-characters-only-name",
        with_body(raw_body(name=json.dumps("\U000e0041\U000e007f"))),
        400,
        "validation_error",
        [("name", EMPTY)],
    ),
    (
        "zero-width-message",
        with_body(raw_body(message='"\\u200b\\n\\u200c"')),
        400,
        "validation_error",
        [("message", EMPTY)],
    ),
    # Bidirectional embeddings, overrides and isolates.
    *[
        (
            f"bidi-U+{ord(c):04X}-name",
            with_body(raw_body(name=json.dumps(f"Ada{c}ecalevol"))),
            400,
            "validation_error",
            [("name", BIDI)],
        )
        for c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    ],
    (
        "bidi-override-message",
        with_body(raw_body(message='"ok \\u202e kcatta"')),
        400,
        "validation_error",
        [("message", BIDI)],
    ),
    # Noncharacters, in the BMP and beyond it.
    *[
        (
            f"noncharacter-U+{ord(c):04X}",
            with_body(raw_body(name=json.dumps(f"Ada{c}"))),
            400,
            "validation_error",
            [("name", NONCHARACTER)],
        )
        for c in "\ufffe\uffff\ufdd0\ufdef\U0001fffe\U0010ffff"
    ],
    (
        "noncharacter-message",
        with_body(raw_body(message='"m\\uffff"')),
        400,
        "validation_error",
        [("message", NONCHARACTER)],
    ),
    # JSON that Python's json would take, or that it trips over.
    (
        "duplicate-key",
        with_body(raw_body(name='"a","name":"b"')),
        400,
        "invalid_json",
        [("name", "appears more than once")],
    ),
    (
        "nan-rating",
        with_body(raw_body(rating="NaN")),
        400,
        "invalid_json",
        [("body", "must not contain NaN, which is not JSON")],
    ),
    (
        "infinity-rating",
        with_body(raw_body(rating="Infinity")),
        400,
        "invalid_json",
        [("body", "must not contain Infinity, which is not JSON")],
    ),
    (
        "minus-infinity-rating",
        with_body(raw_body(rating="-Infinity")),
        400,
        "invalid_json",
        [("body", "must not contain -Infinity, which is not JSON")],
    ),
    (
        "rating-1e400",
        with_body(raw_body(rating="1e400")),
        400,
        "validation_error",
        [("rating", "must be an integer")],
    ),
    (
        "rating-minus-1e400",
        with_body(raw_body(rating="-1e400")),
        400,
        "validation_error",
        [("rating", "must be an integer")],
    ),
    (
        "rating-5e0",
        with_body(raw_body(rating="5e0")),
        400,
        "validation_error",
        [("rating", "must be an integer")],
    ),
    (
        "rating-5000-digits",
        with_body(raw_body(rating="9" * 5000)),
        400,
        "validation_error",
        [("rating", "must be between 1 and 5")],
    ),
    (
        "rating-minus-5000-digits",
        with_body(raw_body(rating="-" + "9" * 5000)),
        400,
        "validation_error",
        [("rating", "must be between 1 and 5")],
    ),
    (
        "rating-21-digits",
        with_body(raw_body(rating="1" + "0" * 20)),
        400,
        "validation_error",
        [("rating", "must be between 1 and 5")],
    ),
    (
        "message-5000-digit-number",
        with_body(raw_body(message="1" * 5000)),
        400,
        "validation_error",
        [("message", "must be a string")],
    ),
    (
        "nested-5000-deep",
        with_body("[" * 5000 + "]" * 5000),
        400,
        "invalid_json",
        [("body", "is nested too deeply")],
    ),
    (
        "nested-in-a-field",
        with_body(raw_body(name="[" * 3000 + "]" * 3000)),
        400,
        "invalid_json",
        [("body", "is nested too deeply")],
    ),
    (
        "nested-just-parseable",
        with_body(raw_body(name="[" * 500 + "]" * 500)),
        400,
        "validation_error",
        [("name", "must be a string")],
    ),
    ("json-array", with_body("[]"), 400, "validation_error", NOT_OBJECT),
    ("json-string", with_body('"hello"'), 400, "validation_error", NOT_OBJECT),
    ("json-number", with_body("5"), 400, "validation_error", NOT_OBJECT),
    ("json-true", with_body("true"), 400, "validation_error", NOT_OBJECT),
    ("json-null", with_body("null"), 400, "validation_error", NOT_OBJECT),
    ("event-body-null", with_body(None), 400, "invalid_json", NOT_JSON),
    ("whitespace-body", with_body(" \n\t "), 400, "invalid_json", NOT_JSON),
    ("bom-before-json", with_body("\ufeff" + json.dumps(VALID)), 400, "invalid_json", NOT_JSON),
    ("trailing-garbage", with_body(json.dumps(VALID) + " x"), 400, "invalid_json", NOT_JSON),
    ("two-objects", with_body(json.dumps(VALID) * 2), 400, "invalid_json", NOT_JSON),
    # Headers with odd casing and values.
    (
        "idempotency-key-surrogate",
        post_event(headers={"Idempotency-Key": "key-\ud800-0001"}),
        400,
        "validation_error",
        BAD_KEY,
    ),
    (
        "idempotency-key-129-chars",
        post_event(headers={"Idempotency-Key": "k" * 129}),
        400,
        "validation_error",
        BAD_KEY,
    ),
    (
        "idempotency-key-10k-chars",
        post_event(headers={"Idempotency-Key": "k" * 10_000}),
        400,
        "validation_error",
        BAD_KEY,
    ),
    (
        "idempotency-key-trailing-newline",
        post_event(headers={"Idempotency-Key": "key-0001-ok\n"}),
        400,
        "validation_error",
        BAD_KEY,
    ),
    (
        "idempotency-key-cyrillic",
        post_event(headers={"Idempotency-Key": "ключ-ключ-ключ"}),
        400,
        "validation_error",
        BAD_KEY,
    ),
    (
        "idempotency-key-upper-case-name",
        post_event(headers={"IDEMPOTENCY-KEY": "short"}),
        400,
        "validation_error",
        BAD_KEY,
    ),
    (
        "idempotency-key-empty",
        post_event(headers={"idempotency-key": ""}),
        400,
        "validation_error",
        BAD_KEY,
    ),
    (
        "bad-key-and-bad-body",
        {**post_event(headers={"Idempotency-Key": "x"}), "body": raw_body(name='"\\u200b"')},
        400,
        "validation_error",
        [("name", EMPTY), *BAD_KEY],
    ),
    (
        "content-type-surrogate",
        post_event(headers={"Content-Type": "application/json\ud800"}),
        415,
        "unsupported_media_type",
        [],
    ),
    (
        "content-type-upper-case",
        post_event(headers={"Content-Type": "APPLICATION/JSON"}),
        201,
        "",
        [],
    ),
]


@pytest.mark.parametrize(
    ("event", "status", "code", "details"),
    [pytest.param(*case[1:], id=case[0]) for case in CREATE_CASES],
)
def test_hostile_submission_is_a_4xx_that_writes_nothing_and_logs_no_error(
    tables, ddb, capsys, event, status, code, details
):
    response = invoke(create, copy.deepcopy(event))
    answer = assert_answered_quietly(response, capsys.readouterr().out)
    assert response["statusCode"] == status
    if status == 201:  # the documented success: header names and media types are caseless
        assert len(scan_all(ddb, tables["feedback"])) == 1
        return
    assert answer["error"] == code
    assert answer["message"]
    assert [(d["field"], d["problem"]) for d in answer["details"]] == details
    assert scan_all(ddb, tables["feedback"]) == []


def test_four_surrogate_posts_log_no_error_and_answer_400(tables, ddb, capsys):
    """The reported attack: four anonymous POSTs that once each logged an ERROR and a 500."""
    event = with_body(raw_body(name='"x \\ud800"'))
    statuses = [invoke(create, copy.deepcopy(event))["statusCode"] for _ in range(4)]
    assert statuses == [400, 400, 400, 400]
    records = log_records(capsys.readouterr().out)
    assert {r["level"] for r in records} == {"INFO"}
    assert [r["status"] for r in records if r["message"] == "request"] == statuses
    assert scan_all(ddb, tables["feedback"]) == []


def test_invisible_and_rtl_characters_inside_text_are_kept(tables, ddb):
    """The rules reject blank and reordered text, not scripts: ZWJ emoji, Persian ZWNJ, the
    right-to-left mark and flag tag sequences are stored as sent."""
    name = "👩\u200d💻 می\u200cخواهم \u200fשלום 🏴\U000e0067\U000e0062\U000e007f"
    response = invoke(create, post_event({**VALID, "name": name}))
    assert response["statusCode"] == 201
    assert body_of(response)["name"] == name
    [item] = scan_all(ddb, tables["feedback"])
    assert item["name"]["S"] == name


def test_a_long_unknown_key_is_named_shortly(tables, capsys):
    response = invoke(create, with_body(raw_body(**{"\\u202e" + "k" * 5000: "1"})))
    [detail] = body_of(response)["details"]
    assert detail == {"field": "\\u202e" + "k" * 93 + "…", "problem": "unknown field"}
    assert_answered_quietly(response, capsys.readouterr().out)


def test_an_odd_origin_is_never_echoed_even_when_every_origin_is_allowed(
    tables, capsys, monkeypatch
):
    from lambdas.common.config import reload_settings

    monkeypatch.setenv("ALLOWED_ORIGINS", "*")
    reload_settings()
    for origin in (
        "https://a.example\ud800",
        "https://a.example\r\nSet-Cookie: x=1",
        "https://ä.example",
    ):
        response = invoke(
            create,
            with_body("[]") | {"headers": {"Origin": origin, "Content-Type": "application/json"}},
        )
        assert response["statusCode"] == 400
        assert "Access-Control-Allow-Origin" not in response["headers"]
        assert_answered_quietly(response, capsys.readouterr().out)


def test_null_header_values_are_absent_headers(tables, ddb, capsys):
    event = post_event()
    event["headers"]["Idempotency-Key"] = None
    response = invoke(create, event)
    assert response["statusCode"] == 201
    assert "requestHash" not in scan_all(ddb, tables["feedback"])[0]
    assert_answered_quietly(response, capsys.readouterr().out)


# --- GET /feedback and GET /analytics ---------------------------------------------------------

LIMIT = [("limit", "must be an integer from 1 to 100")]
CURSOR = [("cursor", "was not issued by this API")]


def forged_cursor(created_at: str, feedback_id: str) -> str:
    raw = json.dumps({"c": created_at, "i": feedback_id}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


GOOD_ID = "0b7b5b8e-3f0c-4c5b-9a51-6f0d8b9c2a10"
GOOD_TIME = "2026-11-25T10:00:00.000Z"

LIST_CASES: list[tuple[str, dict[str, str], int, str, list[tuple[str, str]]]] = [
    ("limit-surrogate", {"limit": "\ud800"}, 400, "invalid_parameter", LIMIT),
    ("limit-empty", {"limit": ""}, 400, "invalid_parameter", LIMIT),
    ("limit-zero", {"limit": "0"}, 400, "invalid_parameter", LIMIT),
    ("limit-101", {"limit": "101"}, 400, "invalid_parameter", LIMIT),
    ("limit-negative", {"limit": "-1"}, 400, "invalid_parameter", LIMIT),
    ("limit-trailing-newline", {"limit": "5\n"}, 400, "invalid_parameter", LIMIT),
    ("limit-leading-space", {"limit": " 5"}, 400, "invalid_parameter", LIMIT),
    ("limit-arabic-indic-digits", {"limit": "١٢"}, 400, "invalid_parameter", LIMIT),
    ("limit-fullwidth-digits", {"limit": "１２"}, 400, "invalid_parameter", LIMIT),
    ("limit-exponent", {"limit": "1e1"}, 400, "invalid_parameter", LIMIT),
    ("limit-float", {"limit": "5.0"}, 400, "invalid_parameter", LIMIT),
    ("limit-huge", {"limit": "9" * 5000}, 400, "invalid_parameter", LIMIT),
    ("limit-nan", {"limit": "NaN"}, 400, "invalid_parameter", LIMIT),
    ("limit-leading-zeros", {"limit": "0005"}, 200, "", []),
    ("cursor-surrogate", {"cursor": "\ud800"}, 400, "invalid_cursor", CURSOR),
    ("cursor-empty", {"cursor": ""}, 400, "invalid_cursor", CURSOR),
    ("cursor-over-long", {"cursor": "a" * 201}, 400, "invalid_cursor", CURSOR),
    ("cursor-padding-only", {"cursor": "===="}, 400, "invalid_cursor", CURSOR),
    (
        "cursor-trailing-newline",
        {"cursor": forged_cursor(GOOD_TIME, GOOD_ID) + "\n"},
        400,
        "invalid_cursor",
        CURSOR,
    ),
    (
        "cursor-arabic-indic-time",
        {"cursor": forged_cursor("٢٠٢٦-11-25T10:00:00.000Z", GOOD_ID)},
        400,
        "invalid_cursor",
        CURSOR,
    ),
    (
        "cursor-newline-in-time",
        {"cursor": forged_cursor(GOOD_TIME + "\n", GOOD_ID)},
        400,
        "invalid_cursor",
        CURSOR,
    ),
    (
        "cursor-newline-in-id",
        {"cursor": forged_cursor(GOOD_TIME, GOOD_ID + "\n")},
        400,
        "invalid_cursor",
        CURSOR,
    ),
    (
        "cursor-surrogate-in-id",
        {"cursor": forged_cursor(GOOD_TIME, "\ud800")},
        400,
        "invalid_cursor",
        CURSOR,
    ),
    (
        "cursor-not-utf8",
        {"cursor": base64.urlsafe_b64encode(b"\xff\xfe").decode()},
        400,
        "invalid_cursor",
        CURSOR,
    ),
    (
        "cursor-deep-json",
        {"cursor": base64.urlsafe_b64encode(b"[" * 140).decode()},
        400,
        "invalid_cursor",
        CURSOR,
    ),
    (
        "cursor-json-null",
        {"cursor": base64.urlsafe_b64encode(b"null").decode()},
        400,
        "invalid_cursor",
        CURSOR,
    ),
    (
        "cursor-nan",
        {"cursor": base64.urlsafe_b64encode(b'{"c":NaN,"i":1}').decode()},
        400,
        "invalid_cursor",
        CURSOR,
    ),
    ("unknown-parameter-surrogate", {"\ud800": "\udc00"}, 200, "", []),
    ("well-formed-forged-cursor", {"cursor": forged_cursor(GOOD_TIME, GOOD_ID)}, 200, "", []),
]


@pytest.mark.parametrize(
    ("query", "status", "code", "details"),
    [pytest.param(*case[1:], id=case[0]) for case in LIST_CASES],
)
def test_hostile_list_query_is_a_400_or_a_page(tables, capsys, query, status, code, details):
    response = invoke(listing, list_event(query))
    answer = assert_answered_quietly(response, capsys.readouterr().out)
    assert response["statusCode"] == status
    if status == 200:
        assert set(answer) == {"items", "nextCursor"}
        return
    assert answer["error"] == code
    assert [(d["field"], d["problem"]) for d in answer["details"]] == details


def analytics_event(**changes: Any) -> dict[str, Any]:
    event = load_event("get_analytics.json")
    event.update(changes)
    return event


ANALYTICS_CASES = [
    ("query-surrogates", analytics_event(queryStringParameters={"\ud800": "\udfff"}), 200),
    ("text-body-surrogate", analytics_event(body='{"x":"\ud800"}'), 200),
    (
        "body-not-utf8",
        analytics_event(body=base64.b64encode(b"\xff").decode(), isBase64Encoded=True),
        200,
    ),
    ("body-not-base64", analytics_event(body="%%%", isBase64Encoded=True), 400),
    ("origin-surrogate", analytics_event(headers={"Origin": "https://x\ud800"}), 200),
    ("headers-null", analytics_event(headers=None, multiValueHeaders=None), 200),
    ("method-post", analytics_event(httpMethod="POST", body="{}"), 405),
]


@pytest.mark.parametrize(
    ("event", "status"), [pytest.param(*case[1:], id=case[0]) for case in ANALYTICS_CASES]
)
def test_hostile_analytics_request_is_answered(tables, capsys, event, status):
    response = invoke(analytics, event)
    answer = assert_answered_quietly(response, capsys.readouterr().out)
    assert response["statusCode"] == status
    if status == 200:
        assert "totalFeedback" in answer
    elif status == 400:
        assert answer["details"] == [
            {"field": "body", "problem": "must be base64 when isBase64Encoded is true"}
        ]


# --- through the local API gateway --------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
MODULES = {
    "feedback-local-create-feedback:live": create,
    "feedback-local-list-feedback:live": listing,
    "feedback-local-get-analytics:live": analytics,
}


class HandlerInvoker:
    """Runs the real handler in-process, as the invoke service runs a version: a raised
    exception is Lambda's FunctionError (the gateway's 502), never swallowed here."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def invoke(
        self, function: str, payload: bytes, *, qualifier: str | None = None
    ) -> InvokeResult:
        self.calls.append(function)
        module = MODULES[function]
        context = InvocationContext(function_name=module.runtime.service, function_version="1")
        try:
            result = module.lambda_handler(json.loads(payload), context)
        except Exception as exc:  # noqa: BLE001 - reported to the gateway as Lambda would
            error = {"errorType": type(exc).__name__, "errorMessage": str(exc)}
            return InvokeResult(200, json.dumps(error).encode(), function_error="Unhandled")
        return InvokeResult(200, json.dumps(result).encode(), executed_version="1")


@pytest.fixture
def gateway(tables) -> Iterator[tuple[Callable[..., tuple[int, Any]], HandlerInvoker]]:
    model = ApiModel.from_template(
        load(render_stack(load_config(ROOT / "feedbackctl.toml").stage("local")))
    )
    invoker = HandlerInvoker()
    gw = Gateway(model, invoker, port=0, site_config={"apiBaseUrl": "", "stage": "local"})
    gw.start()

    def send(method: str, path: str, body: bytes | None = None, **headers: str) -> tuple[int, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=10)
        sent = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=body, headers={**sent, **headers})
        response = conn.getresponse()  # a dropped connection raises here
        payload = response.read()
        conn.close()
        return response.status, json.loads(payload.decode("utf-8")) if payload else None

    yield send, invoker
    gw.stop()


def _raw(**changes: str) -> bytes:
    return raw_body(**changes).encode("utf-8")


# (id, body bytes, Content-Type, whether the edge rejects it, the handler's details if not)
GATEWAY_CASES: list[tuple[str, bytes, str, bool, list[tuple[str, str]]]] = [
    ("surrogate-in-name", _raw(name='"x \\ud800"'), "application/json", True, []),
    ("surrogate-as-a-key", _raw(**{"\\ud800": "1"}), "application/json", True, []),
    ("invalid-utf8", VALID_BYTES.replace(b"Ada", b"\xffda"), "application/json", True, []),
    (
        "encoded-surrogate",
        VALID_BYTES.replace(b"Ada", b"\xed\xa0\x80"),
        "application/json",
        True,
        [],
    ),
    ("zero-width-name", _raw(name='"\\u200b\\ufeff"'), "application/json", True, []),
    ("bidi-override-name", _raw(name='"a\\u202eb"'), "application/json", True, []),
    ("bmp-noncharacter", _raw(name='"a\\uffff"'), "application/json", True, []),
    ("deep-nesting", b"[" * 5000, "application/json", True, []),
    ("huge-integer", _raw(rating="9" * 5000), "application/json", True, []),
    # What a UTF-16 schema pattern cannot say portably is the handler's to reject.
    (
        "astral-noncharacter",
        _raw(name=json.dumps("a\U0001fffe")),
        "application/json",
        False,
        [("name", NONCHARACTER)],
    ),
    (
        "tag-characters-only",
        _raw(name=json.dumps("\U000e0041")),
        "application/json",
        False,
        [("name", EMPTY)],
    ),
    # No model for text/plain: API Gateway passes the body on (base64, it is not UTF-8).
    ("invalid-utf8-as-text", b"\xff\xfe", "text/plain", False, []),
]


@pytest.mark.parametrize(
    ("body", "content_type", "at_edge", "details"),
    [pytest.param(*case[1:], id=case[0]) for case in GATEWAY_CASES],
)
def test_hostile_submission_through_the_gateway_is_a_4xx(
    gateway, ddb, tables, capsys, body, content_type, at_edge, details
):
    send, invoker = gateway
    status, answer = send("POST", "/local/feedback", body, **{"Content-Type": content_type})
    if content_type == "text/plain":
        assert (status, answer["error"]) == (415, "unsupported_media_type")
    else:
        assert status == 400
        assert answer["error"] == "validation_error"
        if at_edge:  # the template's BAD_REQUEST_BODY, before any function runs
            assert [d["field"] for d in answer["details"]] == ["body"]
        else:
            assert [(d["field"], d["problem"]) for d in answer["details"]] == details
    assert invoker.calls == ([] if at_edge else ["feedback-local-create-feedback:live"])
    assert [r for r in log_records(capsys.readouterr().out) if r["level"] == "ERROR"] == []
    assert scan_all(ddb, tables["feedback"]) == []


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/local/feedback?limit=%ED%A0%80", 400),
        ("/local/feedback?limit=%FF", 400),
        ("/local/feedback?cursor=%ED%A0%80", 400),
        ("/local/feedback?cursor=%00", 400),
        ("/local/feedback?%ED%A0%80=1", 200),
        ("/local/analytics?x=%ED%A0%80", 200),
    ],
)
def test_hostile_queries_through_the_gateway_are_answered(gateway, capsys, path, status):
    send, _ = gateway
    assert send("GET", path)[0] == status
    assert [r for r in log_records(capsys.readouterr().out) if r["level"] == "ERROR"] == []
