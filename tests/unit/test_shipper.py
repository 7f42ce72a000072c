"""The shipper behind Lambda's local logs and metrics: batches, flush, close, failures."""

from __future__ import annotations

import threading

from feedbackctl.local.shipper import Shipper


class Recorder:
    def __init__(self, fail_first: bool = False) -> None:
        self.calls: list[list[int]] = []
        self.fail_first = fail_first

    def __call__(self, items: list[int]) -> None:
        self.calls.append(list(items))
        if self.fail_first and len(self.calls) == 1:
            raise RuntimeError("CloudWatch is down")


def test_what_queues_while_a_batch_waits_goes_in_one_call() -> None:
    ship = Recorder()
    shipper: Shipper[int] = Shipper(ship, "test-shipper", interval_s=30.0)
    shipper.put(1)
    shipper.flush()  # the first call goes at once
    for item in range(2, 7):
        shipper.put(item)  # within the 30 s interval: they wait for each other
    shipper.flush()  # ... until someone needs them shipped
    assert ship.calls == [[1], [2, 3, 4, 5, 6]]
    assert shipper.close()


def test_close_ships_what_is_left_and_stops_the_thread() -> None:
    ship = Recorder()
    shipper: Shipper[int] = Shipper(ship, "test-shipper", interval_s=30.0)
    shipper.put(1)
    shipper.flush()
    shipper.put(2)
    shipper.put(3)
    assert shipper.close(timeout_s=5)
    assert ship.calls == [[1], [2, 3]]
    assert not shipper.alive
    assert "test-shipper" not in {thread.name for thread in threading.enumerate()}


def test_a_failed_call_is_reported_and_shipping_goes_on(capsys) -> None:
    ship = Recorder(fail_first=True)
    shipper: Shipper[int] = Shipper(ship, "test-shipper", interval_s=30.0)
    shipper.put(1)
    shipper.flush()
    shipper.put(2)
    shipper.flush()
    assert ship.calls == [[1], [2]]
    assert "test-shipper: RuntimeError: CloudWatch is down" in capsys.readouterr().err
    shipper.close()


def test_a_close_past_its_deadline_drops_the_rest() -> None:
    release = threading.Event()
    shipped: list[list[int]] = []

    def slow(items: list[int]) -> None:
        shipped.append(items)
        release.wait(5)

    shipper: Shipper[int] = Shipper(slow, "test-shipper", interval_s=30.0)
    shipper.put(1)  # shipped at once; the call hangs until released
    while not shipped:
        release.wait(0.01)
    shipper.put(2)
    assert not shipper.close(timeout_s=0.05)  # the stop's deadline passes
    release.set()
    shipper.close(timeout_s=5)
    assert shipped == [[1]]  # what was queued at the deadline is lost, as on a crash
