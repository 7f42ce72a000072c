"""Deleting a stage's stack. Tables and buckets are retained by the stack (DeletionPolicy
Retain), so data survives unless `--delete-data` also empties and deletes them.

A table is deleted only once it is ACTIVE (DeleteTable on an UPDATING table fails), and a bucket
that late log deliveries refill between emptying and DeleteBucket is emptied again, a bounded
number of times (docs/first-deploy.md). With `--delete-data` every log group of the stage goes too:
the functions', the API's access log and API Gateway's execution log (docs/templates.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from feedbackctl import cfn
from feedbackctl.aws import error_code
from feedbackctl.errors import FeedbackctlError
from feedbackctl.functions import FUNCTION_NAMES
from feedbackctl.naming import StackNames

BUCKET_OUTPUTS = ("SiteBucketName", "CodeBucketName", "AccessLogsBucketName")
TABLE_OUTPUTS = ("FeedbackTableName", "AnalyticsTableName", "LedgerTableName")
# S3 server access logs and CloudFront logs arrive minutes late, so an emptied log bucket can be
# refilled before DeleteBucket; each retry waits for the waiter's interval first.
BUCKET_ATTEMPTS = 5


def _empty_bucket(s3: Any, bucket: str) -> int:
    """Delete every object version and delete marker; returns how many were removed."""
    removed = 0
    paginator = s3.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket):
        keys = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        for start in range(0, len(keys), 1000):
            batch = keys[start : start + 1000]
            s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
            removed += len(batch)
    return removed


def _delete_bucket(s3: Any, bucket: str, waiter: cfn.Waiter) -> int:
    """Empty and delete a bucket, emptying again when deliveries refilled it meanwhile."""
    removed = 0
    for attempt in range(1, BUCKET_ATTEMPTS + 1):
        if attempt > 1:
            waiter.sleep(waiter.interval)
        removed += _empty_bucket(s3, bucket)
        try:
            s3.delete_bucket(Bucket=bucket)
            return removed
        except Exception as exc:
            if error_code(exc) != "BucketNotEmpty":
                raise
    raise FeedbackctlError(
        f"bucket {bucket} was refilled {BUCKET_ATTEMPTS} times while emptying it",
        doing="deleting the retained data",
        hint="stop what writes to it (log deliveries settle within the hour), "
        "then run `feedbackctl destroy --delete-data` again",
    )


def _active(dynamodb: Any, table: str, waiter: cfn.Waiter) -> dict[str, Any] | None:
    """The table once it is ACTIVE (or None when it is gone): DeleteTable and UpdateTable on
    an UPDATING or CREATING table fail with ResourceInUseException."""

    def describe() -> dict[str, Any] | None:
        try:
            table_info: dict[str, Any] = dynamodb.describe_table(TableName=table)["Table"]
            return table_info
        except Exception as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return None
            raise

    result: dict[str, Any] | None = cfn.poll(
        describe,
        lambda t: t is None or t.get("TableStatus") == "ACTIVE",
        waiter,
        f"table {table} to become ACTIVE",
    )
    return result


def _delete_table(dynamodb: Any, table: str, waiter: cfn.Waiter) -> bool:
    """Delete a table once it is ACTIVE; False when it was already gone."""
    info = _active(dynamodb, table, waiter)
    if info is None:
        return False
    if info.get("DeletionProtectionEnabled"):
        # Production tables carry deletion protection; --delete-data was the confirmation.
        dynamodb.update_table(TableName=table, DeletionProtectionEnabled=False)
        if _active(dynamodb, table, waiter) is None:
            return False
    dynamodb.delete_table(TableName=table)
    return True


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


def _delete_log_groups(logs: Any, stack: str, api_id: str | None) -> list[str]:
    """Delete the stage's log groups that exist; the names of those deleted.

    The stack declares them all (without Retain), so a clean stack delete leaves none; what is
    left was written after or outside the stack: a group API Gateway or Lambda created itself
    (a stage deployed before the stack declared its execution log group), or one refilled by
    a late delivery.
    """
    names, prefixes = stage_log_groups(stack, api_id)
    found: list[str] = []
    paginator = logs.get_paginator("describe_log_groups")
    for prefix, exact in [(n, True) for n in names] + [(p, False) for p in prefixes]:
        for page in paginator.paginate(logGroupNamePrefix=prefix):
            found += [
                g["logGroupName"]
                for g in page.get("logGroups", [])
                if not exact or g["logGroupName"] == prefix
            ]
    deleted = []
    for name in found:
        try:
            logs.delete_log_group(logGroupName=name)
            deleted.append(name)
        except Exception as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
    return deleted


def destroy(
    clients: dict[str, Any],
    stack: str,
    *,
    delete_data: bool,
    waiter: cfn.Waiter,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    """Delete the stack (and with delete_data the retained tables and buckets); a report."""
    info = cfn.describe_stack(clients["cloudformation"], stack)
    if info is None:
        return {
            "stack": stack,
            "deleted": False,
            "reason": "the stack does not exist",
            "retained": [],
        }
    outputs = dict(info.outputs)
    progress(f"deleting stack {stack}…")
    cfn.delete_stack(clients["cloudformation"], stack, waiter)
    retained = [outputs[k] for k in BUCKET_OUTPUTS + TABLE_OUTPUTS if k in outputs]
    deleted_data: list[str] = []
    if delete_data:
        for key in BUCKET_OUTPUTS:
            if key in outputs:
                count = _delete_bucket(clients["s3"], outputs[key], waiter)
                progress(f"deleted bucket {outputs[key]} ({count} object versions)")
                deleted_data.append(outputs[key])
        for key in TABLE_OUTPUTS:
            if key in outputs and _delete_table(clients["dynamodb"], outputs[key], waiter):
                progress(f"deleted table {outputs[key]}")
                deleted_data.append(outputs[key])
        # Callers that pass no CloudWatch Logs client (older callers, stubbed table and bucket
        # tests) leave the log groups alone.
        if clients.get("logs") is not None:
            for name in _delete_log_groups(clients["logs"], stack, outputs.get("ApiId")):
                progress(f"deleted log group {name}")
                deleted_data.append(name)
        retained = []
    return {"stack": stack, "deleted": True, "deletedData": deleted_data, "retained": retained}
