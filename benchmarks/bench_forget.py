"""What a deletion on request reads: `forget --email` at 100 and at 10,000 items in the table,
the person owning 3 of them. The figure is DynamoDB's own count of what the Query read
(ScannedCount, which is what it bills), beside the table's size in the same run.
Goal: items read <= the person's items + 1, whatever the table size (no scan).

Run: .venv/bin/python benchmarks/bench_forget.py   (a moto server on a free 127.0.0.1 port)
"""

from __future__ import annotations

import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

COMMAND = ".venv/bin/python benchmarks/bench_forget.py"
SIZES = (100, 10_000)
PERSON_ITEMS = 3
ADDRESS = "Ada.Lovelace@Example.com"


def _table_of(size: int, clients: dict[str, Any]) -> Any:
    from feedbackctl.aws import tables
    from feedbackctl.naming import StackNames
    from feedbackctl.sandbox import create_email_key, create_tables
    from lambdas.common.identity import hash_with

    names = StackNames(f"bf-{uuid.uuid4().hex[:8]}")
    ddb = clients["dynamodb"]
    create_tables(ddb, names.feedback_table, names.analytics_table)
    arn = create_email_key(clients["secretsmanager"], names.email_hash_key)
    key = clients["secretsmanager"].get_secret_value(SecretId=arn)["SecretString"].encode()
    items = []
    for n in range(size):
        owner = ADDRESS if n < PERSON_ITEMS else f"person{n}@example.com"
        items.append({"PutRequest": {"Item": {
            "feedbackId": {"S": str(uuid.uuid4())},
            "emailHash": {"S": hash_with(key, owner)},
            "rating": {"N": "4"}, "sentiment": {"S": "neutral"}, "status": {"S": "active"},
            "createdAt": {"S": f"2026-11-01T10:00:{n % 60:02d}.000Z"},
        }}})  # fmt: skip
    for start in range(0, len(items), 25):
        tables.write_batch(ddb, names.feedback_table, items[start : start + 25])
    return names


def run() -> dict[str, Any]:
    import boto3

    from feedbackctl.forget import forget
    from feedbackctl.sandbox import start_moto_server

    server, endpoint = start_moto_server()
    try:
        clients = {
            name: boto3.client(name, endpoint_url=endpoint, region_name="us-east-1")
            for name in ("dynamodb", "secretsmanager")
        }
        rows = []
        for size in SIZES:
            names = _table_of(size, clients)
            report = forget(
                clients, names, ADDRESS, actor="bench", now=datetime.now(UTC), dry_run=True
            )
            rows.append({"tableItems": size, "found": len(report.found),
                         "itemsRead": report.items_read})  # fmt: skip
    finally:
        server.stop()
    return {"rows": rows}


def report(result: dict[str, Any]) -> list[str]:
    missed = []
    for row in result["rows"]:
        print(
            f"table of {row['tableItems']:>6} items: found {row['found']}, read "
            f"{row['itemsRead']} (goal <= {PERSON_ITEMS + 1})"
        )
        if row["found"] != PERSON_ITEMS or row["itemsRead"] > PERSON_ITEMS + 1:
            missed.append(f"{row['itemsRead']} read at {row['tableItems']} items")
    print(f"command: {COMMAND}")
    return missed


if __name__ == "__main__":
    import os

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    missed = report(run())
    print("PASS" if not missed else "FAIL: " + "; ".join(missed))
    raise SystemExit(1 if missed else 0)
