"""The one exception family for errors a user can act on.

Every such error carries what we were doing, what went wrong (AWS's words when AWS said it)
and what to try next; the CLI prints it as one line and exits with its code. Anything that is
not a FeedbackctlError is a bug and shows a traceback.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_REFUSED = (
    3  # refused by a safety rule (latch, cooldown, failed health check, production guard)
)


class FeedbackctlError(Exception):
    """An error the user can act on: no traceback, one clear line, a hint and an exit code."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, *, hint: str | None = None, doing: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.doing = doing

    def __str__(self) -> str:
        head = f"{self.doing}: {self.message}" if self.doing else self.message
        return f"{head} ({self.hint})" if self.hint else head


class UsageError(FeedbackctlError):
    """Bad command-line input or configuration the user typed or wrote."""

    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """feedbackctl.toml is missing, malformed or names an unknown stage or key."""


class RefusedError(FeedbackctlError):
    """A safety rule refused the operation (it did nothing)."""

    exit_code = EXIT_REFUSED
