"""The local platform's indexed DynamoDB Query answers exactly as moto's own Query does.

Random tables (a GSI like the feedback table's, numeric keys, an LSI, an index without a RANGE
key, a ledger-like table) go through random writes (puts, overwrites, in-place updates that
move an item in or out of an index, deletes, batch writes, a transaction that fails and rolls
back); after each round every query shape is paged to the end with the index and with moto's
own Query (`moto_query.disabled()`), and the two answers must be equal page for page: items
and their order, Count, ScannedCount and LastEvaluatedKey.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from feedbackctl.local import moto_query, moto_transact


@pytest.fixture(scope="module", autouse=True)
def patched(moto_endpoint: str) -> None:
    moto_query.install()
    moto_transact.install()  # a cancelled transaction puts a snapshot of the table in place


@pytest.fixture
def ddb(moto_endpoint: str) -> Any:
    return boto3.client("dynamodb", endpoint_url=moto_endpoint)


def s(value: str) -> dict[str, str]:
    return {"S": value}


def n(value: float | int) -> dict[str, str]:
    return {"N": str(value)}


def make_tables(ddb: Any) -> dict[str, str]:
    suffix = uuid.uuid4().hex[:8]
    names = {"feedback": f"q-feedback-{suffix}", "scores": f"q-scores-{suffix}"}
    names["ledger"] = f"q-ledger-{suffix}"
    ddb.create_table(
        TableName=names["feedback"],
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "feedbackId", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "feedbackId", "AttributeType": "S"},
            {"AttributeName": "status", "AttributeType": "S"},
            {"AttributeName": "createdAt", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "createdAt-index",
                "KeySchema": [
                    {"AttributeName": "status", "KeyType": "HASH"},
                    {"AttributeName": "createdAt", "KeyType": "RANGE"},
                ],
                "Projection": {
                    "ProjectionType": "INCLUDE",
                    "NonKeyAttributes": ["rating", "message"],
                },
            }
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    ddb.create_table(
        TableName=names["scores"],
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[
            {"AttributeName": "player", "KeyType": "HASH"},
            {"AttributeName": "game", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "player", "AttributeType": "S"},
            {"AttributeName": "game", "AttributeType": "N"},
            {"AttributeName": "league", "AttributeType": "S"},
            {"AttributeName": "score", "AttributeType": "N"},
            {"AttributeName": "badge", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "league-score",
                "KeySchema": [
                    {"AttributeName": "league", "KeyType": "HASH"},
                    {"AttributeName": "score", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "league-only",
                "KeySchema": [{"AttributeName": "league", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": "player-badge",
                "KeySchema": [
                    {"AttributeName": "player", "KeyType": "HASH"},
                    {"AttributeName": "badge", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    ddb.create_table(
        TableName=names["ledger"],
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
    )
    return names


class World:
    """Random writes over the three tables; what they hold is known to the test."""

    def __init__(self, ddb: Any, names: dict[str, str], rng: random.Random) -> None:
        self.ddb, self.names, self.rng = ddb, names, rng
        self.feedback_ids: list[str] = []
        self.players = [f"p{i}" for i in range(4)]

    def stamp(self) -> str:
        # Few distinct times: ties on the index's sort key are ordered by the table key.
        return f"2026-12-0{self.rng.randint(1, 3)}T0{self.rng.randint(0, 2)}:00:00Z"

    def feedback_item(self, feedback_id: str) -> dict[str, Any]:
        item = {
            "feedbackId": s(feedback_id),
            "rating": n(self.rng.randint(1, 5)),
            "message": s("x" * self.rng.randint(1, 40)),
            "email": s("hidden@example.com"),
        }
        if self.rng.random() < 0.9:
            item["status"] = s(self.rng.choice(["active", "active", "active", "hidden"]))
        if self.rng.random() < 0.9:
            item["createdAt"] = s(self.stamp())
        return item

    def score_item(self) -> dict[str, Any]:
        item = {
            "player": s(self.rng.choice(self.players)),
            "game": n(self.rng.randint(1, 30)),
            "points": n(self.rng.randint(0, 100)),
        }
        if self.rng.random() < 0.85:
            item["league"] = s(self.rng.choice(["gold", "silver"]))
        if self.rng.random() < 0.85:
            item["score"] = n(self.rng.choice([1, 2, 2.5, 3, 10, -4]))
        if self.rng.random() < 0.7:
            item["badge"] = s(self.rng.choice(["a", "ab", "b", "ba"]))
        return item

    def round(self, writes: int) -> None:
        for _ in range(writes):
            self.rng.choice(
                [self.put_new, self.put_new, self.overwrite, self.update, self.delete, self.score]
            )()
        self.batch()
        self.ledger()

    def put_new(self) -> None:
        feedback_id = uuid.UUID(int=self.rng.getrandbits(128)).hex
        self.feedback_ids.append(feedback_id)
        self.ddb.put_item(TableName=self.names["feedback"], Item=self.feedback_item(feedback_id))

    def overwrite(self) -> None:
        if self.feedback_ids:
            feedback_id = self.rng.choice(self.feedback_ids)
            item = self.feedback_item(feedback_id)
            self.ddb.put_item(TableName=self.names["feedback"], Item=item)

    def update(self) -> None:
        if not self.feedback_ids:
            return
        key = {"feedbackId": s(self.rng.choice(self.feedback_ids))}
        table = self.names["feedback"]
        choice = self.rng.random()
        if choice < 0.4:  # moves the item within (or into) the index
            self.ddb.update_item(
                TableName=table,
                Key=key,
                UpdateExpression="SET createdAt = :c, #s = :s",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":c": s(self.stamp()), ":s": s("active")},
            )
        elif choice < 0.6:  # takes it out of the index
            self.ddb.update_item(TableName=table, Key=key, UpdateExpression="REMOVE createdAt")
        else:  # a non-key attribute only
            self.ddb.update_item(
                TableName=table,
                Key=key,
                UpdateExpression="ADD rating :one",
                ExpressionAttributeValues={":one": n(1)},
            )

    def delete(self) -> None:
        if self.feedback_ids:
            feedback_id = self.feedback_ids.pop(self.rng.randrange(len(self.feedback_ids)))
            self.ddb.delete_item(
                TableName=self.names["feedback"], Key={"feedbackId": s(feedback_id)}
            )

    def score(self) -> None:
        item = self.score_item()
        if self.rng.random() < 0.3:
            self.ddb.delete_item(
                TableName=self.names["scores"],
                Key={"player": item["player"], "game": item["game"]},
            )
        else:
            self.ddb.put_item(TableName=self.names["scores"], Item=item)

    def batch(self) -> None:
        requests = [{"PutRequest": {"Item": self.score_item()}} for _ in range(3)]
        keys = {
            (r["PutRequest"]["Item"]["player"]["S"], r["PutRequest"]["Item"]["game"]["N"])
            for r in requests
        }
        if len(keys) == len(requests):
            self.ddb.batch_write_item(RequestItems={self.names["scores"]: requests})

    def ledger(self) -> None:
        pk = self.rng.choice(["fn#a", "fn#b"])
        sk = self.rng.choice(["event#", "state#"]) + f"{self.rng.randint(0, 50):03d}"
        self.ddb.put_item(TableName=self.names["ledger"], Item={"pk": s(pk), "sk": s(sk)})

    def failed_transaction(self) -> None:
        """A transaction that fails: moto rolls back by putting a copy of the table in place."""
        feedback_id = uuid.UUID(int=self.rng.getrandbits(128)).hex
        with pytest.raises(self.ddb.exceptions.TransactionCanceledException):
            self.ddb.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.names["feedback"],
                            "Item": self.feedback_item(feedback_id),
                        }
                    },
                    {
                        "ConditionCheck": {
                            "TableName": self.names["feedback"],
                            "Key": {"feedbackId": s("never-there")},
                            "ConditionExpression": "attribute_exists(feedbackId)",
                        }
                    },
                ]
            )


def pages(ddb: Any, query: dict[str, Any]) -> list[dict[str, Any]]:
    """Every page of a query, following LastEvaluatedKey to the end."""
    query = dict(query)
    found = []
    for _ in range(500):
        answer = ddb.query(**query)
        found.append(
            {k: answer.get(k) for k in ("Items", "Count", "ScannedCount", "LastEvaluatedKey")}
        )
        if "LastEvaluatedKey" not in answer:
            return found
        query["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
    raise AssertionError("a query that never ends")


def same_as_moto(ddb: Any, query: dict[str, Any]) -> list[dict[str, Any]]:
    indexed = pages(ddb, query)
    with moto_query.disabled():
        unpatched = pages(ddb, query)
    assert indexed == unpatched, query
    return indexed


def queries(names: dict[str, str], rng: random.Random) -> Iterator[dict[str, Any]]:
    """The key condition shapes, with random limits, directions, filters and projections."""
    for _ in range(6):
        limit = rng.choice([None, 1, 2, 3, 7, 11])
        extra: dict[str, Any] = {"ScanIndexForward": rng.random() < 0.5}
        if limit:
            extra["Limit"] = limit
        yield {  # list-feedback's own query
            "TableName": names["feedback"],
            "IndexName": "createdAt-index",
            "KeyConditionExpression": "#status = :active",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":active": s(rng.choice(["active", "hidden", "none"]))},
            **extra,
        }
        yield {
            "TableName": names["feedback"],
            "IndexName": "createdAt-index",
            "KeyConditionExpression": "#status = :a AND createdAt BETWEEN :lo AND :hi",
            "FilterExpression": "rating > :r",
            "ProjectionExpression": "feedbackId, rating",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":a": s("active"),
                ":lo": s("2026-12-01T01"),
                ":hi": s("2026-12-03T00:00:00Z"),
                ":r": n(2),
            },
            **extra,
        }
        yield {
            "TableName": names["scores"],
            "IndexName": "league-score",
            "KeyConditionExpression": "league = :l AND score >= :x",
            "ExpressionAttributeValues": {":l": s(rng.choice(["gold", "silver"])), ":x": n(2)},
            **extra,
        }
        yield {
            "TableName": names["scores"],
            "IndexName": "league-score",
            "KeyConditionExpression": "league = :l",
            "FilterExpression": "points < :p",
            "ExpressionAttributeValues": {":l": s("gold"), ":p": n(50)},
            **extra,
        }
        yield {
            "TableName": names["scores"],
            "IndexName": "league-only",
            "KeyConditionExpression": "league = :l",
            "ExpressionAttributeValues": {":l": s("silver")},
            **extra,
        }
        yield {
            "TableName": names["scores"],
            "IndexName": "player-badge",
            "KeyConditionExpression": "player = :p AND begins_with(badge, :b)",
            "ExpressionAttributeValues": {":p": s(rng.choice(["p0", "p1"])), ":b": s("a")},
            **extra,
        }
        yield {
            "TableName": names["scores"],
            "KeyConditionExpression": "player = :p AND game < :g",
            "ExpressionAttributeValues": {":p": s(rng.choice(["p2", "p3"])), ":g": n(20)},
            **extra,
        }
        yield {  # the release ledger's query
            "TableName": names["ledger"],
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": s("fn#a"), ":prefix": s("event#")},
            **extra,
        }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_page_equals_moto_through_random_writes(ddb, seed):
    rng = random.Random(seed)
    names = make_tables(ddb)
    world = World(ddb, names, rng)
    before = moto_query.stats()
    for round_number in range(5):
        world.round(writes=40)
        if round_number == 2:
            world.failed_transaction()
        for query in queries(names, rng):
            same_as_moto(ddb, query)
    after = moto_query.stats()
    assert after.get("index", 0) - before.get("index", 0) > 100  # the indexed path answered
    assert after.get("partition", 0) - before.get("partition", 0) > 50
    assert after.get("stale", 0) == before.get("stale", 0)  # every write kept the index current


def test_a_page_resumes_after_its_last_item_was_deleted(ddb):
    names = make_tables(ddb)
    world = World(ddb, names, random.Random(9))
    for _ in range(30):
        world.put_new()
    query = {
        "TableName": names["feedback"],
        "IndexName": "createdAt-index",
        "KeyConditionExpression": "#status = :a",
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": {":a": s("active")},
        "ScanIndexForward": False,
        "Limit": 4,
    }
    first = ddb.query(**query)
    resume = first["LastEvaluatedKey"]
    ddb.delete_item(TableName=names["feedback"], Key={"feedbackId": resume["feedbackId"]})
    world.put_new()  # and a write lands meanwhile
    same_as_moto(ddb, {**query, "ExclusiveStartKey": resume})


def test_a_page_reads_the_page_not_the_table(ddb):
    """ScannedCount is the page (Limit items), and the index answered, at any table size."""
    names = make_tables(ddb)
    for i in range(600):
        item = {
            "feedbackId": s(f"id-{i:05d}"),
            "status": s("active"),
            "createdAt": s(f"2026-12-01T00:{i // 60:02d}:{i % 60:02d}Z"),
        }
        ddb.put_item(TableName=names["feedback"], Item=item)
    before = moto_query.stats().get("index", 0)
    answer = ddb.query(
        TableName=names["feedback"],
        IndexName="createdAt-index",
        KeyConditionExpression="#s = :a",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":a": s("active")},
        ScanIndexForward=False,
        Limit=11,
    )
    assert answer["ScannedCount"] == 11
    assert [i["feedbackId"]["S"] for i in answer["Items"]] == [
        f"id-{i:05d}" for i in range(599, 588, -1)
    ]
    assert moto_query.stats().get("index", 0) == before + 1
