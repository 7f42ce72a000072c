"""Deleting a stage's stack. Tables and buckets are retained by the stack (DeletionPolicy
Retain), so data survives unless `--delete-data` also empties and deletes them.

A table is deleted only once it is ACTIVE (DeleteTable on an UPDATING table fails), and a bucket
that late log deliveries refill between emptying and DeleteBucket is emptied again, a bounded
number of times (docs/first-deploy.md). With `--delete-data` every log group of the stage goes too:
the functions', the API's access log and API Gateway's execution log (docs/templates.md).
The stack of a running local platform has no CloudFormation record: feedbackctl.local.teardown
deletes it and ends with the same data step (`data_after_delete`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from feedbackctl.aws import logs, objects, stacks, tables
from feedbackctl.functions import FUNCTION_NAMES
from feedbackctl.naming import StackNames

BUCKET_OUTPUTS = (
    "SiteBucketName",
    "CodeBucketName",
    "AccessLogsBucketName",
    "LogArchiveBucketName",
)
TABLE_OUTPUTS = ("FeedbackTableName", "AnalyticsTableName", "LedgerTableName")


def stage_log_groups(stack: str, api_id: str | None) -> tuple[list[str], list[str]]:
    """The stage's log groups: exact names, and name prefixes (every stage of its REST API).

    Exact names only for the rest: a prefix like `/aws/lambda/<stack>-` would also match the
    groups of a stack named `<stack>-other`. The execution-log prefix carries the REST API's own
    id, so it can only match this stack's API.
    """
    names = [StackNames(stack).log_group(seed) for seed in FUNCTION_NAMES]
    names.append(f"/aws/apigateway/{stack}-access")
    prefixes = [f"API-Gateway-Execution-Logs_{api_id}/"] if api_id else []
    return names, prefixes


def _delete_log_groups(client: Any, stack: str, api_id: str | None) -> list[str]:
    """Delete the stage's log groups that exist; the names of those deleted.

    The stack declares them all (without Retain), so a clean stack delete leaves none; what is
    left was written after or outside the stack: a group API Gateway or Lambda created itself
    (a stage deployed before the stack declared its execution log group), or one refilled by
    a late delivery.
    """
    exact, prefixes = stage_log_groups(stack, api_id)
    return logs.delete_log_groups(client, logs.log_groups(client, exact, prefixes))


def destroy(
    clients: dict[str, Any],
    stack: str,
    *,
    delete_data: bool,
    waiter: stacks.Waiter,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    """Delete the stack (and with delete_data the retained tables and buckets); a report."""
    info = stacks.describe_stack(clients["cloudformation"], stack)
    if info is None:
        return {
            "stack": stack,
            "deleted": False,
            "reason": "the stack does not exist",
            "retained": [],
        }
    outputs = dict(info.outputs)
    progress(f"deleting stack {stack}…")
    stacks.delete_stack(clients["cloudformation"], stack, waiter)
    deleted, retained = data_after_delete(
        clients, stack, outputs, delete_data=delete_data, waiter=waiter, progress=progress
    )
    return {"stack": stack, "deleted": True, "deletedData": deleted, "retained": retained}


def plan_destroy(clients: dict[str, Any], stack: str, *, delete_data: bool) -> dict[str, Any]:
    """What `destroy` would do, from reads alone (DescribeStacks, DescribeLogGroups): the
    stack, and the data it would delete or keep. The report has `destroy`'s shape, with
    `dryRun` set and `deleted` saying whether there is a stack to delete."""
    info = stacks.describe_stack(clients["cloudformation"], stack)
    if info is None:
        reason = "the stack does not exist"
        return {"stack": stack, "dryRun": True, "deleted": False, "reason": reason, "retained": []}
    outputs = dict(info.outputs)
    data = [outputs[k] for k in BUCKET_OUTPUTS + TABLE_OUTPUTS if k in outputs]
    report: dict[str, Any] = {"stack": stack, "dryRun": True, "deleted": True}
    if not delete_data:
        return {**report, "deletedData": [], "retained": data}
    if clients.get("logs") is not None:
        exact, prefixes = stage_log_groups(stack, outputs.get("ApiId"))
        data += logs.log_groups(clients["logs"], exact, prefixes)
    return {**report, "deletedData": data, "retained": []}


def data_after_delete(
    clients: dict[str, Any],
    stack: str,
    outputs: dict[str, str],
    *,
    delete_data: bool,
    waiter: stacks.Waiter,
    progress: Callable[[str], None],
) -> tuple[list[str], list[str]]:
    """The data a deleted stack retained, from its outputs: kept, or with delete_data its
    buckets, tables and log groups deleted; (the names deleted, the names retained)."""
    if not delete_data:
        return [], [outputs[k] for k in BUCKET_OUTPUTS + TABLE_OUTPUTS if k in outputs]
    deleted_data: list[str] = []
    for key in BUCKET_OUTPUTS:
        if key in outputs:
            count = objects.delete_bucket(clients["s3"], outputs[key], waiter)
            progress(f"deleted bucket {outputs[key]} ({count} object versions)")
            deleted_data.append(outputs[key])
    for key in TABLE_OUTPUTS:
        if key in outputs and tables.delete(clients["dynamodb"], outputs[key], waiter):
            progress(f"deleted table {outputs[key]}")
            deleted_data.append(outputs[key])
    # Callers that pass no CloudWatch Logs client (older callers, stubbed table and bucket
    # tests) leave the log groups alone.
    if clients.get("logs") is not None:
        for name in _delete_log_groups(clients["logs"], stack, outputs.get("ApiId")):
            progress(f"deleted log group {name}")
            deleted_data.append(name)
    return deleted_data, []
