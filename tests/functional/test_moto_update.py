"""moto's UpdateExpression clause check in one pass (feedbackctl.local.moto_update) answers as
moto's own: the same items after large and small updates, and the same refusals."""

from __future__ import annotations

import uuid

import boto3

from feedbackctl.local import moto_update


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
        ddb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
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
        "ValidationException",
        "ValidationException",
        "ValidationException",
    ]
    assert one_pass[0][1]["a59"] == {"N": "59"}
    assert one_pass[1][1]["a59"] == {"N": "118"}
    assert one_pass[1][1]["t"] == {"N": "2"}
    assert one_pass[2] == one_pass[3]  # refused each time, as moto refuses it
    assert '"SET" section can only be used once' in one_pass[5][1]
    assert '"ADD" section can only be used once' in one_pass[6][1]
    assert '"REMOVE" section can only be used once' in one_pass[7][1]
