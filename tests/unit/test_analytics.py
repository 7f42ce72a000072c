"""Aggregation (lambdas.common.analytics and the aggregator's batch planning), pure."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from lambdas.common.analytics import (
    Contribution,
    MalformedRecordError,
    Tally,
    contribution_from_image,
    summary,
    update_expression,
)
from lambdas.stream_aggregator.handler import plan_batch


def image(rating="5", sentiment="positive", created="2026-11-25T10:00:00.000Z"):
    return {"rating": {"N": rating}, "sentiment": {"S": sentiment}, "createdAt": {"S": created}}


def record(seq: int, name="INSERT", **kwargs):
    return {
        "eventID": f"e{seq}",
        "eventName": name,
        "dynamodb": {"SequenceNumber": str(seq), "NewImage": image(**kwargs)},
    }


def test_contribution_reads_the_new_image():
    assert contribution_from_image(image()) == Contribution(5, "positive", "2026-11-25")


@pytest.mark.parametrize(
    "bad",
    [
        {},
        image(rating="0"),
        image(rating="x"),
        image(sentiment="happy"),
        image(created="yesterday"),
        {
            "rating": {"S": "5"},
            "sentiment": {"S": "positive"},
            "createdAt": {"S": "2026-11-25T10:00:00Z"},
        },
    ],
)
def test_malformed_images_raise(bad):
    with pytest.raises(MalformedRecordError):
        contribution_from_image(bad)


def test_tally_sums_counts_ratings_sentiments_and_days():
    tally = Tally()
    for c in [Contribution(5, "positive", "2026-11-25"), Contribution(1, "negative", "2026-11-24")]:
        tally.add(c)
    assert (tally.count, tally.rating_sum) == (2, 6)
    assert tally.ratings == {5: 1, 1: 1}
    assert tally.days["2026-11-24"]["negative"] == 1


def test_update_expression_adds_only_nonzero_counters_and_prunes_old_days():
    tally = Tally()
    tally.add(Contribution(4, "neutral", "2026-11-25"))
    args = update_expression(tally, datetime(2026, 11, 25, 12, tzinfo=UTC))
    names = args["ExpressionAttributeNames"]
    added = {
        names[p.split()[0]]
        for p in args["UpdateExpression"].split(" ADD ")[1].split(" REMOVE ")[0].split(", ")
    }
    assert added == {
        "totalFeedback",
        "ratingSum",
        "rating_4",
        "sentiment_neutral",
        "day#2026-11-25#count",
        "day#2026-11-25#ratingSum",
        "day#2026-11-25#neutral",
    }
    removed = {names[p] for p in args["UpdateExpression"].split(" REMOVE ")[1].split(", ")}
    assert "day#2026-10-25#count" in removed  # 31 days ago
    assert "day#2026-10-26#count" not in removed  # 30 days ago is still shown


def test_summary_fills_the_daily_window():
    item = {
        "totalFeedback": 2,
        "ratingSum": 7,
        "day#2026-11-25#count": 2,
        "day#2026-11-25#ratingSum": 7,
    }
    body = summary(item, date(2026, 11, 25))
    assert body["averageRating"] == 3.5
    assert [d["date"] for d in body["daily"]][-2:] == ["2026-11-24", "2026-11-25"]
    assert body["daily"][-1] == {
        "date": "2026-11-25",
        "count": 2,
        "averageRating": 3.5,
        "positive": 0,
        "neutral": 0,
        "negative": 0,
    }


def test_plan_counts_inserts_takes_back_tombstones_and_reports_malformed():
    records = [
        record(10),
        record(11, rating="9"),
        record(12, name="MODIFY"),  # an edit: no change to the counters
        tombstone(13),  # a deletion on request: taken back
        {"eventID": "e14", "eventName": "REMOVE", "dynamodb": {"SequenceNumber": "14"}},
        record(10),  # the same record twice in one delivery
    ]
    plan = plan_batch(records)
    assert plan.failures == ["11"]
    assert plan.ignored == 3
    assert [(c.event_id, c.sign) for c in plan.changes] == [("e10", 1), ("e13", -1)]


def test_malformed_record_fails_on_every_delivery():
    # It must keep failing so Lambda hands it to the on-failure queue after the retries.
    assert plan_batch([record(5, sentiment="??")]).failures == ["5"]
    assert plan_batch([record(5, sentiment="??")]).failures == ["5"]


def tombstone(seq: int) -> dict:
    forgotten = record(seq, name="MODIFY")
    forgotten["dynamodb"]["NewImage"]["status"] = {"S": "forgotten"}
    return forgotten
