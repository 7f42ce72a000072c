"""DynamoDB verbs: describe a table (None when absent), wait for it or one of its global
secondary indexes to be ACTIVE, delete it
(lifting deletion protection), read an item, update one under a condition (returning what it
asks for), delete or put one (or put one only if absent), write a batch, query or scan one page.

Over an injected `dynamodb` client. A table that does not exist is told by its error code
(ResourceNotFoundException); DeleteTable and UpdateTable on a CREATING or UPDATING table fail
with ResourceInUseException, so deletion waits for ACTIVE first (docs/first-deploy.md).
"""

from __future__ import annotations

from typing import Any

from feedbackctl.aws import error_code
from feedbackctl.aws.stacks import Waiter, poll
from feedbackctl.errors import FeedbackctlError

ABSENT = "ResourceNotFoundException"


def describe(client: Any, table: str) -> dict[str, Any] | None:
    """DescribeTable's `Table`, or None when there is no such table."""
    try:
        info: dict[str, Any] = client.describe_table(TableName=table)["Table"]
    except Exception as exc:
        if error_code(exc) == ABSENT:
            return None
        raise
    return info


def exists(client: Any, table: str) -> bool:
    return describe(client, table) is not None


def approximate_items(client: Any, table: str) -> int:
    """DynamoDB's item count (refreshed about every six hours): a progress bar's total."""
    info = describe(client, table)
    return int((info or {}).get("ItemCount", 0))


def wait_active(client: Any, table: str, waiter: Waiter) -> dict[str, Any] | None:
    """The table once it is ACTIVE, or None when it is gone."""
    result: dict[str, Any] | None = poll(
        lambda: describe(client, table),
        lambda t: t is None or t.get("TableStatus") == "ACTIVE",
        waiter,
        f"table {table} to become ACTIVE",
    )
    return result


def index_status(info: dict[str, Any] | None, index: str) -> str | None:
    """The IndexStatus of a global secondary index in DescribeTable's `Table`, or None."""
    for found in (info or {}).get("GlobalSecondaryIndexes") or []:
        if found.get("IndexName") == index:
            return str(found.get("IndexStatus", "ACTIVE"))
    return None


def wait_index_active(client: Any, table: str, index: str, waiter: Waiter) -> bool:
    """Wait while the table's global secondary index is CREATING (DynamoDB fills it from the
    table's items); True once it is ACTIVE, False when the table or the index is absent."""
    info = poll(
        lambda: describe(client, table),
        lambda t: index_status(t, index) in (None, "ACTIVE", "DELETING"),
        waiter,
        f"index {index} of table {table} to become ACTIVE",
    )
    return index_status(info, index) == "ACTIVE"


def delete(client: Any, table: str, waiter: Waiter) -> bool:
    """Delete a table once it is ACTIVE, lifting deletion protection first (the caller's
    confirmation is the caller's business); False when it was already gone."""
    info = wait_active(client, table, waiter)
    if info is None:
        return False
    if info.get("DeletionProtectionEnabled"):
        client.update_table(TableName=table, DeletionProtectionEnabled=False)
        if wait_active(client, table, waiter) is None:
            return False
    client.delete_table(TableName=table)
    return True


def get_item(
    client: Any, table: str, key: dict[str, Any], *, consistent: bool = False
) -> dict[str, Any] | None:
    """The item in DynamoDB's attribute-value form, or None."""
    item: dict[str, Any] | None = client.get_item(
        TableName=table, Key=key, ConsistentRead=consistent
    ).get("Item")
    return item


def update_item(client: Any, request: dict[str, Any]) -> bool:
    """UpdateItem with its condition; False when the condition failed (someone wrote first)."""
    try:
        client.update_item(**request)
    except Exception as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def update_returning(client: Any, request: dict[str, Any]) -> dict[str, Any] | None:
    """UpdateItem with its condition and ReturnValues: the attributes asked for, or None when
    the condition failed."""
    try:
        answer: dict[str, Any] = client.update_item(**request)
    except Exception as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return None
        raise
    return dict(answer.get("Attributes") or {})


def delete_item(client: Any, table: str, key: dict[str, Any]) -> None:
    client.delete_item(TableName=table, Key=key)


def put_item(client: Any, table: str, item: dict[str, Any]) -> None:
    client.put_item(TableName=table, Item=item)


def put_absent(client: Any, table: str, item: dict[str, Any], key: str) -> bool:
    """PutItem unless an item with that key exists; False when one did."""
    try:
        client.put_item(
            TableName=table, Item=item, ConditionExpression=f"attribute_not_exists({key})"
        )
    except Exception as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def write_batch(client: Any, table: str, requests: list[dict[str, Any]]) -> None:
    """One BatchWriteItem (at most 25 requests), resending what DynamoDB left unprocessed."""
    pending: dict[str, Any] = {table: requests}
    while pending:
        pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


def query_page(client: Any, request: dict[str, Any]) -> dict[str, Any]:
    """One page of a Query (pass its LastEvaluatedKey as ExclusiveStartKey for the next)."""
    page: dict[str, Any] = client.query(**request)
    return page


def scan_page(client: Any, request: dict[str, Any]) -> dict[str, Any]:
    """One page of a Scan (pass its LastEvaluatedKey as ExclusiveStartKey for the next)."""
    page: dict[str, Any] = client.scan(**request)
    return page


def stream_arn(client: Any, table: str) -> str:
    """The table's latest stream ARN."""
    info = describe(client, table)
    if info is None or "LatestStreamArn" not in info:
        raise FeedbackctlError(f"table {table} has no stream", doing="reading the table")
    return str(info["LatestStreamArn"])
