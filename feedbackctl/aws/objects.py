"""S3 verbs: is an object or bucket there, put and read objects, upload an artifact by its
content hash, list keys, delete keys in batches, and empty then delete a bucket that late log
deliveries may refill.

Over an injected `s3` client. An absent key is told from a real failure by its error code
(`is_absent_object`: a 403 without s3:ListBucket hides a missing key, docs/aws-errors.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from feedbackctl.aws import error_code, is_absent_object
from feedbackctl.aws.stacks import Waiter
from feedbackctl.errors import FeedbackctlError

DELETE_BATCH = 1000  # DeleteObjects takes at most 1,000 keys per request
CODE_SHA_METADATA = "codesha256"
# S3 server access logs and CloudFront logs arrive minutes late, so an emptied log bucket can be
# refilled before DeleteBucket; each retry waits for the waiter's interval first.
BUCKET_ATTEMPTS = 5


def exists(client: Any, bucket: str, key: str) -> bool:
    """True when `key` is in `bucket`; an absent key (404, or 403 hiding one) is False."""
    try:
        client.head_object(Bucket=bucket, Key=key)
    except Exception as exc:
        if not is_absent_object(exc):
            raise
        return False
    return True


def head(client: Any, bucket: str, key: str) -> dict[str, Any]:
    """The object's metadata and headers (Metadata, ContentType, CacheControl ...)."""
    answer: dict[str, Any] = client.head_object(Bucket=bucket, Key=key)
    return answer


def check_bucket(client: Any, bucket: str) -> None:
    """Raises the AWS error when `bucket` cannot be reached by this caller (absent, denied)."""
    client.head_bucket(Bucket=bucket)


def bucket_reachable(client: Any, bucket: str) -> bool:
    """True when HeadBucket succeeds; any answer but success (absent, denied, no endpoint) is
    False: for probes whose only question is "is this here for me"."""
    try:
        check_bucket(client, bucket)
    except Exception:  # noqa: BLE001 - every failure means: not reachable
        return False
    return True


def put(
    client: Any,
    bucket: str,
    key: str,
    body: bytes,
    *,
    content_type: str,
    metadata: Mapping[str, str] | None = None,
    cache_control: str | None = None,
) -> None:
    kwargs: dict[str, Any] = {
        "Bucket": bucket,
        "Key": key,
        "Body": body,
        "ContentType": content_type,
        "Metadata": dict(metadata or {}),
    }
    if cache_control is not None:
        kwargs["CacheControl"] = cache_control
    client.put_object(**kwargs)


def upload_artifact(client: Any, bucket: str, key: str, body: bytes, code_sha256: str) -> None:
    """A Lambda zip under its content-addressed key, its CodeSha256 kept as metadata."""
    put(
        client,
        bucket,
        key,
        body,
        content_type="application/zip",
        metadata={CODE_SHA_METADATA: code_sha256},
    )


def read_json(client: Any, bucket: str, key: str) -> Any:
    return json.loads(client.get_object(Bucket=bucket, Key=key)["Body"].read())


def keys(client: Any, bucket: str, prefix: str = "") -> Iterator[str]:
    """Every key in the bucket under `prefix`, in S3's (lexicographic) order."""
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        yield from (obj["Key"] for obj in page.get("Contents", []) or [])


def delete_keys(client: Any, bucket: str, doomed: Sequence[str]) -> list[dict[str, Any]]:
    """Delete keys in batches of 1,000; the per-key errors S3 reported (empty when none)."""
    errors: list[dict[str, Any]] = []
    for start in range(0, len(doomed), DELETE_BATCH):
        batch = doomed[start : start + DELETE_BATCH]
        answer = client.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
        )
        errors += answer.get("Errors") or []
    return errors


def empty_bucket(client: Any, bucket: str) -> int:
    """Delete every object version and delete marker; returns how many were removed."""
    removed = 0
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
        versions = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        for start in range(0, len(versions), DELETE_BATCH):
            batch = versions[start : start + DELETE_BATCH]
            client.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
            removed += len(batch)
    return removed


def delete_bucket(client: Any, bucket: str, waiter: Waiter) -> int:
    """Empty and delete a bucket, emptying again when deliveries refilled it meanwhile;
    returns how many object versions were removed."""
    removed = 0
    for attempt in range(1, BUCKET_ATTEMPTS + 1):
        if attempt > 1:
            waiter.sleep(waiter.interval)
        removed += empty_bucket(client, bucket)
        try:
            client.delete_bucket(Bucket=bucket)
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
