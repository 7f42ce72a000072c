"""Shipping off the request path: a queue drained by one thread into batched calls.

The invoke service ships Lambda's log lines and `AWS/Lambda` metrics this way, as Lambda does
(asynchronously, after the invocation has answered). `Shipper` calls `ship(items)` with
everything queued, at most once per `interval_s` while items keep coming, so a steady stream of
invocations costs a few PutLogEvents and PutMetricData calls a second, not a few per
invocation: each call crosses botocore and moto, which cost more than the invocation itself
(docs/local.md, "Figures"). `flush()` ships what is waiting at once and returns when everything
put before it is shipped; `close()` ships the rest and stops the thread.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

# The longest an item waits for the items after it. Lambda's own log delivery takes longer;
# an alarm's period (10 s locally at the least) is fifty times this.
SHIP_INTERVAL_S = 0.2


class Shipper(Generic[T]):
    """One background thread calling `ship` with batches of what `put` queued."""

    def __init__(
        self, ship: Callable[[list[T]], None], name: str, interval_s: float = SHIP_INTERVAL_S
    ) -> None:
        self._ship = ship
        self.interval_s = interval_s
        self._queue: queue.Queue[T | None] = queue.Queue()
        self._hurry = threading.Event()  # set while someone waits in flush() or close()
        self._hurried = 0
        self._lock = threading.Lock()
        self._last = float("-inf")  # when the last batch was shipped (monotonic)
        self.discard = False  # set: what is still queued is dropped, not shipped
        self._thread = threading.Thread(target=self._run, daemon=True, name=name)
        self._thread.start()

    def put(self, item: T) -> None:
        self._queue.put(item)

    def flush(self) -> None:
        """Ship what is waiting now; return once everything put so far is shipped."""
        with self._lock:
            self._hurried += 1
            self._hurry.set()
        try:
            self._queue.join()
        finally:
            with self._lock:
                self._hurried -= 1
                if not self._hurried:
                    self._hurry.clear()

    def close(self, timeout_s: float | None = 10.0) -> bool:
        """Ship the rest and stop the thread within `timeout_s`; False when it did not stop
        in time (what is still queued is then dropped)."""
        if not self._thread.is_alive():
            return True
        with self._lock:
            self._hurried += 1  # never undone: from now on nothing waits
            self._hurry.set()
        self._queue.put(None)
        self._thread.join(timeout=timeout_s)
        if self._thread.is_alive():
            self.discard = True
            return False
        return True

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while True:
            items = [self._queue.get()]
            if items[0] is not None:  # let what follows join the batch, unless hurried
                self._hurry.wait(max(0.0, self._last + self.interval_s - time.monotonic()))
            while items[-1] is not None:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                batch = [item for item in items if item is not None]
                if batch and not self.discard:
                    self._ship(batch)
            except Exception as exc:  # noqa: BLE001 - a lost batch must not stop the shipping
                sys.stderr.write(f"{self._thread.name}: {type(exc).__name__}: {exc}\n")
            finally:
                self._last = time.monotonic()
                for _ in items:
                    self._queue.task_done()
            if items[-1] is None:
                return
