"""The contracts between the local platform's parts, so each can be built and tested alone.

The invoke service implements `Invoker`; the gateway, the stream poller and SNS delivery call
it. The invoke service feeds every log line it writes to a `LogSink` (the metrics engine); the
alarm engine publishes through a `Publisher` (SNS fan-out: moto's topic plus Lambda subscribers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class InvokeResult:
    """Lambda's Invoke answer: status, payload, FunctionError and the version that ran."""

    status_code: int
    payload: bytes
    function_error: str | None = None  # "Unhandled" when the handler raised, timed out or crashed
    executed_version: str = "$LATEST"
    timed_out: bool = False
    duration_ms: float = 0.0
    request_id: str = ""
    log_tail: str = ""  # the invocation's log lines, for Invoke's LogType=Tail


class Invoker(Protocol):
    def invoke(
        self, function: str, payload: bytes, *, qualifier: str | None = None
    ) -> InvokeResult:
        """Run `function` (a name, `name:alias`, `name:version` or an ARN) synchronously."""
        ...


class LogSink(Protocol):
    def log_streams(self, streams: Sequence[tuple[str, str, list[tuple[int, str]]]]) -> None:
        """Called with what one shipping round wrote to CloudWatch Logs: (log group, log
        stream, (timestamp ms, message) pairs) for each stream."""
        ...


class Publisher(Protocol):
    def publish(self, topic_arn: str, subject: str, message: str) -> None:
        """Publish to an SNS topic, delivering to every subscriber (SQS via moto, Lambda by us)."""
        ...
