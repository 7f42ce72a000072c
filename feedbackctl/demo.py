"""`feedbackctl demo`: the platform's handlers run for real against moto on 127.0.0.1.

Starts a moto server, creates the tables as the contract defines them, submits feedback
through the create handler (API Gateway events), feeds the table's stream to the aggregator,
then reads the list, the analytics and the health endpoint. Yields one step at a time so the
CLI can render progress; no AWS account is touched.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from feedbackctl.aws import Aws

SAMPLE_MESSAGES = [
    (5, "The new dashboard is excellent, I love how fast it is!"),
    (4, "Setup was easy and support answered within the hour."),
    (3, "It works. The export button is where I expected it."),
    (2, "Search is slow and the filters reset every time I go back."),
    (1, "Terrible update: the app crashes whenever I upload a photo."),
    (5, "Great value, would happily recommend it to my team."),
    (2, "Not what I hoped for; the mobile layout is cramped."),
    (4, "Nice improvement over the last release, well done."),
]


@dataclass(frozen=True)
class Step:
    """One thing the demo did, with what the API answered."""

    title: str
    status: int | None
    body: Any


def _environment(endpoint: str, feedback: str, analytics: str) -> None:
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "demo"),
            "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "demo"),
            "AWS_DEFAULT_REGION": "us-east-1",
            "FEEDBACK_TABLE_NAME": feedback,
            "ANALYTICS_TABLE_NAME": analytics,
            "ALLOWED_ORIGINS": "http://127.0.0.1:8000",
            "RETENTION_DAYS": "30",
            "STAGE": "demo",
            "LOG_LEVEL": "WARNING",
        }
    )


def sample_messages(count: int, dataset: Path | None) -> list[tuple[int, str]]:
    """Sample submissions: from the labelled review snippets when present, else built-ins."""
    rng = random.Random(7)  # noqa: S311 - a reproducible sample, not a secret
    if dataset and dataset.is_file():
        rows = [line.split("\t") for line in dataset.read_text(encoding="utf-8").splitlines()]
        picked = rng.sample([r for r in rows if len(r) == 3 and 10 < len(r[2]) < 200], count)
        # Map the -4..+4 human rating onto 1..5 stars.
        return [(min(5, max(1, round(3 + float(r[1]) / 2))), r[2].strip()) for r in picked]
    return [SAMPLE_MESSAGES[i % len(SAMPLE_MESSAGES)] for i in range(count)]


def run_demo(count: int = 12, dataset: Path | None = None) -> Iterator[Step]:
    """Run the handlers end to end on moto and yield each step's outcome."""
    from feedbackctl.aws import Aws, Target
    from feedbackctl.sandbox import create_email_key, create_tables, start_moto_server

    server, endpoint = start_moto_server()
    try:
        _environment(endpoint, "demo-feedback", "demo-analytics")
        from lambdas.common import dynamo
        from lambdas.common.config import reload_settings

        reload_settings()
        dynamo.reset_client()
        # The CLI's clients, pointed at the moto server (credentials from _environment).
        aws = Aws(Target("demo", "demo", "us-east-1", endpoint_url=endpoint))
        ddb = aws.client("dynamodb")
        create_tables(ddb, "demo-feedback", "demo-analytics")
        key = create_email_key(aws.client("secretsmanager"), "demo-email-key")
        os.environ["EMAIL_HASH_SECRET_ARN"] = key
        reload_settings()
        yield Step(f"moto on {endpoint}: tables demo-feedback, demo-analytics", None, None)
        yield from _exercise(aws, sample_messages(count, dataset))
    finally:
        server.stop()


def _invoke(module: Any, event: dict[str, Any]) -> dict[str, Any]:
    from feedbackctl.sandbox import InvocationContext

    context = InvocationContext(function_name=module.runtime.service, function_version="1")
    result: dict[str, Any] = module.lambda_handler(event, context)
    return result


def _exercise(aws: Aws, messages: list[tuple[int, str]]) -> Iterator[Step]:
    from feedbackctl.aws import tables
    from feedbackctl.sandbox import InvocationContext, StreamPump, api_event
    from lambdas.create_feedback import handler as create
    from lambdas.get_analytics import handler as analytics
    from lambdas.health import handler as health
    from lambdas.list_feedback import handler as listing
    from lambdas.stream_aggregator import handler as aggregator

    headers = {"Content-Type": "application/json", "Origin": "http://127.0.0.1:8000"}
    for i, (rating, message) in enumerate(messages):
        body = {
            "name": f"Demo user {i + 1}",
            "email": f"user{i + 1}@example.com",
            "rating": rating,
            "message": message,
        }
        response = _invoke(
            create, api_event("POST", "/feedback", body=json.dumps(body), headers=headers)
        )
        yield Step(
            f"POST /feedback ({rating}★)", response["statusCode"], json.loads(response["body"])
        )
    bad = {"name": "", "email": "nope", "rating": 9, "message": "x", "admin": True}
    response = _invoke(
        create, api_event("POST", "/feedback", body=json.dumps(bad), headers=headers)
    )
    yield Step(
        "POST /feedback (invalid body)", response["statusCode"], json.loads(response["body"])
    )
    stream = tables.stream_arn(aws.client("dynamodb"), "demo-feedback")
    pump = StreamPump(aws.client("dynamodbstreams"), stream)
    batches = pump.drain(
        aggregator.lambda_handler, InvocationContext(function_name="stream-aggregator")
    )
    yield Step(f"stream → aggregator: {batches} batch(es)", None, None)
    response = _invoke(listing, api_event("GET", "/feedback", query={"limit": "5"}))
    yield Step("GET /feedback?limit=5", response["statusCode"], json.loads(response["body"]))
    response = _invoke(analytics, api_event("GET", "/analytics"))
    yield Step("GET /analytics", response["statusCode"], json.loads(response["body"]))
    response = _invoke(health, api_event("GET", "/health"))
    yield Step("GET /health", response["statusCode"], json.loads(response["body"]))
