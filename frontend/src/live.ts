/**
 * Live data by conditional polling. `conditionalJson` makes one GET with the last `ETag` in
 * `If-None-Match` (and `cache: "no-store"`, so the browser's cache neither answers nor stores
 * it): a 304 means "what you hold is current" and carries no body. `startLive` polls with it,
 * every second while the page is visible, backing off exponentially while the tab is hidden or
 * the API fails, immediately again when the tab is shown, and not at all once stopped.
 */

import { ApiError } from "./api";
import type { AppConfig } from "./config";

/** Between the end of one poll and the start of the next while the page is visible. */
export const LIVE_INTERVAL_MS = 1_000;
/** The longest wait while hidden or failing. */
export const MAX_INTERVAL_MS = 60_000;
export const REQUEST_TIMEOUT_MS = 10_000;

export type Revalidation<T> = { changed: true; data: T; etag: string | null } | { changed: false };

/** A conditional GET: `etag` is what the caller holds (null: nothing yet). */
export type ConditionalGet<T> = (etag: string | null, signal: AbortSignal) => Promise<Revalidation<T>>;

async function failure(response: Response): Promise<ApiError> {
  let body: { error?: unknown; message?: unknown } = {};
  try {
    body = (await response.json()) ?? {};
  } catch {
    // Not JSON (a proxy's page): the status says enough.
  }
  const message = typeof body.message === "string" && body.message ? body.message : response.statusText || "request failed";
  const code = typeof body.error === "string" ? body.error : null;
  return new ApiError(response.status >= 500 ? "server" : "client", message, response.status, code);
}

/** A ConditionalGet of `config.apiBaseUrl + path` that answers JSON. */
export function conditionalJson<T>(
  config: AppConfig,
  path: string,
  fetchImpl: typeof fetch = (...args) => fetch(...args),
  timeoutMs = REQUEST_TIMEOUT_MS,
): ConditionalGet<T> {
  const url = `${config.apiBaseUrl}${path}`;
  return async (etag, signal) => {
    const headers = new Headers({ Accept: "application/json" });
    if (config.apiKey) headers.set("X-Api-Key", config.apiKey);
    if (etag) headers.set("If-None-Match", etag);
    const controller = new AbortController();
    const abort = () => controller.abort();
    if (signal.aborted) abort();
    signal.addEventListener("abort", abort);
    const timer = setTimeout(abort, timeoutMs);
    let response: Response;
    try {
      response = await fetchImpl(url, { headers, cache: "no-store", signal: controller.signal });
    } catch (error) {
      if (signal.aborted) throw error;
      if (controller.signal.aborted) throw new ApiError("timeout", "the request timed out");
      throw new ApiError("network", error instanceof Error ? error.message : "network error");
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", abort);
    }
    if (response.status === 304) {
      if (!etag) throw new ApiError("server", "the API answered 304 to a request that named no version", 304);
      return { changed: false };
    }
    if (!response.ok) throw await failure(response);
    try {
      return { changed: true, data: (await response.json()) as T, etag: response.headers.get("ETag") };
    } catch {
      throw new ApiError("server", "the API answered with something that is not JSON", response.status);
    }
  };
}

/** What a hidden tab or a failing API waits: the interval doubled per step, at most `max`. */
export function backoff(intervalMs: number, steps: number, maxMs = MAX_INTERVAL_MS): number {
  return Math.min(maxMs, intervalMs * 2 ** Math.min(steps, 30));
}

/** What the feed reads of `document`: whether the page is shown, and when that changes. */
export interface VisibilitySource {
  readonly visibilityState: DocumentVisibilityState;
  addEventListener(type: "visibilitychange", listener: () => void): void;
  removeEventListener(type: "visibilitychange", listener: () => void): void;
}

export interface LiveOptions<T> {
  get: ConditionalGet<T>;
  /** A new body (the first, or one that changed). */
  onData: (data: T) => void;
  /** The API confirmed that the last body is current (a 304). */
  onUnchanged?: () => void;
  /** A poll failed; the last body stays valid until the next one says otherwise. */
  onError: (error: unknown) => void;
  intervalMs?: number;
  maxIntervalMs?: number;
  visibility?: VisibilitySource;
}

export interface LiveFeed {
  /** Poll now (or join the poll under way); resolves when it is answered. */
  refresh(): Promise<void>;
  /** Stop polling: cancels the request under way and the next one; no callback runs after. */
  stop(): void;
}

export function startLive<T>(options: LiveOptions<T>): LiveFeed {
  const intervalMs = options.intervalMs ?? LIVE_INTERVAL_MS;
  const maxMs = options.maxIntervalMs ?? MAX_INTERVAL_MS;
  const visibility = options.visibility ?? document;
  let etag: string | null = null;
  let failures = 0;
  let hiddenPolls = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> | null = null;
  let controller: AbortController | null = null;
  let stopped = false;

  function schedule(): void {
    if (stopped) return;
    clearTimeout(timer);
    hiddenPolls = visibility.visibilityState === "hidden" ? hiddenPolls + 1 : 0;
    timer = setTimeout(() => void poll(), backoff(intervalMs, failures + hiddenPolls, maxMs));
  }

  async function once(signal: AbortSignal): Promise<void> {
    try {
      const answer = await options.get(etag, signal);
      if (stopped) return;
      failures = 0;
      if (answer.changed) {
        etag = answer.etag;
        options.onData(answer.data);
      } else {
        options.onUnchanged?.();
      }
    } catch (error) {
      if (stopped) return;
      failures += 1;
      options.onError(error);
    }
  }

  function settled(): void {
    running = null;
    controller = null;
    schedule();
  }

  function poll(): Promise<void> {
    if (stopped) return Promise.resolve();
    if (running) return running;
    clearTimeout(timer);
    controller = new AbortController();
    // Settled in a later microtask, so always after `running` is set, whatever `get` does.
    const current = once(controller.signal).then(settled, settled);
    running = current;
    return current;
  }

  function onVisibilityChange(): void {
    if (visibility.visibilityState === "hidden") return;
    hiddenPolls = 0;
    void poll(); // shown again: at once, not after the hidden back-off
  }

  visibility.addEventListener("visibilitychange", onVisibilityChange);
  void poll();

  return {
    refresh: poll,
    stop() {
      stopped = true;
      clearTimeout(timer);
      controller?.abort();
      visibility.removeEventListener("visibilitychange", onVisibilityChange);
    },
  };
}
