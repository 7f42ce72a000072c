"""`feedbackctl analytics` and `analytics verify [--repair]` through CliRunner against a moto
server: exact rendering, JSON, a planted drift found and repaired, malformed items reported,
and a repair that refuses to overwrite counters which moved under it."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

import feedbackctl.cli.commands.analytics.run as analytics_run
from feedbackctl import analytics_ops
from feedbackctl.cli.app import app
from feedbackctl.naming import StackNames
from feedbackctl.sandbox import create_tables
from lambdas.common import analytics

NOW = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)
AGGREGATED = NOW - timedelta(minutes=2)
# (rating, sentiment, createdAt): three days inside the 30-day window, one long before it.
FEEDBACK = [
    (5, "positive", "2026-11-25T08:00:00.000Z"),
    (4, "positive", "2026-11-25T08:30:00.000Z"),
    (1, "negative", "2026-11-25T09:00:00.000Z"),
    (5, "positive", "2026-11-24T12:00:00.000Z"),
    (3, "neutral", "2026-11-24T13:00:00.000Z"),
    (2, "negative", "2026-11-20T07:00:00.000Z"),
    (5, "positive", "2026-11-20T07:10:00.000Z"),
    (4, "positive", "2026-11-20T07:20:00.000Z"),
    (5, "positive", "2026-10-10T10:00:00.000Z"),
]


def feedback_item(rating: Any, sentiment: str | None, created_at: str) -> dict[str, Any]:
    item = {
        "feedbackId": {"S": str(uuid.uuid4())},
        "status": {"S": "visible"},
        "createdAt": {"S": created_at},
        "name": {"S": "Ada"},
        "message": {"S": "a message"},
        "rating": {"N": str(rating)},
        "expiresAt": {"N": "1900000000"},
    }
    if sentiment is not None:
        item["sentiment"] = {"S": sentiment}
    return item


class Stage:
    def __init__(self, ddb: Any, stack: str) -> None:
        self.ddb = ddb
        self.names = StackNames(stack)

    def put(self, rating: Any, sentiment: str | None, created_at: str) -> dict[str, Any]:
        item = feedback_item(rating, sentiment, created_at)
        self.ddb.put_item(TableName=self.names.feedback_table, Item=item)
        return item

    def aggregate(self, items: list[dict[str, Any]], at: datetime) -> None:
        """Apply items to the global item exactly as the stream aggregator does."""
        tally = analytics.Tally()
        for item in items:
            tally.add(analytics.contribution_from_image(item))
        self.ddb.update_item(
            TableName=self.names.analytics_table,
            Key=analytics_ops.GLOBAL_KEY,
            **analytics.update_expression(tally, at),
        )

    def bump(self, counters: dict[str, int]) -> None:
        """Plant drift: add to counters directly (as a bug or a lost batch would leave them)."""
        names = {f"#n{i}": name for i, name in enumerate(counters)}
        values = {f":v{i}": {"N": str(v)} for i, v in enumerate(counters.values())}
        adds = ", ".join(f"#n{i} :v{i}" for i in range(len(counters)))
        self.ddb.update_item(
            TableName=self.names.analytics_table,
            Key=analytics_ops.GLOBAL_KEY,
            UpdateExpression=f"ADD {adds}",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def stored(self) -> dict[str, Any]:
        item = analytics_ops.read_global(self.ddb, self.names.analytics_table, consistent=True)
        assert item is not None
        return item


@pytest.fixture
def stage(ddb, tmp_path, monkeypatch):
    stack = f"an-{uuid.uuid4().hex[:8]}"
    names = StackNames(stack)
    create_tables(ddb, names.feedback_table, names.analytics_table)
    config = tmp_path / "feedbackctl.toml"
    config.write_text(
        '[project]\ndefault_stage = "test"\n'
        f'[stages.test]\nregion = "us-east-1"\nstack_name = "{stack}"\n'
    )
    monkeypatch.setenv("FEEDBACKCTL_CONFIG", str(config))
    monkeypatch.setattr(analytics_run, "now", lambda: NOW)
    return Stage(ddb, stack)


@pytest.fixture
def aggregated(stage):
    items = [stage.put(*f) for f in FEEDBACK]
    stage.aggregate(items, AGGREGATED)
    # The aggregator's dedupe marker lives in the same table and must survive a repair.
    stage.ddb.put_item(
        TableName=stage.names.analytics_table,
        Item={"aggregateId": {"S": "rec#e-1"}, "expiresAt": {"N": "1764064800"}},
    )
    return stage


def run(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


SHOWN = """\
Analytics for stage test
  total feedback  9
  average rating  3.78 / 5
  last update     2026-11-25T09:58:00.000Z (2 min ago)

Sentiment
  positive  ██████████████████████████████  6   66.7%
  neutral   █████                           1   11.1%
  negative  ██████████                      2   22.2%

Ratings
  5 ★  ██████████████████████████████  4   44.4%
  4 ★  ███████████████                 2   22.2%
  3 ★  ████████                        1   11.1%
  2 ★  ████████                        1   11.1%
  1 ★  ████████                        1   11.1%

Daily, 2026-10-27 to 2026-11-25
  ························█···▆█
  busiest 2026-11-20 (3), today 3, 30 days 8
"""


def test_analytics_renders_totals_bars_histogram_and_trend(aggregated):
    result = run("analytics")
    assert result.exit_code == 0, result.output
    assert result.stdout == SHOWN
    assert result.stderr == ""


def test_analytics_json_is_the_api_shape_plus_the_age(aggregated):
    result = run("analytics", "--json")
    assert result.exit_code == 0
    body = json.loads(result.stdout)
    assert body["totalFeedback"] == 9
    assert body["averageRating"] == 3.78
    assert body["sentiment"] == {"positive": 6, "neutral": 1, "negative": 2}
    assert body["ratings"] == {"1": 1, "2": 1, "3": 1, "4": 2, "5": 4}
    assert [d["count"] for d in body["daily"] if d["count"]] == [3, 2, 3]
    assert body["daily"][-1]["averageRating"] == 3.33
    assert body["lastUpdated"] == "2026-11-25T09:58:00.000Z"
    assert body["lastUpdatedAgeSeconds"] == 120.0


def test_analytics_before_any_feedback(stage):
    result = run("analytics")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[:4] == [
        "Analytics for stage test",
        "  total feedback  0",
        "  average rating  -",
        "  last update     never",
    ]
    assert "  no feedback in the last 30 days" in result.stdout


def test_watch_re_renders_until_ctrl_c(aggregated, monkeypatch):
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 2:
            raise KeyboardInterrupt
        aggregated.aggregate([feedback_item(5, "positive", "2026-11-25T09:59:00.000Z")], NOW)

    monkeypatch.setattr(analytics_run, "sleep", sleep)
    result = run("analytics", "--watch", "5")
    assert result.exit_code == 0
    assert sleeps == [5, 5]
    renders = result.stdout.split("Analytics for stage test\n")[1:]
    assert [r.splitlines()[0] for r in renders] == ["  total feedback  9", "  total feedback  10"]
    assert "last update     2026-11-25T10:00:00.000Z (just now)" in renders[1]
    assert result.stderr == "stopped watching\n"


def test_watch_json_is_one_object_per_line(aggregated, monkeypatch):
    calls = []

    def sleep(seconds: float) -> None:
        calls.append(seconds)
        if len(calls) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(analytics_run, "sleep", sleep)
    result = run("analytics", "--watch", "2", "--json")
    assert result.exit_code == 0
    assert [json.loads(line)["totalFeedback"] for line in result.stdout.splitlines()] == [9, 9]


def test_a_missing_table_says_the_stage_may_not_be_deployed(tmp_path, monkeypatch, moto_endpoint):
    config = tmp_path / "feedbackctl.toml"
    config.write_text(
        '[project]\ndefault_stage = "test"\n'
        '[stages.test]\nregion = "us-east-1"\nstack_name = "never-deployed"\n'
    )
    monkeypatch.setenv("FEEDBACKCTL_CONFIG", str(config))
    result = run("analytics")
    assert result.exit_code == 1
    assert "reading the analytics: AWS said: ResourceNotFoundException" in result.stderr
    assert "Traceback" not in result.output


def test_verify_on_consistent_counters(aggregated):
    result = run("analytics", "verify")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "scanned 9 items in 4 segments: 9 counted, 0 malformed\nthe counters match the table\n"
    )
    assert result.stderr == ""  # not a terminal: no progress bar


DRIFTED = """\
scanned 9 items in 4 segments: 9 counted, 0 malformed
counters that differ (stored → recomputed):
  totalFeedback           11 → 9  (-2)
  rating_5                 3 → 4  (+1)
  sentiment_neutral        0 → 1  (+1)
  day#2026-11-24#count     3 → 2  (-1)
  day#2026-11-24#neutral   0 → 1  (+1)
"""


def plant_drift(stage: Stage) -> None:
    stage.bump(
        {"totalFeedback": 2, "rating_5": -1, "sentiment_neutral": -1, "day#2026-11-24#count": 1}
    )
    stage.ddb.update_item(
        TableName=stage.names.analytics_table,
        Key=analytics_ops.GLOBAL_KEY,
        UpdateExpression="REMOVE #d",
        ExpressionAttributeNames={"#d": "day#2026-11-24#neutral"},
    )


def test_verify_finds_a_planted_drift_and_exits_1(aggregated):
    plant_drift(aggregated)
    result = run("analytics", "verify")
    assert result.exit_code == 1
    assert result.stdout == DRIFTED
    assert result.stderr == (
        "error: 5 counters differ from the feedback table "
        "(repair them with `feedbackctl analytics verify --repair`)\n"
    )
    body = json.loads(run("analytics", "verify", "--json", "--segments", "2").stdout)
    assert body["consistent"] is False
    assert body["differences"][0] == {
        "counter": "totalFeedback",
        "stored": 11,
        "recomputed": 9,
        "delta": -2,
    }


def test_repair_fixes_the_drift_and_leaves_the_markers_alone(aggregated):
    plant_drift(aggregated)
    result = run("analytics", "verify", "--repair", "--yes")
    assert result.exit_code == 0, result.output
    assert result.stdout == DRIFTED
    assert result.stderr == "✓ repaired 5 counters (attempt 1)\n"
    stored = aggregated.stored()
    assert (stored["totalFeedback"], stored["rating_5"], stored["sentiment_neutral"]) == (9, 4, 1)
    assert stored["day#2026-11-24#count"] == 2
    assert stored["lastRepaired"] == "2026-11-25T10:00:00.000Z"
    assert run("analytics", "verify").exit_code == 0
    marker = aggregated.ddb.get_item(
        TableName=aggregated.names.analytics_table, Key={"aggregateId": {"S": "rec#e-1"}}
    )["Item"]
    assert marker == {"aggregateId": {"S": "rec#e-1"}, "expiresAt": {"N": "1764064800"}}


def test_repair_needs_yes_without_a_terminal(aggregated):
    plant_drift(aggregated)
    result = run("analytics", "verify", "--repair")
    assert result.exit_code == 2
    assert "this needs confirmation and stdin is not a terminal (pass --yes)" in result.stderr
    assert aggregated.stored()["totalFeedback"] == 11


def test_a_day_that_should_be_empty_is_removed(aggregated):
    aggregated.bump({"day#2026-11-23#count": 4})
    assert run("analytics", "verify", "--repair", "--yes").exit_code == 0
    assert "day#2026-11-23#count" not in aggregated.stored()


def test_items_that_do_not_match_the_schema_are_counted_and_reported(aggregated):
    bad = aggregated.put(7, "positive", "2026-11-25T08:00:00.000Z")
    aggregated.put(3, None, "2026-11-25T08:00:00.000Z")
    result = run("analytics", "verify")
    assert result.exit_code == 0  # the aggregator never counted them either
    assert result.stdout.splitlines()[0] == (
        "scanned 11 items in 4 segments: 9 counted, 2 malformed"
    )
    assert "warning: 2 items do not match the feedback schema and are not counted:" in (
        result.stderr
    )
    assert f"  {bad['feedbackId']['S']}: rating 7 is outside 1..5" in result.stderr
    assert ": item lacks rating (N), sentiment (S) or createdAt (S)" in result.stderr
    body = json.loads(run("analytics", "verify", "--json").stdout)
    assert body["malformed"] == 2
    assert len(body["malformedExamples"]) == 2


def test_items_newer_than_the_last_aggregation_are_pointed_out(aggregated):
    aggregated.put(4, "positive", "2026-11-25T09:59:00.000Z")
    result = run("analytics", "verify")
    assert result.exit_code == 1
    assert (
        "warning: 1 item is newer than the last aggregation (2026-11-25T09:58:00.000Z); "
        "if the stream still delivers them, a repair now would count them twice"
    ) in result.stderr


def test_totals_above_the_recount_hint_at_retention(aggregated):
    aggregated.bump({"totalFeedback": 5, "ratingSum": 20, "rating_4": 5, "sentiment_positive": 5})
    result = run("analytics", "verify")
    assert result.exit_code == 1
    assert "feedback removed by its retention TTL is still counted" in result.stderr


class RacingClient:
    """The real client, except that before each UpdateItem the aggregator applies new feedback
    (a put plus its aggregation), `races` times: the counters move under the repair."""

    def __init__(self, stage: Stage, races: int) -> None:
        self.stage, self.races, self.updates = stage, races, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stage.ddb, name)

    def update_item(self, **kwargs: Any) -> Any:
        self.updates += 1
        if self.races:
            self.races -= 1
            item = self.stage.put(5, "positive", "2026-11-25T09:30:00.000Z")
            self.stage.aggregate([item], NOW - timedelta(seconds=self.races + 1))
        return self.stage.ddb.update_item(**kwargs)


def test_repair_rescans_when_the_counters_moved_then_succeeds(aggregated):
    plant_drift(aggregated)
    client = RacingClient(aggregated, races=1)
    first = analytics_ops.verify(client, aggregated.names, NOW.date())
    retries: list[int] = []
    done = analytics_ops.repair(
        client, aggregated.names, first, now=lambda: NOW, retrying=retries.append
    )
    assert (done.attempts, retries) == (2, [1])
    # The retry counted the feedback that arrived meanwhile: 10 items, not the first scan's 9.
    assert done.verification.scan.tally.count == 10
    assert aggregated.stored()["totalFeedback"] == 10
    assert analytics_ops.verify(aggregated.ddb, aggregated.names, NOW.date()).differences == []


def test_repair_refuses_to_overwrite_counters_that_keep_moving(aggregated):
    plant_drift(aggregated)
    client = RacingClient(aggregated, races=3)
    first = analytics_ops.verify(client, aggregated.names, NOW.date())
    with pytest.raises(analytics_ops.CountersMovedError) as caught:
        analytics_ops.repair(client, aggregated.names, first, now=lambda: NOW, attempts=3)
    assert client.updates == 3
    assert "the counters changed during each of 3 repair attempts; nothing was written" in str(
        caught.value
    )
    stored = aggregated.stored()
    assert stored["totalFeedback"] == 11 + 3  # the drift plus the racing aggregations, untouched
    assert "lastRepaired" not in stored
