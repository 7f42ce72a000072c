"""STS and IAM verbs: who the caller is, and an IAM role's tags (None when it does not exist).

Over injected `sts` and `iam` clients.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from feedbackctl.aws import error_code


@dataclass(frozen=True)
class Caller:
    account: str
    arn: str


def caller(client: Any) -> Caller:
    answer = client.get_caller_identity()
    return Caller(str(answer["Account"]), str(answer["Arn"]))


def role_tags(client: Any, role_name: str) -> dict[str, str] | None:
    """The role's tags, or None when there is no such role (IAM's code NoSuchEntity)."""
    try:
        role = client.get_role(RoleName=role_name)["Role"]
    except Exception as exc:
        if error_code(exc) == "NoSuchEntity":
            return None
        raise
    return {t["Key"]: t["Value"] for t in role.get("Tags", [])}
