"""The web app offline, in a real browser (Debian's chromium, driven by Playwright).

A submission made offline is queued on the device and stored exactly once when the browser is
back online; the app shell loads offline after one visit (served by the service worker, with
config.json's last copy); a new deploy (a changed sw.js and index.html) is offered as "A new
version is available — Reload", never installed from a half-published deploy, and taking it
leaves only the new build's cache. Screenshots of the queued submission, the offline shell and
the update prompt go to each test's temporary directory. The browser may reach 127.0.0.1 only.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from feedbackctl.local.http_server import HttpResponse, HttpServer, Limits
from feedbackctl.local.static_site import StaticSite
from tests.e2e.browser import launch, local_only
from tests.e2e.test_spa_browser import (
    DESKTOP,
    TIMEOUT_MS,
    all_items,
    fill_form,
)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "frontend" / "dist"

# Resolves once the page's service worker is active, with the names of the caches it keeps.
WORKER_ACTIVE = """async () => {
  const registration = await navigator.serviceWorker.ready;
  const worker = registration.active;
  if (worker.state !== "activated") {
    await new Promise((done) => worker.addEventListener("statechange", () => {
      if (worker.state === "activated") done();
    }));
  }
  return await caches.keys();
}"""

# The URLs (paths) a cache holds.
CACHED_PATHS = """async (name) => {
  const requests = await (await caches.open(name)).keys();
  return requests.map((r) => new URL(r.url).pathname).sort();
}"""

# Checks for a new worker now and resolves with the state it reaches: "installed" (waiting) or
# "redundant" (its install failed).
CHECK_FOR_UPDATE = """async () => {
  const registration = await navigator.serviceWorker.getRegistration();
  await registration.update();
  const worker = registration.installing;
  if (!worker) return registration.waiting ? "installed" : "none";
  return await new Promise((done) => worker.addEventListener("statechange", () => {
    if (worker.state === "installed" || worker.state === "redundant") done(worker.state);
  }));
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch("sw.js")


@pytest.fixture
def new_context(browser: Any) -> Iterator[Callable[[str], tuple[Any, Any]]]:
    """Fresh browser contexts (own storage, caches and service workers) on a site; each gives
    its context and a page. Any page error fails the test."""
    contexts: list[Any] = []
    errors: list[str] = []

    def new(base_url: str) -> tuple[Any, Any]:
        context = browser.new_context(
            viewport=DESKTOP, base_url=base_url, locale="en-GB", service_workers="allow"
        )
        context.set_default_timeout(TIMEOUT_MS)
        context.route("**/*", local_only)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        return context, page

    yield new
    for context in contexts:
        context.close()
    assert errors == [], errors


def screenshot(page: Any, path: Path) -> None:
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 5_000


def test_a_submission_made_offline_is_queued_then_stored_once(
    new_context, local_platform, tmp_path
):
    from playwright.sync_api import expect

    context, page = new_context(local_platform.site_url)
    page.goto("/")
    expect(page.get_by_role("button", name="Send feedback")).to_be_visible()
    page.evaluate(WORKER_ACTIVE)  # the worker that Background Sync wakes is there

    # Every POST attempt, from the page or from the service worker, failed or not.
    keys: list[str] = []

    def record(route: Any) -> None:
        if route.request.method == "POST":
            keys.append(route.request.headers.get("idempotency-key", ""))
        route.fallback()

    context.route(f"{local_platform.api_url}/feedback", record)
    name = f"Offline {uuid.uuid4().hex[:6]}"
    message = f"Written on a train without signal {uuid.uuid4().hex}"

    context.set_offline(True)
    assert page.evaluate("navigator.onLine") is False
    fill_form(page, name, "offline@example.com", 4, message)
    page.get_by_role("button", name="Send feedback").click()
    heading = page.get_by_role("heading", name="Your feedback is queued")
    expect(heading).to_be_focused()
    expect(page.get_by_role("status")).to_contain_text("saved on this device")
    expect(page.get_by_role("banner")).to_contain_text("Offline")
    expect(page.get_by_role("banner")).to_contain_text("1 queued")
    expect(page.get_by_role("alert")).to_have_count(0)  # offline is no error
    screenshot(page, tmp_path / "offline-queued.png")
    assert not [i for i in all_items(local_platform.api_url, 2) if i["message"] == message]

    context.set_offline(False)  # the page's `online` listener (or Background Sync) sends it
    expect(page.get_by_role("heading", name=f"Thank you, {name}!")).to_be_visible()
    expect(page.get_by_role("banner")).not_to_contain_text("queued")
    expect(page.get_by_role("banner")).not_to_contain_text("Offline")

    stored = [i for i in all_items(local_platform.api_url, 2) if i["message"] == message]
    assert len(stored) == 1, stored
    assert len(keys) >= 2, keys  # the failed attempt offline, then the one that got through
    assert len(set(keys)) == 1, keys  # however many attempts and senders: one key
    assert re.fullmatch(r"[A-Za-z0-9._:-]{8,128}", keys[0])

    # A retry that arrives after all (a lost answer, another tab) is answered, not stored again.
    replay = urllib.request.Request(
        f"{local_platform.api_url}/feedback",
        data=json.dumps(
            {"name": name, "email": "offline@example.com", "rating": 4, "message": message}
        ).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Idempotency-Key": keys[0]},
    )
    with urllib.request.urlopen(replay, timeout=30) as answer:
        assert answer.status == 201
        assert answer.headers["Idempotent-Replayed"] == "true"
        assert json.loads(answer.read())["feedbackId"] == stored[0]["feedbackId"]

    page.get_by_role("link", name="See all feedback").click()
    expect(page.get_by_role("article").first).to_contain_text(message)
    expect(page.get_by_role("article").filter(has_text=message)).to_have_count(1)


def test_the_app_shell_loads_offline_after_one_visit(new_context, local_platform, tmp_path):
    from playwright.sync_api import expect

    context, page = new_context(local_platform.site_url)
    page.goto("/")
    expect(page.get_by_role("button", name="Send feedback")).to_be_visible()
    [cache] = page.evaluate(WORKER_ACTIVE)
    assert cache.startswith("feedback-shell-")
    cached = page.evaluate(CACHED_PATHS, cache)
    built = sorted(f"/{p.relative_to(DIST).as_posix()}" for p in (DIST / "assets").iterdir())
    assert cached == sorted(["/config.json", "/index.html", *built])

    context.set_offline(True)
    response = page.reload()
    assert response is not None
    assert response.from_service_worker
    expect(page.get_by_role("heading", level=1, name="Give feedback")).to_be_visible()
    expect(page.get_by_role("banner")).to_contain_text("Offline")
    expect(page.get_by_text("local", exact=True)).to_be_visible()  # the stage, from config.json
    expect(page.get_by_role("button", name="Send feedback")).to_be_enabled()
    screenshot(page, tmp_path / "offline-shell.png")

    # Every page's code is there; the data is not, and the page says so.
    page.get_by_role("link", name="Analytics").click()
    expect(page.get_by_role("heading", level=1, name="Analytics")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("Cannot reach the feedback service")
    response = page.goto("/browse")
    assert response is not None
    assert response.from_service_worker
    expect(page.get_by_role("alert")).to_contain_text("Cannot reach the feedback service")


@pytest.fixture
def deployable_site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A copy of the build, served by the local platform's site server on its own port, that a
    test can redeploy in place."""
    site_dir = tmp_path / "site"
    shutil.copytree(DIST, site_dir)
    site = StaticSite(
        site_dir,
        config=lambda: {"apiBaseUrl": "/local", "apiKey": None, "stage": "local"},
        api_url=lambda: "/local",
    )

    def refuse(refusal: Any) -> HttpResponse:
        return HttpResponse(refusal.status, [("Content-Type", "text/plain")], b"refused\n")

    server = HttpServer(
        lambda request: site.handle(request, urlsplit(request.target).path),
        refuse,
        host="127.0.0.1",
        port=0,
        limits=Limits(max_body_bytes=1024, threads=4),
        name="site-redeploy",
    )
    server.start()
    yield f"http://127.0.0.1:{server.port}", site_dir
    server.stop()


def test_a_new_deploy_shows_the_update_prompt(new_context, deployable_site, tmp_path):
    from playwright.sync_api import expect

    base_url, site_dir = deployable_site
    _context, page = new_context(base_url)
    page.goto("/")
    expect(page.get_by_role("button", name="Send feedback")).to_be_visible()
    [old_cache] = page.evaluate(WORKER_ACTIVE)
    page.reload()  # now under the worker, as every later visit is
    expect(page.get_by_role("button", name="Send feedback")).to_be_visible()

    # The next build: another index.html, and a sw.js naming it and its new version.
    index = (site_dir / "index.html").read_text()
    new_index = index.replace("<title>", '<meta name="build" content="next" />\n    <title>', 1)
    worker = (site_dir / "sw.js").read_text()
    old_version = old_cache.removeprefix("feedback-shell-")
    new_version = hashlib.sha256(new_index.encode()).hexdigest()[:16]
    old_sha = hashlib.sha256(index.encode()).hexdigest()
    new_sha = hashlib.sha256(new_index.encode()).hexdigest()
    assert worker.count(old_version) == 1
    assert worker.count(old_sha) == 1
    (site_dir / "sw.js").write_text(
        worker.replace(old_version, new_version).replace(old_sha, new_sha)
    )

    # Half-published (sw.js is there, its index.html not yet): the new worker refuses to install.
    assert page.evaluate(CHECK_FOR_UPDATE) == "redundant"
    expect(page.get_by_text("A new version is available")).to_have_count(0)

    (site_dir / "index.html").write_text(new_index)
    page.reload()  # a later visit: the old version, and the offer of the new one
    prompt = page.get_by_role("status").filter(has_text="A new version is available")
    expect(prompt).to_be_visible()
    expect(prompt).to_contain_text("A new version is available — Reload")
    assert page.locator('meta[name="build"]').count() == 0  # still the old build
    screenshot(page, tmp_path / "update-prompt.png")

    prompt.get_by_role("button", name="Reload").click()
    expect(page.locator('meta[name="build"]')).to_have_attribute("content", "next")
    expect(page.get_by_role("button", name="Send feedback")).to_be_visible()
    expect(page.get_by_text("A new version is available")).to_have_count(0)
    assert page.evaluate("caches.keys()") == [f"feedback-shell-{new_version}"]
