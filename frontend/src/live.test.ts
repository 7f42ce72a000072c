/**
 * Live polling: the conditional request (If-None-Match, no-store, 304 without a body), and the
 * feed's clock — every second while shown, doubling while hidden or failing, at once when shown
 * again, nothing after stop — on fake timers against an in-memory server that answers like the
 * API (a strong ETag per version of the body).
 *
 * @vitest-environment node
 */

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "./api";
import { backoff, conditionalJson, LIVE_INTERVAL_MS, MAX_INTERVAL_MS, startLive, type VisibilitySource } from "./live";

const CONFIG = { apiBaseUrl: "https://api.example.com/prod", apiKey: null, stage: "prod" };

interface Counts {
  total: number;
}

/** GET /analytics as the function answers it: 200 with an ETag, or 304 when If-None-Match names it. */
function fakeApi(initial: Counts) {
  let body = JSON.stringify(initial);
  let version = 1;
  let failWith: number | "network" | null = null;
  const seen: Array<{ url: string; ifNoneMatch: string | null; cache: RequestCache | undefined; headers: Headers }> = [];
  const statuses: number[] = [];
  const fetchImpl = vi.fn(async (url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const headers = new Headers(init?.headers);
    seen.push({ url: String(url), ifNoneMatch: headers.get("If-None-Match"), cache: init?.cache, headers });
    if (failWith === "network") throw new TypeError("Failed to fetch");
    if (failWith !== null) {
      statuses.push(failWith);
      return new Response(JSON.stringify({ error: "unavailable", message: "try later", details: [] }), { status: failWith });
    }
    const etag = `"v${version}"`;
    if (headers.get("If-None-Match") === etag) {
      statuses.push(304);
      return new Response(null, { status: 304, headers: { ETag: etag } });
    }
    statuses.push(200);
    return new Response(body, { status: 200, headers: { "Content-Type": "application/json", ETag: etag } });
  });
  return {
    fetchImpl,
    seen,
    statuses,
    change(next: Counts) {
      body = JSON.stringify(next);
      version += 1;
    },
    fail(status: number | "network" | null) {
      failWith = status;
    },
  };
}

class FakeVisibility extends EventTarget implements VisibilitySource {
  visibilityState: DocumentVisibilityState = "visible";

  show(state: DocumentVisibilityState): void {
    this.visibilityState = state;
    this.dispatchEvent(new Event("visibilitychange"));
  }
}

function live(api: ReturnType<typeof fakeApi>, visibility = new FakeVisibility()) {
  const data: Counts[] = [];
  const errors: unknown[] = [];
  let unchanged = 0;
  const feed = startLive<Counts>({
    get: conditionalJson<Counts>(CONFIG, "/analytics", api.fetchImpl),
    onData: (next) => data.push(next),
    onUnchanged: () => (unchanged += 1),
    onError: (error) => errors.push(error),
    visibility,
  });
  return { feed, data, errors, visibility, unchanged: () => unchanged };
}

/** Times (ms since the start) at which the API was asked, over `ms` of fake time. */
async function askedAt(api: ReturnType<typeof fakeApi>, ms: number, step = 100): Promise<number[]> {
  const start = Date.now();
  const times: number[] = [];
  let calls = api.fetchImpl.mock.calls.length;
  for (let t = 0; t < ms; t += step) {
    await vi.advanceTimersByTimeAsync(step);
    while (api.fetchImpl.mock.calls.length > calls) {
      calls += 1;
      times.push(Date.now() - start);
    }
  }
  return times;
}

describe("conditionalJson", () => {
  it("asks without a validator first, then with the ETag it was given; a 304 means unchanged", async () => {
    const api = fakeApi({ total: 3 });
    const get = conditionalJson<Counts>(CONFIG, "/analytics", api.fetchImpl);
    const signal = new AbortController().signal;
    const first = await get(null, signal);
    expect(first).toEqual({ changed: true, data: { total: 3 }, etag: '"v1"' });
    expect(await get('"v1"', signal)).toEqual({ changed: false });
    api.change({ total: 4 });
    expect(await get('"v1"', signal)).toEqual({ changed: true, data: { total: 4 }, etag: '"v2"' });
    expect(api.seen.map((r) => r.ifNoneMatch)).toEqual([null, '"v1"', '"v1"']);
    expect(api.seen.every((r) => r.url === "https://api.example.com/prod/analytics")).toBe(true);
    // The browser's cache must neither answer nor store: the validator is the page's own.
    expect(api.seen.every((r) => r.cache === "no-store")).toBe(true);
    expect(api.seen[0].headers.get("Accept")).toBe("application/json");
    expect(api.seen[0].headers.has("X-Api-Key")).toBe(false);
    expect(api.statuses).toEqual([200, 304, 200]);
  });

  it("sends the stage's API key", async () => {
    const api = fakeApi({ total: 1 });
    await conditionalJson({ ...CONFIG, apiKey: "k-123" }, "/analytics", api.fetchImpl)(null, new AbortController().signal);
    expect(api.seen[0].headers.get("X-Api-Key")).toBe("k-123");
  });

  it("classifies failures as the API client does", async () => {
    const api = fakeApi({ total: 1 });
    const get = conditionalJson<Counts>(CONFIG, "/analytics", api.fetchImpl);
    const signal = new AbortController().signal;
    api.fail(503);
    await expect(get(null, signal)).rejects.toMatchObject({ kind: "server", status: 503, message: "try later" });
    api.fail(429);
    await expect(get(null, signal)).rejects.toMatchObject({ kind: "client", status: 429 });
    api.fail("network");
    await expect(get(null, signal)).rejects.toMatchObject({ kind: "network" });
    const bare304 = vi.fn(async () => new Response(null, { status: 304 }));
    await expect(conditionalJson(CONFIG, "/analytics", bare304)(null, signal)).rejects.toBeInstanceOf(ApiError);
  });

  it("gives up on a request that hangs, and passes a caller's abort through", async () => {
    vi.useFakeTimers();
    try {
      const hanging = vi.fn(
        (_url: string | URL | Request, init?: RequestInit) =>
          new Promise<Response>((_resolve, reject) => init?.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")))),
      );
      const get = conditionalJson(CONFIG, "/analytics", hanging, 5_000);
      const timedOut = expect(get(null, new AbortController().signal)).rejects.toMatchObject({ kind: "timeout" });
      await vi.advanceTimersByTimeAsync(5_000);
      await timedOut;
      const caller = new AbortController();
      const cancelled = expect(get(null, caller.signal)).rejects.toMatchObject({ name: "AbortError" });
      caller.abort();
      await cancelled;
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("backoff", () => {
  it("doubles per step up to the maximum", () => {
    expect([0, 1, 2, 3, 6, 7, 100].map((n) => backoff(1_000, n))).toEqual([1_000, 2_000, 4_000, 8_000, MAX_INTERVAL_MS, MAX_INTERVAL_MS, MAX_INTERVAL_MS]);
  });
});

describe("startLive", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("polls at once, then every second; unchanged polls are 304s that keep the data", async () => {
    const api = fakeApi({ total: 3 });
    const { feed, data, unchanged } = live(api);
    expect(await askedAt(api, 5_000)).toEqual([1_000, 2_000, 3_000, 4_000, 5_000]);
    expect(api.fetchImpl).toHaveBeenCalledTimes(6); // the first at start, then one a second
    expect(data).toEqual([{ total: 3 }]);
    expect(unchanged()).toBe(5);
    expect(api.statuses).toEqual([200, 304, 304, 304, 304, 304]);
    expect(api.seen.slice(1).every((r) => r.ifNoneMatch === '"v1"')).toBe(true);
    feed.stop();
  });

  it("brings a change within one interval of it, with the new ETag afterwards", async () => {
    const api = fakeApi({ total: 3 });
    const { feed, data } = live(api);
    await vi.advanceTimersByTimeAsync(2_500);
    api.change({ total: 4 });
    await vi.advanceTimersByTimeAsync(LIVE_INTERVAL_MS);
    expect(data).toEqual([{ total: 3 }, { total: 4 }]);
    await vi.advanceTimersByTimeAsync(LIVE_INTERVAL_MS);
    expect(api.seen.at(-1)?.ifNoneMatch).toBe('"v2"');
    expect(api.statuses.at(-1)).toBe(304);
    feed.stop();
  });

  it("backs off while the tab is hidden and polls at once when it is shown again", async () => {
    const api = fakeApi({ total: 3 });
    const { feed, visibility, data } = live(api);
    await vi.advanceTimersByTimeAsync(0);
    visibility.show("hidden");
    // The poll already due runs at 1 s; then 2, 4, 8, 16, 32 and 60 s apart.
    expect(await askedAt(api, 125_000, 500)).toEqual([1_000, 3_000, 7_000, 15_000, 31_000, 63_000, 123_000]);
    api.change({ total: 9 });
    const before = api.fetchImpl.mock.calls.length;
    visibility.show("visible");
    await vi.advanceTimersByTimeAsync(0);
    expect(api.fetchImpl.mock.calls.length).toBe(before + 1); // no wait for the back-off
    expect(data.at(-1)).toEqual({ total: 9 });
    expect(await askedAt(api, 3_000)).toEqual([1_000, 2_000, 3_000]); // and every second again
    feed.stop();
  });

  it("backs off on errors, keeps the last data, and recovers at the normal pace", async () => {
    const api = fakeApi({ total: 3 });
    const { feed, data, errors } = live(api);
    await vi.advanceTimersByTimeAsync(0);
    api.fail(503);
    expect(await askedAt(api, 16_000)).toEqual([1_000, 3_000, 7_000, 15_000]);
    expect(errors).toHaveLength(4);
    expect(errors[0]).toMatchObject({ kind: "server", status: 503 });
    expect(data).toEqual([{ total: 3 }]);
    api.fail(null);
    await vi.advanceTimersByTimeAsync(16_000); // the next attempt, 16 s after the last
    expect(api.statuses.at(-1)).toBe(304); // the ETag survived the failures
    expect(await askedAt(api, 2_000)).toEqual([1_000, 2_000]);
    feed.stop();
  });

  it("refresh polls now, and joins a poll under way instead of starting another", async () => {
    const api = fakeApi({ total: 3 });
    const { feed } = live(api);
    const first = feed.refresh(); // the start's poll is still under way
    await first;
    expect(api.fetchImpl).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(400);
    await feed.refresh();
    expect(api.fetchImpl).toHaveBeenCalledTimes(2);
    expect(await askedAt(api, 1_000)).toEqual([1_000]); // the clock restarts from the refresh
    feed.stop();
  });

  it("stops: the request under way is cancelled, nothing is reported or asked afterwards", async () => {
    const signals: AbortSignal[] = [];
    const slow = vi.fn(
      (_url: string | URL | Request, init?: RequestInit) =>
        new Promise<Response>((_resolve, reject) => {
          signals.push(init!.signal!);
          init?.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
        }),
    );
    const visibility = new FakeVisibility();
    const onData = vi.fn();
    const onError = vi.fn();
    const feed = startLive({ get: conditionalJson(CONFIG, "/analytics", slow), onData, onError, visibility });
    expect(slow).toHaveBeenCalledTimes(1);
    feed.stop();
    expect(signals[0].aborted).toBe(true);
    await vi.advanceTimersByTimeAsync(10_000);
    visibility.show("hidden");
    visibility.show("visible");
    await vi.advanceTimersByTimeAsync(10_000);
    expect(slow).toHaveBeenCalledTimes(1);
    expect(onData).not.toHaveBeenCalled();
    expect(onError).not.toHaveBeenCalled();
  });
});
