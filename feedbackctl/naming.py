"""Physical names of a stage's resources, derived from its stack name; the `<stack>-<function>`
rule is written here once (`function_name`), for the CLI and the engine alike.

The templates name these resources the same way, so commands can find them without reading
stack outputs (which the local platform does not have). Standard library only: this module
ships in the rollback orchestrator's zip (packaging.py), where the engine maps physical
function names back to seeds with the same rule; ARNs take their partition as a value
(feedbackctl.aws.partition knows it).
"""

from __future__ import annotations

from dataclasses import dataclass


def function_name(stack: str, seed: str) -> str:
    """The physical name of the seed function `seed` in `stack` (`<stack>-<seed>`)."""
    return f"{stack}-{seed}"


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
    def email_hash_key(self) -> str:
        """The Secrets Manager secret keying the email hash (lambdas/common/identity.py)."""
        return f"{self.stack}-email-hash-key"

    @property
    def alarms_topic(self) -> str:
        return f"{self.stack}-alarms"

    @property
    def notifications_topic(self) -> str:
        return f"{self.stack}-notifications"

    def function(self, seed: str) -> str:
        return function_name(self.stack, seed)

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

    def topic_arn(self, topic: str, region: str, account: str, *, partition: str) -> str:
        """The ARN of `topic`; `partition` is the region's (feedbackctl.aws.partition)."""
        return f"arn:{partition}:sns:{region}:{account}:{topic}"
