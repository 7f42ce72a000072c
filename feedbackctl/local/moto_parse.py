"""moto's parsing of a JSON-protocol request, compiled once per shape: the same parameters at
a fraction of the cost.

moto 5.2 turns every request's body into its parameters by walking the operation's input shape
in the service model, node by node: for each value it formats the handler's name, looks it up
on the parser, and for each structure it goes through every member the model defines (an
AttributeValue has ten) asking the value for each. The functions' PutItem, the aggregator's
TransactWriteItems and the shippers' PutLogEvents and PutMetricData (DynamoDB, CloudWatch Logs
and CloudWatch speak JSON to moto) are parsed this way on every request; the compiled parser
takes about half the CPU for the POST's PutItem, its `json.loads` included
(`benchmarks/bench_local.py` prints both).

`install()` makes JSONParser answer from a parser compiled per input shape: a tree of
closures with each structure's member names, wire names and member parsers resolved once. It
does what moto's handlers do, node for node, raising where they raise (a structure that is not
an object, a list that is not iterable, a number that does not convert), and is used only for
what it mirrors exactly: JSONParser itself (not a subclass), with moto's own timestamp and blob
parsers and plain dicts, and a model whose every type has the handler it expects on
JSONParser; anything else is parsed by moto as before. `tests/functional/test_moto_parse.py`
compares both parsers' results on every operation the platform's services take.
`uninstall()` puts moto's code back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

__all__ = ["compiled", "install", "uninstall"]

Parse = Callable[[Any], Any]

_lock = threading.Lock()
_originals: dict[str, Any] = {}
# input shape -> its compiled parser, or None when it cannot be mirrored exactly. botocore
# keeps one shape object per name and service model, and moto one service model per service.
_compiled: dict[Any, Parse | None] = {}


class _UnmirroredError(Exception):
    """A type whose handler on JSONParser is not the one this module mirrors."""


def _handlers() -> dict[str, Any]:
    """The handler JSONParser must have for each type this module compiles (moto 5.2's)."""
    from moto.core.parse import BaseJSONParser, RequestParser

    base, json_ = RequestParser.__dict__, BaseJSONParser.__dict__
    return {
        "structure": json_["_parse_structure"],
        "list": base["_parse_list"],
        "map": base["_parse_map"],
        "blob": json_["_parse_blob"],
        "timestamp": json_["_parse_timestamp"],
        "float": json_["_parse_float"],
        "double": json_["_parse_double"],
        "integer": json_["_parse_integer"],
        "byte": json_["_parse_byte"],
        "short": json_["_parse_short"],
        "long": json_["_parse_long"],
    }


def _compile(shape: Any, done: dict[str, Parse], handlers: dict[str, Any]) -> Parse:
    """The parser of one shape, its member shapes compiled once (a recursive shape, such as
    DynamoDB's AttributeValue, refers to its own parser by name)."""
    from moto.core.parse import JSONParser

    kind = shape.type_name
    handler = getattr(JSONParser, f"_parse_{kind}", None)
    if handler is None:
        return _identity  # moto's _default_handle: the value as it came
    if handlers.get(kind) is not handler:
        raise _UnmirroredError(f"{kind}: {handler!r}")
    if kind == "structure":
        return _structure(shape, done, handlers)
    if kind == "list":
        member = _compile(shape.member, done, handlers)
        return lambda node: [member(item) for item in node]
    if kind == "map":
        key, value = _compile(shape.key, done, handlers), _compile(shape.value, done, handlers)
        return lambda node: {key(k): value(v) for k, v in node.items()}
    return _scalar(kind)


def _structure(shape: Any, done: dict[str, Parse], handlers: dict[str, Any]) -> Parse:
    if shape.is_document_type:
        return _identity
    known = done.get(shape.name)
    if known is not None:
        return known  # already compiled, or being compiled (recursion): its late-bound parser
    members: list[tuple[str, str, Parse | None]] = []

    def parse(value: Any) -> Any:
        if value is None:
            return None
        parsed = {}
        get = value.get
        for name, wire, member in members:
            raw = get(wire)
            if raw is not None:
                parsed[name] = raw if member is None else member(raw)
        return parsed

    done[shape.name] = parse
    for name, member_shape in shape.members.items():
        member = _compile(member_shape, done, handlers)
        wire = member_shape.serialization.get("name", name)
        members.append((name, wire, None if member is _identity else member))
    return parse


def _scalar(kind: str) -> Parse:
    from moto.core.parse import UNDEFINED, default_blob_parser, default_timestamp_parser

    if kind == "blob":
        return default_blob_parser
    if kind == "timestamp":
        return default_timestamp_parser
    convert: Callable[[Any], Any] = float if kind in ("float", "double") else int
    return lambda value: value if value is UNDEFINED else convert(value)


def _identity(value: Any) -> Any:
    return value


def compiled(shape: Any) -> Parse | None:
    """The compiled parser of an input shape, or None when it cannot mirror moto's."""
    try:
        return _compiled[shape]
    except KeyError:
        pass
    try:
        parse: Parse | None = _compile(shape, {}, _handlers())
    except _UnmirroredError:
        parse = None
    _compiled[shape] = parse
    return parse


def install() -> None:
    with _lock:
        if _originals:
            return
        from moto.core.parse import JSONParser, default_blob_parser, default_timestamp_parser

        original = JSONParser.__dict__["_parse_json_body"]
        _originals["_parse_json_body"] = original

        def _parse_json_body(self: Any, raw_body: Any, shape: Any) -> Any:
            if (
                type(self) is JSONParser
                and self.MAP_TYPE is dict
                and self._timestamp_parser is default_timestamp_parser
                and self._blob_parser is default_blob_parser
            ):
                parse = compiled(shape)
                if parse is not None:
                    return parse(self._parse_body_as_json(raw_body))  # type: ignore[no-untyped-call]
            return original(self, raw_body, shape)

        JSONParser._parse_json_body = _parse_json_body  # type: ignore[method-assign]


def uninstall() -> None:
    with _lock:
        if not _originals:
            return
        from moto.core.parse import JSONParser

        JSONParser._parse_json_body = _originals.pop("_parse_json_body")  # type: ignore[method-assign]
