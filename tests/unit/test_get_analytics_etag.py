"""GET /analytics as a conditional request: a strong ETag of the body, 304 with no body when
`If-None-Match` names it, a full 200 for anything else (garbage included, never a 5xx), and the
headers a cross-origin dashboard needs. The handler runs on the stored event with an in-memory
DynamoDB client; the last tests send it through the local API gateway over real HTTP."""

from __future__ import annotations

import copy
import http.client
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from feedbackctl.config import load_config
from feedbackctl.local.apimodel import ApiModel
from feedbackctl.local.gateway import Gateway
from feedbackctl.local.interfaces import InvokeResult
from feedbackctl.sandbox import InvocationContext
from feedbackctl.templating import render_stack
from lambdas.common import analytics, dynamo
from lambdas.common.config import reload_settings
from lambdas.get_analytics import handler
from lambdas.get_analytics.conditional import entity_tags, none_match, strong_etag
from tests.cfn_yaml import load
from tests.conftest import load_event

ROOT = Path(__file__).resolve().parents[2]
ORIGIN = "https://app.example.com"
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


class FakeDynamo:
    """The one call the handler makes, on an in-memory `global` item; counts the reads."""

    def __init__(self) -> None:
        self.item: dict[str, Any] | None = {
            "aggregateId": {"S": "global"},
            "totalFeedback": {"N": "3"},
            "ratingSum": {"N": "12"},
            "rating_4": {"N": "3"},
            "sentiment_positive": {"N": "3"},
            "day#2026-11-25#count": {"N": "3"},
            "day#2026-11-25#ratingSum": {"N": "12"},
            "day#2026-11-25#positive": {"N": "3"},
            "lastUpdated": {"S": "2026-11-25T09:59:58.000Z"},
        }
        self.reads = 0

    def get_item(self, TableName: str, Key: dict[str, Any]) -> dict[str, Any]:  # noqa: N803 - boto3's names
        self.reads += 1
        assert Key == {"aggregateId": {"S": "global"}}
        return {"Item": copy.deepcopy(self.item)} if self.item is not None else {}

    def count_one_more(self, rating: int = 5) -> None:
        """What the aggregator's ADD does for one new positive feedback today."""
        assert self.item is not None
        for name, amount in [
            ("totalFeedback", 1),
            ("ratingSum", rating),
            (f"rating_{rating}", 1),
            ("sentiment_positive", 1),
            ("day#2026-11-25#count", 1),
        ]:
            current = int(self.item.get(name, {"N": "0"})["N"])
            self.item[name] = {"N": str(current + amount)}
        self.item["lastUpdated"] = {"S": "2026-11-25T10:00:01.000Z"}


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDynamo]:
    fake = FakeDynamo()
    monkeypatch.setenv("ANALYTICS_TABLE_NAME", "analytics-test")
    monkeypatch.setenv("ALLOWED_ORIGINS", f"{ORIGIN},http://localhost:5173")
    monkeypatch.setattr(dynamo, "_client", fake)
    monkeypatch.setattr(analytics, "utc_now", lambda: NOW)
    reload_settings()
    yield fake
    reload_settings()


def get(if_none_match: str | None = None, origin: str | None = ORIGIN) -> dict[str, Any]:
    event = load_event("get_analytics.json")
    headers = dict(event["headers"])
    headers.pop("Origin")
    if origin is not None:
        headers["Origin"] = origin
    if if_none_match is not None:
        headers["If-None-Match"] = if_none_match
    event["headers"] = headers
    event["multiValueHeaders"] = {name: [value] for name, value in headers.items()}
    context = InvocationContext(function_name="get-analytics", function_version="4")
    response: dict[str, Any] = handler.lambda_handler(event, context)
    return response


# --- the validator ----------------------------------------------------------------------------


def test_the_etag_is_strong_and_the_same_for_the_same_content(table: FakeDynamo) -> None:
    first, second = get(), get()
    assert first["statusCode"] == second["statusCode"] == 200
    etag = first["headers"]["ETag"]
    assert etag == second["headers"]["ETag"]
    assert etag[0] == etag[-1] == '"'  # quoted, without W/: strong
    assert len(etag) == 34
    assert etag == strong_etag(first["body"])  # a hash of the exact bytes sent
    assert json.loads(first["body"])["totalFeedback"] == 3


def test_the_etag_changes_when_a_count_changes(table: FakeDynamo) -> None:
    before = get()["headers"]["ETag"]
    table.count_one_more()
    after = get()
    assert after["headers"]["ETag"] != before
    assert json.loads(after["body"])["totalFeedback"] == 4


def test_the_etag_changes_when_the_date_moves_the_daily_window(
    table: FakeDynamo, monkeypatch: pytest.MonkeyPatch
) -> None:
    today = get()["headers"]["ETag"]
    monkeypatch.setattr(analytics, "utc_now", lambda: datetime(2026, 11, 26, 0, 0, tzinfo=UTC))
    tomorrow = get()
    assert tomorrow["headers"]["ETag"] != today
    assert json.loads(tomorrow["body"])["daily"][-1]["date"] == "2026-11-26"


def test_an_empty_platform_has_an_etag_too(table: FakeDynamo) -> None:
    table.item = None
    empty = get()
    assert empty["statusCode"] == 200
    assert get(empty["headers"]["ETag"])["statusCode"] == 304


# --- If-None-Match ----------------------------------------------------------------------------


def test_a_matching_if_none_match_is_answered_304_with_no_body(table: FakeDynamo) -> None:
    full = get()
    etag = full["headers"]["ETag"]
    answer = get(etag)
    assert answer["statusCode"] == 304
    assert answer["body"] == ""
    assert answer["isBase64Encoded"] is False
    headers = answer["headers"]
    assert headers["ETag"] == etag
    assert headers["Cache-Control"] == full["headers"]["Cache-Control"] == "no-cache"
    assert headers["Vary"] == "Origin"
    assert "Content-Type" not in headers
    assert table.reads == 2  # a 304 still reads the item: the ETag is of the current content


def test_after_a_change_the_old_etag_gets_the_new_body(table: FakeDynamo) -> None:
    old = get()["headers"]["ETag"]
    table.count_one_more()
    answer = get(old)
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"])["totalFeedback"] == 4
    assert answer["headers"]["ETag"] != old


@pytest.mark.parametrize(
    "header",
    [
        "{etag}",
        "W/{etag}",
        ' "other" , {etag}',
        '"other",W/{etag}',
        ",{etag},",
        "*",
    ],
    ids=["exact", "weak", "listed", "listed-weak", "empty-elements", "star"],
)
def test_if_none_match_forms_that_match(table: FakeDynamo, header: str) -> None:
    etag = get()["headers"]["ETag"]
    assert get(header.format(etag=etag))["statusCode"] == 304


@pytest.mark.parametrize(
    "header",
    [
        "",
        "   ",
        '"other"',
        "{bare}",  # the tag without its quotes
        "{etag}x",
        "{etag} garbage",
        '"unterminated',
        "W/",
        "w/{etag}",  # W/ is case-sensitive
        "*, {etag}",
        '"a"b"',
        "{etag}" + "\ud800",
        '"\ud800"',
        '"caf\u00e9"',
        '"tab\there"',
        "x" * 20_000,
        '"' * 5_001,
        "," * 10_000,
    ],
    ids=[
        "empty",
        "blank",
        "other-tag",
        "unquoted",
        "trailing-text",
        "trailing-word",
        "unterminated",
        "weak-prefix-only",
        "lower-case-weak",
        "star-in-list",
        "quote-inside",
        "trailing-surrogate",
        "surrogate",
        "non-ascii",
        "control-character",
        "long-garbage",
        "many-quotes",
        "only-commas",
    ],
)
def test_anything_else_is_no_match_and_gets_the_full_body(table: FakeDynamo, header: str) -> None:
    etag = get()["headers"]["ETag"]
    answer = get(header.format(etag=etag, bare=etag.strip('"')))
    assert answer["statusCode"] == 200
    assert answer["headers"]["ETag"] == etag
    assert json.loads(answer["body"])["totalFeedback"] == 3


def test_entity_tags_reads_lists_and_refuses_what_is_not_one() -> None:
    assert entity_tags('"a", W/"b",,"c"') == ['"a"', 'W/"b"', '"c"']
    assert entity_tags(" * ") == ["*"]
    assert entity_tags('"a" "b"') is None  # list elements are separated by commas
    assert entity_tags('"a";"b"') is None
    assert entity_tags(",") is None
    assert none_match(None, '"a"') is False
    assert none_match('W/"a"', '"a"') is True


# --- CORS -------------------------------------------------------------------------------------


def test_an_allowed_origin_may_read_the_etag_and_send_if_none_match(table: FakeDynamo) -> None:
    full = get()
    for response in (full, get(full["headers"]["ETag"])):
        headers = response["headers"]
        assert headers["Access-Control-Allow-Origin"] == ORIGIN
        assert "ETag" in headers["Access-Control-Expose-Headers"].split(",")
        assert "If-None-Match" in headers["Access-Control-Allow-Headers"].split(",")


def test_another_origin_gets_no_cors_headers_on_a_304_either(table: FakeDynamo) -> None:
    etag = get()["headers"]["ETag"]
    answer = get(etag, origin="https://evil.example")
    assert answer["statusCode"] == 304
    assert not any(name.startswith("Access-Control-") for name in answer["headers"])


# --- through the local API gateway --------------------------------------------------------------


class InProcessInvoker:
    """Runs the real handler for every invoke, as the invoke service's worker would."""

    def __init__(self) -> None:
        self.calls = 0

    def invoke(
        self, function: str, payload: bytes, *, qualifier: str | None = None
    ) -> InvokeResult:
        self.calls += 1
        assert function == "feedback-local-get-analytics:live"
        context = InvocationContext(function_name="get-analytics", function_version="4")
        answer = handler.lambda_handler(json.loads(payload), context)
        return InvokeResult(200, json.dumps(answer).encode(), executed_version="4")


@pytest.fixture
def gateway(table: FakeDynamo) -> Iterator[tuple[Gateway, InProcessInvoker]]:
    stage = load_config(ROOT / "feedbackctl.toml").stage("local")
    model = ApiModel.from_template(load(render_stack(stage)))
    invoker = InProcessInvoker()
    served = Gateway(model, invoker, port=0, site_config={"apiBaseUrl": "", "stage": "local"})
    served.start()
    yield served, invoker
    served.stop()


def exchange(
    conn: http.client.HTTPConnection, method: str, path: str, headers: dict[str, str]
) -> tuple[int, dict[str, str], bytes]:
    conn.request(method, path, headers=headers)
    response = conn.getresponse()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def test_a_304_passes_the_local_gateway_with_its_headers_and_no_body(
    gateway: tuple[Gateway, InProcessInvoker], table: FakeDynamo
) -> None:
    served, invoker = gateway
    conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
    status, headers, body = exchange(conn, "GET", "/local/analytics", {})
    assert status == 200
    assert json.loads(body)["totalFeedback"] == 3
    etag = headers["etag"]

    status, headers, body = exchange(conn, "GET", "/local/analytics", {"If-None-Match": etag})
    assert status == 304
    assert body == b""
    assert headers["etag"] == etag
    assert headers["cache-control"] == "no-cache"
    assert "content-length" not in headers
    assert "transfer-encoding" not in headers
    assert headers["x-amzn-requestid"]

    # The connection stays usable after the bodiless answer, and a change is a full 200.
    table.count_one_more()
    status, headers, body = exchange(conn, "GET", "/local/analytics", {"If-None-Match": etag})
    assert status == 200
    assert json.loads(body)["totalFeedback"] == 4
    assert headers["etag"] != etag
    assert invoker.calls == 3
    conn.close()


def test_the_gateway_preflight_allows_if_none_match_on_analytics_only(
    gateway: tuple[Gateway, InProcessInvoker],
) -> None:
    served, invoker = gateway
    conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
    ask = {
        "Origin": "http://localhost:5173",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "if-none-match",
    }
    status, headers, _ = exchange(conn, "OPTIONS", "/local/analytics", ask)
    assert status == 204
    assert headers["access-control-allow-origin"] == "http://localhost:5173"
    assert "If-None-Match" in headers["access-control-allow-headers"].split(",")
    _, feedback, _ = exchange(conn, "OPTIONS", "/local/feedback", ask)
    assert "If-None-Match" not in feedback["access-control-allow-headers"].split(",")
    assert invoker.calls == 0  # preflights are API Gateway's own (MOCK) answers
    conn.close()
