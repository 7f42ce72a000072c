"""The local API gateway: one port serving the stage's API under `/<stage>/` and the built SPA
everywhere else, as execute-api and CloudFront serve them in AWS.

Owns the split between the two, the lifecycle, the request log, and which API it serves: the
definition can be replaced while serving (`serve_api`, when the stack's template changed) or
withdrawn (`retire`, when the stack was destroyed: every request is then answered 403 with the
reason). API Gateway's semantics live in feedbackctl.local.apigateway, the site in
feedbackctl.local.static_site, sockets and framing in feedbackctl.local.http_server (waitress);
what the transport refuses under `/<stage>/` is answered with API Gateway's gateway responses.
"""

from __future__ import annotations

import errno
import json
import logging
import socket
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from feedbackctl.errors import FeedbackctlError
from feedbackctl.local.apigateway import (
    INTEGRATION_TIMEOUT_S,
    MAX_BODY_BYTES,
    Edge,
    RestApi,
    short_id,
)
from feedbackctl.local.apimodel import ROOT, ApiModel
from feedbackctl.local.http_server import HttpRequest, HttpResponse, HttpServer, Limits, Refusal
from feedbackctl.local.interfaces import Invoker, InvokeResult
from feedbackctl.local.static_site import StaticSite

__all__ = ["MAX_BODY_BYTES", "Gateway", "HttpRequest", "HttpResponse", "Limits"]

_logger = logging.getLogger(__name__)


class Gateway:
    """The local API gateway and site server on one port: `start()`, `stop()`, `url`."""

    def __init__(
        self,
        model: ApiModel,
        invoker: Invoker,
        *,
        host: str = "127.0.0.1",
        port: int = 8000,
        site_dir: Path | None = None,
        site_config: dict[str, Any] | None = None,
        api_keys: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        log: Callable[[str], None] | None = None,
        api_id: str | None = None,
        integration_timeout_s: float = INTEGRATION_TIMEOUT_S,
        on_connection: Callable[[socket.socket], None] | None = None,
        limits: Limits | None = None,
    ) -> None:
        """`api_keys` maps each API key's value to its usage plan's logical id. `site_config`
        is served as `/config.json`, read on every request (so it may be filled in after
        start(), once the port is known). `clock` drives throttling, quotas and the
        integration timeout; `wall_clock` the request times in the event. `on_connection`
        sees each accepted socket (diagnostics: its options, its peer). `limits` bound the
        transport (default: API Gateway's 10 MB payload limit, 32 request threads)."""
        self.model = model
        self.invoker = invoker
        self.host = host
        self._port = port
        self.site_config = site_config if site_config is not None else {}
        self.api_keys = dict(api_keys or {})
        self.clock = clock
        self.wall_clock = wall_clock
        self.log = log
        self.api_id = api_id or short_id(f"api:{model.api_name}", 10)
        self.integration_timeout_s = integration_timeout_s
        self.on_connection = on_connection
        self.limits = limits or Limits(max_body_bytes=MAX_BODY_BYTES)
        self._site = StaticSite(
            site_dir, config=lambda: self.site_config, api_url=lambda: self.api_url
        )
        self._api = self._rest_api()
        self._server: HttpServer | None = None
        self._retired: str | None = None  # why nothing is served any more

    # --- where it listens -------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def address(self) -> str:
        host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(self.host, self.host)  # noqa: S104 - mapping a wildcard to a reachable address
        return f"[{host}]:{self._port}" if ":" in host else f"{host}:{self._port}"

    @property
    def url(self) -> str:
        """The site's URL (and origin), e.g. http://127.0.0.1:8000."""
        return f"http://{self.address}"

    @property
    def api_url(self) -> str:
        """The API's base URL, the stage path included, e.g. http://127.0.0.1:8000/local."""
        return f"{self.url}/{self.model.stage_name}"

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Listen and serve in background threads; a port in use is a FeedbackctlError."""
        try:
            server = HttpServer(
                self._serve,
                self.refuse,
                host=self.host,
                port=self._port,
                limits=self.limits,
                name=f"gateway-{self._port}",
                on_connection=self.on_connection,
            )
        except OSError as exc:
            raise self._bind_error(exc) from None
        self._port = server.port
        # Locally the gateway serves the site, so the site's origin is the gateway's own.
        self._api = self._rest_api()
        self._server = server
        server.start()

    def _rest_api(self) -> RestApi:
        edge = Edge(
            invoker=self.invoker,
            api_id=self.api_id,
            address=self.address,
            port=self._port,
            report=self.report,
            api_keys=self.api_keys,
            clock=self.clock,
            wall_clock=self.wall_clock,
            integration_timeout_s=self.integration_timeout_s,
        )
        return RestApi(self.model.with_site_origin(self.url), edge)

    def serve_api(self, model: ApiModel, api_keys: Mapping[str, str]) -> None:
        """Serve another definition of the API from the next request on (same stage name:
        the API's URL does not move); throttling and quota counts start afresh."""
        self.model, self.api_keys = model, dict(api_keys)
        self._api = self._rest_api()

    def retire(self, reason: str) -> None:
        """Serve nothing from now on: every request is answered 403 with `reason`."""
        self._retired = reason

    def _bind_error(self, exc: OSError) -> FeedbackctlError:
        if exc.errno == errno.EADDRINUSE:
            return FeedbackctlError(
                f"port {self._port} on {self.host} is in use",
                doing="starting the API gateway",
                hint="is another `feedbackctl local up` running? "
                "choose another port with --api-port",
            )
        return FeedbackctlError(
            f"cannot listen on {self.host} port {self._port}: {exc.strerror or exc}",
            doing="starting the API gateway",
            hint="choose another port with --api-port",
        )

    def stop(self) -> None:
        """Stop serving and close every connection, idle keep-alive ones included."""
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    def __enter__(self) -> Gateway:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    # --- requests ---------------------------------------------------------------------------

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer one request: the API under `/<stage>/`, the site everywhere else."""
        if self._retired is not None:
            body = json.dumps({"message": self._retired}).encode()
            headers = [
                ("Content-Type", "application/json"),
                ("x-amzn-ErrorType", "ForbiddenException"),
            ]
            return HttpResponse(403, headers, body)
        path, _, query = request.target.partition("?")
        resource = self._resource(path)
        if resource is not None:
            return self._api.handle(request, resource, query.partition("#")[0])
        return self._site.handle(request, _path_of(path))

    def refuse(self, refusal: Refusal) -> HttpResponse:
        """What the transport refused: API Gateway's gateway response under the stage, a
        JSON message elsewhere."""
        request = refusal.request
        resource = self._resource(request.target.partition("?")[0]) if request else None
        if request is not None and resource is not None:
            response = self._api.refused(refusal, request, resource)
        else:
            message = "Internal server error" if refusal.status == 500 else refusal.reason
            body = json.dumps({"message": message}).encode()
            response = HttpResponse(refusal.status, [("Content-Type", "application/json")], body)
        if self.log is not None:
            where = f"{request.method} {request.target}" if request else "(unreadable request)"
            self.log(f"{where} {response.status} refused: {refusal.detail}")
        return response

    def _serve(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.handle(request)
        if self.log is not None:
            elapsed = (time.perf_counter() - started) * 1000
            self.log(f"{request.method} {request.target} {response.status} {elapsed:.1f} ms")
        return response

    def _resource(self, path: str) -> str | None:
        """The API resource path for a request path under `/<stage>`, else None."""
        path = _path_of(path)
        prefix = f"/{self.model.stage_name}"
        if path == prefix or path.startswith(prefix + "/"):
            return unquote(path[len(prefix) :]).rstrip("/") or ROOT
        return None

    def over_integration_timeout(self, elapsed_s: float, result: InvokeResult) -> bool:
        """API Gateway answers 504 when the integration outlasts its timeout (29 s)."""
        return self._api.over_integration_timeout(elapsed_s, result)

    def report(self, message: str) -> None:
        """A failure worth telling the developer: to the log callback, else Python logging."""
        if self.log is not None:
            self.log(message)
        else:
            _logger.warning("%s", message)


def _path_of(target_path: str) -> str:
    """The path of a request target's path part (absolute-form `http://host/p` → `/p`)."""
    if target_path.startswith(("http://", "https://")):
        return "/" + target_path.split("://", 1)[1].partition("/")[2]
    return target_path
