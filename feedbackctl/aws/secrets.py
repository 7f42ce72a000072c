"""Secrets Manager verbs: read a secret's string value.

Over an injected `secretsmanager` client.
"""

from __future__ import annotations

from typing import Any


def secret_string(client: Any, secret_id: str) -> str:
    """GetSecretValue's SecretString (name or ARN)."""
    return str(client.get_secret_value(SecretId=secret_id)["SecretString"])
