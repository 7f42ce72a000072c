"""The service worker `sw.js` is never cached long, in the bucket or on the local platform: a
browser finds a new build by fetching it again, so it is revalidated on every use (with the
content type of a script), while the hashed assets it precaches stay immutable; a deploy that
changes it invalidates it at CloudFront.
"""

from __future__ import annotations

from pathlib import Path

from feedbackctl import site
from feedbackctl.local.http_server import HttpRequest
from feedbackctl.local.static_site import StaticSite

SCRIPT = "text/javascript; charset=utf-8"


def write_build(dist: Path, worker: str) -> Path:
    (dist / "assets").mkdir(parents=True, exist_ok=True)
    (dist / "index.html").write_text('<script type="module" src="/assets/index-a1.js"></script>')
    (dist / "assets" / "index-a1.js").write_text("console.log('app')")
    (dist / "sw.js").write_text(worker)
    return dist


def test_the_worker_is_revalidated_and_the_assets_are_immutable() -> None:
    assert site.cache_control("sw.js") == site.NO_CACHE == "no-cache"
    assert site.content_type("sw.js") == SCRIPT
    assert site.cache_control("assets/index-a1.js") == site.IMMUTABLE


def test_a_deploy_uploads_the_worker_no_cache_and_invalidates_it(tmp_path: Path) -> None:
    dist = write_build(tmp_path / "dist", "self.version = 1")
    files = {f.key: f for f in site.site_files(dist, site.site_config("/local", "dev"))}
    worker = files["sw.js"]
    assert (worker.content_type, worker.cache_control) == (SCRIPT, "no-cache")
    assert not worker.hashed

    plan = site.plan_site(list(files.values()), {})
    assert "/sw.js" in plan.invalidation_paths


def test_the_local_platform_serves_the_worker_as_the_bucket_does(tmp_path: Path) -> None:
    dist = write_build(tmp_path / "dist", "self.version = 1")
    static = StaticSite(dist, config=lambda: {"apiBaseUrl": "/local"}, api_url=lambda: "/local")
    answer = static.handle(HttpRequest("GET", "/sw.js"), "/sw.js")
    headers = dict(answer.headers)
    assert (answer.status, answer.body) == (200, b"self.version = 1")
    assert headers["Content-Type"] == SCRIPT
    assert headers["Cache-Control"] == "no-cache"

    # Revalidation: unchanged, a 304; rebuilt, the new script at once.
    etag = headers["ETag"]
    again = static.handle(HttpRequest("GET", "/sw.js", (("If-None-Match", etag),)), "/sw.js")
    assert again.status == 304
    (dist / "sw.js").write_text("self.version = 22")
    rebuilt = static.handle(HttpRequest("GET", "/sw.js", (("If-None-Match", etag),)), "/sw.js")
    assert (rebuilt.status, rebuilt.body) == (200, b"self.version = 22")
