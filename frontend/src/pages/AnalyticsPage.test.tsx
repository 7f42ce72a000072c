/**
 * Analytics: figures and charts from the API's numbers, the empty and error states, and the live
 * view — a change shown within a second, unchanged checks (304) keeping the figures, a failed
 * check keeping them with a warning, less checking while the tab is hidden, none after leaving.
 * The page's requests go to an in-memory API that answers like the function (ETag, 304); time is
 * fake, so every wait below is exact.
 */

import { act, fireEvent, screen, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Analytics } from "../api";
import { conditionalJson } from "../live";
import { analytics, CONFIG, fakeApi, renderWith } from "../test/render";
import { AnalyticsPage } from "./AnalyticsPage";

function withData(total = 7): Analytics {
  const base = analytics();
  base.daily[29] = { ...base.daily[29], count: 5, averageRating: 4.2, positive: 3, neutral: 1, negative: 1 };
  base.daily[27] = { ...base.daily[27], count: 2, averageRating: 3.5, positive: 1, neutral: 1, negative: 0 };
  return {
    ...base,
    totalFeedback: total,
    averageRating: 4,
    sentiment: { positive: 4, neutral: 2, negative: 1 },
    ratings: { "1": 0, "2": 1, "3": 1, "4": 1, "5": 4 },
    lastUpdated: "2025-01-30T12:00:00.000Z",
  };
}

/** GET /analytics as the function answers it: an ETag per version, 304 when If-None-Match names it. */
function liveApi(initial: Analytics) {
  let body = JSON.stringify(initial);
  let version = 1;
  let down: number | "network" | null = null;
  const statuses: number[] = [];
  const fetchImpl = vi.fn(async (_url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    if (down === "network") throw new TypeError("Failed to fetch");
    if (down !== null) {
      statuses.push(down);
      return new Response(JSON.stringify({ error: "unavailable", message: "try later", details: [] }), { status: down });
    }
    const etag = `"v${version}"`;
    if (new Headers(init?.headers).get("If-None-Match") === etag) {
      statuses.push(304);
      return new Response(null, { status: 304, headers: { ETag: etag } });
    }
    statuses.push(200);
    return new Response(body, { status: 200, headers: { "Content-Type": "application/json", ETag: etag } });
  });
  return {
    get: conditionalJson<Analytics>(CONFIG, "/analytics", fetchImpl),
    fetchImpl,
    statuses,
    change(next: Analytics) {
      body = JSON.stringify(next);
      version += 1;
    },
    fail(how: number | "network" | null) {
      down = how;
    },
  };
}

function show(api: ReturnType<typeof liveApi>, intervalMs?: number) {
  return renderWith(<AnalyticsPage get={api.get} intervalMs={intervalMs} />, fakeApi());
}

/** Lets `ms` of fake time pass, with every answer and re-render it brings. */
async function elapse(ms = 0): Promise<void> {
  await act(async () => {
    await vi.advanceTimersByTimeAsync(ms);
  });
}

let visibility: DocumentVisibilityState = "visible";

function setVisibility(state: DocumentVisibilityState): void {
  visibility = state;
  act(() => {
    document.dispatchEvent(new Event("visibilitychange"));
  });
}

const total = () => screen.getByTestId("total-feedback");

describe("AnalyticsPage", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    visibility = "visible";
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => visibility });
  });
  afterEach(() => {
    vi.useRealTimers();
    Reflect.deleteProperty(document, "visibilityState");
  });

  it("shows totals, the average and all three charts", async () => {
    const { container } = show(liveApi(withData()));
    expect(screen.getByRole("status")).toHaveTextContent("Loading analytics…");
    await elapse();
    expect(total()).toHaveTextContent("7");
    expect(screen.getByTestId("average-rating")).toHaveTextContent("4.00 / 5");
    expect(screen.getByTestId("positive-share")).toHaveTextContent("57%");
    expect(screen.getByRole("figure", { name: "Sentiment" })).toBeInTheDocument();
    expect(screen.getByRole("figure", { name: "Ratings" })).toBeInTheDocument();
    expect(screen.getByRole("figure", { name: "Daily feedback, last 30 days" })).toBeInTheDocument();
    expect(container.querySelectorAll("[data-chart=trend] g.day")).toHaveLength(30);
    expect(screen.getByTestId("live-status")).toHaveTextContent("Live: checked every second while this page is shown");
  });

  it("says when nothing has been counted yet", async () => {
    show(liveApi(analytics()));
    await elapse();
    expect(screen.getByText("No feedback counted yet")).toBeInTheDocument();
    expect(total()).toHaveTextContent("0");
    expect(screen.getByTestId("average-rating")).toHaveTextContent("–");
    expect(screen.queryByRole("figure")).not.toBeInTheDocument();
  });

  it("shows an error state when the API is down, and recovers on retry", async () => {
    const api = liveApi(withData());
    api.fail("network");
    show(api, 60_000);
    await elapse();
    const alert = screen.getByRole("alert");
    expect(alert).toHaveTextContent("Could not load analytics");
    expect(alert).toHaveTextContent("Cannot reach the feedback service");
    api.fail(null);
    fireEvent.click(within(alert).getByRole("button", { name: "Try again" }));
    await elapse();
    expect(total()).toHaveTextContent("7");
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
  });

  it("shows a new count within a second; unchanged checks are 304s that keep the figures", async () => {
    const api = liveApi(withData(7));
    show(api);
    await elapse();
    const ratings = screen.getByRole("figure", { name: "Ratings" });
    await elapse(3_000);
    expect(api.statuses).toEqual([200, 304, 304, 304]);
    expect(total()).toHaveTextContent("7");
    expect(screen.getByRole("figure", { name: "Ratings" })).toBe(ratings);

    api.change(withData(8));
    await elapse(1_000);
    expect(total()).toHaveTextContent("8");
    expect(api.statuses.at(-1)).toBe(200);

    // Refresh asks at once, without waiting for the next check.
    api.change(withData(9));
    fireEvent.click(screen.getByRole("button", { name: "Refresh" }));
    await elapse();
    expect(total()).toHaveTextContent("9");
  });

  it("keeps the last figures when a check fails, says they may be out of date, and recovers", async () => {
    const api = liveApi(withData(7));
    show(api);
    await elapse();
    api.fail(503);
    await elapse(1_000);
    const alert = screen.getByRole("alert");
    expect(alert).toHaveTextContent("may be out of date");
    expect(alert).toHaveTextContent("HTTP 503");
    expect(total()).toHaveTextContent("7");
    api.fail(null);
    await elapse(2_000); // the first retry waits twice the interval
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
    expect(api.statuses.at(-1)).toBe(304);
  });

  it("checks less often while the tab is hidden, at once when shown, and never after leaving", async () => {
    const api = liveApi(withData(7));
    const { unmount } = show(api);
    await elapse();
    setVisibility("hidden");
    const hiddenFrom = api.fetchImpl.mock.calls.length;
    await elapse(30_000);
    // Visible, 30 s would be 30 checks; hidden, the waits double: 1, 2, 4, 8, 16 s.
    expect(api.fetchImpl.mock.calls.length - hiddenFrom).toBe(4);

    api.change(withData(12));
    setVisibility("visible");
    await elapse();
    expect(total()).toHaveTextContent("12");

    unmount();
    const left = api.fetchImpl.mock.calls.length;
    await elapse(120_000);
    expect(api.fetchImpl.mock.calls.length).toBe(left);
  });
});
