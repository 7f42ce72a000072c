"""`destroy --stage local`: tears down the stack a running local platform provisioned, through
the AWS API on the platform's endpoint, as CloudFormation's DeleteStack does on AWS.

Locally the stack has no CloudFormation record: it is its record in the code bucket
(feedbackctl.local.changes.RECORD_KEY: the template and what provisioning made). Torn down:

1. The record is set aside (DELETING_KEY) and the running platform acknowledges that it no
   longer serves the stack (feedbackctl.local.follow): its gateway answers every request 403
   saying the stack was destroyed, and its stream pollers stop.
2. Every resource whose DeletionPolicy is not Retain is deleted, in reverse order of creation:
   alarms, metric filters, `live` aliases, functions (with their versions), log groups, topics
   (with their subscriptions), queues and roles. Stream mappings and Lambda subscriptions were
   the platform's own (stopped in 1.); the API, CloudFront, policies, permissions and the
   dashboard were never created in moto. Another resource the template retains is kept (the
   report lists it); one of a type not named here is left in place, and said so.
3. Tables and buckets (DeletionPolicy Retain) keep their contents, or with `--delete-data` are
   deleted with the stage's log groups, exactly as on AWS (feedbackctl.destroy.data_after_delete).
4. The set-aside record is removed with the platform's acknowledgement. A destroy interrupted
   after 1. is resumed by the next one, which finds the set-aside record.

Afterwards the running platform serves nothing (`deploy --stage local` is refused: it cannot
provision a stack into a running data plane); the next `feedbackctl local up` provisions the stack
afresh and adopts the tables and buckets that were kept, with their items.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from feedbackctl.aws import error_code, objects
from feedbackctl.aws.stacks import Waiter
from feedbackctl.errors import FeedbackctlError
from feedbackctl.local.changes import RECORD_KEY, LocalStack
from feedbackctl.local.follow import SERVING_KEY, wait_acknowledged
from feedbackctl.naming import StackNames

DELETING_KEY = "feedbackctl/stack.deleting.json"
DATA_TYPES = {"AWS::DynamoDB::Table", "AWS::S3::Bucket"}  # kept or deleted as data, in step 3
# Gone with another resource, or the platform's own (its stream poller, its SNS delivery).
WITH_OTHERS = {
    "AWS::Lambda::Version": "with its function",
    "AWS::Lambda::EventSourceMapping": "the platform's stream poller stopped",
    "AWS::SNS::Subscription": "with its topic, or the platform's own delivery",
}
# The AWS error codes of a resource that is gone already (a resumed destroy deletes it again).
GONE = {
    "ResourceNotFoundException",
    "ResourceNotFound",
    "NoSuchEntity",
    "NotFound",
    "QueueDoesNotExist",
    "AWS.SimpleQueueService.NonExistentQueue",
}


def _alarm(c: dict[str, Any], physical: str, props: dict[str, Any]) -> None:
    c["cloudwatch"].delete_alarms(AlarmNames=[physical])


def _metric_filter(c: dict[str, Any], physical: str, props: dict[str, Any]) -> None:
    c["logs"].delete_metric_filter(logGroupName=props["LogGroupName"], filterName=physical)


def _alias(c: dict[str, Any], physical: str, props: dict[str, Any]) -> None:
    c["lambda"].delete_alias(FunctionName=props["FunctionName"], Name=props["Name"])


def _function(c: dict[str, Any], physical: str, props: dict[str, Any]) -> None:
    c["lambda"].delete_function(FunctionName=physical)  # every version goes with it


def _log_group(c: dict[str, Any], physical: str, props: dict[str, Any]) -> None:
    c["logs"].delete_log_group(logGroupName=physical)


def _topic(c: dict[str, Any], physical: str, props: dict[str, Any]) -> None:
    sns = c["sns"]
    for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=physical):
        for subscription in page.get("Subscriptions", []):
            if subscription["SubscriptionArn"].startswith("arn:"):  # not "PendingConfirmation"
                sns.unsubscribe(SubscriptionArn=subscription["SubscriptionArn"])
    sns.delete_topic(TopicArn=physical)


def _queue(c: dict[str, Any], physical: str, props: dict[str, Any]) -> None:
    c["sqs"].delete_queue(QueueUrl=physical)


def _role(c: dict[str, Any], physical: str, props: dict[str, Any]) -> None:
    iam = c["iam"]
    for name in iam.list_role_policies(RoleName=physical).get("PolicyNames", []):
        iam.delete_role_policy(RoleName=physical, PolicyName=name)
    for attached in iam.list_attached_role_policies(RoleName=physical).get("AttachedPolicies", []):
        iam.detach_role_policy(RoleName=physical, PolicyArn=attached["PolicyArn"])
    iam.delete_role(RoleName=physical)


Deleter = Callable[[dict[str, Any], str, dict[str, Any]], None]
# Reverse order of creation (feedbackctl.local.provision.Provisioner.ORDER).
ORDER: tuple[tuple[str, Deleter], ...] = (
    ("AWS::CloudWatch::Alarm", _alarm),
    ("AWS::Logs::MetricFilter", _metric_filter),
    ("AWS::Lambda::Alias", _alias),
    ("AWS::Lambda::Function", _function),
    ("AWS::Logs::LogGroup", _log_group),
    ("AWS::SNS::Topic", _topic),
    ("AWS::SQS::Queue", _queue),
    ("AWS::IAM::Role", _role),
)


def _set_aside(s3: Any, bucket: str) -> str | None:
    """Move the stack record to DELETING_KEY; the key the stack is read from now (None: none)."""
    try:
        body = s3.get_object(Bucket=bucket, Key=RECORD_KEY)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return DELETING_KEY if objects.exists(s3, bucket, DELETING_KEY) else None
    s3.put_object(Bucket=bucket, Key=DELETING_KEY, Body=body, ContentType="application/json")
    s3.delete_object(Bucket=bucket, Key=RECORD_KEY)
    return DELETING_KEY


def teardown(
    clients: dict[str, Any],
    stack: str,
    *,
    delete_data: bool,
    waiter: Waiter,
    progress: Callable[[str], None],
) -> dict[str, Any] | None:
    """Tear down the running local platform's stack `stack` (module docstring); a report like
    `destroy`'s, or None when the platform holds no such stack."""
    from feedbackctl.destroy import data_after_delete

    s3, bucket = clients["s3"], StackNames(stack).local_bucket("CodeBucket")
    if not objects.bucket_reachable(s3, bucket):
        return None
    key = _set_aside(s3, bucket)
    if key is None:
        return None
    region = str(s3.meta.region_name)
    local = LocalStack(clients, bucket, stack=stack, region=region, key=key)
    if local.record is None:  # removed meanwhile by another destroy
        return None
    progress(f"deleting stack {stack} from the local platform…")
    try:
        wait_acknowledged(s3, bucket, None, "stop serving the stack")
    except FeedbackctlError as exc:
        progress(f"{exc.message}; deleting its resources all the same")
    deleted, retained = _delete_resources(clients, local, progress)
    outputs = dict(local.record["provisioned"].outputs)
    deleted_data, retained_data = data_after_delete(
        clients, stack, outputs, delete_data=delete_data, waiter=waiter, progress=progress
    )
    if not delete_data:  # the code bucket is kept: the stack's record goes
        objects.delete_keys(s3, bucket, [DELETING_KEY, SERVING_KEY])
    return {
        "stack": stack,
        "deleted": True,
        "localPlatform": True,
        "deletedResources": deleted,
        "deletedData": deleted_data,
        "retained": retained + retained_data,
    }


def _delete_resources(
    clients: dict[str, Any], local: LocalStack, progress: Callable[[str], None]
) -> tuple[list[str], list[str]]:
    """Delete what the template does not retain; (`Type name` of each deleted, names kept).
    A resource of a type this module cannot delete is left, and said so."""
    assert local.record is not None, "no recorded stack"
    resources: dict[str, Any] = local.record["template"].get("Resources") or {}
    provisioned = local.record["provisioned"]
    physical: dict[str, str] = provisioned.physical
    skipped = {entry[0] for entry in provisioned.skipped}  # never made in moto
    made = {
        logical: resource
        for logical, resource in resources.items()
        if logical in physical
        and logical not in skipped
        and resource.get("Type") not in DATA_TYPES | WITH_OTHERS.keys()
    }
    retained = [physical[lid] for lid, r in made.items() if r.get("DeletionPolicy") == "Retain"]
    deleters = dict(ORDER)
    for logical, resource in made.items():
        kind = resource.get("Type", "")
        if resource.get("DeletionPolicy") != "Retain" and kind not in deleters:
            progress(f"left in place: {physical[logical]} ({kind}): not deleted locally")
    resolver = local.provisioner()
    deleted: list[str] = []
    for kind, delete in ORDER:
        doomed = [
            (physical[lid], r)
            for lid, r in made.items()
            if r.get("Type") == kind and r.get("DeletionPolicy") != "Retain"
        ]
        for name, resource in doomed:
            props = resource.get("Properties") or {}
            named = {k: props[k] for k in ("LogGroupName", "FunctionName", "Name") if k in props}
            try:
                delete(clients, name, resolver.resolve(named))
            except Exception as exc:
                if error_code(exc) not in GONE:
                    raise
            deleted.append(f"{kind} {name}")
        if doomed:
            progress(f"deleted {len(doomed)} {kind.split('::', 2)[2]} resource(s)")
    return deleted, retained
