"""Handler cost figures, each next to its baseline measured in the same run.

- DynamoDB calls for one 100-record stream batch: the aggregator vs one UpdateItem per record;
- items read for one GET /feedback page on a 10,000-item table vs a table scan;
- cold init in a fresh process (import + client creation) per handler vs a bare
  `boto3.client("dynamodb")`.
Run: .venv/bin/python benchmarks/bench_handlers.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HANDLERS = ["create_feedback", "list_feedback", "get_analytics", "health", "stream_aggregator"]


def _server() -> tuple[Any, str]:
    from feedbackctl.sandbox import point_boto3_at, start_moto_server

    server, endpoint = start_moto_server()
    point_boto3_at(endpoint, LOG_LEVEL="ERROR")
    return server, endpoint


def _tables(ddb: Any) -> tuple[str, str]:
    import boto3

    from feedbackctl.sandbox import create_email_key, create_tables
    from lambdas.common import dynamo, identity
    from lambdas.common.config import reload_settings

    suffix = uuid.uuid4().hex[:6]
    feedback, analytics = f"bench-fb-{suffix}", f"bench-an-{suffix}"
    create_tables(ddb, feedback, analytics)
    secrets = boto3.client("secretsmanager", endpoint_url=ddb.meta.endpoint_url)
    os.environ.update(
        FEEDBACK_TABLE_NAME=feedback,
        ANALYTICS_TABLE_NAME=analytics,
        EMAIL_HASH_SECRET_ARN=create_email_key(secrets, f"bench-key-{suffix}"),
    )
    identity.reset_key()
    reload_settings()
    dynamo.reset_client()
    return feedback, analytics


def _count_calls(client: Any) -> list[str]:
    calls: list[str] = []
    client.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    return calls


def _items(count: int) -> list[dict[str, Any]]:
    base = time.time()
    items = []
    for i in range(count):
        created = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(base - i)) + ".000Z"
        items.append(
            {
                "feedbackId": {"S": str(uuid.uuid4())},
                "name": {"S": f"user {i}"},
                "email": {"S": f"u{i}@example.com"},
                "rating": {"N": str(1 + i % 5)},
                "message": {"S": f"message {i}"},
                "sentiment": {"S": ("positive", "neutral", "negative")[i % 3]},
                "createdAt": {"S": created},
                "status": {"S": "active"},
            }
        )
    return items


def bench_stream_batch(ddb: Any, streams: Any) -> dict[str, Any]:
    from feedbackctl.sandbox import InvocationContext, StreamPump
    from lambdas.common import dynamo
    from lambdas.stream_aggregator import handler as aggregator

    feedback, analytics = _tables(ddb)
    for start in range(0, 100, 25):
        ddb.batch_write_item(
            RequestItems={
                feedback: [{"PutRequest": {"Item": it}} for it in _items(100)[start : start + 25]]
            }
        )
    arn = ddb.describe_table(TableName=feedback)["Table"]["LatestStreamArn"]
    records = StreamPump(streams, arn).poll()
    calls = _count_calls(dynamo.client())
    aggregator.lambda_handler({"Records": records}, InvocationContext("stream-aggregator"))
    ours = list(calls)
    # Baseline: the seed's approach, one UpdateItem per record.
    naive = _count_calls(ddb)
    for record in records:
        image = record["dynamodb"]["NewImage"]
        ddb.update_item(
            TableName=analytics,
            Key={"aggregateId": {"S": "naive"}},
            UpdateExpression="ADD totalFeedback :one, ratingSum :r",
            ExpressionAttributeValues={":one": {"N": "1"}, ":r": image["rating"]},
        )
    return {
        "records": len(records),
        "aggregator_calls": len(ours),
        "aggregator_writes": sum(1 for c in ours if c != "GetItem"),
        "aggregator_sequence": ours,
        "per_record_writes_baseline": len(naive),
    }


def bench_list_page(ddb: Any) -> dict[str, Any]:
    from feedbackctl.sandbox import InvocationContext, api_event
    from lambdas.common import dynamo
    from lambdas.list_feedback import handler as listing

    feedback, _ = _tables(ddb)
    items = _items(10_000)
    for start in range(0, len(items), 25):
        ddb.batch_write_item(
            RequestItems={
                feedback: [{"PutRequest": {"Item": it}} for it in items[start : start + 25]]
            }
        )
    scanned: list[int] = []
    dynamo.client().meta.events.register(
        "after-call.dynamodb.Query",
        lambda parsed, **_: scanned.append(parsed.get("ScannedCount", 0)),
    )
    pages = []
    cursor = None
    for _ in range(3):
        query = {"limit": "10", **({"cursor": cursor} if cursor else {})}
        response = listing.lambda_handler(
            api_event("GET", "/feedback", query=query), InvocationContext("list-feedback")
        )
        cursor = json.loads(response["body"])["nextCursor"]
        pages.append(scanned[-1])
    scan_read = 0
    kwargs: dict[str, Any] = {"TableName": feedback, "Select": "COUNT"}
    while True:
        page = ddb.scan(**kwargs)
        scan_read += page["ScannedCount"]
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return {
        "table_items": len(items),
        "limit": 10,
        "items_read_per_page": pages,
        "scan_baseline_items_read": scan_read,
    }


def _fresh_process_ms(code: str, runs: int = 5) -> float:
    samples = []
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "0"}
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env=env,
        )
        samples.append(float(out.stdout.strip()))
    return round(statistics.median(samples), 1)


def bench_cold_init() -> dict[str, Any]:
    timer = "import time; t = time.perf_counter()\n{body}\nprint((time.perf_counter() - t) * 1000)"
    bare = _fresh_process_ms(timer.format(body="import boto3; boto3.client('dynamodb')"))
    figures = {"bare_boto3_client_ms": bare}
    for name in HANDLERS:
        body = f"import lambdas.{name}.handler\nfrom lambdas.common import dynamo; dynamo.client()"
        figures[f"{name}_ms"] = _fresh_process_ms(timer.format(body=body))
    return figures


def run() -> dict[str, Any]:
    import boto3

    server, endpoint = _server()
    try:
        ddb = boto3.client("dynamodb", endpoint_url=endpoint)
        streams = boto3.client("dynamodbstreams", endpoint_url=endpoint)
        results = {
            "stream_batch": bench_stream_batch(ddb, streams),
            "list_page": bench_list_page(ddb),
            "cold_init": bench_cold_init(),
        }
    finally:
        server.stop()
    return results


def report(results: dict[str, Any]) -> list[str]:
    """Print the figures; return the goals missed (empty when all are met)."""
    batch, page, cold = results["stream_batch"], results["list_page"], results["cold_init"]
    print(
        f"stream batch of {batch['records']} records: {batch['aggregator_calls']} DynamoDB calls "
        f"({' + '.join(batch['aggregator_sequence'])}), {batch['aggregator_writes']} write call; "
        f"baseline one-update-per-record: {batch['per_record_writes_baseline']} write calls"
    )
    print(
        f"list page (limit {page['limit']}) on {page['table_items']} items: items read per page "
        f"{page['items_read_per_page']}; baseline scan reads {page['scan_baseline_items_read']}"
    )
    bare = cold["bare_boto3_client_ms"]
    print(f"cold init, fresh process (median of 5): bare boto3 dynamodb client {bare} ms")
    for name in HANDLERS:
        ms = cold[f"{name}_ms"]
        print(f"  {name:<18} {ms:>7} ms  ({ms - bare:+.1f} ms vs the bare client)")
    missed = []
    if batch["aggregator_writes"] > 2:
        missed.append("more than 2 writes per batch")
    if max(page["items_read_per_page"]) > page["limit"] + 1:
        missed.append("a list page read more than limit + 1 items")
    if max(cold[f"{n}_ms"] for n in HANDLERS) > bare * 1.5 + 30:
        missed.append("a handler's cold init exceeds 1.5x a bare client + 30 ms")
    return missed


if __name__ == "__main__":
    missed = report(run())
    print("handlers: PASS" if not missed else "handlers: FAIL: " + "; ".join(missed))
    sys.exit(1 if missed else 0)
