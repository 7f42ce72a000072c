"""The `ratingSentiment` backfill on a moto server: items stored before create-feedback wrote the
attribute get it (and GET /feedback?rating=&sentiment= finds them), a half-deleted item is left
alone, the counters stay equal to the table (`analytics verify` finds no difference), a second
run changes nothing; a deploy runs it when it added the index or released create-feedback, and
the local platform when a template change adds the index."""

from __future__ import annotations

import copy
import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from feedbackctl import analytics_ops
from feedbackctl.aws.stacks import Waiter
from feedbackctl.backfill import INDEX, backfill_rating_sentiment
from feedbackctl.cfnyaml import load
from feedbackctl.config import load_config
from feedbackctl.deploy import DeployClients, DeployContext, Deployer
from feedbackctl.local import changes
from feedbackctl.releasing import FunctionOutcome
from feedbackctl.sandbox import InvocationContext, StreamPump
from feedbackctl.templating import render_stack
from lambdas.common.feedback_filter import RATING_SENTIMENT
from lambdas.create_feedback import handler as create
from lambdas.list_feedback import handler as listing
from lambdas.stream_aggregator import handler as aggregator
from tests.conftest import scan_all
from tests.functional.data_stage import data_stage
from tests.functional.handlers import VALID, body_of, invoke, list_event, post_event

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = (
    "The new dashboard is excellent, I love how fast it is!",
    "It is broken and slow, a terrible experience.",
    "It works.",
)
FAST = Waiter(sleep=lambda s: None, interval=0.01, timeout=5)
DEV = load_config(ROOT / "feedbackctl.toml").stage("dev")


@pytest.fixture
def stage(ddb, moto_endpoint, tmp_path, monkeypatch):
    for made in data_stage(ddb, moto_endpoint, tmp_path, monkeypatch, "bf"):
        yield made.names, made.pump


def aggregate(pump: StreamPump) -> int:
    """Hand every waiting stream record to the aggregator; how many there were."""
    records = pump.poll()
    if records:
        aggregator.lambda_handler(
            {"Records": records}, InvocationContext(function_name="stream-aggregator")
        )
    return len(records)


def submit_as_before(monkeypatch: pytest.MonkeyPatch, count: int) -> list[str]:
    """Feedback stored through the API handler as it was before it wrote `ratingSentiment`."""
    built = create.build_item

    def without(*args: Any) -> dict[str, Any]:
        item = built(*args)
        del item[RATING_SENTIMENT]
        return item

    with monkeypatch.context() as patch:
        patch.setattr(create, "build_item", without)
        return [submit(i) for i in range(count)]


def submit(i: int) -> str:
    body = {**VALID, "email": f"u{i}@example.com", "rating": i % 5 + 1, "message": MESSAGES[i % 3]}
    response = invoke(create, post_event(body))
    assert response["statusCode"] == 201, response
    return str(body_of(response)["feedbackId"])


def tombstone(ddb: Any, table: str, feedback_id: str) -> None:
    """The first half of a deletion on request (feedbackctl.forget), as if it stopped there."""
    ddb.update_item(
        TableName=table,
        Key={"feedbackId": {"S": feedback_id}},
        UpdateExpression="SET #s = :f REMOVE #n, email, message",
        ConditionExpression="#s = :a",
        ExpressionAttributeNames={"#s": "status", "#n": "name"},
        ExpressionAttributeValues={":f": {"S": "forgotten"}, ":a": {"S": "active"}},
    )


def by_id(ddb: Any, table: str) -> dict[str, dict[str, Any]]:
    return {item["feedbackId"]["S"]: item for item in scan_all(ddb, table)}


def listed(rating: int, sentiment: str) -> list[str]:
    query = {"rating": str(rating), "sentiment": sentiment, "limit": "100"}
    response = invoke(listing, list_event(query))
    assert response["statusCode"] == 200, response
    return [item["feedbackId"] for item in body_of(response)["items"]]


def counters(ddb: Any, names: Any) -> dict[str, Any]:
    item = analytics_ops.read_global(ddb, names.analytics_table, consistent=True)
    assert item is not None
    return item


def test_old_items_get_the_attribute_counters_stay_exact_and_a_second_run_changes_nothing(
    stage, ddb, monkeypatch
):
    names, pump = stage
    old = submit_as_before(monkeypatch, 12)
    new = [submit(i) for i in (20, 35, 21)]  # 20 and 35 share old[5]'s rating and sentiment
    tombstone(ddb, names.feedback_table, old[0])
    aggregate(pump)
    before = counters(ddb, names)
    today = datetime.now(UTC).date()
    assert analytics_ops.verify(ddb, names, today).differences == []
    stored = by_id(ddb, names.feedback_table)
    pair = (stored[old[5]]["rating"]["N"], stored[old[5]]["sentiment"]["S"])
    assert old[5] not in listed(int(pair[0]), pair[1])  # not in the index yet

    lines: list[str] = []
    done = backfill_rating_sentiment(ddb, names.feedback_table, FAST, lines.append)

    assert done is not None
    assert (done.updated, done.scanned) == (11, 15)
    assert lines == [
        f"backfilling ratingSentiment on {names.feedback_table}: 15 of about 15 items read, "
        "11 updated"
    ]
    after = by_id(ddb, names.feedback_table)
    for feedback_id in old[1:] + new:
        item = after[feedback_id]
        expected = f"{item['rating']['N']}#{item['sentiment']['S']}"
        assert item[RATING_SENTIMENT] == {"S": expected}, feedback_id
    assert RATING_SENTIMENT not in after[old[0]]  # the tombstone is not touched
    assert after[old[0]] == stored[old[0]]
    for feedback_id in new:  # what create-feedback wrote is not rewritten
        assert after[feedback_id] == stored[feedback_id]
    # Every active item of the pair is listed, newest first, through the combined index.
    same_pair = [
        i for i in old[1:] + new if (after[i]["rating"]["N"], after[i]["sentiment"]["S"]) == pair
    ]
    assert len(same_pair) == 3
    found = listed(int(pair[0]), pair[1])
    assert sorted(found) == sorted(same_pair)
    times = [after[i]["createdAt"]["S"] for i in found]
    assert times == sorted(times, reverse=True)
    # The updates' stream records change no counter.
    assert aggregate(pump) == 11
    assert counters(ddb, names) == before
    assert analytics_ops.verify(ddb, names, today).differences == []

    again = backfill_rating_sentiment(ddb, names.feedback_table, FAST)

    assert again is not None
    assert again.updated == 0
    assert by_id(ddb, names.feedback_table) == after
    assert aggregate(pump) == 0


def test_a_table_without_the_index_is_left_alone(stage, ddb, monkeypatch):
    names, _ = stage
    ddb.update_table(
        TableName=names.feedback_table,
        GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": INDEX}}],
    )
    [feedback_id] = submit_as_before(monkeypatch, 1)

    assert backfill_rating_sentiment(ddb, names.feedback_table, FAST) is None
    assert RATING_SENTIMENT not in by_id(ddb, names.feedback_table)[feedback_id]


def deployer(ddb: Any, names: Any, lines: list[str]) -> Deployer:
    clients = DeployClients(
        cfn=None,
        s3=None,
        lambda_=None,
        cloudwatch=None,
        ledger=None,  # type: ignore[arg-type]
        names=names,
        engine=None,  # type: ignore[arg-type]
        dynamodb=ddb,
    )
    template = render_stack(dataclasses.replace(DEV, stack_name=names.stack))
    context = DeployContext(
        "ci", "abc1234", template, "", lambda q: True, lines.append, waiter=FAST
    )
    return Deployer(clients, context)


def test_a_deploy_backfills_after_adding_the_index_or_releasing_create_feedback(
    stage, ddb, monkeypatch
):
    names, _ = stage
    ddb.update_table(
        TableName=names.feedback_table,
        GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": INDEX}}],
    )
    first = submit_as_before(monkeypatch, 3)
    lines: list[str] = []
    deploy = deployer(ddb, names, lines)
    deploy._index_steps()  # read before the stack update
    assert deploy.index_added
    # The stack update adds the index.
    changes.update_indexes(ddb, feedback_props(names.feedback_table), [rating_sentiment()], [])

    deploy.backfill([FunctionOutcome("create-feedback", "unchanged")])

    assert lines[-1] == "backfill done: 3 item(s) given ratingSentiment, 3 read"

    # Items the previous create-feedback wrote while the new one was being released.
    second = submit_as_before(monkeypatch, 2)
    lines.clear()
    later = deployer(ddb, names, lines)
    later._index_steps()
    assert not later.index_added
    later.backfill(
        [
            FunctionOutcome("create-feedback", "unchanged"),
            FunctionOutcome("list-feedback", "released"),
        ]
    )
    assert lines == []  # no index added, create-feedback unchanged: no scan
    later.backfill([FunctionOutcome("create-feedback", "released")])
    assert lines[-1] == "backfill done: 2 item(s) given ratingSentiment, 5 read"
    stored = by_id(ddb, names.feedback_table)
    assert all(RATING_SENTIMENT in stored[i] for i in first + second)


def feedback_props(table: str) -> dict[str, Any]:
    """The FeedbackTable's properties as the repository's template renders them."""
    template = load(render_stack(DEV))
    props: dict[str, Any] = copy.deepcopy(template["Resources"]["FeedbackTable"]["Properties"])
    props["TableName"] = table
    return props


def rating_sentiment() -> dict[str, Any]:
    [index] = [i for i in feedback_props("t")["GlobalSecondaryIndexes"] if i["IndexName"] == INDEX]
    return index


class Resumed:
    """What `changes.apply` needs of a Provisioner resumed on a recorded stack."""

    def __init__(self, ddb: Any) -> None:
        self.c = {"dynamodb": ddb}
        self.refs: dict[str, str] = {}

    def resolve(self, props: dict[str, Any]) -> dict[str, Any]:
        return props


def test_the_local_platform_backfills_when_a_template_change_adds_the_index(
    stage, ddb, monkeypatch
):
    names, pump = stage
    ddb.update_table(
        TableName=names.feedback_table,
        GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": INDEX}}],
    )
    old_ids = submit_as_before(monkeypatch, 4)
    aggregate(pump)
    before = counters(ddb, names)
    new = feedback_props(names.feedback_table)
    old = copy.deepcopy(new)
    old["GlobalSecondaryIndexes"] = [
        i for i in old["GlobalSecondaryIndexes"] if i["IndexName"] != INDEX
    ]
    old["AttributeDefinitions"] = [
        a for a in old["AttributeDefinitions"] if a["AttributeName"] != RATING_SENTIMENT
    ]
    resource = {"Type": "AWS::DynamoDB::Table"}
    old_template = {"Resources": {"FeedbackTable": {**resource, "Properties": old}}}
    new_template = {"Resources": {"FeedbackTable": {**resource, "Properties": new}}}
    planned = changes.plan(old_template, new_template)
    lines: list[str] = []

    changes.apply(planned, old_template, new_template, Resumed(ddb), lines.append)

    assert f"index {INDEX} created" in lines[-1]
    assert "backfill done: 4 item(s) given ratingSentiment, 4 read" in lines
    stored = by_id(ddb, names.feedback_table)
    for feedback_id in old_ids:
        item = stored[feedback_id]
        rating, sentiment = int(item["rating"]["N"]), item["sentiment"]["S"]
        assert feedback_id in listed(rating, sentiment)
    aggregate(pump)
    assert counters(ddb, names) == before
