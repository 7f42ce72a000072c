"""The shared function runtime: the decorators every handler is wrapped in.

They bind the log context (cold start, request id, function version), answer the synthetic
health-check event without side effects, turn ApiError into 4xx and anything unexpected into
a logged ERROR and a 500, and emit one access line per API request.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from typing import Any

from lambdas.common.config import ConfigurationError, settings
from lambdas.common.http import ApiError, Request, error_response, json_response
from lambdas.common.log import Logger

FAULT_ENV = "FEEDBACKCTL_FAULT"  # "error" or "latency:<ms>": set only on drill versions
HEALTH_CHECK_KEY = "feedbackctl"
HEALTH_CHECK_VALUE = "health-check"

ApiFunction = Callable[[Request, Any], dict[str, Any]]
EventFunction = Callable[[dict[str, Any], Any], Any]
LambdaHandler = Callable[[dict[str, Any], Any], Any]


class InjectedFaultError(RuntimeError):
    """The failure a drill version produces on purpose."""


def is_health_check(event: Any) -> bool:
    """True for the release engine's synthetic event `{"feedbackctl": "health-check"}`."""
    return isinstance(event, dict) and event.get(HEALTH_CHECK_KEY) == HEALTH_CHECK_VALUE


class Runtime:
    """Per-container state of one function: its logger and whether the next call is cold."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.logger = Logger(service)
        self._cold = True
        self._fault = os.environ.get(FAULT_ENV, "")  # read once: zero cost when unset

    def inject_fault(self) -> None:
        """Misbehave as a drill version is told to (never on the synthetic health check)."""
        if not self._fault:
            return
        kind, _, argument = self._fault.partition(":")
        if kind == "latency":
            time.sleep(int(argument or "3000") / 1000)
        elif kind == "error":
            raise InjectedFaultError(f"fault injected by {FAULT_ENV}={self._fault}")

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
                self.inject_fault()
                if request.method == "OPTIONS":
                    response = json_response(204, None, origin=origin)
                    response["body"] = ""
                else:
                    response = fn(request, context)
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
                self.inject_fault()
                return fn(event, context)
            except Exception as exc:
                self.logger.exception("invocation failed", exc)
                raise

        return lambda_handler
