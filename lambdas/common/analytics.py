"""The analytics aggregate: what one feedback item contributes, and how it is stored and read.

The `global` item of the analytics table holds flat counters (ADD-able without a read):
totalFeedback, ratingSum, rating_1..rating_5, sentiment_<label>, lastUpdated, and for each of
the last DAILY_WINDOW_DAYS days `day#<date>#count|ratingSum|positive|neutral|negative`, so
GET /analytics is one GetItem. Pure code: no AWS calls here.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

GLOBAL_ID = "global"
SENTIMENTS = ("positive", "neutral", "negative")
RATINGS = (1, 2, 3, 4, 5)
DAILY_WINDOW_DAYS = 30
PRUNE_DAYS = 7  # each write also removes this many days just past the window
_DAY_FIELDS = ("count", "ratingSum", *SENTIMENTS)
_CREATED_AT_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


class MalformedRecordError(ValueError):
    """A stream record that does not carry a well-formed feedback item."""


@dataclass(frozen=True)
class Contribution:
    """What one stored feedback item adds to the aggregate."""

    rating: int
    sentiment: str
    day: str  # YYYY-MM-DD (UTC) of createdAt


@dataclass
class Tally:
    """Counters summed over a batch (or over a scan of the table)."""

    count: int = 0
    rating_sum: int = 0
    ratings: Counter[int] = field(default_factory=Counter)
    sentiments: Counter[str] = field(default_factory=Counter)
    days: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, item: Contribution, sign: int = 1) -> None:
        """Count `item` (sign 1), or take it back out (sign -1: a deletion on request)."""
        self.count += sign
        self.rating_sum += sign * item.rating
        self.ratings[item.rating] += sign
        self.sentiments[item.sentiment] += sign
        day = self.days.setdefault(item.day, Counter())
        day["count"] += sign
        day["ratingSum"] += sign * item.rating
        day[item.sentiment] += sign


def contribution_from_image(image: dict[str, Any]) -> Contribution:
    """Read a feedback item in DynamoDB JSON (a stream NewImage); raise MalformedRecordError."""
    try:
        rating_raw = image["rating"]["N"]
        sentiment = image["sentiment"]["S"]
        created_at = image["createdAt"]["S"]
    except (KeyError, TypeError):
        raise MalformedRecordError(
            "item lacks rating (N), sentiment (S) or createdAt (S)"
        ) from None
    try:
        rating = int(rating_raw)
    except ValueError:
        raise MalformedRecordError(f"rating {rating_raw!r} is not an integer") from None
    if rating not in RATINGS:
        raise MalformedRecordError(f"rating {rating} is outside 1..5")
    if sentiment not in SENTIMENTS:
        raise MalformedRecordError(f"sentiment {sentiment!r} is not one of {', '.join(SENTIMENTS)}")
    match = _CREATED_AT_RE.match(created_at) if isinstance(created_at, str) else None
    if not match:
        raise MalformedRecordError(f"createdAt {created_at!r} is not an ISO-8601 UTC timestamp")
    return Contribution(rating=rating, sentiment=sentiment, day=match.group(1))


def day_attribute(day: str, name: str) -> str:
    return f"day#{day}#{name}"


class _Expression:
    """Builds an UpdateExpression with generated placeholder names."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}
        self.adds: list[str] = []
        self.removes: list[str] = []

    def add(self, attribute: str, amount: int) -> None:
        if amount:
            key = f"a{len(self.adds)}"
            self.names[f"#{key}"] = attribute
            self.values[f":{key}"] = {"N": str(amount)}
            self.adds.append(f"#{key} :{key}")

    def remove(self, attribute: str) -> None:
        key = f"r{len(self.removes)}"
        self.names[f"#{key}"] = attribute
        self.removes.append(f"#{key}")


def update_expression(tally: Tally, now: datetime) -> dict[str, Any]:
    """UpdateItem arguments (expression, names, values) that add `tally` to the global item."""
    expr = _Expression()
    expr.add("totalFeedback", tally.count)
    expr.add("ratingSum", tally.rating_sum)
    for rating in RATINGS:
        expr.add(f"rating_{rating}", tally.ratings[rating])
    for label in SENTIMENTS:
        expr.add(f"sentiment_{label}", tally.sentiments[label])
    oldest_kept = (now.date() - timedelta(days=DAILY_WINDOW_DAYS)).isoformat()
    for day, counters in sorted(tally.days.items()):
        if day > oldest_kept:  # a stray old record still counts in the totals
            for name in _DAY_FIELDS:
                expr.add(day_attribute(day, name), counters[name])
    for offset in range(DAILY_WINDOW_DAYS + 1, DAILY_WINDOW_DAYS + 1 + PRUNE_DAYS):
        day = (now.date() - timedelta(days=offset)).isoformat()
        for name in _DAY_FIELDS:
            expr.remove(day_attribute(day, name))
    expr.names["#lu"] = "lastUpdated"
    expr.values[":lu"] = {"S": iso_millis(now)}
    expression = "SET #lu = :lu"
    if expr.adds:
        expression += " ADD " + ", ".join(expr.adds)
    expression += " REMOVE " + ", ".join(expr.removes)
    return {
        "UpdateExpression": expression,
        "ExpressionAttributeNames": expr.names,
        "ExpressionAttributeValues": expr.values,
    }


def iso_millis(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds, the platform's one timestamp format."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _int(item: dict[str, Any], name: str) -> int:
    value = item.get(name, 0)
    return int(value) if isinstance(value, int | Decimal | str) and str(value).strip() else 0


def _average(total: int, count: int) -> float | None:
    return round(total / count, 2) if count else None


def summary(item: dict[str, Any] | None, today: date) -> dict[str, Any]:
    """The GET /analytics body from the (unmarshalled) global item; zeros when there is none."""
    item = item or {}
    count = _int(item, "totalFeedback")
    daily = []
    for offset in range(DAILY_WINDOW_DAYS - 1, -1, -1):
        day = (today - timedelta(days=offset)).isoformat()
        day_count = _int(item, day_attribute(day, "count"))
        daily.append(
            {
                "date": day,
                "count": day_count,
                "averageRating": _average(_int(item, day_attribute(day, "ratingSum")), day_count),
                **{label: _int(item, day_attribute(day, label)) for label in SENTIMENTS},
            }
        )
    return {
        "totalFeedback": count,
        "averageRating": _average(_int(item, "ratingSum"), count),
        "sentiment": {label: _int(item, f"sentiment_{label}") for label in SENTIMENTS},
        "ratings": {str(r): _int(item, f"rating_{r}") for r in RATINGS},
        "daily": daily,
        "lastUpdated": item.get("lastUpdated"),
    }


def utc_now() -> datetime:
    return datetime.now(UTC)
