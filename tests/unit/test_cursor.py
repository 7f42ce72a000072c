"""The pagination cursor (lambdas.common.cursor), pure."""

from __future__ import annotations

import pytest

from lambdas.common.cursor import CursorError, Position, decode, encode

POSITION = Position("2026-11-25T10:00:00.123Z", "2b9a4c6e-1f3d-4a5b-8c7d-9e0f1a2b3c4d")


def test_round_trip():
    assert decode(encode(POSITION)) == POSITION


def test_cursor_is_url_safe_and_opaque():
    token = encode(POSITION)
    assert not set(token) & set("=+/")
    assert "2026" not in token


def test_start_key_pins_the_public_partition():
    assert decode(encode(POSITION)).exclusive_start_key()["status"] == {"S": "active"}


@pytest.mark.parametrize("token", ["", "!!!", "a" * 201, encode(POSITION)[:-3], "eyJ9"])
def test_garbage_is_rejected(token):
    with pytest.raises(CursorError):
        decode(token)


@pytest.mark.parametrize(
    "position",
    [
        Position("2026-11-25", POSITION.feedback_id),
        Position(POSITION.created_at, "not-a-uuid"),
        Position(POSITION.created_at, "2b9a4c6e-1f3d-1a5b-8c7d-9e0f1a2b3c4d"),  # not version 4
    ],
)
def test_well_encoded_but_invalid_fields_are_rejected(position):
    with pytest.raises(CursorError):
        decode(encode(position))
