"""GET /feedback on a moto server: order, pages, cursors, limits, and no email."""

from __future__ import annotations

import base64
import json

import pytest

from lambdas.create_feedback import handler as create
from lambdas.list_feedback import handler as listing
from tests.functional.handlers import VALID, body_of, invoke, list_event, post_event


def _seed(count: int) -> list[str]:
    ids = []
    for i in range(count):
        body = {**VALID, "name": f"user {i:03d}", "message": f"message number {i}"}
        ids.append(body_of(invoke(create, post_event(body)))["feedbackId"])
    return ids


def _page(query: dict[str, str] | None) -> tuple[int, dict]:
    response = invoke(listing, list_event(query))
    return response["statusCode"], body_of(response)


def test_newest_first_across_pages_without_gaps_or_repeats(tables):
    created = _seed(23)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        status, body = _page({"limit": "10", **({"cursor": cursor} if cursor else {})})
        assert status == 200
        seen += [item["feedbackId"] for item in body["items"]]
        pages += 1
        cursor = body["nextCursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == list(reversed(created))


def test_items_carry_public_fields_only(tables):
    _seed(2)
    _, body = _page(None)
    assert len(body["items"]) == 2
    for item in body["items"]:
        assert set(item) == {"feedbackId", "name", "rating", "message", "sentiment", "createdAt"}
        assert "ada@example.com" not in json.dumps(item)


def test_default_limit_is_ten_and_exact_last_page_has_no_cursor(tables):
    _seed(10)
    _, body = _page(None)
    assert len(body["items"]) == 10
    assert body["nextCursor"] is None


def test_empty_table_gives_empty_page(tables):
    status, body = _page({"limit": "5"})
    assert status == 200
    assert body == {"items": [], "nextCursor": None}


def test_items_read_per_page_is_at_most_limit_plus_one(tables, scanned):
    _seed(30)
    _, body = _page({"limit": "5"})
    assert len(body["items"]) == 5
    assert scanned == [6]
    _page({"limit": "5", "cursor": body["nextCursor"]})
    assert scanned[-1] <= 6


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "", "1.5", "10000", " 5"])
def test_bad_limit_is_400(tables, limit):
    status, body = _page({"limit": limit})
    assert status == 400
    assert body["error"] == "invalid_parameter"
    assert body["details"][0]["field"] == "limit"


@pytest.mark.parametrize("limit", ["1", "100"])
def test_limit_bounds_are_accepted(tables, limit):
    assert _page({"limit": limit})[0] == 200


def _forge(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize("limit", ["5\n", "\u0661\u0662", "\ud800", "9" * 5000, " 5"])
def test_odd_limits_are_400(tables, limit):
    status, body = _page({"limit": limit})
    assert status == 400
    assert body["details"] == [{"field": "limit", "problem": "must be an integer from 1 to 100"}]


def test_tampered_cursor_is_400_never_500(tables):
    _seed(3)
    _, body = _page({"limit": "1"})
    good = body["nextCursor"]
    decoded = json.loads(base64.urlsafe_b64decode(good + "=" * (-len(good) % 4)))
    tampered = [
        good[:-2],
        good + "A",
        good.replace(good[5], "*" if good[5] != "*" else "-", 1),
        "not base64 !!",
        _forge({**decoded, "s": "deleted"}),
        _forge({"c": decoded["c"], "i": "../../etc/passwd"}),
        _forge({"c": "yesterday", "i": decoded["i"]}),
        _forge({"feedbackId": {"S": decoded["i"]}, "status": {"S": "hidden"}}),
        _forge([decoded["c"], decoded["i"]]),
        "x" * 500,
        # What "^...$" and "\d" once let through: a trailing newline, other scripts' digits.
        good + "\n",
        _forge({"c": decoded["c"] + "\n", "i": decoded["i"]}),
        _forge({"c": decoded["c"], "i": decoded["i"] + "\n"}),
        _forge({"c": "\u0662" + decoded["c"][1:], "i": decoded["i"]}),
        _forge({"c": decoded["c"], "i": "\ud800"}),
        "\ud800",
    ]
    for cursor in tampered:
        status, response = _page({"limit": "1", "cursor": cursor})
        assert status == 400, cursor
        assert response["error"] == "invalid_cursor"


def test_forged_but_well_formed_cursor_stays_in_the_public_list(tables):
    _seed(3)
    cursor = _forge({"c": "9999-12-31T23:59:59.999Z", "i": "00000000-0000-4000-8000-000000000000"})
    status, body = _page({"limit": "10", "cursor": cursor})
    assert status == 200
    assert len(body["items"]) == 3
