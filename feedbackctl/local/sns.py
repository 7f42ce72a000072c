"""SNS fan-out for the local platform: a publish goes to moto's topic (so SQS and HTTP subscribers
get it) and, as a real SNS event, to each Lambda subscriber through the invoke service (moto's
own Lambda delivery needs docker and breaks on alias ARNs; ../shared/MOTO.md).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from feedbackctl.local.interfaces import Publisher


class SnsFanout(Publisher):
    def __init__(
        self,
        sns: Any,
        invoker: Any,
        subscriptions: dict[str, list[str]],
        *,
        asynchronous: bool = True,
    ) -> None:
        self._sns = sns
        self._invoker = invoker
        self._subscriptions = subscriptions
        self._async = asynchronous
        self.delivered: list[tuple[str, str]] = []  # (topic, function) for status and tests

    def event(self, topic_arn: str, subject: str, message: str) -> dict[str, Any]:
        """The event Lambda receives from SNS."""
        now = datetime.now(UTC)
        return {
            "Records": [
                {
                    "EventSource": "aws:sns",
                    "EventVersion": "1.0",
                    "EventSubscriptionArn": f"{topic_arn}:{uuid.uuid4()}",
                    "Sns": {
                        "Type": "Notification",
                        "MessageId": str(uuid.uuid4()),
                        "TopicArn": topic_arn,
                        "Subject": subject,
                        "Message": message,
                        "Timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.")
                        + f"{now.microsecond // 1000:03d}Z",
                        "SignatureVersion": "1",
                        "Signature": "",
                        "SigningCertUrl": "",
                        "UnsubscribeUrl": "",
                        "MessageAttributes": {},
                    },
                }
            ]
        }

    def publish(self, topic_arn: str, subject: str, message: str) -> None:
        self._sns.publish(TopicArn=topic_arn, Subject=subject[:99], Message=message)
        for function in self._subscriptions.get(topic_arn, []):
            payload = json.dumps(self.event(topic_arn, subject, message)).encode()
            self.delivered.append((topic_arn, function))
            if self._async:
                self._invoker.invoke_async(function, payload)
            else:
                self._invoker.invoke(function, payload)
