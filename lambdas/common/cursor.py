"""The opaque pagination cursor of GET /feedback.

A cursor is the position of the last item of a page (createdAt, feedbackId) as base64url JSON.
Decoding validates it strictly (shape, UUID, timestamp format) and rebuilds the index key with
the partition fixed by the server (the active list, or the filter's rating, sentiment or both), so a
forged cursor can only move within the public list, never read other keys; anything malformed
is a CursorError (a 400, never a 500).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

MAX_CURSOR_LENGTH = 200
ACTIVE_STATUS = "active"
# Matched with fullmatch and ASCII digits: "$" admits a trailing "\n" and "\d" admits every
# script's digits, so "<cursor>\n" or a "\u0662..." timestamp would pass as issued by us.
_UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
_TIMESTAMP_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")
_B64URL_RE = re.compile(r"[A-Za-z0-9_-]+")


class CursorError(ValueError):
    """The cursor was not issued by this API (malformed, truncated or tampered with)."""


@dataclass(frozen=True)
class Position:
    """Where the previous page ended."""

    created_at: str
    feedback_id: str

    def exclusive_start_key(
        self, attribute: str = "status", value: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """The index key to start after, in the partition `attribute = value` (the active list)."""
        return {
            "feedbackId": {"S": self.feedback_id},
            attribute: value or {"S": ACTIVE_STATUS},
            "createdAt": {"S": self.created_at},
        }


def encode(position: Position) -> str:
    payload = json.dumps(
        {"c": position.created_at, "i": position.feedback_id}, separators=(",", ":"), sort_keys=True
    )
    return base64.urlsafe_b64encode(payload.encode("ascii")).decode("ascii").rstrip("=")


def decode(cursor: str) -> Position:
    """Parse a cursor from a query string; raise CursorError for anything not issued by us."""
    if not cursor or len(cursor) > MAX_CURSOR_LENGTH or not _B64URL_RE.fullmatch(cursor):
        raise CursorError("cursor is malformed")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw.decode("ascii"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise CursorError("cursor is malformed") from None
    if not isinstance(data, dict) or set(data) != {"c", "i"}:
        raise CursorError("cursor is malformed")
    created_at, feedback_id = data["c"], data["i"]
    if not isinstance(created_at, str) or not _TIMESTAMP_RE.fullmatch(created_at):
        raise CursorError("cursor is malformed")
    if not isinstance(feedback_id, str) or not _UUID_RE.fullmatch(feedback_id):
        raise CursorError("cursor is malformed")
    return Position(created_at=created_at, feedback_id=feedback_id)
