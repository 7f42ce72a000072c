"""TransactWriteItems in moto at the cost of the items it names, not of the tables.

moto 5.2.5 deep-copies a table for every action of a transaction that names it (a 100-action
transaction on one table copies it 100 times), so it can put a copy back when the transaction
is cancelled. The stream aggregator writes one marker item per record to the analytics table
(their TTL never fires in moto), so every batch's transaction cost grew with all the records
before it: 154 ms a batch at 6,000 markers, most of a CPU under load. A first patch copied the
partition list instead of the items; that was still a walk of the whole table per action.

`install()` keeps an undo record instead: for each table, once per transaction, a deep copy of
each item the transaction names (or that it was absent) and the length of the table's stream.
moto's copy is the table itself, so its own rollback (putting the "copy" back) changes nothing;
when the transaction is cancelled, the undo record puts the named items back as they were,
re-files them in the query indexes (moto_query) and drops the stream records the cancelled
actions appended. The items and stream records after a cancelled transaction are moto's;
tests compare the two. Unlike moto's copy, a concurrent request's write to another item of the
table during a cancelled transaction is kept, as DynamoDB keeps it.
"""

from __future__ import annotations

import contextlib
import copy
import threading
import types
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["disabled", "install"]

_local = threading.local()
_state = {"installed": False, "enabled": True}


def _named_keys(backend: Any, transact_items: list[dict[str, Any]]) -> dict[str, set[Any]]:
    """Table name -> the (hash, range) keys the transaction names (empty on anything odd)."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    named: dict[str, set[Any]] = defaultdict(set)
    for entry in transact_items:
        op_type, op = next(iter(entry.items()))
        table = backend.tables[op["TableName"]]
        source = op["Item"] if op_type == "Put" else op["Key"]
        hash_key = DynamoType(source[table.hash_key_attr])
        range_key = DynamoType(source[table.range_key_attr]) if table.range_key_attr else None
        named[table.name].add((hash_key, range_key))
    return named


@dataclass
class Undo:
    """What a cancelled transaction puts back in one table."""

    table: Any
    items: dict[Any, Any] = field(default_factory=dict)  # (hash, range) key -> item or None
    stream_length: int | None = None

    def apply(self) -> None:
        from feedbackctl.local import moto_query

        table = self.table
        for (hash_key, range_key), item in self.items.items():
            if range_key is None:
                if item is None:
                    table.items.pop(hash_key, None)
                else:
                    table.items[hash_key] = item
            else:
                partition = table.items.get(hash_key)
                if item is not None:
                    if partition is None:
                        partition = table.items[hash_key] = {}
                    partition[range_key] = item
                elif partition is not None:
                    partition.pop(range_key, None)
                    if not partition:
                        table.items.pop(hash_key, None)
            moto_query.resync(table, (hash_key, range_key))
        if self.stream_length is not None and table.stream_shard is not None:
            del table.stream_shard.items[self.stream_length :]


def snapshot(table: Any, keys: set[Any]) -> Undo:
    """The undo record of a transaction naming `keys` of `table`, taken before it acts."""
    undo = Undo(table)
    for hash_key, range_key in keys:
        partition = table.items.get(hash_key)
        if range_key is None:
            undo.items[(hash_key, None)] = copy.deepcopy(partition)
        else:
            item = partition.get(range_key) if partition is not None else None
            undo.items[(hash_key, range_key)] = copy.deepcopy(item)
    if table.stream_shard is not None:
        undo.stream_length = len(table.stream_shard.items)
    return undo


def _deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
    """moto's `copy.deepcopy`: inside a transaction, a table it names is not copied; its undo
    record is taken (once per table) and the table itself stands for the copy."""
    from moto.dynamodb.models.table import Table

    named = getattr(_local, "named", None)
    if named is not None and isinstance(value, Table) and value.name in named:
        undone: dict[str, Undo] = _local.undo
        if value.name not in undone:
            undone[value.name] = snapshot(value, named[value.name])
        return value
    return copy.deepcopy(value, memo)


def install() -> None:
    """Patch moto's DynamoDB once per process (idempotent)."""
    if _state["installed"]:
        return
    from moto.dynamodb import models

    # The module's `copy` is only used for deepcopy (here and in UpdateItem's old image).
    models.copy = types.SimpleNamespace(deepcopy=_deepcopy, copy=copy.copy)  # type: ignore[assignment,attr-defined]
    transact = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        named = None
        if _state["enabled"]:
            with contextlib.suppress(Exception):  # moto reports what is wrong with the request
                named = _named_keys(self, transact_items)
        _local.named, _local.undo = named, {}
        try:
            transact(self, transact_items)
        except Exception:
            for undo in _local.undo.values():  # moto put its "copies" (the tables) back
                undo.apply()
            raise
        finally:
            _local.named, _local.undo = None, {}

    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    _state["installed"] = True


@contextlib.contextmanager
def disabled() -> Iterator[None]:
    """moto's own whole-table copies inside the block (tests compare the two)."""
    _state["enabled"] = False
    try:
        yield
    finally:
        _state["enabled"] = True
