"""Physical names of a stage's resources, derived from its stack name, and the ARN partition of
a region.

The templates name these resources the same way, so commands can find them without reading
stack outputs (which the local platform does not have).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# Used only when botocore's partition data is unavailable or does not know the region yet; the
# longer prefixes come first (us-isob- before us-iso-). Source: the partitions listed in
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
_PARTITION_PREFIXES = (
    ("cn-", "aws-cn"),
    ("us-gov-", "aws-us-gov"),
    ("us-isob-", "aws-iso-b"),
    ("us-iso-", "aws-iso"),
)


@lru_cache(maxsize=1)
def _endpoint_resolver() -> Any:
    # botocore's own endpoint data, read directly: a boto3 Session would read the user's AWS
    # config (and fail on a missing AWS_PROFILE) just to answer a question about a region.
    from botocore.loaders import create_loader
    from botocore.regions import EndpointResolver

    return EndpointResolver(create_loader().load_data("endpoints"))


def known_partition(region: str) -> str | None:
    """The partition botocore's data gives `region` (its region lists and patterns), or None."""
    from botocore.exceptions import UnknownRegionError

    try:
        return str(_endpoint_resolver().get_partition_for_region(region))
    except UnknownRegionError:
        return None


def partition(region: str) -> str:
    """The ARN partition of `region`: aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, ...

    botocore's partition data first (it knows every partition it ships endpoints for), then
    the documented region prefixes, then `aws`.
    """
    try:
        found = known_partition(region)
    except ImportError:  # pragma: no cover - botocore ships with the CLI
        found = None
    if found:
        return found
    return next((p for prefix, p in _PARTITION_PREFIXES if region.startswith(prefix)), "aws")


@dataclass(frozen=True)
class StackNames:
    """The deterministic names of one stack's resources."""

    stack: str

    @property
    def feedback_table(self) -> str:
        return f"{self.stack}-feedback"

    @property
    def analytics_table(self) -> str:
        return f"{self.stack}-analytics"

    @property
    def ledger_table(self) -> str:
        return f"{self.stack}-ledger"

    @property
    def alarms_topic(self) -> str:
        return f"{self.stack}-alarms"

    @property
    def notifications_topic(self) -> str:
        return f"{self.stack}-notifications"

    def function(self, seed: str) -> str:
        return f"{self.stack}-{seed}"

    def errors_alarm(self, seed: str) -> str:
        return f"{self.stack}-{seed}-errors"

    def lambda_errors_alarm(self, seed: str) -> str:
        """The alarm on AWS/Lambda Errors of the `live` alias (crashes, timeouts, import errors)."""
        return f"{self.stack}-{seed}-lambda-errors"

    def rollback_alarms(self, seed: str) -> list[str]:
        """Every alarm whose ALARM state asks the orchestrator to judge a rollback of `seed`."""
        return [self.errors_alarm(seed), self.lambda_errors_alarm(seed)]

    def log_group(self, seed: str) -> str:
        return f"/aws/lambda/{self.function(seed)}"

    def local_bucket(self, logical_id: str) -> str:
        """A bucket's name on the local platform (CloudFormation would generate one)."""
        return f"{self.stack}-{logical_id.lower()}"

    def topic_arn(self, topic: str, region: str, account: str) -> str:
        return f"arn:{partition(region)}:sns:{region}:{account}:{topic}"
