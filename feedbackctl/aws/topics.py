"""SNS verbs: does a topic exist, and its subscriptions.

Over an injected `sns` client. SNS answers a missing topic with the error code `NotFound`.
"""

from __future__ import annotations

from typing import Any

from feedbackctl.aws import error_code


def exists(client: Any, topic_arn: str) -> bool:
    try:
        client.get_topic_attributes(TopicArn=topic_arn)
    except Exception as exc:
        if error_code(exc) != "NotFound":
            raise
        return False
    return True


def subscriptions(client: Any, topic_arn: str) -> list[tuple[str, str]]:
    """(protocol, endpoint) of every subscription, every page."""
    pages = client.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn)
    return [(s["Protocol"], s["Endpoint"]) for page in pages for s in page["Subscriptions"]]
