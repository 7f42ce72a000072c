"""The backfill of `ratingSentiment`, the key of the feedback table's `ratingSentiment-index`.

create-feedback writes `ratingSentiment` ("1#negative") with every item, so GET /feedback can
filter by rating and sentiment together from one index (lambdas/common/feedback_filter.py).
Items stored before that have no such attribute and are not in the index until this backfill
sets it. Once the index is ACTIVE, one Scan (pages of `PAGE` items, filtered to active items
without the attribute) finds them and each gets one UpdateItem, conditional on the item still
existing, still being active and still lacking the attribute: a concurrent deletion is not
recreated, a tombstoned item is left alone, an item written meanwhile is not touched, and a
second run changes nothing.

The counters stay exact: the update's stream record is a MODIFY whose new image has
`status = "active"`, and the stream aggregator counts only INSERTs and MODIFYs to "forgotten"
(docs/aggregation.md) — which is why a tombstoned item is never updated here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from feedbackctl.aws import tables
from feedbackctl.aws.stacks import Waiter
from lambdas.common.cursor import ACTIVE_STATUS
from lambdas.common.feedback_filter import RATING_SENTIMENT, rating_sentiment

INDEX = f"{RATING_SENTIMENT}-index"
PAGE = 500  # items a Scan page evaluates; each page is one progress line


@dataclass(frozen=True)
class Backfilled:
    """What one run did: items the Scan read, items it updated, and items it left (changed by
    someone first, or without a rating or a sentiment)."""

    scanned: int = 0
    updated: int = 0
    skipped: int = 0


def backfill_rating_sentiment(
    dynamodb: Any,
    table: str,
    waiter: Waiter,
    progress: Callable[[str], None] = lambda _: None,
) -> Backfilled | None:
    """Set `ratingSentiment` on the table's active items that lack it, once the index is
    ACTIVE; None (nothing done) when the table has no such index."""
    if not tables.wait_index_active(dynamodb, table, INDEX, waiter):
        return None
    total = tables.approximate_items(dynamodb, table)
    scanned = updated = skipped = 0
    request: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "attribute_not_exists(#rs) AND #status = :active",
        "ProjectionExpression": "feedbackId, rating, sentiment",
        "ExpressionAttributeNames": {"#rs": RATING_SENTIMENT, "#status": "status"},
        "ExpressionAttributeValues": {":active": {"S": ACTIVE_STATUS}},
        "Limit": PAGE,
    }
    while True:
        page = tables.scan_page(dynamodb, request)
        scanned += int(page.get("ScannedCount", 0))
        for item in page.get("Items", []):
            update = _update(table, item)
            if update is not None and tables.update_item(dynamodb, update):
                updated += 1
            else:
                skipped += 1
        of = f" of about {total}" if total >= scanned else ""
        progress(
            f"backfilling {RATING_SENTIMENT} on {table}: {scanned}{of} items read, "
            f"{updated} updated"
        )
        last = page.get("LastEvaluatedKey")
        if not last:
            return Backfilled(scanned, updated, skipped)
        request["ExclusiveStartKey"] = last


def _update(table: str, item: dict[str, Any]) -> dict[str, Any] | None:
    """The conditional UpdateItem for a scanned item; None for one without a rating or a
    sentiment (no pair to file it under)."""
    try:
        value = rating_sentiment(int(item["rating"]["N"]), item["sentiment"]["S"])
    except (KeyError, TypeError, ValueError):
        return None
    return {
        "TableName": table,
        "Key": {"feedbackId": item["feedbackId"]},
        "UpdateExpression": "SET #rs = :rs",
        "ConditionExpression": (
            "attribute_exists(feedbackId) AND attribute_not_exists(#rs) AND #status = :active"
        ),
        "ExpressionAttributeNames": {"#rs": RATING_SENTIMENT, "#status": "status"},
        "ExpressionAttributeValues": {":rs": {"S": value}, ":active": {"S": ACTIVE_STATUS}},
    }
