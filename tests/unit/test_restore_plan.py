"""The copy-back plan of a restore (feedbackctl.restore.plan_copy), item by item: what goes,
what comes back, what stays deleted or expired, and items from before the composite key."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from feedbackctl.restore import plan_copy

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def item(ident: str, *, status: str = "active", expires: int | None = None,
         composite: bool = True, message: str = "fine") -> dict[str, Any]:  # fmt: skip
    body: dict[str, Any] = {
        "feedbackId": {"S": ident},
        "rating": {"N": "4"},
        "sentiment": {"S": "positive"},
        "message": {"S": message},
        "status": {"S": status},
        "createdAt": {"S": "2026-11-30T10:00:00.000Z"},
    }
    if composite:
        body["ratingSentiment"] = {"S": "4#positive"}
    if expires is not None:
        body["expiresAt"] = {"N": str(expires)}
    return body


def test_each_kind_of_difference_has_its_change() -> None:
    restored = {
        "same": item("same"),
        "lost": item("lost"),
        "altered": item("altered"),
        "erased": item("erased"),
        "expired": item("expired", expires=int(NOW.timestamp()) - 1),
        "tombstoned": item("tombstoned", status="forgotten"),
    }
    live = {
        "same": item("same"),
        "altered": item("altered", message="overwritten"),
        "new": item("new"),
        "going": item("going", status="forgotten"),  # a deletion on request under way
    }
    plan = plan_copy(restored, live, ["erased"], NOW)
    assert plan.remove == ["new"]
    assert [i["feedbackId"]["S"] for i in plan.add] == ["lost"]
    assert [i["message"]["S"] for i in plan.replace] == ["fine"]
    assert (plan.unchanged, plan.skipped_forgotten, plan.skipped_expired) == (1, 1, 1)


def test_an_item_from_before_the_composite_key_comes_back_with_it_and_is_not_churned() -> None:
    restored = {
        "old": item("old", composite=False),
        "unfilled": item("unfilled", composite=False),
        "back": item("back", composite=False),
    }
    live = {
        "old": item("old"),  # the backfill gave the live copy its ratingSentiment
        "unfilled": item("unfilled", composite=False),  # not yet: the backfill will
    }
    plan = plan_copy(restored, live, [], NOW)
    assert (plan.unchanged, plan.replace, plan.remove) == (2, [], [])
    [back] = plan.add
    assert back["ratingSentiment"] == {"S": "4#positive"}
