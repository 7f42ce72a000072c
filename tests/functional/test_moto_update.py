"""moto's UpdateExpression clause check in one pass (feedbackctl.local.moto_update) answers as
moto's own: the same items after large and small updates, and the same refusals."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import boto3
import pytest

from feedbackctl.local import moto_update
from tests.conftest import create_keyed_table


def _updates(ddb, table: str) -> list:
    """Each update's answer: the item after it, or the refusal."""
    wide = ", ".join(f"#a{i} = if_not_exists(#a{i}, :zero) + :v{i}" for i in range(60))
    aggregate = {  # the shape of the aggregator's update: many SET actions, and an ADD
        "UpdateExpression": f"SET {wide} ADD #total :one",
        "ExpressionAttributeNames": {**{f"#a{i}": f"a{i}" for i in range(60)}, "#total": "t"},
        "ExpressionAttributeValues": {
            **{f":v{i}": {"N": str(i)} for i in range(60)},
            ":zero": {"N": "0"},
            ":one": {"N": "1"},
        },
    }
    unparsable = {
        "UpdateExpression": "SET #a = = :x",
        "ExpressionAttributeNames": {"#a": "a"},
        "ExpressionAttributeValues": {":x": {"S": "x"}},
    }
    calls = [
        aggregate,
        aggregate,  # the same text again: its kept tree, applied to the item as it is now
        unparsable,
        unparsable,
        {
            "UpdateExpression": "SET #a = :x REMOVE #b, #c ADD #n :one DELETE #s :tags",
            "ExpressionAttributeNames": {"#a": "a", "#b": "a1", "#c": "a2", "#n": "t", "#s": "s"},
            "ExpressionAttributeValues": {
                ":x": {"S": "x"},
                ":one": {"N": "1"},
                ":tags": {"SS": ["z"]},
            },
        },
        {  # a function whose copy of its list argument the validator makes
            "UpdateExpression": ("SET #l = list_append(if_not_exists(#l, :empty), :more), #m = :x"),
            "ExpressionAttributeNames": {"#l": "l", "#m": "m"},
            "ExpressionAttributeValues": {
                ":empty": {"L": []},
                ":more": {"L": [{"S": "p"}, {"M": {"q": {"N": "2"}}}]},
                ":x": {"S": "x"},
            },
        },
        {  # refused: two SET sections
            "UpdateExpression": "SET #a = :x SET #b = :x",
            "ExpressionAttributeNames": {"#a": "a", "#b": "b"},
            "ExpressionAttributeValues": {":x": {"S": "x"}},
        },
        {  # refused: two ADD sections and two REMOVE sections (moto names ADD first)
            "UpdateExpression": "REMOVE #a REMOVE #b ADD #n :one ADD #m :one",
            "ExpressionAttributeNames": {"#a": "a", "#b": "b", "#n": "n", "#m": "m"},
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        },
        {  # refused: two REMOVE sections
            "UpdateExpression": "REMOVE #a SET #b = :x REMOVE #c",
            "ExpressionAttributeNames": {"#a": "a", "#b": "b", "#c": "c"},
            "ExpressionAttributeValues": {":x": {"S": "x"}},
        },
    ]
    answers = []
    for arguments in calls:
        try:
            answer = ddb.update_item(
                TableName=table, Key={"id": {"S": "k"}}, ReturnValues="ALL_NEW", **arguments
            )
            answers.append(("ok", answer["Attributes"]))
        except ddb.exceptions.ClientError as exc:
            answers.append((exc.response["Error"]["Code"], exc.response["Error"]["Message"]))
    return answers


def test_updates_answer_as_moto_does_with_the_one_pass_check(moto_endpoint) -> None:
    from moto.dynamodb.parsing.validators import ActionCountValidator

    assert ActionCountValidator.traverse is moto_update._checked  # the test servers run it
    ddb = boto3.client("dynamodb", endpoint_url=moto_endpoint)

    def run() -> list:
        table = f"up-{uuid.uuid4().hex[:6]}"
        create_keyed_table(ddb, table, "id")
        ddb.put_item(TableName=table, Item={"id": {"S": "k"}, "s": {"SS": ["y", "z"]}})
        return _updates(ddb, table)

    kept = moto_update._parser().make
    before = kept.cache_info().hits
    one_pass = run()
    assert kept.cache_info().hits > before  # the texts parsed again were answered from the kept
    moto_update.uninstall()
    try:
        own = run()
    finally:
        moto_update.install()
    assert one_pass == own
    assert [answer[0] for answer in one_pass] == [
        "ok",
        "ok",
        "ValidationException",
        "ValidationException",
        "ok",
        "ok",
        "ValidationException",
        "ValidationException",
        "ValidationException",
    ]
    assert one_pass[0][1]["a59"] == {"N": "59"}
    assert one_pass[1][1]["a59"] == {"N": "118"}
    assert one_pass[1][1]["t"] == {"N": "2"}
    assert one_pass[2] == one_pass[3]  # refused each time, as moto refuses it
    assert one_pass[5][1]["l"] == {"L": [{"S": "p"}, {"M": {"q": {"N": "2"}}}]}
    assert '"SET" section can only be used once' in one_pass[6][1]
    assert '"ADD" section can only be used once' in one_pass[7][1]
    assert '"REMOVE" section can only be used once' in one_pass[8][1]


def _shape(node: Any, seen: dict[int, int]) -> Any:
    """A tree as plain data: every object's class and attributes, and each object a number so
    that shared references and `parent` links show where they point."""
    if isinstance(node, str | int | float | bool | bytes | type(None)):
        return node
    if id(node) in seen:
        return ("ref", seen[id(node)])
    seen[id(node)] = len(seen)
    if isinstance(node, list | tuple):
        return (type(node).__name__, [_shape(item, seen) for item in node])
    if isinstance(node, dict):
        return ("dict", [(_shape(k, seen), _shape(v, seen)) for k, v in node.items()])
    return (type(node).__name__, {k: _shape(v, seen) for k, v in vars(node).items()})


EXPRESSIONS = [
    ("SET #a = if_not_exists(#a, :zero) + :v, #b.#c[2] = :x REMOVE #d[0] ADD #n :one DELETE #s :t"),
    "SET #l = list_append(:more, #l), #m = :x - :one",
    "REMOVE #a, #b.#c",
]


@pytest.mark.parametrize("text", EXPRESSIONS)
def test_the_validators_copy_of_a_tree_is_deepcopys(text: str) -> None:
    """The same classes, attributes, shared nodes and parent links as copy.deepcopy's copy, and
    nothing of the original in it."""
    tree = moto_update._parser().make(text)
    theirs, mine = copy.deepcopy(tree), moto_update._tree_copy(tree)
    assert _shape(mine, {}) == _shape(theirs, {}) == _shape(tree, {})
    originals = {id(n) for n in _walk(tree)}
    assert not originals & {id(n) for n in _walk(mine)}


def _walk(node: Any) -> list[Any]:
    """The tree's nodes (its strings and numbers, shared by any copy, apart)."""
    found = [node]
    for child in getattr(node, "children", None) or []:
        found += _walk(child) if hasattr(child, "__dict__") else []
    return found


def test_the_validators_use_the_direct_copy() -> None:
    from moto.dynamodb.parsing import validators

    assert validators.deepcopy is moto_update._tree_copy  # the test servers run it
