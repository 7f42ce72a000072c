"""The platform process's cyclic garbage collector: full collections that walk only what is new.

The local platform holds almost everything it ever made for as long as it runs: moto's tables,
items, stream records, versions, log events and metric datums, and botocore's service models.
Python's full (generation 2) collection walks every container object the process holds, and
every request thread waits while it does: under the load benchmark's 16 clients, six or seven
ran in 30 s, the longest pausing every request for a quarter of a second or more
(`BENCH_PLAIN_GC=1 benchmarks/bench_local.py`), and the pause grows with the state. A full
collection only ever frees cycles; the state's objects are not garbage.

`freeze_survivors()` therefore freezes (`gc.freeze`) what survives each full collection: the
next full collection walks only what was made after it, so its pause is set by the growth since
the last one, not by the whole state. Reference counting still frees a frozen object the moment
nothing refers to it; only a reference cycle among frozen objects that later becomes garbage is
kept until the block ends (`gc.unfreeze` hands everything back to the collector).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from typing import Any

OLDEST = 2


def _freeze_after_full(phase: str, info: dict[str, Any]) -> None:
    if phase == "stop" and info.get("generation") == OLDEST:
        gc.freeze()


@contextlib.contextmanager
def freeze_survivors() -> Iterator[None]:
    """Within the block, what survives a full collection is frozen (see the module's text)."""
    gc.callbacks.append(_freeze_after_full)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(_freeze_after_full)
        gc.unfreeze()
