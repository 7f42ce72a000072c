/**
 * The submission queue on IndexedDB (fake-indexeddb): one item per Idempotency-Key, sent in
 * order with its key, removed once answered, kept on a network failure, sent once when two
 * senders run at the same time, and sent when the browser comes back online.
 */

import { IDBFactory } from "fake-indexeddb";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError, type CreatedFeedback } from "../api";
import { enqueue, onQueueEvent, queuedSubmissions, type QueueEvent, type QueuedSubmission } from "./queue";
import { flushQueue, sendToApi } from "./send";
import { startOffline } from "./start";

function submission(n: number, extra: Partial<QueuedSubmission> = {}): QueuedSubmission {
  return {
    key: `key-${n}-0000`,
    body: { name: `Person ${n}`, email: "p@example.com", rating: 4, message: `Message ${n}` },
    api: { apiBaseUrl: "http://127.0.0.1:8000/local", apiKey: null },
    queuedAt: `2025-01-01T10:00:0${n}.000Z`,
    ...extra,
  };
}

function created(item: QueuedSubmission, replayed = false): CreatedFeedback {
  return {
    feedbackId: `id-${item.key}`,
    name: item.body.name,
    rating: item.body.rating ?? 0,
    message: item.body.message,
    sentiment: "positive",
    createdAt: item.queuedAt,
    replayed,
  };
}

let events: QueueEvent[] = [];
let stopListening = () => {};

beforeEach(() => {
  globalThis.indexedDB = new IDBFactory(); // a fresh, empty database for every test
  events = [];
  stopListening = onQueueEvent((event) => events.push(event));
});

afterEach(() => {
  stopListening();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe("the queue", () => {
  it("keeps one item per key, oldest first, and says it was queued", async () => {
    await enqueue(submission(2));
    await enqueue(submission(1));
    await enqueue(submission(2)); // the same submission again: still one item
    const items = await queuedSubmissions();
    expect(items.map((i) => i.key)).toEqual(["key-1-0000", "key-2-0000"]);
    expect(items[1]).toEqual(submission(2));
    expect(events).toEqual([
      { type: "queued", key: "key-2-0000" },
      { type: "queued", key: "key-1-0000" },
      { type: "queued", key: "key-2-0000" },
    ]);
  });

  it("sends every item in order with its own key and empties the queue", async () => {
    await enqueue(submission(2));
    await enqueue(submission(1));
    const send = vi.fn(async (item: QueuedSubmission) => created(item));
    expect(await flushQueue(send)).toEqual({ sent: 2, rejected: 0, remaining: 0 });
    expect(send.mock.calls.map(([item]) => item.key)).toEqual(["key-1-0000", "key-2-0000"]);
    expect(await queuedSubmissions()).toEqual([]);
    expect(events.filter((e) => e.type === "sent")).toEqual([
      { type: "sent", key: "key-1-0000", feedback: created(submission(1)) },
      { type: "sent", key: "key-2-0000", feedback: created(submission(2)) },
    ]);
  });

  it.each([
    ["the network", new ApiError("network", "Failed to fetch")],
    ["a timeout", new ApiError("timeout", "the request timed out")],
    ["the server", new ApiError("server", "boom", 503)],
    ["throttling", new ApiError("client", "slow down", 429)],
  ])("stops on a failure of %s and keeps the rest for the next run", async (_what, failure) => {
    await enqueue(submission(1));
    await enqueue(submission(2));
    const send = vi.fn(async (): Promise<CreatedFeedback> => {
      throw failure;
    });
    expect(await flushQueue(send)).toEqual({ sent: 0, rejected: 0, remaining: 2 });
    expect(send).toHaveBeenCalledTimes(1);
    expect((await queuedSubmissions()).map((i) => i.key)).toEqual(["key-1-0000", "key-2-0000"]);
  });

  it("drops an item the API refuses and says why", async () => {
    await enqueue(submission(1));
    await enqueue(submission(2));
    const send = vi.fn(async (item: QueuedSubmission) => {
      if (item.key === "key-1-0000") throw new ApiError("client", "the feedback is invalid", 400, "validation_error");
      return created(item);
    });
    expect(await flushQueue(send)).toEqual({ sent: 1, rejected: 1, remaining: 0 });
    expect(events).toContainEqual({ type: "rejected", key: "key-1-0000", message: "the feedback is invalid (HTTP 400)." });
    expect(await queuedSubmissions()).toEqual([]);
  });

  it("sends each item once when two senders start together", async () => {
    await enqueue(submission(1));
    const send = vi.fn(async (item: QueuedSubmission) => created(item));
    const [first, second] = await Promise.all([flushQueue(send), flushQueue(send)]);
    expect(send).toHaveBeenCalledTimes(1);
    expect(first.sent + second.sent).toBe(1);
  });

  it("sends to the API the item was made for, with its Idempotency-Key and the stage's API key", async () => {
    const item = submission(1, { api: { apiBaseUrl: "https://api.example.com/prod", apiKey: "k-123" } });
    const fetchMock = vi.fn(async () => new Response(JSON.stringify(created(item)), { status: 201 }));
    vi.stubGlobal("fetch", fetchMock);
    expect(await sendToApi(item)).toEqual(created(item));
    const [url, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe("https://api.example.com/prod/feedback");
    expect(init.method).toBe("POST");
    const headers = new Headers(init.headers);
    expect(headers.get("Idempotency-Key")).toBe("key-1-0000");
    expect(headers.get("X-Api-Key")).toBe("k-123");
    expect(JSON.parse(String(init.body))).toEqual(item.body);
  });
});

describe("startOffline", () => {
  it("says it is offline, counts the queue, sends it once back online, and counts again", async () => {
    await enqueue(submission(1));
    const item = submission(1);
    let online = false;
    const fetchMock = vi.fn(async () => {
      if (!online) throw new TypeError("Failed to fetch");
      return new Response(JSON.stringify(created(item)), { status: 201, headers: { "Idempotent-Replayed": "true" } });
    });
    vi.stubGlobal("fetch", fetchMock);
    vi.spyOn(navigator, "onLine", "get").mockImplementation(() => online);
    const report = vi.fn();

    const stop = await startOffline({ report, worker: false });
    expect(report).toHaveBeenCalledWith({ offline: true });
    expect(report).toHaveBeenLastCalledWith({ queued: 1 });
    expect(fetchMock).not.toHaveBeenCalled(); // offline at start: nothing is tried

    online = true;
    window.dispatchEvent(new Event("online"));
    await vi.waitFor(() => expect(report).toHaveBeenLastCalledWith({ queued: 0 }));
    expect(report).toHaveBeenCalledWith({ offline: false });
    expect(fetchMock).toHaveBeenCalledTimes(1);
    expect(events).toContainEqual({ type: "sent", key: item.key, feedback: created(item, true) });
    expect(await queuedSubmissions()).toEqual([]);
    stop();
  });

  it("sends what an earlier visit left when the page opens online", async () => {
    await enqueue(submission(1));
    const fetchMock = vi.fn(async () => new Response(JSON.stringify(created(submission(1))), { status: 201 }));
    vi.stubGlobal("fetch", fetchMock);
    const report = vi.fn();
    const stop = await startOffline({ report, worker: false });
    await vi.waitFor(() => expect(report).toHaveBeenLastCalledWith({ queued: 0 }));
    expect(fetchMock).toHaveBeenCalledTimes(1);
    stop();
  });
});
