"""moto's service requests answered without Flask's request machinery around them.

moto serves each service from a Flask application whose URL rules call the service's response
handler (`moto.core.utils.convert_to_flask_response`). Per request, Flask pushes an application
and a request context, matches the URL, runs flask-cors after the view and pops the contexts
again: a seventh of the CPU of a PutItem that boto3 hands to moto in the same process, boto3's
own work included (`benchmarks/bench_local.py` prints both, "moto's request dispatch").

`DirectDispatch` routes with the application's own URL map (the same rules, cached by method
and path) and calls the handler as `convert_to_flask_response` does, with moto's own request
class, then answers with the response Flask would have sent: the handler's status, headers and
body, and the `Access-Control-Allow-Origin: *` flask-cors adds to every answer of moto's.

Whatever is not a plain service request goes through Flask as before: a request with an
`Origin` header or an OPTIONS preflight (a browser's, whose CORS answer depends on it), a path
no rule matches for its method (Flask's 404, 405 or redirect), a rule that is not a handler of
moto's responses. Errors are Flask's: an HTTP exception a handler raises is its answer,
anything else propagates to the server, as Flask in moto's debug mode lets it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["CORS_HEADER", "DirectDispatch"]

CORS_HEADER = ("Access-Control-Allow-Origin", "*")  # flask-cors, as moto configures it
ROUTES_KEPT = 1024  # (application, method, path) routes remembered

Handler = Callable[..., Any]


class DirectDispatch:
    """Answers a request to one of moto's Flask applications with its handler directly, or
    says it cannot (`None`) so the application serves it."""

    def __init__(self) -> None:
        # What every request uses, imported once (moto's server imports them all anyway).
        from botocore.exceptions import ClientError
        from flask import Response
        from moto.core.utils import convert_to_flask_response
        from moto.moto_api import recorder
        from moto.moto_server.werkzeug_app import BackendRequest
        from werkzeug.exceptions import HTTPException

        self._view_type = convert_to_flask_response
        self._client_error, self._http_error = ClientError, HTTPException
        self._response, self._request, self._recorder = Response, BackendRequest, recorder
        self._route = functools.lru_cache(maxsize=ROUTES_KEPT)(self._lookup)

    def __call__(
        self, app: Any, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes] | None:
        method = environ.get("REQUEST_METHOD", "GET")
        if "HTTP_ORIGIN" in environ or method == "OPTIONS":
            return None
        handler = self._route(app, method, environ.get("PATH_INFO", ""))
        if handler is None:
            return None
        return self._answer(handler, environ, start_response)

    def _lookup(self, app: Any, method: str, path: str) -> Handler | None:
        """The handler of the one rule matching `method` and `path`, if it is moto's plain
        response handler; the path alone decides (moto's rules do not match hosts)."""
        from werkzeug.exceptions import HTTPException
        from werkzeug.routing import RequestRedirect

        adapter = app.url_map.bind("127.0.0.1", path_info=path, url_scheme="http")
        try:
            endpoint, _ = adapter.match(path, method=method)
        except (HTTPException, RequestRedirect):
            return None  # Flask's own answer: 404, 405 or a redirect to the slashed path
        view = app.view_functions.get(endpoint)
        if not isinstance(view, self._view_type):
            return None
        handler: Handler = view.callback
        return handler

    def _answer(
        self, handler: Handler, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """As `convert_to_flask_response.__call__` and Flask's dispatch around it answer."""
        request = self._request(environ)
        try:
            self._recorder._record_request(request)
            try:
                result = handler(request, request.raw_url, dict(request.headers))
            except self._client_error as exc:
                result = 400, {}, exc.response["Error"]["Message"]
        except self._http_error as exc:
            answer: Any = exc.get_response(environ)
        else:
            if len(result) == 3:
                status, headers, content = result
            else:
                status, headers, content = 200, {}, result
            answer = self._response(response=content, status=status, headers=headers)
            if request.method == "HEAD" and "content-length" in headers:
                answer.headers["Content-Length"] = headers["content-length"]
        answer.headers.setdefault(*CORS_HEADER)
        served: Iterable[bytes] = answer(environ, start_response)
        return served
