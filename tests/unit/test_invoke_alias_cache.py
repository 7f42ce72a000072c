"""The invoke service's alias cache never keeps a value read while a write passed the endpoint.

Reproduces a race seen in the drill: an invocation read `live` (still the faulty version) while
the orchestrator's rollback went through the endpoint; the endpoint forgot the cache before the
write, the read finished after it and cached the faulty version for a second, and the next
request after the heal ran the faulty version again."""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

from feedbackctl.local.invoke import InvokeService


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


def service(lam: Lambda, tmp_path: Path) -> InvokeService:
    return InvokeService(lam, None, None, worker_env={}, work_dir=tmp_path)  # type: ignore[arg-type]


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
