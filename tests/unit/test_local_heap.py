"""The local platform's collector policy (feedbackctl.local.heap): after a full collection what
survived is frozen, so the next one walks only what is new; cycles made later are still freed;
leaving the block gives everything back to the collector."""

from __future__ import annotations

import gc
import weakref

from feedbackctl.local.heap import freeze_survivors


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def _cycle() -> weakref.ref[_Node]:
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def test_survivors_of_a_full_collection_are_frozen_and_new_cycles_still_freed() -> None:
    kept = [_Node() for _ in range(100)]
    assert gc.get_freeze_count() == 0
    with freeze_survivors():
        gc.collect()
        frozen = gc.get_freeze_count()
        assert frozen >= len(kept)  # the survivors, `kept` among them, are not walked again
        assert gc.get_count()[2] == 0
        dead = _cycle()
        gc.collect()
        assert dead() is None  # made after the freeze: collected as ever
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert gc.get_freeze_count() == 0  # the policy is gone with the block


def test_a_full_collection_walks_only_what_came_after_the_last_one() -> None:
    walked: list[int] = []

    def count(phase: str, info: dict) -> None:
        if phase == "stop" and info["generation"] == 2:
            walked.append(len(gc.get_objects()))

    with freeze_survivors():
        gc.collect()
        gc.callbacks.insert(0, count)  # runs before the freeze: sees what the collection walked
        try:
            made = [[i] for i in range(5000)]
            gc.collect()
        finally:
            gc.callbacks.remove(count)
        assert len(made) == 5000
    assert len(walked) == 1
    assert walked[0] < 20000  # the process holds far more than that, frozen
    assert len(gc.get_objects()) > walked[0] * 3
