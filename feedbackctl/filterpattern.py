"""The CloudWatch Logs filter pattern language: parse a pattern once, match it against messages.

Terms (`ERROR -WARN`, `?ERROR ?WARN`, `"a phrase"`), regex (`%ERR%`), JSON (`{ $.level = "ERROR"
&& $.latency > 500 }`) and space-delimited (`[ip, ..., status = 5*]`) patterns, as AWS documents
them; metric filters and `feedbackctl logs` share it. Decisions and gaps: docs/local-alarms.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any, NoReturn

__all__ = ["FilterPattern", "FilterPatternError", "Match", "compile_pattern"]

_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\Z")
# AWS: a property name is alphanumeric plus '-' and '_'.
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
# Unquoted JSON/delimited values: AWS's own examples use `123.123.*` and `4*` unquoted; '@', '$',
# '\' and the like need quotes.
_BARE_VALUE_CHARS = _NAME_CHARS | frozenset(".*+:/")
_OPERATORS = ("!=", "<=", ">=", "=", "<", ">")
_MAX_REGEXES = 2  # AWS's quota per JSON or space-delimited pattern


class FilterPatternError(ValueError):
    """An invalid filter pattern; `position` is the 0-based index in `pattern` of the problem."""

    def __init__(self, reason: str, pattern: str, position: int) -> None:
        self.reason = reason
        self.pattern = pattern
        self.position = position
        super().__init__(f"{reason} (at position {position})")


class Match:
    """A matched message; `value(selector)` reads `$.a.b[0]` (JSON) or `$name`/`$3` (delimited)."""

    def __init__(
        self, message: str, document: Any = None, fields: Mapping[str, str] | None = None
    ) -> None:
        self.message = message
        self._document = document
        self.fields: Mapping[str, str] = fields or {}

    @cached_property
    def document(self) -> Any:
        """The message as a JSON object, or None when it is not one."""
        if self._document is not None:
            return self._document
        return _json_object(self.message)

    def value(self, selector: str) -> Any:
        """The selected value, or None when the message has no such field."""
        if selector.startswith(("$.", "$[")):
            path = _parse_selector_text(selector)
            found, value = _resolve(self.document, path)
            return value if found else None
        if selector.startswith("$"):
            return self.fields.get(selector[1:])
        raise ValueError(f"a field selector starts with '$': {selector!r}")


class FilterPattern:
    """A compiled pattern. `kind` is one of: all, terms, regex, json, delimited."""

    kind = "all"

    def __init__(self, text: str) -> None:
        self.text = text

    def match(self, message: str) -> Match | None:
        return Match(message)

    def matches(self, message: str) -> bool:
        return self.match(message) is not None

    def __repr__(self) -> str:
        return f"compile_pattern({self.text!r})"


def compile_pattern(text: str) -> FilterPattern:
    """Parse `text`; raise FilterPatternError naming the position of the first problem."""
    stripped = text.strip()
    if not stripped:
        return FilterPattern(text)
    scanner = _Scanner(text)
    scanner.skip_ws()
    if stripped.startswith("{"):
        return _JsonPattern(text, _parse_json(scanner))
    if stripped.startswith("["):
        return _parse_delimited(text, scanner)
    if stripped.startswith("%") and len(stripped) > 1 and stripped.endswith("%"):
        regex = scanner.read_regex()
        scanner.skip_ws()
        if not scanner.eof():
            scanner.fail("a regular expression must be the whole pattern")
        return _RegexPattern(text, regex)
    return _parse_terms(text, scanner)


# --- scanning ------------------------------------------------------------------------------


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.regexes = 0

    def eof(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def at(self, token: str) -> bool:
        return self.text.startswith(token, self.pos)

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def fail(self, reason: str, position: int | None = None) -> NoReturn:
        raise FilterPatternError(reason, self.text, self.pos if position is None else position)

    def expect(self, token: str, what: str) -> None:
        self.skip_ws()
        if not self.at(token):
            found = repr(self.peek()) if not self.eof() else "the end of the pattern"
            self.fail(f"expected {what}, found {found}")
        self.pos += len(token)

    def read_quoted(self) -> _Text:
        """A double-quoted string; a backslash escapes the next character (`\\*` is a literal *)."""
        start = self.pos
        self.pos += 1
        chars: list[tuple[str, bool]] = []
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == "\\" and self.pos + 1 < len(self.text):
                chars.append((self.text[self.pos + 1], True))
                self.pos += 2
                continue
            if ch == '"':
                self.pos += 1
                return _Text(chars)
            chars.append((ch, False))
            self.pos += 1
        self.fail("unterminated quoted string", start)

    def read_regex(self) -> re.Pattern[str]:
        start = self.pos
        end = self.pos + 1
        while end < len(self.text) and not (self.text[end] == "%" and self.text[end - 1] != "\\"):
            end += 1
        if end >= len(self.text):
            self.fail("unterminated regular expression (no closing '%')", start)
        body = self.text[start + 1 : end].replace("\\%", "%")
        if "(" in body or ")" in body:
            # AWS rejects them too: its regex dialect has no groups.
            self.fail("'(' and ')' are not allowed in a filter pattern regex", start)
        self.regexes += 1
        if self.regexes > _MAX_REGEXES:
            self.fail(f"at most {_MAX_REGEXES} regular expressions are allowed per pattern", start)
        try:
            compiled = re.compile(body)
        except re.error as exc:
            self.fail(f"invalid regular expression: {exc}", start)
        self.pos = end + 1
        return compiled

    def read_run(self, allowed: frozenset[str]) -> str:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] in allowed:
            self.pos += 1
        return self.text[start : self.pos]


@dataclass(frozen=True)
class _Text:
    """A string value as written: each character with whether it was backslash-escaped."""

    chars: list[tuple[str, bool]]

    @property
    def plain(self) -> str:
        return "".join(ch for ch, _ in self.chars)

    @cached_property
    def matcher(self) -> Callable[[str], bool]:
        """Exact match, with an unescaped '*' at the start or end as a wildcard (AWS: `*Event`,
        `Event*`, `*html*`; a '*' in the middle is literal)."""
        chars = self.chars
        if len(chars) == 1 and chars[0] == ("*", False):
            return lambda _value: True
        lead = bool(chars) and chars[0] == ("*", False)
        trail = len(chars) > 1 and chars[-1] == ("*", False)
        core = "".join(ch for ch, _ in chars[int(lead) : len(chars) - int(trail)])
        if lead and trail:
            return lambda value: core in value
        if lead:
            return lambda value: value.endswith(core)
        if trail:
            return lambda value: value.startswith(core)
        return lambda value: value == core


# --- term patterns -------------------------------------------------------------------------


class _TermPattern(FilterPattern):
    kind = "terms"

    def __init__(
        self, text: str, required: list[str], optional: list[str], excluded: list[str]
    ) -> None:
        super().__init__(text)
        self.required = required
        self.optional = optional
        self.excluded = excluded

    def match(self, message: str) -> Match | None:
        if not all(term in message for term in self.required):
            return None
        if self.optional and not any(term in message for term in self.optional):
            return None
        if any(term in message for term in self.excluded):
            return None
        return Match(message)


def _parse_terms(text: str, sc: _Scanner) -> FilterPattern:
    """Space-separated terms: plain ones must all appear, `?` ones at least one, `-` ones none."""
    groups: dict[str, list[str]] = {"": [], "?": [], "-": []}
    while True:
        sc.skip_ws()
        if sc.eof():
            break
        prefix = sc.peek() if sc.peek() in "?-" else ""
        prefix_at = sc.pos
        sc.pos += len(prefix)
        if prefix:
            sc.skip_ws()  # AWS's own example writes `"ERROR" - "Exiting"`
        if sc.eof():
            sc.fail(f"'{prefix}' must be followed by a term", prefix_at)
        if sc.peek() == '"':
            groups[prefix].append(sc.read_quoted().plain)
            continue
        if sc.peek() == "%":
            sc.read_regex()  # reports an unterminated or invalid regex first
            sc.fail("a regular expression must be the whole pattern", sc.pos)
        if sc.peek() in "{[":
            sc.fail(f"{sc.peek()!r} may only start a JSON or space-delimited pattern")
        start = sc.pos
        while not sc.eof() and not sc.peek().isspace() and sc.peek() != '"':
            sc.pos += 1
        word = text[start : sc.pos]
        bad = next((i for i, ch in enumerate(word) if not (ch.isalnum() or ch == "_")), None)
        if bad is not None:
            sc.fail(
                f"term {word!r} contains {word[bad]!r}: a term with characters other than "
                "letters, digits and '_' must be in double quotes",
                start + bad,
            )
        groups[prefix].append(word)
    return _TermPattern(text, groups[""], groups["?"], groups["-"])


class _RegexPattern(FilterPattern):
    kind = "regex"

    def __init__(self, text: str, regex: re.Pattern[str]) -> None:
        super().__init__(text)
        self.regex = regex

    def match(self, message: str) -> Match | None:
        return Match(message) if self.regex.search(message) else None


# --- values shared by JSON and space-delimited conditions -----------------------------------


@dataclass(frozen=True)
class _Value:
    """The right-hand side of a comparison: a number, a (wildcard) string or a regex."""

    raw: str
    number: float | None = None
    text: _Text | None = None
    regex: re.Pattern[str] | None = None

    def equals(self, value: Any) -> bool:
        """`=` on a JSON scalar (str or number) or a delimited field (str)."""
        if self.regex is not None:
            return _is_scalar(value) and bool(self.regex.search(_scalar_text(value)))
        if self.number is not None:
            if _is_number(value):
                return bool(value == self.number)
            if isinstance(value, str):
                number = _as_number(value)
                return number == self.number if number is not None else value == self.raw
            return False
        assert self.text is not None
        return _is_scalar(value) and self.text.matcher(_scalar_text(value))

    def compare(self, op: str, value: Any) -> bool:
        if op == "=":
            return self.equals(value)
        if op == "!=":
            return _is_scalar(value) and not self.equals(value)
        number = value if _is_number(value) else None
        if isinstance(value, str):
            number = _as_number(value)
        if number is None or self.number is None:
            return False
        return bool(_NUMERIC[op](number, self.number))


_NUMERIC: dict[str, Callable[[float, float], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_scalar(value: Any) -> bool:
    # AWS: "The SELECTOR must point to a value node (string or number)".
    return isinstance(value, str) or _is_number(value)


def _scalar_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _as_number(text: str) -> float | None:
    return float(text) if _NUMBER_RE.match(text.strip()) else None


def _read_operator(sc: _Scanner) -> str | None:
    sc.skip_ws()
    for op in _OPERATORS:
        if sc.at(op):
            sc.pos += len(op)
            return op
    return None


def _read_value(sc: _Scanner, op: str) -> _Value:
    sc.skip_ws()
    start = sc.pos
    if sc.peek() == '"':
        text = sc.read_quoted()
        value = _Value(raw=text.plain, text=text)
    elif sc.peek() == "%":
        regex = sc.read_regex()
        value = _Value(raw=regex.pattern, regex=regex)
    else:
        raw = sc.read_run(_BARE_VALUE_CHARS)
        if not raw:
            found = repr(sc.peek()) if not sc.eof() else "the end of the pattern"
            sc.fail(f"expected a value after {op!r}, found {found} (quote values with symbols)")
        if _NUMBER_RE.match(raw):
            value = _Value(raw=raw, number=float(raw))
        else:
            value = _Value(raw=raw, text=_Text([(ch, False) for ch in raw]))
    if op not in ("=", "!=") and value.number is None:
        sc.fail(f"{op!r} compares numbers; {value.raw!r} is not a number", start)
    if value.regex is not None and op not in ("=", "!="):
        sc.fail(f"a regular expression needs '=' or '!=', not {op!r}", start)
    return value


# --- JSON patterns -------------------------------------------------------------------------

_Path = tuple[str | int, ...]


class _Node:
    def test(self, doc: Any) -> bool:
        raise NotImplementedError


@dataclass(frozen=True)
class _Any(_Node):
    items: tuple[_Node, ...]

    def test(self, doc: Any) -> bool:
        return any(item.test(doc) for item in self.items)


@dataclass(frozen=True)
class _All(_Node):
    items: tuple[_Node, ...]

    def test(self, doc: Any) -> bool:
        return all(item.test(doc) for item in self.items)


@dataclass(frozen=True)
class _Compare(_Node):
    path: _Path
    op: str
    value: _Value

    def test(self, doc: Any) -> bool:
        # A missing field matches no comparison, `!=` included: `NOT EXISTS` asks for absence.
        found, value = _resolve(doc, self.path)
        return found and self.value.compare(self.op, value)


@dataclass(frozen=True)
class _Check(_Node):
    path: _Path
    check: str  # NULL, TRUE, FALSE or NOT EXISTS

    def test(self, doc: Any) -> bool:
        found, value = _resolve(doc, self.path)
        if self.check == "NOT EXISTS":
            return not found
        expected = {"NULL": None, "TRUE": True, "FALSE": False}[self.check]
        return found and value is expected


class _JsonPattern(FilterPattern):
    kind = "json"

    def __init__(self, text: str, node: _Node) -> None:
        super().__init__(text)
        self.node = node

    def match(self, message: str) -> Match | None:
        doc = _json_object(message)
        if doc is None or not self.node.test(doc):
            return None
        return Match(message, document=doc)


def _json_object(message: str) -> dict[str, Any] | None:
    text = message.strip()
    if not text.startswith("{"):
        return None  # cheap exit: most non-JSON lines never reach the parser
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def _resolve(doc: Any, path: _Path) -> tuple[bool, Any]:
    node = doc
    for step in path:
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                return False, None
            node = node[step]
        elif isinstance(node, dict) and step in node:
            node = node[step]
        else:
            return False, None
    return True, node


def _parse_json(sc: _Scanner) -> _Node:
    sc.expect("{", "'{'")
    sc.skip_ws()
    if sc.at("}"):
        sc.fail("empty JSON pattern")
    node = _parse_or(sc)
    sc.expect("}", "'&&', '||' or '}'")
    sc.skip_ws()
    if not sc.eof():
        sc.fail("unexpected text after the closing '}'")
    return node


def _parse_or(sc: _Scanner) -> _Node:
    items = [_parse_and(sc)]
    while True:
        sc.skip_ws()
        if not sc.at("||"):
            break
        sc.pos += 2
        items.append(_parse_and(sc))
    return items[0] if len(items) == 1 else _Any(tuple(items))


def _parse_and(sc: _Scanner) -> _Node:
    items = [_parse_primary(sc)]
    while True:
        sc.skip_ws()
        if not sc.at("&&"):
            break
        sc.pos += 2
        items.append(_parse_primary(sc))
    return items[0] if len(items) == 1 else _All(tuple(items))


def _parse_primary(sc: _Scanner) -> _Node:
    sc.skip_ws()
    if sc.at("("):
        sc.pos += 1
        node = _parse_or(sc)
        sc.expect(")", "'&&', '||' or ')'")
        return node
    path = _parse_selector(sc)
    sc.skip_ws()
    keyword_at = sc.pos
    word = sc.read_run(_LETTERS)
    if word == "IS":
        sc.skip_ws()
        check_at = sc.pos
        check = sc.read_run(_LETTERS)
        if check not in ("NULL", "TRUE", "FALSE"):
            sc.fail("expected NULL, TRUE or FALSE after IS", check_at)
        return _Check(path, check)
    if word == "NOT":
        sc.skip_ws()
        exists_at = sc.pos
        if sc.read_run(_LETTERS) != "EXISTS":
            sc.fail("expected EXISTS after NOT", exists_at)
        return _Check(path, "NOT EXISTS")
    if word:
        sc.fail("expected an operator (=, !=, <, <=, >, >=), IS or NOT EXISTS", keyword_at)
    op = _read_operator(sc)
    if op is None:
        sc.fail("expected an operator (=, !=, <, <=, >, >=), IS or NOT EXISTS")
    return _Compare(path, op, _read_value(sc, op))


def _parse_selector(sc: _Scanner) -> _Path:
    start = sc.pos
    if not sc.at("$"):
        sc.fail("expected a selector such as $.field")
    sc.pos += 1
    path: list[str | int] = []
    while sc.peek() in (".", "["):
        if sc.peek() == ".":
            sc.pos += 1
            name = sc.read_run(_NAME_CHARS)
            if not name:
                sc.fail("expected a property name (letters, digits, '-', '_') after '.'")
            path.append(name)
        else:
            if not path:
                sc.fail("an array index must follow a property, as in $.items[0]")
            sc.pos += 1
            digits = sc.read_run(frozenset("0123456789"))
            if not digits:
                sc.fail("expected an array index")
            sc.expect("]", "']'")
            path.append(int(digits))
    if not path:
        sc.fail("a selector needs a property, as in $.field", start)
    return tuple(path)


@lru_cache(maxsize=256)  # metric values and dimensions read the same few selectors per event
def _parse_selector_text(selector: str) -> _Path:
    sc = _Scanner(selector)
    path = _parse_selector(sc)
    if not sc.eof():
        sc.fail("unexpected text after the selector")
    return path


# --- space-delimited patterns --------------------------------------------------------------


@dataclass(frozen=True)
class _FieldTest:
    name: str
    op: str
    value: _Value


@dataclass(frozen=True)
class _Slot:
    """One comma-separated slot: its name and its condition, alternatives of all-of tests."""

    name: str
    condition: tuple[tuple[_FieldTest, ...], ...] = ()
    ellipsis: bool = False


class _DelimitedPattern(FilterPattern):
    kind = "delimited"

    def __init__(self, text: str, slots: list[_Slot]) -> None:
        super().__init__(text)
        self.slots = slots

    def match(self, message: str) -> Match | None:
        values = _split_fields(message)
        for assignment in _assign(self.slots, 0, values, 0):
            fields = {str(i + 1): value for i, value in enumerate(values)}
            fields.update({slot.name: values[i] for slot, i in assignment if slot.name})
            if all(_slot_holds(slot, fields) for slot, _ in assignment):
                return Match(message, fields=fields)
        return None


def _slot_holds(slot: _Slot, fields: Mapping[str, str]) -> bool:
    if not slot.condition:
        return True
    return any(
        all(t.name in fields and t.value.compare(t.op, fields[t.name]) for t in alternative)
        for alternative in slot.condition
    )


def _assign(
    slots: list[_Slot], si: int, values: list[str], vi: int
) -> Iterator[list[tuple[_Slot, int]]]:
    """Every way the slots (with `...` taking any number of fields) cover the fields exactly."""
    if si == len(slots):
        if vi == len(values):
            yield []
        return
    slot = slots[si]
    if slot.ellipsis:
        for skip in range(len(values) - vi + 1):
            yield from _assign(slots, si + 1, values, vi + skip)
        return
    if vi < len(values):
        for rest in _assign(slots, si + 1, values, vi + 1):
            yield [(slot, vi), *rest]


def _split_fields(message: str) -> list[str]:
    """Space-separated fields; text between [] or "" is one field (without the delimiters)."""
    fields: list[str] = []
    i, n = 0, len(message)
    while i < n:
        if message[i].isspace():
            i += 1
            continue
        closer = {'"': '"', "[": "]"}.get(message[i])
        if closer:
            end = message.find(closer, i + 1)
            end = n if end < 0 else end
            fields.append(message[i + 1 : end])
            i = end + 1
            continue
        start = i
        while i < n and not message[i].isspace():
            i += 1
        fields.append(message[start:i])
    return fields


def _parse_delimited(text: str, sc: _Scanner) -> FilterPattern:
    sc.expect("[", "'['")
    sc.skip_ws()
    if sc.at("]"):
        sc.fail("empty space-delimited pattern")
    slots: list[_Slot] = []
    while True:
        sc.skip_ws()
        slots.append(_parse_slot(sc))
        sc.skip_ws()
        if sc.at(","):
            sc.pos += 1
            sc.skip_ws()
            if sc.at("]"):
                # AWS's example `[..., request=*.html*, status_code=4*,]` extracts `$7`: the
                # empty slot after a trailing comma is one more, unnamed, field.
                sc.pos += 1
                slots.append(_Slot(name=""))
                break
            continue
        sc.expect("]", "',' or ']'")
        break
    sc.skip_ws()
    if not sc.eof():
        sc.fail("unexpected text after the closing ']'")
    return _DelimitedPattern(text, slots)


def _parse_slot(sc: _Scanner) -> _Slot:
    if sc.at("..."):
        sc.pos += 3
        return _Slot(name="", ellipsis=True)
    alternatives: list[tuple[_FieldTest, ...]] = []
    tests: list[_FieldTest] = []
    first_name = ""
    while True:
        sc.skip_ws()
        name = sc.read_run(_NAME_CHARS)
        if not name:
            sc.fail("expected a field name or '...'")
        first_name = first_name or name
        op = _read_operator(sc)
        if op is None:
            if tests or alternatives:
                sc.fail(f"expected a condition on {name!r}")
            return _Slot(name=name)
        tests.append(_FieldTest(name, op, _read_value(sc, op)))
        sc.skip_ws()
        if sc.at("&&"):
            sc.pos += 2
        elif sc.at("||"):
            sc.pos += 2
            alternatives.append(tuple(tests))
            tests = []
        else:
            alternatives.append(tuple(tests))
            return _Slot(name=first_name, condition=tuple(alternatives))
