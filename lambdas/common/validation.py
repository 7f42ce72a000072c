"""The rules for a feedback submission, stated once.

`validate_feedback` enforces them in the handler; `feedback_json_schema` renders the same rules
as the JSON Schema (draft 4) model API Gateway validates against at the edge. Both read the
constants below, and tests run one table of cases through both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

MAX_BODY_BYTES = 10 * 1024
NAME_MAX = 100
EMAIL_MAX = 254
MESSAGE_MAX = 2000
RATING_MIN = 1
RATING_MAX = 5
FIELDS = ("name", "email", "rating", "message")

# Control characters are rejected, never silently stripped: what is stored is what was sent.
# A name is one line (no control characters at all); a message may hold tab, LF and CR.
# Forbidden characters are stated as a class that must not occur anywhere ("not": {"pattern"}),
# because an anchored "^[^...]*$" lets a trailing newline through in Python and Java regexes.
NAME_FORBIDDEN = "[\\u0000-\\u001f\\u007f-\\u009f]"
MESSAGE_FORBIDDEN = "[\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]"
EMAIL_FORBIDDEN = "[\\s\\u0000-\\u001f\\u007f-\\u009f]"
HAS_VISIBLE = "\\S"
EMAIL_PATTERN = (
    "^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
    "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    "(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)

_NAME_FORBIDDEN_RE = re.compile(NAME_FORBIDDEN)
_MESSAGE_FORBIDDEN_RE = re.compile(MESSAGE_FORBIDDEN)
_EMAIL_FORBIDDEN_RE = re.compile(EMAIL_FORBIDDEN)
_HAS_VISIBLE_RE = re.compile(HAS_VISIBLE)
_EMAIL_RE = re.compile(EMAIL_PATTERN)


@dataclass(frozen=True)
class FieldError:
    """One problem with one field, as returned in the 400 body's `details`."""

    field: str
    problem: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "problem": self.problem}


@dataclass(frozen=True)
class Feedback:
    """A validated submission, text trimmed of surrounding whitespace."""

    name: str
    email: str
    rating: int
    message: str

    def canonical(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "email": self.email,
            "rating": self.rating,
            "message": self.message,
        }


def _check_text(
    body: dict[str, Any], field: str, max_len: int, forbidden: re.Pattern[str]
) -> list[FieldError]:
    value = body[field]
    if not isinstance(value, str):
        return [FieldError(field, "must be a string")]
    if len(value) > max_len:
        return [FieldError(field, f"must be at most {max_len} characters")]
    if forbidden.search(value):
        return [FieldError(field, "must not contain control characters")]
    if not _HAS_VISIBLE_RE.search(value):
        return [FieldError(field, "must not be empty")]
    return []


def _check_email(body: dict[str, Any]) -> list[FieldError]:
    value = body["email"]
    if not isinstance(value, str):
        return [FieldError("email", "must be a string")]
    if len(value) > EMAIL_MAX:
        return [FieldError("email", f"must be at most {EMAIL_MAX} characters")]
    if _EMAIL_FORBIDDEN_RE.search(value) or not _EMAIL_RE.search(value):
        return [FieldError("email", "must be a valid email address")]
    return []


def _check_rating(body: dict[str, Any]) -> list[FieldError]:
    value = body["rating"]
    # bool is a subclass of int in Python; JSON true is not a rating.
    if isinstance(value, bool) or not isinstance(value, int):
        return [FieldError("rating", "must be an integer")]
    if not RATING_MIN <= value <= RATING_MAX:
        return [FieldError("rating", f"must be between {RATING_MIN} and {RATING_MAX}")]
    return []


def validate_feedback(body: Any) -> tuple[Feedback | None, list[FieldError]]:
    """Check a parsed JSON body; return the trimmed submission or every field error found."""
    if not isinstance(body, dict):
        return None, [FieldError("body", "must be a JSON object")]
    errors = [FieldError(k, "unknown field") for k in sorted(body) if k not in FIELDS]
    errors += [FieldError(f, "is required") for f in FIELDS if f not in body]
    if "name" in body:
        errors += _check_text(body, "name", NAME_MAX, _NAME_FORBIDDEN_RE)
    if "email" in body:
        errors += _check_email(body)
    if "rating" in body:
        errors += _check_rating(body)
    if "message" in body:
        errors += _check_text(body, "message", MESSAGE_MAX, _MESSAGE_FORBIDDEN_RE)
    if errors:
        return None, errors
    return (
        Feedback(
            name=body["name"].strip(),
            email=body["email"],
            rating=body["rating"],
            message=body["message"].strip(),
        ),
        [],
    )


def _text_schema(max_len: int, forbidden: str) -> dict[str, Any]:
    return {
        "type": "string",
        "maxLength": max_len,
        "pattern": HAS_VISIBLE,
        "not": {"pattern": forbidden},
    }


def feedback_json_schema() -> dict[str, Any]:
    """The POST /feedback request model for API Gateway (JSON Schema draft 4)."""
    return {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "title": "FeedbackSubmission",
        "type": "object",
        "additionalProperties": False,
        "required": list(FIELDS),
        "properties": {
            "name": _text_schema(NAME_MAX, NAME_FORBIDDEN),
            "email": {
                "type": "string",
                "maxLength": EMAIL_MAX,
                "pattern": EMAIL_PATTERN,
                "not": {"pattern": EMAIL_FORBIDDEN},
            },
            "rating": {"type": "integer", "minimum": RATING_MIN, "maximum": RATING_MAX},
            "message": _text_schema(MESSAGE_MAX, MESSAGE_FORBIDDEN),
        },
    }
