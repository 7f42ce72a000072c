"""The filters of GET /feedback (rating, sentiment, from, to) and the index that serves each.

Every filter is a key condition on a GSI whose sort key is `createdAt`, so a filtered page reads
at most limit + 1 items, as the unfiltered one does: no filter or a date range alone reads the
`createdAt-index` (partition `status = active`), a rating the `rating-index`, a sentiment the
`sentiment-index`, and rating and sentiment together the `ratingSentiment-index`, keyed by the
composite attribute `ratingSentiment` ("1#negative") that create-feedback writes with every item
(items stored before it existed get it from feedbackctl/backfill.py). Pure: no boto3.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any

from lambdas.common.cursor import ACTIVE_STATUS

SENTIMENTS = ("positive", "neutral", "negative")
RATING_SENTIMENT = "ratingSentiment"  # the composite attribute of the ratingSentiment-index
_RATING_RE = re.compile(r"[1-5]")  # fullmatch: "$" would admit "5\n"
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def rating_sentiment(rating: int, sentiment: str) -> str:
    """The value of the composite attribute for an item: `"1#negative"`."""
    return f"{rating}#{sentiment}"


@dataclass(frozen=True)
class Filter:
    """What a page is filtered by; `start` and `end` bound `createdAt`, both inclusive."""

    rating: int | None = None
    sentiment: str | None = None
    start: str | None = None
    end: str | None = None

    @property
    def partition(self) -> tuple[str, str, dict[str, str]]:
        """(index, partition attribute, its value) of the index that serves this filter."""
        if self.rating is not None and self.sentiment is not None:
            value = rating_sentiment(self.rating, self.sentiment)
            return f"{RATING_SENTIMENT}-index", RATING_SENTIMENT, {"S": value}
        if self.rating is not None:
            return "rating-index", "rating", {"N": str(self.rating)}
        if self.sentiment is not None:
            return "sentiment-index", "sentiment", {"S": self.sentiment}
        return "createdAt-index", "status", {"S": ACTIVE_STATUS}

    def covers(self, created_at: str) -> bool:
        """Whether a cursor's position lies in the date range (DynamoDB refuses one outside it)."""
        return (self.start is None or created_at >= self.start) and (
            self.end is None or created_at <= self.end
        )

    def query(self) -> dict[str, Any]:
        """The Query parameters (index, key condition, filter, names and values) for this filter."""
        index, attribute, value = self.partition
        names = {"#p": attribute}
        values: dict[str, dict[str, str]] = {":p": value}
        condition = "#p = :p"
        if self.start is not None and self.end is not None:
            condition += " AND createdAt BETWEEN :start AND :end"
        elif self.start is not None:
            condition += " AND createdAt >= :start"
        elif self.end is not None:
            condition += " AND createdAt <= :end"
        values.update(
            {f":{k}": {"S": v} for k, v in (("start", self.start), ("end", self.end)) if v}
        )
        params: dict[str, Any] = {"IndexName": index, "KeyConditionExpression": condition}
        if attribute != "status":
            # A deletion on request tombstones an item before deleting it; its entry in this
            # index is skipped (it still counts as read, within Limit).
            params["FilterExpression"] = "#status = :active"
            names["#status"] = "status"
            values[":active"] = {"S": ACTIVE_STATUS}
        params["ExpressionAttributeNames"] = names
        params["ExpressionAttributeValues"] = values
        return params


def _date(raw: str) -> datetime.date | None:
    if not _DATE_RE.fullmatch(raw):
        return None
    try:
        return datetime.date.fromisoformat(raw)
    except ValueError:
        return None


def parse_filter(query: dict[str, str]) -> tuple[Filter, list[dict[str, str]]]:
    """The filter a query string asks for, and every problem with it as `{field, problem}`."""
    problems: list[dict[str, str]] = []
    rating = query.get("rating")
    if rating is not None and not _RATING_RE.fullmatch(rating):
        problems.append({"field": "rating", "problem": "must be an integer from 1 to 5"})
    sentiment = query.get("sentiment")
    if sentiment is not None and sentiment not in SENTIMENTS:
        problems.append(
            {"field": "sentiment", "problem": f"must be one of {', '.join(SENTIMENTS)}"}
        )
    dates: dict[str, datetime.date | None] = {}
    for field in ("from", "to"):
        raw = query.get(field)
        dates[field] = None if raw is None else _date(raw)
        if raw is not None and dates[field] is None:
            problems.append({"field": field, "problem": "must be a date as YYYY-MM-DD"})
    start, end = dates["from"], dates["to"]
    if start is not None and end is not None and end < start:
        problems.append({"field": "to", "problem": "must not be before from"})
    if problems:
        return Filter(), problems
    return (
        Filter(
            rating=int(rating) if rating is not None else None,
            sentiment=sentiment,
            start=f"{start.isoformat()}T00:00:00.000Z" if start else None,
            end=f"{end.isoformat()}T23:59:59.999Z" if end else None,
        ),
        [],
    )
