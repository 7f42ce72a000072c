"""The shared function runtime: the decorators every handler is wrapped in.

They bind the log context (cold start, request id, function version), answer the synthetic
health-check event without side effects, turn ApiError into 4xx and anything unexpected into
a logged ERROR and a 500, and emit one access line per API request. A drill version misbehaves
as its FEEDBACKCTL_FAULT says (see `Fault`); every other version pays one environment read.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from lambdas.common.config import ConfigurationError, settings
from lambdas.common.http import ApiError, Request, error_response, json_response
from lambdas.common.log import Logger

FAULT_ENV = "FEEDBACKCTL_FAULT"  # set only on drill versions: see Fault
HEALTH_CHECK_KEY = "feedbackctl"
HEALTH_CHECK_VALUE = "health-check"

ApiFunction = Callable[[Request, Any], dict[str, Any]]
EventFunction = Callable[[dict[str, Any], Any], Any]
LambdaHandler = Callable[[dict[str, Any], Any], Any]


class InjectedFaultError(RuntimeError):
    """`error`: a failure the wrapper handles (a logged ERROR and a 500)."""


class UnhandledFaultError(RuntimeError):
    """`exception`: a failure that escapes the wrapper unlogged, so Lambda's runtime answers
    FunctionError "Unhandled" and AWS/Lambda counts an Error, as a real bug in a release does."""


class InjectedMemoryError(UnhandledFaultError, MemoryError):
    """`memory` where the limit raises MemoryError instead of killing the process (an address
    space limit): it escapes like an unhandled error, and a runtime may treat it as a kill."""


FAULT_KINDS = ("error", "exception", "timeout", "import-error", "crash", "memory", "latency")
DEFAULT_LATENCY_MS = 3000
MEMORY_CHUNK_BYTES = 32 * 1024 * 1024
NEVER_STOPPED_MS = 900_000  # Lambda's longest timeout: what `timeout` sleeps without a context


def _hoard(size: int) -> bytes:
    # Filled bytes, not bytearray(size): calloc'd zero pages would not count against the limit.
    return b"\xff" * size


@dataclass(frozen=True)
class Fault:
    """What a drill version does wrong, parsed once from FEEDBACKCTL_FAULT.

    `error` logs an ERROR and answers 500 (our own alarm's view); `exception` escapes the
    handler; `timeout` sleeps past the function's deadline; `import-error` fails the handler
    module's import; `crash` exits the process; `memory` allocates until the memory limit kills
    it; `latency:<ms>` is slow but correct. An unknown value is no fault: a typo must not turn
    into an import error nobody asked for.
    """

    kind: str = ""
    latency_ms: int = DEFAULT_LATENCY_MS

    @classmethod
    def parse(cls, text: str) -> Fault:
        kind, _, argument = text.strip().partition(":")
        if kind not in FAULT_KINDS:
            return cls()
        if kind == "latency" and argument.isdigit():
            return cls(kind, int(argument))
        return cls(kind)

    def at_import(self, service: str) -> None:
        """Fail the handler module's import (Lambda: Runtime.ImportModuleError)."""
        if self.kind == "import-error":
            raise ImportError(f"{service}: fault injected by {FAULT_ENV}=import-error")

    def strike(
        self,
        context: Any,
        sleep: Callable[[float], None] = time.sleep,
        allocate: Callable[[int], object] = _hoard,
    ) -> None:
        """Misbehave for one invocation (the wrappers never call this for a health check)."""
        if self.kind == "latency":
            sleep(self.latency_ms / 1000)
        elif self.kind == "error":
            raise InjectedFaultError(f"fault injected by {FAULT_ENV}=error")
        elif self.kind == "exception":
            raise UnhandledFaultError(f"fault injected by {FAULT_ENV}=exception")
        elif self.kind == "timeout":
            self._outlive(context, sleep)
        elif self.kind == "crash":
            os._exit(1)  # no cleanup, no answer: what a segfault or a killed runtime looks like
        elif self.kind == "memory":
            self._exhaust(allocate)

    @staticmethod
    def _outlive(context: Any, sleep: Callable[[float], None]) -> NoReturn:
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        millis = remaining() if callable(remaining) else NEVER_STOPPED_MS
        sleep(millis / 1000 + 1)  # past the deadline: Lambda stops us ("Task timed out")
        raise UnhandledFaultError("still running after the function's timeout: nothing stopped it")

    @staticmethod
    def _exhaust(allocate: Callable[[int], object]) -> NoReturn:
        hoard: list[object] = []
        try:
            while True:
                hoard.append(allocate(MEMORY_CHUNK_BYTES))
        except MemoryError:
            count = len(hoard)
            hoard.clear()  # let the error path itself allocate
            raise InjectedMemoryError(
                f"fault injected by {FAULT_ENV}=memory: out of memory after {count} chunks"
            ) from None


def is_health_check(event: Any) -> bool:
    """True for the release engine's synthetic event `{"feedbackctl": "health-check"}`."""
    return isinstance(event, dict) and event.get(HEALTH_CHECK_KEY) == HEALTH_CHECK_VALUE


class Runtime:
    """Per-container state of one function: its logger and whether the next call is cold."""

    def __init__(
        self,
        service: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        allocate: Callable[[int], object] = _hoard,
    ) -> None:
        self.service = service
        self.logger = Logger(service)
        self._cold = True
        self.fault = Fault.parse(os.environ.get(FAULT_ENV, ""))  # read once, at import
        # Handlers build their Runtime at module import, so this fails the import itself.
        self.fault.at_import(service)
        self._sleep = sleep
        self._allocate = allocate

    def inject_fault(self, context: Any = None) -> None:
        """Misbehave as a drill version is told to (never on the synthetic health check)."""
        if self.fault.kind:
            self.fault.strike(context, self._sleep, self._allocate)

    def begin(self, context: Any, request_id: str | None = None) -> None:
        cold, self._cold = self._cold, False
        with contextlib.suppress(ConfigurationError):
            self.logger.set_level(settings().log_level)
        self.logger.bind(
            cold_start=cold,
            function_name=getattr(context, "function_name", self.service),
            function_version=getattr(context, "function_version", "$LATEST"),
            function_memory_size=getattr(context, "memory_limit_in_mb", None),
            function_arn=getattr(context, "invoked_function_arn", None),
            function_request_id=getattr(context, "aws_request_id", None),
            **({"api_request_id": request_id} if request_id else {}),
        )

    def health_check(self, context: Any) -> dict[str, Any]:
        """Answer the synthetic health event: configuration loads, code imports. No writes."""
        version = getattr(context, "function_version", "$LATEST")
        try:
            settings()
        except ConfigurationError as exc:
            # WARNING, not ERROR: a failing health check must never feed an error alarm.
            self.logger.warning("health check failed", reason=str(exc))
            return {
                "healthy": False,
                "service": self.service,
                "version": version,
                "reason": str(exc),
            }
        self.logger.info("health check passed")
        return {"healthy": True, "service": self.service, "version": version}

    def api(self, fn: ApiFunction) -> LambdaHandler:
        """Wrap an API Gateway proxy handler taking a `Request`."""

        def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
            if is_health_check(event):
                self.begin(context)
                return self.health_check(context)
            started = time.perf_counter()
            origin = None
            try:
                request = Request.from_event(event if isinstance(event, dict) else {})
                origin = request.header("origin")
                self.begin(context, request.request_id or None)
                self.inject_fault(context)
                if request.method == "OPTIONS":
                    response = json_response(204, None, origin=origin)
                    response["body"] = ""
                else:
                    response = fn(request, context)
            except UnhandledFaultError:
                raise  # a drill's unhandled fault must reach Lambda's runtime, unlogged
            except ApiError as exc:
                response = error_response(exc, origin=origin)
            except Exception as exc:  # the boundary: log it, answer 500
                self.logger.exception("unhandled error", exc)
                response = error_response(
                    ApiError(500, "internal_error", "the request could not be completed"),
                    origin=origin,
                )
            self.logger.info(
                "request",
                method=event.get("httpMethod") if isinstance(event, dict) else None,
                path=event.get("path") if isinstance(event, dict) else None,
                status=int(response["statusCode"]),
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
            return response

        return lambda_handler

    def events(self, fn: EventFunction) -> LambdaHandler:
        """Wrap a non-HTTP handler (stream, SNS): errors are logged, then re-raised for a retry."""

        def lambda_handler(event: dict[str, Any], context: Any) -> Any:
            self.begin(context)
            if is_health_check(event):
                return self.health_check(context)
            try:
                self.inject_fault(context)
                return fn(event, context)
            except UnhandledFaultError:
                raise  # unlogged, as in the API wrapper
            except Exception as exc:
                # Re-raised, the failure is the runtime's to report: Lambda logs it and counts
                # it in AWS/Lambda Errors. An ERROR line too would count it twice (LoggedErrors).
                self.logger.exception("invocation failed", exc, level="WARNING")
                raise

        return lambda_handler
