"""GET /feedback filtered by rating, sentiment (one, or both together) and date range, on a moto
server: the right items, newest first across pages, each page read from an index (at most
limit + 1 items, also at 10,000 items), and every bad parameter a 400 naming its field."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import pytest

from lambdas.common import dynamo
from lambdas.common.feedback_filter import RATING_SENTIMENT, SENTIMENTS, rating_sentiment
from lambdas.common.validation import Feedback
from lambdas.create_feedback import handler as create
from lambdas.list_feedback import handler as listing
from tests.functional.handlers import body_of, invoke, list_event

EPOCH = datetime.datetime(2025, 3, 1, tzinfo=datetime.UTC).timestamp()
HOUR = 3600.0


def _items(count: int) -> list[dict[str, Any]]:
    """Stored as create-feedback stores them, an hour apart from EPOCH, ratings and moods mixed."""
    items = []
    for i in range(count):
        feedback = Feedback(f"user {i}", f"user{i}@example.com", i % 5 + 1, f"message {i}")
        item = create.build_item(feedback, str(uuid.uuid4()), EPOCH + i * HOUR, None)
        item["sentiment"] = dynamo.s(SENTIMENTS[i % 3])
        item[RATING_SENTIMENT] = dynamo.s(rating_sentiment(i % 5 + 1, SENTIMENTS[i % 3]))
        items.append(item)
    return items


def _store(table: str, items: list[dict[str, Any]]) -> None:
    client = dynamo.client()
    for start in range(0, len(items), 25):
        batch = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        client.batch_write_item(RequestItems={table: batch})


def _page(query: dict[str, str]) -> tuple[int, dict[str, Any]]:
    response = invoke(listing, list_event(query))
    return response["statusCode"], body_of(response)


def _all_pages(query: dict[str, str]) -> list[str]:
    ids: list[str] = []
    cursor = None
    while True:
        status, body = _page({**query, **({"cursor": cursor} if cursor else {})})
        assert status == 200, body
        ids += [item["feedbackId"] for item in body["items"]]
        cursor = body["nextCursor"]
        if cursor is None:
            return ids


def _newest_first(items: list[dict[str, Any]], keep: Any) -> list[str]:
    plain = [dynamo.unmarshal_item(item) for item in items]
    chosen = sorted((p for p in plain if keep(p)), key=lambda p: p["createdAt"], reverse=True)
    return [p["feedbackId"] for p in chosen]


@pytest.mark.parametrize(
    ("query", "keep"),
    [
        ({"rating": "3"}, lambda p: p["rating"] == 3),
        ({"sentiment": "negative"}, lambda p: p["sentiment"] == "negative"),
        ({"from": "2025-03-02", "to": "2025-03-02"}, lambda p: p["createdAt"][:10] == "2025-03-02"),
        ({"from": "2025-03-03"}, lambda p: p["createdAt"] >= "2025-03-03"),
        ({"to": "2025-03-01"}, lambda p: p["createdAt"] < "2025-03-02"),
        (
            {"rating": "5", "from": "2025-03-02", "to": "2025-03-03"},
            lambda p: p["rating"] == 5 and "2025-03-02" <= p["createdAt"][:10] <= "2025-03-03",
        ),
        (
            {"sentiment": "positive", "to": "2025-03-02"},
            lambda p: p["sentiment"] == "positive" and p["createdAt"][:10] <= "2025-03-02",
        ),
        (
            {"rating": "1", "sentiment": "negative"},
            lambda p: p["rating"] == 1 and p["sentiment"] == "negative",
        ),
        (
            {"rating": "4", "sentiment": "neutral", "from": "2025-03-02", "to": "2025-03-03"},
            lambda p: (
                p["rating"] == 4
                and p["sentiment"] == "neutral"
                and "2025-03-02" <= p["createdAt"][:10] <= "2025-03-03"
            ),
        ),
    ],
)
def test_a_filter_pages_through_its_items_newest_first(tables, query, keep):
    items = _items(80)  # 2025-03-01 00:00 to 2025-03-04 07:00, an hour apart
    _store(tables["feedback"], items)
    expected = _newest_first(items, keep)
    assert expected, "the case selects nothing"
    assert _all_pages({**query, "limit": "4"}) == expected


def test_items_read_per_filtered_page_at_ten_thousand_items(tables, scanned):
    _store(tables["feedback"], _items(10_000))
    for query in (
        {},
        {"rating": "1"},
        {"sentiment": "negative"},
        {"from": "2025-06-01", "to": "2025-06-30"},
        {"rating": "4", "from": "2025-06-01"},
        {"sentiment": "neutral", "to": "2025-04-01"},
        {"rating": "1", "sentiment": "negative"},
        {"rating": "2", "sentiment": "positive", "from": "2025-06-01", "to": "2025-12-31"},
    ):
        scanned.clear()
        status, first = _page({**query, "limit": "10"})
        assert (status, len(first["items"])) == (200, 10), query
        status, second = _page({**query, "limit": "10", "cursor": first["nextCursor"]})
        assert (status, len(second["items"])) == (200, 10), query
        assert scanned == [11, 11], query


def test_a_tombstoned_item_is_not_listed_by_a_filter(tables):
    items = _items(6)
    items[5]["status"] = dynamo.s("forgotten")  # a deletion on request, half done
    _store(tables["feedback"], items)
    forgotten = items[5]["feedbackId"]["S"]
    for query in (
        {"rating": "1"},
        {"sentiment": "negative"},
        {"rating": "1", "sentiment": "negative"},
        {},
    ):
        assert forgotten not in _all_pages({**query, "limit": "1"}), query


@pytest.mark.parametrize(
    ("query", "details"),
    [
        ({"rating": value}, [{"field": "rating", "problem": "must be an integer from 1 to 5"}])
        for value in (
            "0",
            "6",
            "05",
            "5.0",
            "5\n",
            " 5",
            "\u0665",
            "\uff15",
            "",
            "\ud800",
            "9" * 99,
        )
    ]
    + [
        (
            {"sentiment": value},
            [{"field": "sentiment", "problem": "must be one of positive, neutral, negative"}],
        )
        for value in ("Positive", "good", "positive\n", "", "\ud800")
    ]
    + [
        ({field: value}, [{"field": field, "problem": "must be a date as YYYY-MM-DD"}])
        for field in ("from", "to")
        for value in (
            "2025-02-30",
            "2025-13-01",
            "2025-1-01",
            "2025-01-01T00:00",
            "\u0662025-01-01",
        )
    ]
    + [
        (
            {"from": "2025-03-02", "to": "2025-03-01"},
            [{"field": "to", "problem": "must not be before from"}],
        ),
        (
            {"rating": "6", "sentiment": "negative"},
            [{"field": "rating", "problem": "must be an integer from 1 to 5"}],
        ),
        (
            {"rating": "1", "sentiment": "Negative"},
            [{"field": "sentiment", "problem": "must be one of positive, neutral, negative"}],
        ),
        (
            {"rating": "0", "sentiment": "bad", "from": "2025-03-02", "to": "2025-03-01"},
            [
                {"field": "rating", "problem": "must be an integer from 1 to 5"},
                {"field": "sentiment", "problem": "must be one of positive, neutral, negative"},
                {"field": "to", "problem": "must not be before from"},
            ],
        ),
        (
            {"limit": "0", "rating": "x", "from": "yesterday"},
            [
                {"field": "limit", "problem": "must be an integer from 1 to 100"},
                {"field": "rating", "problem": "must be an integer from 1 to 5"},
                {"field": "from", "problem": "must be a date as YYYY-MM-DD"},
            ],
        ),
    ],
)
def test_bad_filters_are_400_with_field_errors(tables, query, details):
    status, body = _page(query)
    assert status == 400
    assert body["error"] == "invalid_parameter"
    assert body["details"] == details
    fields = ", ".join(dict.fromkeys(d["field"] for d in details))
    assert body["message"] in (f"{fields} is invalid", f"{fields} are invalid")


def test_a_cursor_outside_the_date_range_is_400(tables):
    _store(tables["feedback"], _items(80))
    _, body = _page({"limit": "2", "from": "2025-03-03"})
    for other in ({"to": "2025-03-02"}, {"from": "2025-03-05"}):
        status, answer = _page({"limit": "2", "cursor": body["nextCursor"], **other})
        assert status == 400
        assert answer["error"] == "invalid_cursor"
