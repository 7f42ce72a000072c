"""Calls that wait for a worker of a busy version are served in arrival order.

Reproduces the tail seen under load (16 clients, 4 workers a version): a released worker went
back to the idle list and every waiting call was woken to race for it, so a call could lose the
race again and again while the woken losers cost the platform's one core their wake-ups. A
released worker now goes to the call that has waited longest, and only that call is woken."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from feedbackctl.local.invoke import InvokeService, VersionSpec, Worker

SPEC = VersionSpec("create-feedback", "3", "arn:fn:3", "sha", 3.0, 128, {})


class _Worker(Worker):
    """A worker without a process: alive until closed."""

    def __init__(self, spec: VersionSpec) -> None:  # starts no process
        self.spec = spec
        self.last_used = 0.0
        self.closed = False

    @property
    def alive(self) -> bool:
        return not self.closed

    def close(self) -> None:
        self.closed = True


def _service(tmp_path: Path, started: list[_Worker]) -> InvokeService:
    invoke = InvokeService(None, None, None, worker_env={}, work_dir=tmp_path, max_workers=1)  # type: ignore[arg-type]

    def start(spec: VersionSpec, key: Any) -> Worker:
        worker = _Worker(spec)
        started.append(worker)
        return worker

    invoke._start = start  # type: ignore[method-assign]
    return invoke


def _wait_until(check: Any, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)


def _queued(invoke: InvokeService) -> int:
    return sum(len(q) for q in invoke._queued.values())


def test_waiting_calls_get_the_released_worker_in_arrival_order(tmp_path: Path) -> None:
    started: list[_Worker] = []
    invoke = _service(tmp_path, started)
    first = invoke._acquire(SPEC)
    served: list[tuple[str, Worker]] = []

    def call(name: str) -> None:
        served.append((name, invoke._acquire(SPEC)))

    threads: list[threading.Thread] = []
    for name in ("a", "b", "c"):
        thread = threading.Thread(target=call, args=(name,))
        thread.start()
        threads.append(thread)
        _wait_until(lambda: _queued(invoke) == len(threads))
    for expected in ("a", "b", "c"):
        holder = first if not served else served[-1][1]
        before = len(served)
        invoke._release(holder)
        _wait_until(lambda before=before: len(served) == before + 1)
        assert served[-1][0] == expected
        # A call arriving now queues behind those waiting; it does not take a worker.
        if expected == "a":
            late = threading.Thread(target=call, args=("late",))
            late.start()
            threads.append(late)
            _wait_until(lambda: _queued(invoke) == 3)
    invoke._release(served[-1][1])
    for thread in threads:
        thread.join(10)
    assert [name for name, _ in served] == ["a", "b", "c", "late"]
    assert len(started) == 1  # one worker, handed on from call to call
    invoke._release(served[-1][1])
    assert invoke._idle[(SPEC.name, SPEC.version, SPEC.code_sha)] == started
    assert not invoke._queued
    invoke.shutdown(timeout_s=1)


def test_a_crashed_worker_gives_its_place_to_the_next_call(tmp_path: Path) -> None:
    started: list[_Worker] = []
    invoke = _service(tmp_path, started)
    crashed = invoke._acquire(SPEC)
    got: list[Worker] = []
    waiting = threading.Thread(target=lambda: got.append(invoke._acquire(SPEC)))
    waiting.start()
    _wait_until(lambda: _queued(invoke) == 1)
    crashed.closed = True  # the process died during its call
    invoke._release(crashed)
    waiting.join(10)
    assert len(started) == 2  # the waiting call started a new worker in the freed place
    assert got == [started[1]]
    invoke.shutdown(timeout_s=1)


def test_a_stop_wakes_every_waiting_call(tmp_path: Path) -> None:
    invoke = _service(tmp_path, [])
    invoke._acquire(SPEC)
    errors: list[str] = []

    def call() -> None:
        try:
            invoke._acquire(SPEC)
        except RuntimeError as error:
            errors.append(str(error))

    waiting = [threading.Thread(target=call) for _ in range(3)]
    for thread in waiting:
        thread.start()
    _wait_until(lambda: _queued(invoke) == 3)
    invoke.shutdown(timeout_s=1)
    for thread in waiting:
        thread.join(10)
    assert errors == ["the invoke service is shut down"] * 3
