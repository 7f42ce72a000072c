"""Deleting a stage's stack. Tables and buckets are retained by the stack (DeletionPolicy
Retain), so data survives unless `--delete-data` also empties and deletes them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from feedbackctl import cfn

BUCKET_OUTPUTS = ("SiteBucketName", "CodeBucketName", "AccessLogsBucketName")
TABLE_OUTPUTS = ("FeedbackTableName", "AnalyticsTableName", "LedgerTableName")


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
                count = _empty_bucket(clients["s3"], outputs[key])
                clients["s3"].delete_bucket(Bucket=outputs[key])
                progress(f"deleted bucket {outputs[key]} ({count} object versions)")
                deleted_data.append(outputs[key])
        for key in TABLE_OUTPUTS:
            if key in outputs:
                # Production tables carry deletion protection; --delete-data was the confirmation.
                clients["dynamodb"].update_table(
                    TableName=outputs[key], DeletionProtectionEnabled=False
                )
                clients["dynamodb"].delete_table(TableName=outputs[key])
                progress(f"deleted table {outputs[key]}")
                deleted_data.append(outputs[key])
        retained = []
    return {"stack": stack, "deleted": True, "deletedData": deleted_data, "retained": retained}
