"""TransactWriteItems in moto without a deep copy of every table it touches.

moto 5.2.5 deep-copies each table a transaction names before applying it, so it can put the
copies back when the transaction is cancelled. The stream aggregator writes one marker item per
batch to the analytics table (their TTL never fires in moto), so every batch's transaction cost
grew with all the batches before it: 154 ms a batch at 6,000 markers, most of a CPU under load.
`install()` makes that copy a snapshot instead: the table object and each partition's dict
copied (references), the items the transaction names deep-copied (UpdateItem changes an item
in place; a put or a delete replaces or removes the reference), the stream's record list copied.
A cancelled transaction puts the snapshot in place exactly where moto puts its copy, with the
same items and stream records; a transaction that succeeds drops it. Tests compare the two.
"""

from __future__ import annotations

import contextlib
import copy
import threading
import types
from collections import defaultdict
from collections.abc import Iterator
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


def snapshot(table: Any, keys: set[Any]) -> Any:
    """What `copy.deepcopy(table)` gives a cancelled transaction, for one naming `keys`."""
    from moto.dynamodb.models.dynamo_type import Item

    clone = copy.copy(table)
    partitions: defaultdict[Any, Any] = defaultdict(dict)
    # list() and dict() copy in one C call, which no other thread interleaves (under the GIL):
    # a write to another item of the table by a concurrent request cannot break the iteration.
    for hash_key, partition in list(table.items.items()):
        partitions[hash_key] = partition if isinstance(partition, Item) else dict(partition)
    for hash_key, range_key in keys:
        partition = table.items.get(hash_key)
        if isinstance(partition, Item):
            partitions[hash_key] = copy.deepcopy(partition)
        elif partition is not None and range_key in partition:
            partitions[hash_key][range_key] = copy.deepcopy(partition[range_key])
    clone.items = partitions
    if table.stream_shard is not None:
        shard = copy.copy(table.stream_shard)
        shard.items = list(table.stream_shard.items)
        shard.table = clone
        clone.stream_shard = shard
    return clone


def _deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
    """moto's `copy.deepcopy`, answering a snapshot for a table inside a transaction."""
    from moto.dynamodb.models.table import Table

    named = getattr(_local, "named", None)
    if named is not None and isinstance(value, Table) and value.name in named:
        return snapshot(value, named[value.name])
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
        _local.named = named
        try:
            transact(self, transact_items)
        finally:
            _local.named = None

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
