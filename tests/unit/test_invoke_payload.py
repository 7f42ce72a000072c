"""The worker protocol's event line (`feedbackctl.local.invoke.one_line`)."""

from __future__ import annotations

import json

import pytest

from feedbackctl.local.invoke import one_line


def test_a_payload_that_is_one_ascii_line_goes_as_it_is() -> None:
    payload = json.dumps({"body": '{"message": "caf\\u00e9"}', "n": [1, 2]}).encode()
    assert one_line(payload) is payload


@pytest.mark.parametrize(
    "payload",
    [
        b'{\n  "a": 1,\r\n  "b": [true, null]\n}',
        '{"a": 1, "b": [true, null], "c": "café"}'.encode(),
    ],
)
def test_other_json_is_encoded_again_on_one_ascii_line(payload: bytes) -> None:
    line = one_line(payload)
    assert line.isascii()
    assert b"\n" not in line
    assert b"\r" not in line
    assert json.loads(line) == json.loads(payload)


def test_an_empty_payload_is_the_empty_object() -> None:
    assert one_line(b"") == b"{}"
    assert one_line(b"  \n") == b"{}"


def test_a_payload_encoded_again_must_be_json() -> None:
    """Callers send JSON (the AWS endpoint refuses anything else first); what has to be
    encoded again and is not JSON raises."""
    with pytest.raises(json.JSONDecodeError, match="Expecting value"):
        one_line(b'{"a":\n')
