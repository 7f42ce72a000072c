"""The engine's ports over injected boto3 clients: Lambda (aliases, versions, health-check
invokes) and SNS notifications, and `build_ports`, the one place the engine's ports are
assembled. Seed function names map to physical ones by feedbackctl.naming's rule.

Used by the CLI (clients from its session), the local platform and the orchestrator Lambda.
"""

from __future__ import annotations

import json
from typing import Any

from feedbackctl.engine.ledger import DynamoLedger
from feedbackctl.engine.model import (
    ALIAS_NAME,
    AliasMovedError,
    AliasState,
    HealthResult,
    is_published,
)
from feedbackctl.engine.rollback import Ports
from feedbackctl.naming import StackNames, function_name

HEALTH_EVENT = {"feedbackctl": "health-check"}


class LambdaOps:
    """Lambda calls for one stack's functions."""

    def __init__(self, client: Any, stack_name: str) -> None:
        self._client = client
        self._stack = stack_name

    def physical(self, function: str) -> str:
        return function_name(self._stack, function)

    def alias(self, function: str) -> AliasState:
        result = self._client.get_alias(FunctionName=self.physical(function), Name=ALIAS_NAME)
        weights = (result.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
        return AliasState(
            version=str(result["FunctionVersion"]),
            routing={str(k): float(v) for k, v in weights.items()},
            revision_id=str(result.get("RevisionId", "")),
        )

    def published_versions(self, function: str) -> list[str]:
        versions: list[str] = []
        paginator = self._client.get_paginator("list_versions_by_function")
        for page in paginator.paginate(FunctionName=self.physical(function)):
            versions += [v["Version"] for v in page["Versions"]]
        versions = [v for v in versions if is_published(v)]
        return sorted(versions, key=int)

    def invoke_health(self, function: str, version: str) -> HealthResult:
        """Invoke `function:version` with the synthetic health event (it writes nothing)."""
        try:
            result = self._client.invoke(
                FunctionName=f"{self.physical(function)}:{version}",
                Payload=json.dumps(HEALTH_EVENT).encode(),
            )
        except Exception as exc:  # noqa: BLE001 - any failure to invoke is an unhealthy target
            return HealthResult(False, f"invoke failed: {type(exc).__name__}: {exc}")
        raw = result["Payload"].read()
        if result.get("FunctionError"):
            return HealthResult(False, f"FunctionError {result['FunctionError']}: {raw[:200]!r}")
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            return HealthResult(False, f"not a JSON answer: {raw[:200]!r}")
        if isinstance(body, dict) and body.get("healthy") is True:
            return HealthResult(True, f"version {body.get('version', version)} healthy")
        reason = body.get("reason", "unhealthy") if isinstance(body, dict) else "unhealthy"
        return HealthResult(False, str(reason))

    def invoke_event(self, function: str, version: str, event: dict[str, Any]) -> tuple[str, Any]:
        """Invoke `function:version` directly (never through the alias, so its metrics never
        count as alias traffic); returns (FunctionError or "", the decoded answer)."""
        result = self._client.invoke(
            FunctionName=f"{self.physical(function)}:{version}",
            Payload=json.dumps(event).encode(),
        )
        raw = result["Payload"].read()
        try:
            answer = json.loads(raw or b"null")
        except ValueError:
            answer = raw.decode("utf-8", "replace")
        return str(result.get("FunctionError") or ""), answer

    def set_alias(
        self, function: str, version: str, weights: dict[str, float], revision_id: str
    ) -> AliasState:
        """Point `live` at `version` (plus weighted `weights`) only if the alias still has
        `revision_id`; AliasMovedError when it moved since it was read (Lambda answers
        PreconditionFailedException, HTTP 412). Returns the alias as it now is."""
        kwargs: dict[str, Any] = {
            "FunctionName": self.physical(function),
            "Name": ALIAS_NAME,
            "FunctionVersion": version,
            "RoutingConfig": {"AdditionalVersionWeights": dict(weights)},
        }
        if revision_id:
            kwargs["RevisionId"] = revision_id
        try:
            result = self._client.update_alias(**kwargs)
        except self._client.exceptions.PreconditionFailedException as exc:
            raise AliasMovedError(function, revision_id, str(exc)) from None
        routing = (result.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
        return AliasState(
            version=str(result.get("FunctionVersion", version)),
            routing={str(k): float(v) for k, v in routing.items()},
            revision_id=str(result.get("RevisionId", "")),
        )

    def update_alias(self, function: str, version: str, revision_id: str) -> None:
        """Move `live` to `version`, dropping weighted routing; fails if the alias moved."""
        self.set_alias(function, version, {}, revision_id)


class SnsNotifier:
    """Publishes the engine's structured messages to the notifications topic."""

    def __init__(self, client: Any, topic_arn: str) -> None:
        self._client = client
        self._topic = topic_arn

    def publish(self, subject: str, message: dict[str, Any]) -> None:
        self._client.publish(
            TopicArn=self._topic,
            Subject=subject[:99],
            Message=json.dumps(message, sort_keys=True),
        )


def build_ports(
    lambda_client: Any,
    dynamodb_client: Any,
    sns_client: Any = None,
    *,
    stack: str,
    topic_arn: str = "",
    ledger_table: str | None = None,
) -> Ports:
    """The engine's ports over injected clients: the CLI's, the local platform's, the Lambda's.

    The ledger table is the stack's (`StackNames.ledger_table`) unless named, as the Lambda
    does from its environment. Without a topic there is no notifier: an orchestrator whose
    stage has no notifications topic still rolls back, it only does not announce it.
    """
    notifier = None
    if topic_arn and sns_client is not None:
        notifier = SnsNotifier(sns_client, topic_arn)
    return Ports(
        lambda_=LambdaOps(lambda_client, stack),
        ledger=DynamoLedger(dynamodb_client, ledger_table or StackNames(stack).ledger_table),
        notifier=notifier,
    )
