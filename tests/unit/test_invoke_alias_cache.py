"""The invoke service's alias cache never keeps a value read while a write passed the endpoint.

Reproduces a race seen in the drill: an invocation read `live` (still the faulty version) while
the orchestrator's rollback went through the endpoint; the endpoint forgot the cache before the
write, the read finished after it and cached the faulty version for a second, and the next
request after the heal ran the faulty version again."""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

from feedbackctl.local.invoke import ALIAS_CACHE_S, InvokeService


class Lambda:
    """get_alias answers `live` -> the current version; `during_read` runs mid-read."""

    exceptions = types.SimpleNamespace(ResourceNotFoundException=LookupError)

    def __init__(self) -> None:
        self.version = "7"  # the faulty release
        self.reads = 0
        self.during_read: Any = None

    def get_alias(self, FunctionName: str, Name: str) -> dict[str, Any]:  # noqa: N803 - boto3's
        self.reads += 1
        answer = {"Name": Name, "FunctionVersion": self.version}
        if self.during_read is not None:
            write, self.during_read = self.during_read, None
            write()  # the rollback lands after this read saw the old version
        return answer


def service(lam: Lambda, tmp_path: Path, clock: Any = None) -> InvokeService:
    options: dict[str, Any] = {} if clock is None else {"clock": clock}
    return InvokeService(lam, None, None, worker_env={}, work_dir=tmp_path, **options)  # type: ignore[arg-type]


def test_a_read_overtaken_by_a_write_is_not_cached(tmp_path: Path) -> None:
    lam = Lambda()
    invoker = service(lam, tmp_path)

    def rollback() -> None:
        invoker.invalidate()  # the endpoint, before forwarding the UpdateAlias
        lam.version = "6"  # moto applies it
        invoker.invalidate()  # the endpoint, after moto answered

    lam.during_read = rollback
    assert invoker._pick("create-feedback", "live") == "7"  # the request in flight: old version
    assert invoker._pick("create-feedback", "live") == "6"  # the next one: the good version
    assert lam.reads == 2
    assert invoker._pick("create-feedback", "live") == "6"  # now cached
    assert lam.reads == 2
    invoker.shutdown()


def test_an_undisturbed_read_is_cached(tmp_path: Path) -> None:
    lam = Lambda()
    invoker = service(lam, tmp_path)
    assert [invoker._pick("create-feedback", "live") for _ in range(3)] == ["7"] * 3
    assert lam.reads == 1
    invoker.shutdown()


def test_calls_arriving_while_an_expired_alias_is_read_again_do_not_read_it_too(
    tmp_path: Path,
) -> None:
    """Under load every call that found the value expired read the alias itself; now one reads
    and the calls meanwhile get the value of a moment ago."""
    now = [100.0]
    lam = Lambda()
    invoker = service(lam, tmp_path, clock=lambda: now[0])
    assert invoker._pick("create-feedback", "live") == "7"
    now[0] += ALIAS_CACHE_S + 0.5  # expired
    lam.version = "6"  # changed in moto directly: no invalidation
    meanwhile: list[str] = []
    lam.during_read = lambda: meanwhile.append(invoker._pick("create-feedback", "live"))
    assert invoker._pick("create-feedback", "live") == "6"  # the call that reads
    assert meanwhile == ["7"]  # answered without a read of its own
    assert lam.reads == 2
    assert invoker._pick("create-feedback", "live") == "6"  # cached again
    assert lam.reads == 2
    invoker.shutdown()


def test_a_forgotten_alias_is_never_answered_while_it_is_read_again(tmp_path: Path) -> None:
    """A write through the endpoint forgets the value: a call arriving during the next read
    reads the alias itself rather than get the forgotten version."""
    now = [100.0]
    lam = Lambda()
    invoker = service(lam, tmp_path, clock=lambda: now[0])
    assert invoker._pick("create-feedback", "live") == "7"
    now[0] += ALIAS_CACHE_S + 0.5
    meanwhile: list[str] = []

    def rollback_then_call() -> None:
        invoker.invalidate()
        lam.version = "6"
        meanwhile.append(invoker._pick("create-feedback", "live"))

    lam.during_read = rollback_then_call
    assert invoker._pick("create-feedback", "live") == "7"  # read before the rollback landed
    assert meanwhile == ["6"]  # read again, not the forgotten "7"
    assert lam.reads == 3
    invoker.shutdown()
