"""The rules for a feedback submission, stated once.

`validate_feedback` enforces them in the handler; `feedback_json_schema` renders the same rules
as the JSON Schema (draft 4) model API Gateway validates against at the edge. Both read the
constants below, and tests run one table of cases through both. The schema says what a draft 4
`pattern` can say over UTF-16 strings (Basic Multilingual Plane classes only); the handler
enforces every rule, including the few astral ones the schema cannot state (see docs/api.md).
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
# Unicode hygiene, beyond control characters (docs/api.md, "What is rejected and why"):
# - An unpaired UTF-16 surrogate is not a character: it cannot be encoded as UTF-8, so it can be
#   neither stored nor echoed. In a Python str any surrogate code point is unpaired (json.loads
#   joins escaped pairs); the schema's pattern is written for UTF-16 strings (JavaScript, Java),
#   where the halves of a valid pair are surrogates too and must not match.
# - Bidirectional embeddings, overrides and isolates reorder what a reader sees (the "Trojan
#   Source" trick: a name that displays as something it is not). The marks LRM/RLM/ALM are
#   ordinary right-to-left text and stay allowed.
# - Noncharacters are reserved for a program's internal use and never interchanged.
# - Invisible characters (zero-width space/joiners, word joiner, BOM, fillers, variation
#   selectors...) are allowed inside text (ZWJ builds emoji, ZWNJ shapes Persian), but they do
#   not count as the visible character a name or message needs.
UNPAIRED_SURROGATE = (
    "[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?:^|[^\\ud800-\\udbff])[\\udc00-\\udfff]"
)
BIDI_CONTROL = "[\\u202a-\\u202e\\u2066-\\u2069]"
NONCHARACTER = "[\\ufdd0-\\ufdef\\ufffe\\uffff]"  # the BMP ones; the handler adds U+xFFFE/F
INVISIBLE = (
    "\\u00ad\\u034f\\u061c\\u115f\\u1160\\u17b4\\u17b5\\u180b-\\u180f\\u200b-\\u200f"
    "\\u2060-\\u2064\\u206a-\\u206f\\u2800\\u3164\\ufe00-\\ufe0f\\ufeff\\uffa0"
)
HAS_VISIBLE = f"[^\\s{INVISIBLE}]"
EMAIL_PATTERN = (
    "^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
    "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    "(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)

_NAME_FORBIDDEN_RE = re.compile(NAME_FORBIDDEN)
_MESSAGE_FORBIDDEN_RE = re.compile(MESSAGE_FORBIDDEN)
_EMAIL_FORBIDDEN_RE = re.compile(EMAIL_FORBIDDEN)
# The handler's own forms of the Unicode rules: Python strings hold code points, so a surrogate
# anywhere is unpaired, and astral noncharacters and tag characters (invisible; they only
# modify a preceding emoji) can be named, which a UTF-16 schema pattern cannot do portably.
_SURROGATE_RE = re.compile("[\\ud800-\\udfff]")
_BIDI_CONTROL_RE = re.compile(BIDI_CONTROL)
_NONCHARACTER_RE = re.compile(
    "[\\ufdd0-\\ufdef"
    + "".join(f"\\U{plane << 16 | 0xFFFE:08x}\\U{plane << 16 | 0xFFFF:08x}" for plane in range(17))
    + "]"
)
_HAS_VISIBLE_RE = re.compile(f"[^\\s{INVISIBLE}\\U000e0000-\\U000e007f]")
FIELD_LABEL_MAX = 100
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


def field_label(key: str) -> str:
    """A client's field name as it can be shown in `details`: whatever is not printable (controls,
    surrogates, bidi and invisible format characters, noncharacters) escaped as \\uXXXX, and
    cut short, so an error response is always valid UTF-8 and displays what it names."""
    label = "".join(
        c if c.isprintable() else (f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}")
        for c in key[: FIELD_LABEL_MAX + 1]
    )
    return label if len(label) <= FIELD_LABEL_MAX else label[: FIELD_LABEL_MAX - 1] + "…"


def text_problem(value: str, forbidden: re.Pattern[str]) -> str | None:
    """The first thing wrong with the characters of a text field, or None."""
    if _SURROGATE_RE.search(value):
        return "must not contain unpaired surrogates"
    if forbidden.search(value):
        return "must not contain control characters"
    if _BIDI_CONTROL_RE.search(value):
        return "must not contain bidirectional control characters"
    if _NONCHARACTER_RE.search(value):
        return "must not contain Unicode noncharacters"
    if not _HAS_VISIBLE_RE.search(value):
        return "must not be empty"
    return None


def _check_text(
    body: dict[str, Any], field: str, max_len: int, forbidden: re.Pattern[str]
) -> list[FieldError]:
    value = body[field]
    if not isinstance(value, str):
        return [FieldError(field, "must be a string")]
    if len(value) > max_len:
        return [FieldError(field, f"must be at most {max_len} characters")]
    problem = text_problem(value, forbidden)
    return [FieldError(field, problem)] if problem else []


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
    errors = [FieldError(field_label(k), "unknown field") for k in sorted(body) if k not in FIELDS]
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
    # One "not" per class, so the edge's error names the rule that was broken.
    return {
        "type": "string",
        "maxLength": max_len,
        "pattern": HAS_VISIBLE,
        "not": {"pattern": forbidden},
        "allOf": [
            {"not": {"pattern": UNPAIRED_SURROGATE}},
            {"not": {"pattern": BIDI_CONTROL}},
            {"not": {"pattern": NONCHARACTER}},
        ],
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
