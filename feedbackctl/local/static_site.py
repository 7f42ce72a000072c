"""The built SPA as CloudFront and the site bucket serve it: files from `frontend/dist` with the
Content-Type and Cache-Control a deploy gives each object, `/config.json` generated from the
site config, index.html for any path that is not a file (client-side routes, as the
distribution's error pages do), ETag revalidation, and a page saying how to build when there is
no build. One request in, one response out: no sockets (feedbackctl.local.http_server).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from feedbackctl import site
from feedbackctl.local.http_server import HttpRequest, HttpResponse

NOT_BUILT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>feedbackctl: the web app is not built</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40em;margin:4em auto;padding:0 1em}}
code{{background:#f3f3f3;padding:.1em .3em}}</style></head>
<body><h1>The web app is not built</h1>
<p>The local platform is running, but there is no built single-page app to serve here
({where}).</p>
<p>Build it from the repository root with <code>bash scripts/setup.sh</code>, then reload
this page.</p>
<p>The API works meanwhile: <a href="{api}/health">{api}/health</a></p>
</body></html>
"""


def text_response(status: int, text: str, *extra: tuple[str, str]) -> HttpResponse:
    headers = [("Content-Type", "text/plain; charset=utf-8"), *extra]
    return HttpResponse(status, headers, (text + "\n").encode())


class StaticSite:
    """Serves `site_dir` (None: not built). `config` and `api_url` are read on every request,
    so they may be filled in once the port is known."""

    def __init__(
        self,
        site_dir: Path | None,
        *,
        config: Callable[[], Mapping[str, Any]],
        api_url: Callable[[], str],
    ) -> None:
        self.root = site_dir.resolve() if site_dir is not None else None
        self._config = config
        self._api_url = api_url

    def handle(self, request: HttpRequest, path: str) -> HttpResponse:
        """Answer `request` for `path` (the target's path, still percent-encoded)."""
        if request.method not in ("GET", "HEAD"):
            return text_response(
                405, "method not allowed: the site serves GET and HEAD", ("Allow", "GET, HEAD")
            )
        if path == "/config.json":
            body = json.dumps(self._config(), separators=(",", ":")).encode()
            return HttpResponse(
                200,
                [
                    ("Content-Type", "application/json; charset=utf-8"),
                    ("Cache-Control", site.NO_CACHE),
                ],
                body,
            )
        if self.root is None or not (self.root / "index.html").is_file():
            return self.not_built()
        relative = unquote(path).lstrip("/")
        if "\x00" in relative or ".." in relative.replace("\\", "/").split("/"):
            return text_response(403, "forbidden path")
        candidate = (self.root / relative).resolve() if relative else self.root
        if not candidate.is_relative_to(self.root):
            return text_response(403, "forbidden path")
        if not candidate.is_file():
            # A client-side route (or a missing file): the SPA, as CloudFront's error pages do.
            candidate = self.root / "index.html"
        return self.file(candidate, request)

    def file(self, file: Path, request: HttpRequest) -> HttpResponse:
        stat = file.stat()
        etag = f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'
        relative = file.relative_to(self.root).as_posix() if self.root else file.name
        # The same Content-Type and Cache-Control a deploy gives the object in the site bucket.
        headers = [
            ("Content-Type", site.content_type(relative)),
            ("Cache-Control", site.cache_control(relative)),
            ("ETag", etag),
            ("X-Content-Type-Options", "nosniff"),
        ]
        if request.header("if-none-match") == etag:
            return HttpResponse(304, headers)
        return HttpResponse(200, headers, file.read_bytes())

    def not_built(self) -> HttpResponse:
        where = f"no index.html in {self.root}" if self.root else "no site directory was given"
        page = NOT_BUILT_PAGE.format(where=where, api=self._api_url())
        return HttpResponse(
            200,
            [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")],
            page.encode(),
        )
