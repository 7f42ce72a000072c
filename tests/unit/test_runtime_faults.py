"""The shared runtime's drill faults: each FEEDBACKCTL_FAULT kind does what a bad release does.

Handlers are wrapped exactly as the platform's are (`Runtime.api` / `Runtime.events`) and called
with an API event; sleeping, exiting and allocating are injected or monkeypatched, never real.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any

import pytest

from feedbackctl import drill
from feedbackctl.sandbox import api_event
from lambdas.common import runtime as runtime_module
from lambdas.common.runtime import (
    FAULT_ENV,
    FAULT_KINDS,
    InjectedMemoryError,
    Runtime,
    UnhandledFaultError,
)

HEALTH_EVENT = {"feedbackctl": "health-check"}
ROOT = Path(__file__).resolve().parents[2]


class Context:
    function_name = "fb-test-create-feedback"
    function_version = "7"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:fb:live"
    aws_request_id = "req-1"

    def __init__(self, remaining_ms: int = 2500) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


class Slept(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


class Exited(BaseException):
    """os._exit never returns, so its stand-in raises what no handler code may catch."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def build(monkeypatch: pytest.MonkeyPatch, fault: str | None, **kwargs: Any) -> Runtime:
    if fault is None:
        monkeypatch.delenv(FAULT_ENV, raising=False)
    else:
        monkeypatch.setenv(FAULT_ENV, fault)
    return Runtime("create-feedback", **kwargs)


def ok(request: Any, context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "headers": {}, "body": json.dumps({"ok": True})}


def call_api(runtime: Runtime, event: dict[str, Any] | None = None, **context: Any) -> Any:
    return runtime.api(ok)(event or api_event("GET", "/health"), Context(**context))


def logged(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def test_no_fault_answers_normally(monkeypatch, capsys):
    assert call_api(build(monkeypatch, None))["statusCode"] == 200
    assert [line["message"] for line in logged(capsys)] == ["request"]


def test_an_unknown_fault_is_no_fault(monkeypatch):
    assert call_api(build(monkeypatch, "segfault"))["statusCode"] == 200


def test_error_stays_a_logged_error_and_a_500(monkeypatch, capsys):
    response = call_api(build(monkeypatch, "error"))
    assert response["statusCode"] == 500
    first = logged(capsys)[0]
    assert (first["level"], first["message"]) == ("ERROR", "unhandled error")


def test_exception_escapes_the_api_wrapper_unlogged(monkeypatch, capsys):
    with pytest.raises(UnhandledFaultError, match="FEEDBACKCTL_FAULT=exception"):
        call_api(build(monkeypatch, "exception"))
    assert [line for line in logged(capsys) if line["level"] == "ERROR"] == []


def test_exception_escapes_the_event_wrapper_unlogged(monkeypatch, capsys):
    handler = build(monkeypatch, "exception").events(lambda event, context: "done")
    with pytest.raises(UnhandledFaultError):
        handler({"Records": []}, Context())
    assert [line for line in logged(capsys) if line["level"] == "ERROR"] == []


def test_timeout_sleeps_past_the_remaining_time(monkeypatch, capsys):
    slept = Slept()
    runtime = build(monkeypatch, "timeout", sleep=slept)
    with pytest.raises(UnhandledFaultError, match="after the function's timeout"):
        call_api(runtime, remaining_ms=2500)
    assert slept == [3.5]  # the 2.5 s left plus one: Lambda stops the function first
    assert "request" not in [line["message"] for line in logged(capsys)]


def test_import_error_fails_the_runtime_construction(monkeypatch):
    with pytest.raises(ImportError, match="FEEDBACKCTL_FAULT=import-error"):
        build(monkeypatch, "import-error")


def test_import_error_fails_a_handler_module_import(monkeypatch):
    monkeypatch.setenv(FAULT_ENV, "import-error")
    path = ROOT / "lambdas" / "health" / "handler.py"
    spec = importlib.util.spec_from_file_location("drill_health_handler", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with pytest.raises(ImportError):  # Lambda answers Runtime.ImportModuleError
        spec.loader.exec_module(module)


def test_crash_exits_the_process(monkeypatch, capsys):
    def exit_(code: int) -> None:
        raise Exited(code)

    monkeypatch.setattr(os, "_exit", exit_)
    with pytest.raises(Exited) as exited:
        call_api(build(monkeypatch, "crash"))
    assert exited.value.code == 1
    assert [line for line in logged(capsys) if line["level"] == "ERROR"] == []


def test_memory_allocates_until_the_limit_and_escapes(monkeypatch):
    sizes: list[int] = []

    def allocate(size: int) -> object:
        sizes.append(size)
        if len(sizes) > 3:
            raise MemoryError
        return object()

    with pytest.raises(InjectedMemoryError, match="after 3 chunks") as raised:
        call_api(build(monkeypatch, "memory", allocate=allocate))
    assert isinstance(raised.value, MemoryError)  # a runtime may treat it as the kill it is
    assert sizes == [runtime_module.MEMORY_CHUNK_BYTES] * 4


def test_the_default_allocation_touches_its_memory():
    assert runtime_module._hoard(16) == b"\xff" * 16  # filled bytes count against the limit


@pytest.mark.parametrize(("fault", "seconds"), [("latency", 3.0), ("latency:250", 0.25)])
def test_latency_is_slow_but_correct(monkeypatch, fault, seconds):
    slept = Slept()
    assert call_api(build(monkeypatch, fault, sleep=slept))["statusCode"] == 200
    assert slept == [seconds]


@pytest.mark.parametrize("fault", [k for k in FAULT_KINDS if k != "import-error"])
def test_no_fault_fires_on_the_health_check(monkeypatch, fault):
    slept = Slept()

    def never(size: int) -> object:
        raise AssertionError("allocated on a health check")

    monkeypatch.setattr(os, "_exit", lambda code: pytest.fail("exited on a health check"))
    runtime = build(monkeypatch, fault, sleep=slept, allocate=never)
    api_answer = runtime.api(ok)(HEALTH_EVENT, Context())
    events_answer = runtime.events(lambda e, c: "ran")(HEALTH_EVENT, Context())
    assert api_answer["service"] == events_answer["service"] == "create-feedback"
    assert slept == []


def test_the_drill_and_the_runtime_agree_on_the_faults():
    assert drill.FAULT_ENV == FAULT_ENV
    assert set(drill.FAULT_KINDS) == set(FAULT_KINDS)
    for kind in drill.FAULT_KINDS:
        assert runtime_module.Fault.parse(drill.fault_setting(kind)).kind == kind


def test_a_re_raised_event_failure_is_logged_below_error(capsys):
    # Lambda reports a re-raised failure itself (AWS/Lambda Errors); an ERROR line as well would
    # count the same failure twice in the release verdict (LoggedErrors + Errors).
    import json

    import pytest

    from lambdas.common.runtime import Runtime

    runtime = Runtime("stream-aggregator")

    @runtime.events
    def handler(event, context):
        raise ValueError("bad batch")

    with pytest.raises(ValueError, match="bad batch"):
        handler({"Records": []}, None)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    failed = [line for line in lines if line["message"] == "invocation failed"]
    assert [line["level"] for line in failed] == ["WARNING"]
    assert failed[0]["errorType"] == "ValueError"
