/**
 * The API client: URLs, headers (Idempotency-Key, X-Api-Key), and how each failure is classified.
 *
 * @vitest-environment node
 */

import { describe, expect, it, vi } from "vitest";
import { ApiError, createApi, describeError } from "./api";
import { loadConfig, parseConfig } from "./config";

const CONFIG = { apiBaseUrl: "https://api.example.com/prod", apiKey: null, stage: "prod" };

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
}

function requestOf(fetchMock: ReturnType<typeof vi.fn>, call = 0): { url: string; init: RequestInit; headers: Headers } {
  const [url, init] = fetchMock.mock.calls[call] as [string, RequestInit];
  return { url, init, headers: new Headers(init.headers) };
}

const BODY = { name: "Ada", email: "ada@example.com", rating: 5, message: "Great" };
const CREATED = { feedbackId: "f1", name: "Ada", rating: 5, message: "Great", sentiment: "positive", createdAt: "2025-01-01T00:00:00.000Z", status: "active" };

describe("createApi", () => {
  it("posts feedback as JSON with the idempotency key and reports a replay", async () => {
    const fetchMock = vi.fn(async () => json(201, CREATED, { "Idempotent-Replayed": "true" }));
    const api = createApi(CONFIG, fetchMock);
    const created = await api.submitFeedback(BODY, "key-12345678");
    const { url, init, headers } = requestOf(fetchMock);
    expect(url).toBe("https://api.example.com/prod/feedback");
    expect(init.method).toBe("POST");
    expect(JSON.parse(init.body as string)).toEqual(BODY);
    expect(headers.get("Content-Type")).toBe("application/json");
    expect(headers.get("Idempotency-Key")).toBe("key-12345678");
    expect(headers.has("X-Api-Key")).toBe(false);
    expect(created).toEqual({ ...CREATED, replayed: true });
  });

  it("sends the stage's API key when config.json names one", async () => {
    const fetchMock = vi.fn(async () => json(200, { items: [], nextCursor: null }));
    await createApi({ ...CONFIG, apiKey: "k3y" }, fetchMock).listFeedback();
    expect(requestOf(fetchMock).headers.get("X-Api-Key")).toBe("k3y");
  });

  it("pages with limit and the opaque cursor, encoded", async () => {
    const fetchMock = vi.fn(async () => json(200, { items: [], nextCursor: null }));
    await createApi(CONFIG, fetchMock).listFeedback({ limit: 10, cursor: "a+b/c=" });
    expect(requestOf(fetchMock).url).toBe("https://api.example.com/prod/feedback?limit=10&cursor=a%2Bb%2Fc%3D");
  });

  it("sends the filters as query parameters, leaving out those not set", async () => {
    const fetchMock = vi.fn(async () => json(200, { items: [], nextCursor: null }));
    await createApi(CONFIG, fetchMock).listFeedback({ limit: 10, rating: 4, from: "2025-03-01", sentiment: undefined });
    expect(requestOf(fetchMock).url).toBe("https://api.example.com/prod/feedback?limit=10&rating=4&from=2025-03-01");
  });

  it("turns a 400 into a client error carrying the field details", async () => {
    const body = { error: "validation_error", message: "the feedback is invalid", details: [{ field: "name", problem: "must not be empty" }] };
    const api = createApi(CONFIG, vi.fn(async () => json(400, body)));
    const error = await api.submitFeedback(BODY, "key-12345678").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ kind: "client", status: 400, code: "validation_error", details: body.details, retryable: false });
  });

  it("turns a 5xx without JSON into a retryable server error", async () => {
    const api = createApi(CONFIG, vi.fn(async () => new Response("<html>Bad gateway</html>", { status: 502, statusText: "Bad Gateway" })));
    const error = (await api.getAnalytics().catch((e: unknown) => e)) as ApiError;
    expect(error).toMatchObject({ kind: "server", status: 502, retryable: true });
    expect(describeError(error)).toContain("HTTP 502");
  });

  it("turns an unreachable API into a retryable network error", async () => {
    const api = createApi(CONFIG, vi.fn(async () => Promise.reject(new TypeError("Failed to fetch"))));
    const error = (await api.getAnalytics().catch((e: unknown) => e)) as ApiError;
    expect(error).toMatchObject({ kind: "network", retryable: true });
    expect(describeError(error)).toMatch(/cannot reach/i);
  });

  it("gives up after the timeout", async () => {
    const never = vi.fn((_url: string, init: RequestInit) => new Promise<Response>((_resolve, reject) => {
      init.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
    }));
    const error = (await createApi(CONFIG, never as unknown as typeof fetch, 5).getAnalytics().catch((e: unknown) => e)) as ApiError;
    expect(error).toMatchObject({ kind: "timeout", retryable: true });
  });
});

describe("config.json", () => {
  it("accepts the deployed shape and strips a trailing slash", () => {
    expect(parseConfig({ apiBaseUrl: "https://x.example/prod/", apiKey: null, stage: "prod" })).toEqual({
      apiBaseUrl: "https://x.example/prod",
      apiKey: null,
      stage: "prod",
    });
  });

  it.each([[null], [[]], [{}], [{ apiBaseUrl: "" }], [{ apiBaseUrl: "/local", apiKey: 3 }]])("rejects %j", (raw) => {
    expect(() => parseConfig(raw)).toThrow(/config\.json/);
  });

  it("is fetched without the cache and says when it is missing", async () => {
    const fetchMock = vi.fn(async (_url: RequestInfo | URL, _init?: RequestInit) => new Response("not found", { status: 404 }));
    await expect(loadConfig(fetchMock)).rejects.toThrow("could not load /config.json (HTTP 404)");
    expect(fetchMock.mock.calls[0][1]).toMatchObject({ cache: "no-store" });
  });
});
