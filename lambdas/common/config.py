"""Function settings read from the environment once per container.

The names are the platform's data contract: FEEDBACK_TABLE_NAME, ANALYTICS_TABLE_NAME,
LOG_LEVEL, RETENTION_DAYS (default 30), ALLOWED_ORIGINS (comma-separated), STAGE, and
EMAIL_HASH_SECRET_ARN (the key of the email hash, for create-feedback).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

DEFAULT_RETENTION_DAYS = 30
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class ConfigurationError(Exception):
    """The function's environment is missing a variable or holds a bad value."""


@dataclass(frozen=True)
class Settings:
    """What a handler needs to know about its deployment."""

    feedback_table: str
    analytics_table: str
    log_level: str
    retention_days: int
    allowed_origins: frozenset[str]
    stage: str
    email_hash_secret: str = ""

    def require_feedback_table(self) -> str:
        return _required(self.feedback_table, "FEEDBACK_TABLE_NAME")

    def require_analytics_table(self) -> str:
        return _required(self.analytics_table, "ANALYTICS_TABLE_NAME")

    def require_email_hash_secret(self) -> str:
        return _required(self.email_hash_secret, "EMAIL_HASH_SECRET_ARN")


def _required(value: str, name: str) -> str:
    if not value:
        raise ConfigurationError(f"environment variable {name} is not set")
    return value


def _retention_days(raw: str | None) -> int:
    if raw is None or raw.strip() == "":
        return DEFAULT_RETENTION_DAYS
    try:
        days = int(raw)
    except ValueError:
        raise ConfigurationError(
            f"RETENTION_DAYS must be a whole number of days, got {raw!r}"
        ) from None
    if days < 1:
        raise ConfigurationError(f"RETENTION_DAYS must be at least 1, got {days}")
    return days


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The settings of this container (cached: the environment never changes in a container)."""
    level = os.environ.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    origins = os.environ.get("ALLOWED_ORIGINS", "")
    return Settings(
        feedback_table=os.environ.get("FEEDBACK_TABLE_NAME", "").strip(),
        analytics_table=os.environ.get("ANALYTICS_TABLE_NAME", "").strip(),
        log_level=level if level in LOG_LEVELS else "INFO",
        retention_days=_retention_days(os.environ.get("RETENTION_DAYS")),
        allowed_origins=frozenset(o.strip().rstrip("/") for o in origins.split(",") if o.strip()),
        stage=os.environ.get("STAGE", "").strip(),
        email_hash_secret=os.environ.get("EMAIL_HASH_SECRET_ARN", "").strip(),
    )


def reload_settings() -> Settings:
    """Forget the cached settings and read the environment again (tests, local platform)."""
    settings.cache_clear()
    return settings()
