"""moto-backed fixtures for the release engine: functions with versions and a `live` alias,
the ledger table, and an SNS topic whose messages land in an SQS probe queue."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from dataclasses import dataclass
from typing import Any

import boto3

from feedbackctl.engine.aws_ports import LambdaOps, SnsNotifier
from feedbackctl.engine.ledger import DynamoLedger
from feedbackctl.engine.model import HealthResult
from feedbackctl.engine.rollback import Ports
from feedbackctl.sandbox import create_ledger_table


def code_zip(marker: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "index.py",
            f"MARKER = {marker!r}\ndef lambda_handler(event, context):\n    return {{}}\n",
        )
    return buffer.getvalue()


class InjectedHealthLambdaOps(LambdaOps):
    """moto cannot run handlers: health answers come from a set the test controls."""

    def __init__(self, client: Any, stack: str, unhealthy: set[str]) -> None:
        super().__init__(client, stack)
        self.unhealthy = unhealthy
        self.checked: list[str] = []

    def invoke_health(self, function: str, version: str) -> HealthResult:
        self.checked.append(f"{function}:{version}")
        if version in self.unhealthy:
            return HealthResult(False, "503 from the health event")
        return HealthResult(True, "healthy")


@dataclass
class EngineWorld:
    stack: str
    lambda_client: Any
    ddb: Any
    sqs: Any
    ledger_table: str
    topic_arn: str
    queue_url: str
    ops: InjectedHealthLambdaOps

    def ports(self) -> Ports:
        return Ports(
            lambda_=self.ops,
            ledger=DynamoLedger(self.ddb, self.ledger_table),
            notifier=SnsNotifier(boto3.client("sns"), self.topic_arn),
        )

    def alias_version(self, function: str) -> str:
        return str(
            self.lambda_client.get_alias(FunctionName=f"{self.stack}-{function}", Name="live")[
                "FunctionVersion"
            ]
        )

    def notifications(self) -> list[dict[str, Any]]:
        messages = []
        while True:
            got = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not got:
                return messages
            for message in got:
                messages.append(json.loads(json.loads(message["Body"])["Message"]))
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def add_function(self, function: str, versions: int) -> None:
        """Create `<stack>-<function>` with `versions` published versions and `live` on the last."""
        name = f"{self.stack}-{function}"
        self.lambda_client.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=self._role(),
            Handler="index.lambda_handler",
            Code={"ZipFile": code_zip("v0")},
        )
        for i in range(1, versions + 1):
            self.lambda_client.update_function_code(FunctionName=name, ZipFile=code_zip(f"v{i}"))
            self.lambda_client.publish_version(FunctionName=name, Description=f"release {i}")
        self.lambda_client.create_alias(
            FunctionName=name, Name="live", FunctionVersion=str(versions)
        )

    def _role(self) -> str:
        iam = boto3.client("iam")
        name = f"{self.stack}-role"
        try:
            return str(iam.get_role(RoleName=name)["Role"]["Arn"])
        except iam.exceptions.NoSuchEntityException:
            return str(
                iam.create_role(
                    RoleName=name,
                    AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
                )["Role"]["Arn"]
            )


def make_world(unhealthy: set[str] | None = None) -> EngineWorld:
    stack = f"fb-{uuid.uuid4().hex[:6]}"
    ddb, sns, sqs = boto3.client("dynamodb"), boto3.client("sns"), boto3.client("sqs")
    ledger_table = f"{stack}-ledger"
    create_ledger_table(ddb, ledger_table)
    topic = sns.create_topic(Name=f"{stack}-notifications")["TopicArn"]
    queue_url = sqs.create_queue(QueueName=f"{stack}-probe")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    lambda_client = boto3.client("lambda")
    return EngineWorld(
        stack,
        lambda_client,
        ddb,
        sqs,
        ledger_table,
        topic,
        queue_url,
        InjectedHealthLambdaOps(lambda_client, stack, unhealthy or set()),
    )
