"""An index for moto's DynamoDB Query, so a page costs the page and not the table.

moto 5.2.5's `Table.query` takes every item of the table, sorts them all and walks up to the
ExclusiveStartKey before it builds a page (GET /feedback: 410 ms at 4,150 items, whatever the
limit). `install()` narrows that to the partition for the key condition shapes of our tables:
a table query (hash key equality, any sort key condition) reads the partition's own dict; a
secondary-index query (one HASH and at most one RANGE key, equality on the hash key, any sort
key condition) reads a sorted list per partition value, bisects to the ExclusiveStartKey and
stops once the page is full. Lists are built on a table's first index query and kept current
by every write under one lock (`Table.put_item`/`delete_item`, which PutItem, BatchWriteItem,
TransactWriteItems, PartiQL and UpdateItem's creation go through, and UpdateItem's in-place
change). The page itself follows moto's own loop line for line (Limit counts items evaluated
before the FilterExpression, the 1 MB cap, LastEvaluatedKey, ScannedCount, projections), so the
answer is moto's; tests compare both on random tables and writes. Other shapes run moto's query.
"""

from __future__ import annotations

import bisect
import contextlib
import copy
import threading
import weakref
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["disabled", "install", "resync", "stats"]

Key = tuple[Any, Any]  # (hash DynamoType, range DynamoType or None): an item's table key
Entry = tuple[tuple[Any, ...], Key]  # (moto's sort tuple, table key)

_lock = threading.RLock()  # index queries and every write that maintains an index
_indexes: weakref.WeakKeyDictionary[Any, dict[str, _PartitionIndex]] = weakref.WeakKeyDictionary()
_counts: Counter[str] = Counter()
_state = {"installed": False, "enabled": True}


@dataclass(frozen=True)
class _Shape:
    """How moto files an index's items: its hash attribute, the RANGE attributes an item must
    have to be in it, and moto's sort attributes (index keys, then the table's keys)."""

    hash_attr: str
    range_attrs: tuple[str, ...]
    sort_attrs: tuple[str, ...]
    range_substitute: str | None  # moto's comparison attribute when the index has no RANGE key


@dataclass
class _PartitionIndex:
    """One secondary index: per hash value, its items' entries in moto's sort order."""

    shape: _Shape
    partitions: dict[Any, list[Entry]] = field(default_factory=dict)
    where: dict[Key, tuple[Any, Entry]] = field(default_factory=dict)

    def entry(self, item: Any) -> tuple[Any, Entry] | None:
        """(partition value, entry) of an item, or None when moto leaves it out of the index."""
        from moto.dynamodb.models.dynamo_type import DynamoType

        attrs = item.attrs
        value = attrs.get(self.shape.hash_attr)
        if not value or any(not attrs.get(name) for name in self.shape.range_attrs):
            return None
        try:
            # Copies: a later in-place change of the item must not move a filed entry.
            sort = tuple(DynamoType(attrs[name]) for name in self.shape.sort_attrs)
        except KeyError:
            return None
        return DynamoType(value), (sort, (item.hash_key, item.range_key))

    def add(self, item: Any) -> None:
        found = self.entry(item)
        if found is None:
            return
        value, entry = found
        bisect.insort(self.partitions.setdefault(value, []), entry, key=_sort_key)
        self.where[entry[1]] = found

    def remove(self, key: Key) -> None:
        found = self.where.pop(key, None)
        if found is None:
            return
        value, entry = found
        entries = self.partitions[value]
        at = bisect.bisect_left(entries, entry[0], key=_sort_key)
        if at < len(entries) and entries[at][1] == key:
            del entries[at]
        else:  # not where its sort tuple says: find it by key (never expected)
            entries[:] = [e for e in entries if e[1] != key]
        if not entries:
            del self.partitions[value]


def _sort_key(entry: Entry) -> tuple[Any, ...]:
    return entry[0]


def _shape(table: Any, index: Any) -> _Shape | None:
    """moto's filing rules for `index` (`Table.query`'s own construction), or None for an
    index this module leaves to moto (several HASH or RANGE attributes)."""
    from moto.dynamodb.models.table import GlobalSecondaryIndex

    hashes = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
    ranges = [k["AttributeName"] for k in index.schema if k["KeyType"] == "RANGE"]
    if len(hashes) != 1 or len(ranges) > 1:
        return None
    substitute = None
    if ranges:
        range_attrs: list[str | None] = [*ranges, table.range_key_attr]
    else:
        if isinstance(index, GlobalSecondaryIndex) and table.range_key_attr:
            substitute = table.range_key_attr
        else:
            substitute = table.hash_key_attr
        range_attrs = [substitute, table.range_key_attr]
    sort = table._generate_attr_to_sort_by([*hashes, table.hash_key_attr], range_attrs)
    return _Shape(hashes[0], tuple(ranges), tuple(sort), substitute)


def _items(table: Any) -> Iterator[Any]:
    from moto.dynamodb.models.dynamo_type import Item

    for value in list(table.items.values()):
        if isinstance(value, Item):
            yield value
        else:
            yield from list(value.values())


def _index(table: Any, name: str, shape: _Shape) -> _PartitionIndex:
    """The table's index `name`, built now when missing or filed by another shape."""
    built = _indexes.setdefault(table, {})
    index = built.get(name)
    if index is None or index.shape != shape:
        index = _build(table, shape)
        built[name] = index
    return index


def _build(table: Any, shape: _Shape) -> _PartitionIndex:
    _counts["built"] += 1
    index = _PartitionIndex(shape)
    for item in _items(table):
        found = index.entry(item)
        if found is not None:
            index.partitions.setdefault(found[0], []).append(found[1])
            index.where[found[1][1]] = found
    for entries in index.partitions.values():
        entries.sort(key=_sort_key)
    return index


def _stored(table: Any, key: Key) -> Any:
    """The item stored under a table key, or None (without creating a partition)."""
    from moto.dynamodb.models.dynamo_type import Item

    partition = table.items.get(key[0])
    if partition is None or isinstance(partition, Item):
        return partition
    return partition.get(key[1])


def resync(table: Any, key: Key) -> None:
    """File the item now stored under `key` (or nothing) in each of the table's indexes."""
    built = _indexes.get(table)
    if not built:
        return
    item = _stored(table, key)
    for index in built.values():
        index.remove(key)
        if item is not None:
            index.add(item)


# --- the query ----------------------------------------------------------------------------------

_PARAMETERS = (
    "hash_key",
    "range_comparison",
    "range_objs",
    "limit",
    "exclusive_start_key",
    "scan_index_forward",
    "projection_expressions",
    "index_name",
    "consistent_read",
    "filter_expression",
    "hash_key_conditions",
    "range_key_conditions",
)

Answer = tuple[list[Any], int, dict[str, Any] | None]


@dataclass
class _Query:
    """`Table.query`'s arguments, by name."""

    hash_key: Any
    range_comparison: str | None
    range_objs: list[Any]
    limit: int | None
    exclusive_start_key: dict[str, Any] | None
    scan_index_forward: bool
    projection_expressions: list[list[str]] | None
    index_name: str | None = None
    consistent_read: bool = False
    filter_expression: Any = None
    hash_key_conditions: list[tuple[str, Any]] | None = None
    range_key_conditions: list[tuple[str, str, list[Any]]] | None = None
    filter_kwargs: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def bind(cls, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Query:
        named = dict(zip(_PARAMETERS, args, strict=False))
        named.update({k: v for k, v in kwargs.items() if k in _PARAMETERS})
        legacy = {k: v for k, v in kwargs.items() if k not in _PARAMETERS}
        return cls(**named, filter_kwargs=legacy)

    @property
    def last_range_key_name(self) -> str | None:
        return self.range_key_conditions[-1][0] if self.range_key_conditions else None


@dataclass
class _Plan:
    """What moto's query loop reads besides the candidates."""

    index_name: str | None
    index_range_key: str | None
    last_range_key_name: str | None


def _index_candidates(table: Any, query: _Query) -> tuple[Iterator[Any], _Shape] | None:
    """The index's items after the ExclusiveStartKey in query order, or None (moto's path)."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    indexes = {i.name: i for i in table.all_indexes()}
    conditions = query.hash_key_conditions
    if query.index_name not in indexes or not conditions or len(conditions) != 1:
        return None
    shape = _shape(table, indexes[query.index_name])
    if shape is None or conditions[0][0] != shape.hash_attr:
        return None
    esk, forward = query.exclusive_start_key, query.scan_index_forward
    if esk is not None and any(a not in esk for a in shape.sort_attrs):
        return None  # moto fails on such a key; let it
    index = _index(table, str(query.index_name), shape)
    value = conditions[0][1]
    entries = index.partitions.get(value, [])
    if esk is None:
        start = 0 if forward else len(entries) - 1
    else:
        probe = tuple(DynamoType(esk[a]) for a in shape.sort_attrs)
        # moto skips every item "before or at" the key in query order.
        if forward:
            start = bisect.bisect_right(entries, probe, key=_sort_key)
        else:
            start = bisect.bisect_left(entries, probe, key=_sort_key) - 1
    walk = _Walk(table, index, value, entries, forward)
    return walk.items(start), shape


class _StaleIndexError(RuntimeError):
    """An indexed item changed by a path the hooks do not see: rebuild and answer again."""


@dataclass
class _Walk:
    """A partition's items in query order, each checked against what was filed for it."""

    table: Any
    index: _PartitionIndex
    value: Any
    entries: list[Entry]
    forward: bool

    def items(self, start: int) -> Iterator[Any]:
        step = 1 if self.forward else -1
        at = start
        while 0 <= at < len(self.entries):
            sort, key = self.entries[at]
            item = _stored(self.table, key)
            current = self.index.entry(item) if item is not None else None
            if current is None or current[0] != self.value or current[1][0] != sort:
                raise _StaleIndexError(key)
            yield item
            at += step


def _table_candidates(table: Any, hash_key: Any, forward: bool) -> list[Any]:
    """The partition's items in moto's order (its own candidates, without sorting the table)."""
    from moto.dynamodb.models.dynamo_type import Item

    partition = table.items.get(hash_key)
    if partition is None:
        found: list[Any] = []
    elif isinstance(partition, Item):
        found = [partition]
    else:
        found = sorted(partition.values(), key=lambda item: item.range_key)
    if not forward:
        found.reverse()
    return found


def _matches(result: Any, plan: _Plan, query: _Query) -> bool:
    """moto's sort key condition test for one candidate (its loop's `range_comparison` arm)."""
    comparison, objs = query.range_comparison, query.range_objs
    attr = plan.last_range_key_name or (plan.index_range_key if plan.index_name else None)
    if attr and result.attrs.get(attr):
        return bool(result.attrs.get(attr).compare(comparison, objs))
    if not plan.index_name:
        return bool(result.range_key.compare(comparison, objs))
    return False


def _page(
    table: Any,
    candidates: Iterator[Any] | list[Any],
    plan: _Plan,
    query: _Query,
    skip: Callable[[Any], bool] | None = None,
) -> Answer:
    """moto 5.2.5's `Table.query` from "FILTER" on, unchanged but for the candidates given."""
    from moto.dynamodb.models.table import RESULT_SIZE_LIMIT

    results: list[Any] = []
    result_size = 0
    scanned_count = 0
    last_evaluated_key = None
    processing_previous_page = skip is not None
    for result in candidates:
        if processing_previous_page and skip is not None:
            if skip(result):
                continue
            processing_previous_page = False
        reached_length_limit = len(results) == query.limit
        reached_size_limit = (result_size + result.size()) > RESULT_SIZE_LIMIT
        if reached_length_limit or reached_size_limit:
            last_evaluated_key = table._get_last_evaluated_key(results[-1], plan.index_name)
            break
        if not query.range_comparison or _matches(result, plan, query):
            results.append(result)
            result_size += result.size()
            scanned_count += 1
    results = copy.deepcopy(results)
    if plan.index_name:
        index = table.get_index(plan.index_name)
        results = [index.project(r) for r in results]
    if query.filter_expression is not None:
        results = [item for item in results if query.filter_expression.expr(item)]
    if query.projection_expressions:
        results = [r.project(query.projection_expressions) for r in results]
    return results, scanned_count, last_evaluated_key


def _answer_table(table: Any, query: _Query) -> Answer:
    _counts["partition"] += 1
    candidates = _table_candidates(table, query.hash_key, query.scan_index_forward)
    esk = query.exclusive_start_key
    skip = None
    if esk is not None:
        hash_attrs, range_attrs = [table.hash_key_attr], [table.range_key_attr]

        def skip(item: Any) -> bool:
            return bool(
                table._item_comes_before_dct(
                    item, esk, hash_attrs, range_attrs, query.scan_index_forward
                )
            )

    return _page(table, candidates, _Plan(None, None, query.last_range_key_name), query, skip)


def _answer_index(table: Any, query: _Query) -> Answer | None:
    index = next((i for i in table.all_indexes() if i.name == query.index_name), None)
    if index is None or (query.consistent_read and index in table.global_indexes):
        return None  # moto's validation errors
    for attempt in range(2):
        found = _index_candidates(table, query)
        if found is None or (query.range_comparison and found[1].range_substitute):
            return None
        walk, shape = found
        range_key = shape.range_attrs[0] if shape.range_attrs else shape.range_substitute
        plan = _Plan(query.index_name, range_key, query.last_range_key_name)
        try:
            answer = _page(table, walk, plan, query)
        except _StaleIndexError:
            _counts["stale"] += 1
            _indexes.get(table, {}).pop(str(query.index_name), None)
            if attempt:
                raise
            continue
        _counts["index"] += 1
        return answer
    return None  # pragma: no cover - the loop returns or raises


def _answer(table: Any, query: _Query) -> Answer | None:
    """The page from the partition, or None for a shape left to moto."""
    if not _state["enabled"] or query.filter_kwargs or len(query.range_key_conditions or []) > 1:
        return None
    with _lock:
        if query.index_name is None:
            return None if query.hash_key is None else _answer_table(table, query)
        return _answer_index(table, query)


def _query(original: Callable[..., Answer]) -> Callable[..., Answer]:
    def query(self: Any, *args: Any, **kwargs: Any) -> Answer:
        answer = _answer(self, _Query.bind(args, kwargs))
        if answer is None:
            _counts["moto"] += 1
            return original(self, *args, **kwargs)
        return answer

    return query


# --- keeping the indexes current ------------------------------------------------------------------


def _put_item(original: Callable[..., Any]) -> Callable[..., Any]:
    def put_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _lock:
            item = original(self, *args, **kwargs)
            resync(self, (item.hash_key, item.range_key))
            return item

    return put_item


def _delete_item(original: Callable[..., Any]) -> Callable[..., Any]:
    def delete_item(self: Any, hash_key: Any, range_key: Any) -> Any:
        with _lock:
            try:
                return original(self, hash_key, range_key)
            finally:
                resync(self, (hash_key, range_key))

    return delete_item


def _update_item(original: Callable[..., Any]) -> Callable[..., Any]:
    """UpdateItem changes a stored item in place, past `Table.put_item`: file it again after."""

    def update_item(self: Any, table_name: str, key: dict[str, Any], *args: Any, **kw: Any) -> Any:
        with _lock:
            try:
                return original(self, table_name, key, *args, **kw)
            finally:
                with contextlib.suppress(Exception):  # moto has reported what was wrong
                    table = self.get_table(table_name)
                    if _indexes.get(table):
                        resync(table, tuple(self.get_keys_value(table, key)))

    return update_item


def install() -> None:
    """Patch moto's DynamoDB once per process (idempotent)."""
    if _state["installed"]:
        return
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    Table.query = _query(Table.query)  # type: ignore[method-assign]
    Table.put_item = _put_item(Table.put_item)  # type: ignore[method-assign]
    Table.delete_item = _delete_item(Table.delete_item)  # type: ignore[method-assign]
    DynamoDBBackend.update_item = _update_item(DynamoDBBackend.update_item)  # type: ignore[method-assign]
    _state["installed"] = True


def set_enabled(enabled: bool) -> None:
    """The index (True, as installed) or moto's own Query (False) from now on."""
    with _lock:
        _state["enabled"] = enabled


@contextlib.contextmanager
def disabled() -> Iterator[None]:
    """moto's own Query inside the block (tests compare the two answers)."""
    set_enabled(False)
    try:
        yield
    finally:
        set_enabled(True)


def stats() -> dict[str, int]:
    """How queries were answered: `index`, `partition` (table queries), `moto`; `built`."""
    return dict(_counts)
