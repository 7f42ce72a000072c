"""Provisions the rendered stack on moto through its APIs, not through moto's CloudFormation
(which skips aliases, alarms, metric filters, subscriptions and more; ../shared/MOTO.md).

A small resolver handles the intrinsics the template uses (Ref, GetAtt, Sub, Join). Types the
local platform emulates itself are recorded instead of created: the stream mapping (the poller
runs it; moto's own mapping would fire on $LATEST and empty the stream) and Lambda subscriptions
(SNS delivery is ours). CloudFront, API Gateway, policies and the dashboard are skipped: the
local gateway reads the API from the template and serves the site itself.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from feedbackctl.errors import FeedbackctlError
from feedbackctl.local.invoke import CodeStore, bootstrap_zip
from feedbackctl.naming import StackNames

BACKUP_PLAN = "no weekly backup plan locally (`backup create` and `restore` work)"
SKIPPED = {
    "AWS::CloudFront::Distribution": "the local gateway serves the site",
    "AWS::CloudFront::OriginAccessControl": "no CloudFront locally",
    "AWS::CloudFront::ResponseHeadersPolicy": "no CloudFront locally",
    "AWS::S3::BucketPolicy": "no access control locally",
    "AWS::SNS::TopicPolicy": "no access control locally",
    "AWS::Lambda::Permission": "no access control locally",
    "AWS::CloudWatch::Dashboard": "dashboards are for the console",
    "AWS::ApiGateway::Account": "no account settings locally",
    "AWS::KinesisFirehose::DeliveryStream": "log archival is not emulated locally",
    "AWS::Logs::SubscriptionFilter": "log archival is not emulated locally",
    "AWS::Chatbot::SlackChannelConfiguration": "chat notifications through Chatbot need AWS",
    "AWS::Backup::BackupVault": BACKUP_PLAN,
    "AWS::Backup::BackupPlan": BACKUP_PLAN,
    "AWS::Backup::BackupSelection": BACKUP_PLAN,
}
API_PREFIX = "AWS::ApiGateway::"
_SUB = re.compile(r"\$\{([^}!][^}]*)\}")


@dataclass(frozen=True)
class StreamMapping:
    """An event-source mapping, run by the local stream poller."""

    logical_id: str
    function: str  # an alias ARN
    stream_arn: str
    batch_size: int
    window_s: float
    report_failures: bool
    bisect: bool
    max_retries: int
    max_age_s: int
    on_failure: str | None  # a queue ARN
    starting_position: str


@dataclass
class Provisioned:
    """What provisioning made, for the rest of the platform."""

    physical: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    lambda_subscriptions: dict[str, list[str]] = field(
        default_factory=dict
    )  # topic ARN -> functions
    mappings: list[StreamMapping] = field(default_factory=list)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)  # logical id, type, why
    queue_urls: dict[str, str] = field(default_factory=dict)  # queue ARN -> URL
    created: int = 0
    attrs: dict[str, str] = field(default_factory=dict)  # "Logical.Attribute" -> GetAtt value


class Provisioner:
    """Creates one stack's resources on moto (clients come from the caller)."""

    def __init__(
        self, clients: dict[str, Any], code: CodeStore, *, stack: str, region: str, account: str
    ) -> None:
        self.c = clients
        self.code = code
        self.stack = stack
        self.region = region
        self.account = account
        self.refs: dict[str, str] = {}
        self.attrs: dict[tuple[str, str], str] = {}
        self.result = Provisioned()
        self.adopted: list[str] = []  # tables and buckets that existed (a destroyed stack's data)

    def resume(self, record: Provisioned) -> None:
        """Resolve intrinsics against a stack provisioned earlier (to change it)."""
        self.refs = dict(record.physical)
        self.attrs = {tuple(k.split(".", 1)): v for k, v in record.attrs.items()}  # type: ignore[misc]
        self.result = record

    # intrinsics ----------------------------------------------------------------------
    def _pseudo(self, name: str) -> str | None:
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": self.stack,
            "AWS::StackId": self._arn("cloudformation", f"stack/{self.stack}/local"),
            "AWS::NoValue": "",
        }.get(name)

    def _ref(self, name: str) -> str:
        pseudo = self._pseudo(name)
        if pseudo is not None:
            return pseudo
        if name not in self.refs:
            raise KeyError(name)
        return self.refs[name]

    def _getatt(self, logical: str, attribute: str) -> str:
        if (logical, attribute) not in self.attrs:
            raise KeyError(f"{logical}.{attribute}")
        return self.attrs[(logical, attribute)]

    def _sub(self, text: str, extra: dict[str, Any]) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in extra:
                return str(self.resolve(extra[name]))
            if "." in name:
                logical, attribute = name.split(".", 1)
                return self._getatt(logical, attribute)
            return self._ref(name)

        return _SUB.sub(value, text)

    def _intrinsic(self, key: str, inner: Any) -> Any:
        if key == "Ref":
            return self._ref(inner)
        if key == "Fn::GetAtt":
            return self._getatt(inner[0], inner[1])
        if key == "Fn::Sub":
            text, extra = (inner, {}) if isinstance(inner, str) else (inner[0], inner[1])
            return self._sub(text, extra)
        return str(inner[0]).join(str(self.resolve(v)) for v in inner[1])  # Fn::Join

    def resolve(self, value: Any) -> Any:
        """Resolve Ref, GetAtt, Sub and Join inside `value` (recursively)."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, inner),) = value.items()
            if key in ("Ref", "Fn::GetAtt", "Fn::Sub", "Fn::Join"):
                return self._intrinsic(key, inner)
        return {k: self.resolve(v) for k, v in value.items()}

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account}:{resource}"

    # creators ------------------------------------------------------------------------
    def _role(self, logical: str, props: dict[str, Any]) -> None:
        name = f"{self.stack}-{logical}"[:64]
        iam = self.c["iam"]
        try:
            arn = iam.get_role(RoleName=name)["Role"]["Arn"]
        except iam.exceptions.NoSuchEntityException:
            document = json.dumps(props.get("AssumeRolePolicyDocument", {}))
            arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=document)["Role"]["Arn"]
        self.refs[logical] = name
        self.attrs[(logical, "Arn")] = arn

    def _bucket(self, logical: str, props: dict[str, Any]) -> None:
        name = props.get("BucketName") or StackNames(self.stack).local_bucket(logical)
        # Outside us-east-1, S3 requires the region as the bucket's LocationConstraint.
        where = (
            {"CreateBucketConfiguration": {"LocationConstraint": self.region}}
            if self.region != "us-east-1"
            else {}
        )
        s3 = self.c["s3"]
        try:
            s3.create_bucket(Bucket=name, **where)
        except s3.exceptions.BucketAlreadyOwnedByYou:  # retained by a destroyed stack: adopted
            self.adopted.append(logical)
        if (props.get("VersioningConfiguration") or {}).get("Status") == "Enabled":
            self.c["s3"].put_bucket_versioning(
                Bucket=name, VersioningConfiguration={"Status": "Enabled"}
            )
        self.refs[logical] = name
        self.attrs[(logical, "Arn")] = f"arn:aws:s3:::{name}"
        self.attrs[(logical, "RegionalDomainName")] = f"{name}.s3.{self.region}.amazonaws.com"
        self.attrs[(logical, "DomainName")] = f"{name}.s3.amazonaws.com"

    def _table(self, logical: str, props: dict[str, Any]) -> None:
        name = props["TableName"]
        args: dict[str, Any] = {
            "TableName": name,
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
        }
        if props.get("GlobalSecondaryIndexes"):
            args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        stream = props.get("StreamSpecification")
        if stream:
            args["StreamSpecification"] = {
                "StreamEnabled": True,
                "StreamViewType": stream["StreamViewType"],
            }
        dynamodb = self.c["dynamodb"]
        try:
            described = dynamodb.create_table(**args)["TableDescription"]
        except dynamodb.exceptions.ResourceInUseException:  # retained by a destroyed stack
            described = self._adopt_table(logical, props)
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            self.c["dynamodb"].update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )
        self.refs[logical] = name
        self.attrs[(logical, "Arn")] = described["TableArn"]
        if described.get("LatestStreamArn"):
            self.attrs[(logical, "StreamArn")] = described["LatestStreamArn"]

    def _adopt_table(self, logical: str, props: dict[str, Any]) -> dict[str, Any]:
        """A table a destroyed stack retained, with its items, taken into this stack: its keys
        must be the template's; its indexes are made the template's."""
        from feedbackctl.local.changes import update_indexes

        dynamodb, name = self.c["dynamodb"], props["TableName"]
        table: dict[str, Any] = dynamodb.describe_table(TableName=name)["Table"]
        if table["KeySchema"] != props["KeySchema"]:
            raise FeedbackctlError(
                f"table {name} (kept by an earlier `feedbackctl destroy`) has the keys "
                f"{table['KeySchema']}, the template wants {props['KeySchema']}",
                doing="provisioning the local stack",
                hint="delete the kept data with `feedbackctl local up --fresh` (or `destroy "
                "--delete-data` while it runs)",
            )
        # By name: moto describes an index with more fields than the template gives it.
        have = {i["IndexName"] for i in table.get("GlobalSecondaryIndexes") or []}
        wanted = props.get("GlobalSecondaryIndexes") or []
        created = [i for i in wanted if i["IndexName"] not in have]
        deleted = sorted(have - {i["IndexName"] for i in wanted})
        update_indexes(dynamodb, props, created, deleted)
        self.adopted.append(logical)
        return table

    def _queue(self, logical: str, props: dict[str, Any]) -> None:
        name = props.get("QueueName") or f"{self.stack}-{logical}"
        url = self.c["sqs"].create_queue(QueueName=name)["QueueUrl"]
        arn = self._arn("sqs", name)
        self.refs[logical] = url
        self.attrs.update(
            {(logical, "Arn"): arn, (logical, "QueueName"): name, (logical, "QueueUrl"): url}
        )
        self.result.queue_urls[arn] = url

    def _topic(self, logical: str, props: dict[str, Any]) -> None:
        name = props.get("TopicName") or f"{self.stack}-{logical}"
        arn = self.c["sns"].create_topic(Name=name)["TopicArn"]
        self.refs[logical] = arn
        self.attrs.update({(logical, "TopicArn"): arn, (logical, "TopicName"): name})

    def _secret(self, logical: str, props: dict[str, Any]) -> None:
        """A secret with a generated value, as GenerateSecretString makes it (letters and
        digits); a restored platform's secret is kept, value and all."""
        import secrets
        import string

        name = props.get("Name") or f"{self.stack}-{logical}"
        generate = props.get("GenerateSecretString") or {}
        alphabet = string.ascii_letters + string.digits
        value = "".join(
            secrets.choice(alphabet) for _ in range(int(generate.get("PasswordLength", 32)))
        )
        client = self.c["secretsmanager"]
        try:
            arn = client.create_secret(Name=name, SecretString=value)["ARN"]
        except client.exceptions.ResourceExistsException:
            arn = client.describe_secret(SecretId=name)["ARN"]
        self.refs[logical] = arn
        self.attrs[(logical, "Id")] = arn

    def _log_group(self, logical: str, props: dict[str, Any]) -> None:
        name = props["LogGroupName"]
        logs = self.c["logs"]
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_group(logGroupName=name)
        if props.get("RetentionInDays"):
            logs.put_retention_policy(
                logGroupName=name, retentionInDays=int(props["RetentionInDays"])
            )
        self.refs[logical] = name
        self.attrs[(logical, "Arn")] = self._arn("logs", f"log-group:{name}:*")

    def _function(self, logical: str, props: dict[str, Any]) -> None:
        name = props["FunctionName"]
        source = props["Code"].get("ZipFile")
        if not isinstance(source, str):
            raise ValueError("Code.ZipFile (the inline bootstrap) is required locally")
        data = bootstrap_zip(source)
        self.code.add_zip(data)
        env = {
            k: str(v) for k, v in ((props.get("Environment") or {}).get("Variables") or {}).items()
        }
        created = self.c["lambda"].create_function(
            FunctionName=name,
            Runtime=props.get("Runtime", "python3.12"),
            Role=props["Role"],
            Handler=props.get("Handler", "index.lambda_handler"),
            Code={"ZipFile": data},
            Description=props.get("Description", ""),
            Timeout=int(props.get("Timeout", 3)),
            MemorySize=int(props.get("MemorySize", 128)),
            Environment={"Variables": env},
        )
        self.refs[logical] = name
        self.attrs[(logical, "Arn")] = created["FunctionArn"]

    def _version(self, logical: str, props: dict[str, Any]) -> None:
        published = self.c["lambda"].publish_version(
            FunctionName=props["FunctionName"], Description=props.get("Description", "")
        )
        self.refs[logical] = published["FunctionArn"]
        self.attrs[(logical, "Version")] = str(published["Version"])

    def _alias(self, logical: str, props: dict[str, Any]) -> None:
        created = self.c["lambda"].create_alias(
            FunctionName=props["FunctionName"],
            Name=props["Name"],
            FunctionVersion=str(props["FunctionVersion"]),
            Description=props.get("Description", ""),
        )
        self.refs[logical] = created["AliasArn"]
        self.attrs[(logical, "AliasArn")] = created["AliasArn"]

    def _metric_filter(self, logical: str, props: dict[str, Any]) -> None:
        transformations = [
            {
                "metricName": t["MetricName"],
                "metricNamespace": t["MetricNamespace"],
                "metricValue": str(t["MetricValue"]),
                **({"defaultValue": float(t["DefaultValue"])} if "DefaultValue" in t else {}),
                **({"unit": t["Unit"]} if "Unit" in t else {}),
                # CloudFormation lists dimensions as Key/Value pairs; the API takes a map.
                **(
                    {"dimensions": {d["Key"]: d["Value"] for d in t["Dimensions"]}}
                    if t.get("Dimensions")
                    else {}
                ),
            }
            for t in props["MetricTransformations"]
        ]
        self.c["logs"].put_metric_filter(
            logGroupName=props["LogGroupName"],
            filterName=props.get("FilterName", logical),
            filterPattern=props["FilterPattern"],
            metricTransformations=transformations,
        )
        self.refs[logical] = props.get("FilterName", logical)

    def _alarm(self, logical: str, props: dict[str, Any]) -> None:
        keys = [
            "AlarmName",
            "AlarmDescription",
            "Namespace",
            "MetricName",
            "Statistic",
            "Threshold",
            "Period",
            "EvaluationPeriods",
            "DatapointsToAlarm",
            "ComparisonOperator",
            "TreatMissingData",
            "AlarmActions",
            "OKActions",
            "InsufficientDataActions",
            "Dimensions",
            "Unit",
            "ActionsEnabled",
        ]
        args = {k: props[k] for k in keys if k in props}
        for number in ("Threshold",):
            if number in args:
                args[number] = float(args[number])
        for whole in ("Period", "EvaluationPeriods", "DatapointsToAlarm"):
            if whole in args:
                args[whole] = int(args[whole])
        self.c["cloudwatch"].put_metric_alarm(**args)
        self.refs[logical] = props["AlarmName"]

    def _subscription(self, logical: str, props: dict[str, Any]) -> None:
        topic, protocol, endpoint = props["TopicArn"], props["Protocol"], props["Endpoint"]
        if protocol == "lambda":
            self.result.lambda_subscriptions.setdefault(topic, []).append(endpoint)
        elif protocol in ("sqs", "http", "https"):
            self.c["sns"].subscribe(TopicArn=topic, Protocol=protocol, Endpoint=endpoint)
        else:
            self.result.skipped.append(
                (logical, "AWS::SNS::Subscription", f"{protocol} delivery is not emulated")
            )
        self.refs[logical] = f"{topic}:{logical}"

    def _mapping(self, logical: str, props: dict[str, Any]) -> None:
        on_failure = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get(
            "Destination"
        )
        self.result.mappings.append(
            StreamMapping(
                logical_id=logical,
                function=props["FunctionName"],
                stream_arn=props["EventSourceArn"],
                batch_size=int(props.get("BatchSize", 100)),
                window_s=float(props.get("MaximumBatchingWindowInSeconds", 0)),
                report_failures="ReportBatchItemFailures"
                in (props.get("FunctionResponseTypes") or []),
                bisect=bool(props.get("BisectBatchOnFunctionError", False)),
                max_retries=int(props.get("MaximumRetryAttempts", -1)),
                max_age_s=int(props.get("MaximumRecordAgeInSeconds", -1)),
                on_failure=on_failure,
                starting_position=props.get("StartingPosition", "TRIM_HORIZON"),
            )
        )
        self.refs[logical] = logical

    # driver --------------------------------------------------------------------------
    ORDER: tuple[tuple[str, str], ...] = (
        ("AWS::IAM::Role", "_role"),
        ("AWS::S3::Bucket", "_bucket"),
        ("AWS::DynamoDB::Table", "_table"),
        ("AWS::SQS::Queue", "_queue"),
        ("AWS::SNS::Topic", "_topic"),
        ("AWS::SecretsManager::Secret", "_secret"),
        ("AWS::Logs::LogGroup", "_log_group"),
        ("AWS::Lambda::Function", "_function"),
        ("AWS::Lambda::Version", "_version"),
        ("AWS::Lambda::Alias", "_alias"),
        ("AWS::Logs::MetricFilter", "_metric_filter"),
        ("AWS::CloudWatch::Alarm", "_alarm"),
        ("AWS::SNS::Subscription", "_subscription"),
        ("AWS::Lambda::EventSourceMapping", "_mapping"),
    )

    def _placeholders(self, resources: dict[str, Any]) -> None:
        """Skipped resources still get names, so references to them resolve."""
        for logical, resource in resources.items():
            kind = resource.get("Type", "")
            if kind in SKIPPED or kind.startswith(API_PREFIX):
                self.refs[logical] = f"{logical.lower()}-local"
                for attribute in ("Arn", "Id", "DomainName", "RootResourceId"):
                    value = "localhost" if attribute == "DomainName" else f"{logical.lower()}-local"
                    self.attrs[(logical, attribute)] = value
                why = SKIPPED.get(kind, "the local gateway reads the API from the template")
                self.result.skipped.append((logical, kind, why))

    def _create(self, logical: str, kind: str, method: str, resource: dict[str, Any]) -> None:
        try:
            raw = resource.get("Properties") or {}
            if kind == "AWS::IAM::Role":
                # Policies name resources made later (and functions name roles); locally a
                # role only has to exist, so only the trust policy is read.
                raw = {"AssumeRolePolicyDocument": raw.get("AssumeRolePolicyDocument", {})}
            getattr(self, method)(logical, self.resolve(raw))
            self.result.created += 1
        except FeedbackctlError:
            raise
        except Exception as exc:
            raise FeedbackctlError(
                f"resource {logical} ({kind}) could not be created locally: "
                f"{type(exc).__name__}: {exc}",
                doing="provisioning the local stack",
                hint="check the template with `feedbackctl render --stage local`",
            ) from exc

    def provision(
        self, template: dict[str, Any], progress: Callable[[str], None] = lambda _: None
    ) -> Provisioned:
        """Create every resource the platform needs, in dependency order; outputs resolved."""
        resources: dict[str, Any] = template.get("Resources") or {}
        self._placeholders(resources)
        known = {kind for kind, _ in self.ORDER}
        for logical, resource in resources.items():
            kind = resource.get("Type", "")
            if kind not in known and kind not in SKIPPED and not kind.startswith(API_PREFIX):
                self.result.skipped.append((logical, kind, "not emulated locally"))
        for kind, method in self.ORDER:
            for logical, resource in resources.items():
                if resource.get("Type") == kind:
                    self._create(logical, kind, method, resource)
            progress(f"provisioned {kind.split('::', 1)[1]}")
        self.result.physical = dict(self.refs)
        self.result.attrs = {f"{logical}.{name}": v for (logical, name), v in self.attrs.items()}
        for name, output in (template.get("Outputs") or {}).items():
            with contextlib.suppress(KeyError):
                self.result.outputs[name] = str(self.resolve(output["Value"]))
        return self.result
