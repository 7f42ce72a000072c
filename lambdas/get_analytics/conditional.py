"""Conditional GET for the analytics body: a strong ETag of the exact bytes sent, and the
`If-None-Match` test (RFC 9110 §8.8.3, §13.1.2). Pure code, standard library only.

A header that does not parse as `*` or a list of entity tags is treated as absent (no match:
the full body), never as an error.
"""

from __future__ import annotations

import hashlib

# Revalidate on every use: any cache (the browser, a CloudFront behaviour with Minimum TTL 0)
# may keep the body but must ask the function before serving it again (docs/api.md).
CACHE_CONTROL = "no-cache"
_ETAG_CHARS = frozenset(chr(c) for c in range(0x21, 0x7F)) - {'"'}  # etagc, ASCII only
_SPACE = " \t"


def strong_etag(body: str) -> str:
    """A strong validator of `body`: 128 bits of its SHA-256, quoted."""
    return '"' + hashlib.sha256(body.encode("utf-8")).hexdigest()[:32] + '"'


def entity_tags(header: str) -> list[str] | None:
    """The opaque tags of an `If-None-Match` list (weak ones with `W/`), `["*"]` for `*`, or
    None when the value is not one of those forms."""
    text = header.strip(_SPACE)
    if text == "*":
        return ["*"]
    tags: list[str] = []
    position, end = 0, len(text)
    while position < end:
        if text[position] in _SPACE or text[position] == ",":
            position += 1  # list separators and the empty elements RFC 9110 §5.6.1 allows
            continue
        start = position
        if text.startswith("W/", position):
            position += 2
        if position >= end or text[position] != '"':
            return None
        close = text.find('"', position + 1)
        if close < 0 or not set(text[position + 1 : close]) <= _ETAG_CHARS:
            return None
        tags.append(text[start : close + 1])
        position = close + 1
        while position < end and text[position] in _SPACE:
            position += 1
        if position < end and text[position] != ",":
            return None  # two tags without a comma, or text after a tag
    return tags or None


def none_match(header: str | None, etag: str) -> bool:
    """Whether a GET carrying `If-None-Match: header` is answered 304 for the current `etag`:
    `*`, or any listed tag equal to it by weak comparison (`W/` ignored, as §13.1.2 says)."""
    if not header:
        return False
    tags = entity_tags(header)
    if tags is None:
        return False
    return "*" in tags or any(tag.removeprefix("W/") == etag for tag in tags)
