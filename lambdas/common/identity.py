"""Who wrote a feedback item, findable without a second copy of the address: its keyed hash.

`email_hash(address)` is HMAC-SHA256 of the normalised address (trimmed, lower-cased) under
the stage's key, a Secrets Manager secret (EMAIL_HASH_SECRET_ARN) read once per container. The
feedback table's `emailHash-index` is keyed by it, so `feedbackctl forget` finds one person's
items with a Query, never a scan; without the key a guessed address cannot be checked against
the index (a plain SHA-256 of an address can, by hashing candidate addresses).
"""

from __future__ import annotations

import hashlib
import hmac

import boto3

from lambdas.common.config import settings

_key: bytes | None = None


def normalise(address: str) -> str:
    """The form an address is hashed in: `Ada@Example.COM ` and `ada@example.com` are one."""
    return address.strip().lower()


def hash_with(key: bytes, address: str) -> str:
    """The keyed hash of `address` under `key` (hex)."""
    return hmac.new(key, normalise(address).encode("utf-8"), hashlib.sha256).hexdigest()


def key() -> bytes:
    """The stage's hashing key, read from Secrets Manager on first use in this container."""
    global _key  # noqa: PLW0603 - one read per container is the point
    if _key is None:
        arn = settings().require_email_hash_secret()
        answer = boto3.client("secretsmanager").get_secret_value(SecretId=arn)
        _key = str(answer["SecretString"]).encode("utf-8")
    return _key


def reset_key() -> None:
    """Forget the cached key (tests that create another secret)."""
    global _key  # noqa: PLW0603
    _key = None


def email_hash(address: str) -> str:
    """The keyed hash of `address` under this stage's key."""
    return hash_with(key(), address)
