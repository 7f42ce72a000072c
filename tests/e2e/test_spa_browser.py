"""The web app in a real browser (Debian's chromium, driven by Playwright) on the local platform.

Submit → confirmation → browse → analytics, by keyboard; the server's own validation errors on
the form; markup rendered as text; a retried submission stored once; the API down; each page's
code fetched only when the page is opened; filters in the URL; and a
screenshot of every page, desktop and mobile, in test-artifacts/screenshots/. The browser may
reach 127.0.0.1 only: every other request is aborted.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from lambdas.common.sentiment import classify
from tests.e2e.browser import launch, local_only

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
MOBILE = {"width": 390, "height": 844}
TIMEOUT_MS = 15_000


def api_call(method: str, url: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def all_items(api_url: str, pages: int = 20) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(pages):
        query = "limit=100" + (f"&cursor={quote(cursor)}" if cursor else "")
        status, body = api_call("GET", f"{api_url}/feedback?{query}")
        assert status == 200, body
        items.extend(body["items"])
        cursor = body["nextCursor"]
        if not cursor:
            break
    return items


def eventually(check: Callable[[], Any], timeout: float = 30.0, every: float = 0.3) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch()


@pytest.fixture
def open_page(browser: Any, local_platform: Any) -> Iterator[Callable[..., Any]]:
    """Opens pages of the local site in fresh browser contexts; fails on any page error."""
    contexts: list[Any] = []
    errors: list[str] = []

    def open_(path: str = "/", viewport: dict[str, int] | None = None) -> Any:
        context = browser.new_context(
            viewport=viewport or DESKTOP, base_url=local_platform.site_url, locale="en-GB"
        )
        context.set_default_timeout(TIMEOUT_MS)
        context.route("**/*", local_only)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(path)
        return page

    yield open_
    for context in contexts:
        context.close()
    assert errors == [], errors


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def total_on_dashboard(page: Any) -> int:
    return int(page.get_by_test_id("total-feedback").inner_text())


def fill_form(page: Any, name: str, email: str, rating: int, message: str) -> None:
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill(email)
    page.locator(f'label[for="rating-{rating}"]').click()  # the star a pointer user clicks
    assert page.get_by_role("radio", name=re.compile(f"^{rating} star")).is_checked()
    page.get_by_label("Message").fill(message)


def test_submit_then_browse_then_analytics_by_keyboard(open_page, local_platform):
    from playwright.sync_api import expect

    page = open_page("/analytics")
    expect(page.get_by_test_id("total-feedback")).to_be_visible()
    before = total_on_dashboard(page)

    page.get_by_role("link", name="Give feedback").click()
    expect(page.get_by_role("heading", level=1, name="Give feedback")).to_be_focused()
    name = f"Keyboard {uuid.uuid4().hex[:6]}"
    message = f"Excellent service, I love how quick it was ({uuid.uuid4().hex[:8]})"
    page.get_by_label("Name").focus()
    page.keyboard.type(name)
    page.keyboard.press("Tab")
    page.keyboard.type("keyboard@example.com")
    page.keyboard.press("Tab")  # into the rating group: the first star
    page.keyboard.press("Space")
    for _ in range(3):
        page.keyboard.press("ArrowRight")  # radio-group arrows: 4 stars
    page.keyboard.press("Tab")
    page.keyboard.type(message)
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Send feedback")).to_be_focused()
    page.keyboard.press("Enter")

    heading = page.get_by_role("heading", name=f"Thank you, {name}!")
    expect(heading).to_be_focused()
    sentiment = classify(message)
    expect(page.get_by_role("status")).to_contain_text(f"We read it as {sentiment}")
    expect(page.get_by_role("img", name="Rated 4 out of 5")).to_be_visible()
    screenshot(page, "submit-confirmation")

    page.get_by_role("link", name="See all feedback").click()
    first = page.get_by_role("article").first
    expect(first.get_by_role("heading")).to_have_text(name)
    expect(first).to_contain_text(message)
    expect(first).to_contain_text(sentiment)
    assert "keyboard@example.com" not in page.content()

    page.get_by_role("link", name="Analytics").click()
    expect(page.get_by_test_id("total-feedback")).to_be_visible()

    def counted() -> bool:
        page.get_by_role("button", name="Refresh").click()
        page.wait_for_load_state("networkidle")
        return total_on_dashboard(page) > before

    assert eventually(counted), "the analytics total never included the new feedback"


def _too_long_name_and_bad_email(sent: dict[str, Any]) -> str:
    return json.dumps({**sent, "name": "x" * 101, "email": "not-an-email"})


def _name_twice(sent: dict[str, Any]) -> str:
    rest = json.dumps({k: v for k, v in sent.items() if k != "name"})
    return (
        '{"name": "Eve", ' + json.dumps("name") + ": " + json.dumps(sent["name"]) + ", " + rest[1:]
    )


@pytest.mark.parametrize(
    ("tamper", "shown"),
    [
        # Rejected at the edge by the API's request model: one body-level detail.
        (
            _too_long_name_and_bad_email,
            ["Name was not accepted by the service", "Email was not accepted by the service"],
        ),
        # Accepted by the model, rejected by the handler, which names the field.
        (_name_twice, ["Name appears more than once"]),
    ],
    ids=["request-model", "handler"],
)
def test_server_validation_errors_are_shown_on_the_form(open_page, local_platform, tamper, shown):
    """The form's request is altered in flight (as an outdated client's would be), so what the
    form shows is the API's own answer, not the form's checks."""
    from playwright.sync_api import expect

    page = open_page("/")
    marker = uuid.uuid4().hex

    def alter(route: Any) -> None:
        if route.request.method != "POST":
            route.fallback()
            return
        route.fallback(post_data=tamper(json.loads(route.request.post_data or "{}")))

    page.route(f"{local_platform.api_url}/feedback", alter)
    fill_form(page, "Ada", "ada@example.com", 3, f"Tampered {marker}")
    with page.expect_response(f"{local_platform.api_url}/feedback") as answer:
        page.get_by_role("button", name="Send feedback").click()
    assert answer.value.status == 400
    for text in shown:
        expect(page.get_by_text(text)).to_be_visible()
    expect(page.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Name")).to_be_focused()
    expect(page.get_by_role("alert")).to_contain_text("did not accept")
    screenshot(page, f"submit-server-errors-{tamper.__name__.strip('_')}")
    assert not any(marker in item["message"] for item in all_items(local_platform.api_url, 2))


def test_markup_is_rendered_as_text(open_page, local_platform):
    from playwright.sync_api import expect

    page = open_page("/")
    name = "<b>Mallory</b>"
    payload = (
        f'<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'
        f'<svg onload="window.__xss = 3"></svg> {uuid.uuid4().hex[:8]}'
    )
    fill_form(page, name, "mallory@example.com", 1, payload)
    page.get_by_role("button", name="Send feedback").click()
    expect(page.get_by_role("heading", name=f"Thank you, {name}!")).to_be_visible()
    expect(page.locator(".confirmation .message")).to_have_text(payload)

    page.goto("/browse")
    first = page.get_by_role("article").first
    expect(first.locator(".message")).to_have_text(payload)
    expect(first.get_by_role("heading")).to_have_text(name)
    assert first.locator("script, img, svg, b").count() == 0
    assert page.evaluate("window.__xss") is None
    screenshot(page, "browse-markup-as-text")


def test_a_retried_submission_is_stored_once(open_page, local_platform):
    """The first answer is lost on the way back (the API stored the feedback); sending again
    reuses the Idempotency-Key, so the API replays the first result instead of storing twice."""
    from playwright.sync_api import expect

    page = open_page("/")
    message = f"Sent twice, stored once {uuid.uuid4().hex}"
    keys: list[str] = []

    def lose_first_answer(route: Any) -> None:
        keys.append(route.request.headers.get("idempotency-key", ""))
        if len(keys) == 1:
            route.fetch()  # reaches the API, which stores it ...
            route.abort("connectionreset")  # ... but the browser never hears back
        else:
            route.fallback()

    page.route(f"{local_platform.api_url}/feedback", lose_first_answer)
    fill_form(page, "Retry", "retry@example.com", 5, message)
    page.get_by_role("button", name="Send feedback").click()
    expect(page.get_by_role("alert")).to_contain_text("Sending again is safe")
    page.get_by_role("button", name="Send feedback").click()
    expect(page.get_by_role("heading", name="Thank you, Retry!")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("stored once")
    assert len(keys) == 2
    assert keys[0] == keys[1]
    assert re.fullmatch(r"[A-Za-z0-9._:-]{8,128}", keys[0])
    stored = [i for i in all_items(local_platform.api_url, 2) if i["message"] == message]
    assert len(stored) == 1


def test_a_double_click_sends_one_request(open_page, local_platform):
    page = open_page("/")
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    fill_form(page, "Twice", "twice@example.com", 2, f"Double click {uuid.uuid4().hex}")
    page.get_by_role("button", name="Send feedback").dblclick()
    page.get_by_role("heading", name="Thank you, Twice!").wait_for()
    assert len(posts) == 1


def test_error_states_when_the_api_is_down_or_failing(open_page, local_platform):
    from playwright.sync_api import expect

    page = open_page("/")
    api = local_platform.api_url
    page.route(f"{api}/**", lambda route: route.abort("connectionrefused"))
    page.get_by_role("link", name="Browse").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Could not load feedback")
    expect(alert).to_contain_text("Cannot reach the feedback service")
    screenshot(page, "browse-api-down")
    page.unroute(f"{api}/**")
    alert.get_by_role("button", name="Try again").click()
    expect(page.get_by_role("article").first).to_be_visible()

    page.route(
        f"{api}/analytics",
        lambda route: route.fulfill(
            status=503,
            content_type="application/json",
            body=json.dumps({"error": "unavailable", "message": "try later", "details": []}),
        ),
    )
    page.get_by_role("link", name="Analytics").click()
    expect(page.get_by_role("alert")).to_contain_text("HTTP 503")


def scripts_loaded(page: Any) -> list[str]:
    """The file names of the JavaScript the page has fetched, from its resource timing log."""
    names = page.evaluate("performance.getEntriesByType('resource').map((e) => e.name)")
    return sorted(
        path.rsplit("/", 1)[-1]
        for path in (urlsplit(name).path for name in names)
        if path.endswith(".js")
    )


def test_the_submit_page_loads_no_browse_or_chart_code(open_page):
    from playwright.sync_api import expect

    page = open_page("/")
    expect(page.get_by_role("button", name="Send feedback")).to_be_visible()
    page.wait_for_load_state("networkidle")
    first_load = scripts_loaded(page)
    assert any(name.startswith("SubmitPage-") for name in first_load), first_load
    assert not [n for n in first_load if n.startswith(("BrowsePage-", "AnalyticsPage-"))]

    # The other pages' chunks exist under those names and load when their page is opened.
    page.get_by_role("link", name="Analytics").click()
    expect(page.get_by_role("heading", level=1, name="Analytics")).to_be_focused()
    assert any(name.startswith("AnalyticsPage-") for name in scripts_loaded(page))
    page.get_by_role("link", name="Browse").click()
    expect(page.get_by_role("heading", level=1, name="Feedback")).to_be_focused()
    assert any(name.startswith("BrowsePage-") for name in scripts_loaded(page))


def test_filters_change_the_url_and_the_results(open_page, local_platform):
    from playwright.sync_api import expect

    marker = uuid.uuid4().hex[:8]
    for rating in (1, 5):
        status, _ = api_call(
            "POST",
            f"{local_platform.api_url}/feedback",
            {
                "name": f"Rated {rating} {marker}",
                "email": "f@example.com",
                "rating": rating,
                "message": f"A plain note {marker}.",
            },
        )
        assert status == 201
    status, _ = api_call(
        "POST",
        f"{local_platform.api_url}/feedback",
        {
            "name": f"Rated 1 unhappy {marker}",
            "email": "f@example.com",
            "rating": 1,
            "message": f"It is broken and slow, a terrible experience {marker}.",
        },
    )
    assert status == 201
    page = open_page("/browse")
    expect(page.get_by_role("article").first).to_contain_text(f"Rated 1 unhappy {marker}")

    page.get_by_label("Rating").select_option("1")
    expect(page).to_have_url(re.compile(r"/browse\?rating=1$"))
    expect(page.get_by_role("article").filter(has_text=marker)).to_have_count(2)
    ratings = page.locator("article [role=img]").evaluate_all("els => els.map(e => e.ariaLabel)")
    assert ratings, "no rating shown"
    assert set(ratings) == {"Rated 1 out of 5"}, ratings

    # The link shares the view: opened afresh, it shows the same filter and results.
    shared = open_page(urlsplit(page.url).path + "?" + urlsplit(page.url).query)
    expect(shared.get_by_label("Rating")).to_have_value("1")
    expect(shared.get_by_role("article").filter(has_text=marker)).to_have_count(2)

    # Rating and sentiment together: the one-star negative feedback only.
    page.get_by_label("Sentiment").select_option("negative")
    expect(page).to_have_url(re.compile(r"/browse\?rating=1&sentiment=negative$"))
    mine = page.get_by_role("article").filter(has_text=marker)
    expect(mine).to_have_count(1)
    expect(mine.first).to_contain_text(f"Rated 1 unhappy {marker}")
    expect(page.get_by_label("Rating")).to_have_value("1")
    screenshot(page, "browse-filtered-rating-sentiment")
    page.get_by_label("Sentiment").select_option("")
    expect(page).to_have_url(re.compile(r"/browse\?rating=1$"))

    today = time.strftime("%Y-%m-%d", time.gmtime())
    page.get_by_label("Rating").select_option("")
    page.get_by_label("To").fill("2000-01-01")
    expect(page).to_have_url(re.compile(r"/browse\?to=2000-01-01$"))
    expect(page.get_by_text("No feedback matches these filters")).to_be_visible()
    page.get_by_label("To").fill(today)
    expect(page.get_by_role("article").first).to_contain_text(f"Rated 1 unhappy {marker}")
    screenshot(page, "browse-filtered")


@pytest.mark.parametrize(("suffix", "viewport"), [("", DESKTOP), ("-mobile", MOBILE)])
def test_screenshots_of_every_page(open_page, local_platform, suffix, viewport):
    from playwright.sync_api import expect

    status, _ = api_call(
        "POST",
        f"{local_platform.api_url}/feedback",
        {"name": "Grace", "email": "grace@example.com", "rating": 4, "message": "Works well."},
    )
    assert status == 201
    counted = eventually(
        lambda: api_call("GET", f"{local_platform.api_url}/analytics")[1]["totalFeedback"] > 0
    )
    assert counted, "the stream poller never counted the feedback"
    page = open_page("/", viewport)
    expect(page.get_by_role("button", name="Send feedback")).to_be_visible()
    pages = {"submit": "/", "browse": "/browse", "analytics": "/analytics"}
    for name, path in pages.items():
        page.goto(path)
        page.wait_for_load_state("networkidle")
        expect(page.locator(".state-loading")).to_have_count(0)
        if name == "analytics":
            expect(page.get_by_role("figure", name="Ratings")).to_be_visible()
        # Mobile first: nothing may need sideways scrolling.
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        screenshot(page, f"{name}{suffix}")
        assert (SCREENSHOTS / f"{name}{suffix}.png").stat().st_size > 5_000
