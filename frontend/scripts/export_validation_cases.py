"""Writes src/validation.cases.json: the submission-rule cases with the answers of the Python rules.

Every case is run through `lambdas.common.validation.validate_feedback`, so the expected errors
are the handler's own. The table is the one `tests/unit/test_validation.py` parametrizes, plus
cases where JavaScript and Python differ by default (code points vs UTF-16, `\\s`, `strip`).
Run from the repository root: `.venv/bin/python frontend/scripts/export_validation_cases.py`
(`--check` exits 1 when the committed file is out of date).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "frontend" / "src" / "validation.cases.json"
sys.path.insert(0, str(ROOT))

from lambdas.common import validation as rules  # noqa: E402

VALID: dict[str, Any] = {
    "name": "Ada",
    "email": "ada@example.com",
    "rating": 3,
    "message": "Fine.",
}
LABEL_63 = "d" * 63
EMAIL_254 = "a" * 64 + "@" + ".".join([LABEL_63, LABEL_63, "e" * 61]) + ".io"


def _python_test_cases() -> list[tuple[str, str, dict[str, Any]]]:
    """The parametrized tables of tests/unit/test_validation.py, read from its marks."""
    from tests.unit import test_validation as module

    cases: list[tuple[str, str, dict[str, Any]]] = []
    tables = (module.test_field_problems_are_named, module.test_names_at_the_limits_are_accepted)
    for test in tables:
        source = f"tests/unit/test_validation.py::{test.__name__}"
        for mark in getattr(test, "pytestmark", []):
            if mark.name != "parametrize":
                continue
            argnames = mark.args[0]
            names = argnames.split(",") if isinstance(argnames, str) else list(argnames)
            names = [n.strip() for n in names]
            for values in mark.args[1]:
                row = dict(zip(names, values if len(names) > 1 else [values], strict=True))
                field = row.get("field", "name")
                case_id = f"{field}={row['value']!r:.40}"
                cases.append((source, case_id, {**VALID, field: row["value"]}))
    return cases


def _extra_cases() -> list[tuple[str, Any]]:
    text_cases: list[tuple[str, Any]] = [
        ("name", "  Ada "),
        ("name", "   "),
        ("name", "\u00a0\u3000"),
        ("name", "\ufeff"),  # not whitespace in Python: a visible character
        ("name", "\u200b"),
        ("name", "\u2028"),
        ("name", "\x1c"),
        ("name", "\x85"),
        ("name", "a\nb"),
        ("name", "😀" * 100),  # 100 code points, 200 UTF-16 units
        ("name", "😀" * 101),
        ("name", None),
        ("name", 7),
        ("message", ""),
        ("message", " \t\r\n "),
        ("message", "line one\nline two\r\n\ttabbed"),
        ("message", "a\x0bb"),
        ("message", "a\x0cb"),
        ("message", "a\x7fb"),
        ("message", "a\u2028b"),
        ("message", "m" * 2000),
        ("message", "😀" * 2000),
        ("message", "😀" * 2001),
        ("message", "<script>alert(1)</script>"),
        ("message", ["not", "text"]),
        ("email", "ada@example"),
        ("email", "ada @example.com"),
        ("email", " ada@example.com"),
        ("email", "ada@example.com\n"),
        ("email", "ada@-example.com"),
        ("email", "ada@exa_mple.com"),
        ("email", "ada@example..com"),
        ("email", "ädä@example.com"),
        ("email", "o'brien+tag@mail.example.co.uk"),
        ("email", "a@b.co"),
        ("email", EMAIL_254),
        ("email", "a" + EMAIL_254),
        ("email", ""),
        ("rating", 1),
        ("rating", 5),
        ("rating", 6),
        ("rating", -1),
        ("rating", 4.5),
        ("rating", 5.0),
        ("rating", "5"),
        ("rating", None),
        ("rating", 10**20),
    ]
    cases: list[tuple[str, Any]] = [(f"{f}={v!r:.40}", {**VALID, f: v}) for f, v in text_cases]
    cases += [
        ("valid", dict(VALID)),
        ("every field wrong", {"name": "", "email": "x", "rating": 0, "message": "\x00"}),
        ("unknown fields", {**VALID, "zeta": 1, "alpha": 2}),
        ("missing fields", {"rating": 3}),
        ("empty object", {}),
        ("not an object (list)", [VALID]),
        ("not an object (null)", None),
        ("not an object (string)", "hello"),
    ]
    return cases


def _has_integral_float(value: Any) -> bool:
    """JSON.parse reads 5.0 as 5: such a case cannot reach JavaScript as Python sent it."""
    if isinstance(value, float):
        return value.is_integer()
    if isinstance(value, dict):
        return any(_has_integral_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_integral_float(v) for v in value)
    return False


def _case(source: str, case_id: str, body: Any) -> dict[str, Any]:
    feedback, errors = rules.validate_feedback(body)
    return {
        "id": case_id,
        "source": source,
        "body": body,
        "jsonSafe": not _has_integral_float(body),
        "errors": [e.as_dict() for e in errors],
        "trimmed": (
            {"name": feedback.name, "message": feedback.message} if feedback is not None else None
        ),
    }


def python_whitespace() -> list[int]:
    """Every code point Python's `\\s` (str patterns) matches: the complement of HAS_VISIBLE."""
    space = re.compile(r"\s")
    return [c for c in range(0x110000) if space.match(chr(c))]


def build() -> dict[str, Any]:
    cases = [_case(src, cid, body) for src, cid, body in _python_test_cases()]
    here = "frontend/scripts/export_validation_cases.py"
    cases += [_case(here, cid, body) for cid, body in _extra_cases()]
    return {
        "generatedBy": here,
        "constants": {
            "NAME_MAX": rules.NAME_MAX,
            "EMAIL_MAX": rules.EMAIL_MAX,
            "MESSAGE_MAX": rules.MESSAGE_MAX,
            "RATING_MIN": rules.RATING_MIN,
            "RATING_MAX": rules.RATING_MAX,
            "MAX_BODY_BYTES": rules.MAX_BODY_BYTES,
            "FIELDS": list(rules.FIELDS),
            "NAME_FORBIDDEN": rules.NAME_FORBIDDEN,
            "MESSAGE_FORBIDDEN": rules.MESSAGE_FORBIDDEN,
            "EMAIL_PATTERN": rules.EMAIL_PATTERN,
        },
        "pythonWhitespace": python_whitespace(),
        "cases": cases,
    }


def render(document: dict[str, Any]) -> str:
    """Stable JSON with one case per line, so a rule change shows as a readable diff."""
    head = {k: v for k, v in document.items() if k != "cases"}
    lines = [json.dumps(head, indent=1)[:-2] + ","]
    lines.append(' "cases": [')
    cases = [json.dumps(c, separators=(",", ":")) for c in document["cases"]]
    lines.append(",\n".join(f"  {c}" for c in cases))
    lines.append(" ]\n}\n")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    args = parser.parse_args()
    text = render(build())
    if args.check:
        current = OUT.read_text() if OUT.exists() else ""
        if current != text:
            sys.stderr.write(f"{OUT.relative_to(ROOT)} is out of date: run {__file__}\n")
            return 1
        return 0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    sys.stderr.write(f"wrote {OUT.relative_to(ROOT)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
