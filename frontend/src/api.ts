/**
 * The HTTP API client (docs/api.md): fetch with a timeout, the API key header when the stage
 * uses one, and every failure turned into an ApiError that says what kind it was (the API
 * unreachable, a 4xx with the API's `{error, message, details}`, or a 5xx) so pages can say so.
 */

import type { BrowseFilter } from "./browseFilter";
import type { AppConfig } from "./config";
import type { FieldError } from "./validation";

export type Sentiment = "positive" | "neutral" | "negative";

export interface SubmissionBody {
  name: string;
  email: string;
  rating?: number;
  message: string;
}

export interface CreatedFeedback {
  feedbackId: string;
  name: string;
  rating: number;
  message: string;
  sentiment: Sentiment;
  createdAt: string;
  status?: string;
  replayed: boolean;
}

export interface FeedbackItem {
  feedbackId: string;
  name: string;
  rating: number;
  message: string;
  sentiment: Sentiment;
  createdAt: string;
}

export interface FeedbackPage {
  items: FeedbackItem[];
  nextCursor: string | null;
}

export interface DailyPoint {
  date: string;
  count: number;
  averageRating: number | null;
  positive: number;
  neutral: number;
  negative: number;
}

export interface Analytics {
  totalFeedback: number;
  averageRating: number | null;
  sentiment: Record<Sentiment, number>;
  ratings: Record<"1" | "2" | "3" | "4" | "5", number>;
  daily: DailyPoint[];
  lastUpdated: string | null;
}

export type ApiErrorKind = "network" | "timeout" | "client" | "server";

export class ApiError extends Error {
  constructor(
    readonly kind: ApiErrorKind,
    message: string,
    readonly status: number | null = null,
    readonly code: string | null = null,
    readonly details: FieldError[] = [],
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** Whether sending the same request again may succeed (the API or the network failed). */
  get retryable(): boolean {
    return this.kind === "network" || this.kind === "timeout" || this.kind === "server" || this.status === 429;
  }
}

/** A sentence for people, naming what failed and what to do. */
export function describeError(error: unknown): string {
  if (!(error instanceof ApiError)) return "Something went wrong in the page. Reload and try again.";
  switch (error.kind) {
    case "network":
      return "Cannot reach the feedback service. Check your connection and try again.";
    case "timeout":
      return "The feedback service took too long to answer. Try again in a moment.";
    case "server":
      return `The feedback service had a problem (HTTP ${error.status}). Try again in a moment.`;
    case "client":
      if (error.status === 429) return "Too many requests right now. Wait a moment and try again.";
      if (error.status === 403) return `The feedback service refused the request (HTTP 403): ${error.message}`;
      return `${error.message} (HTTP ${error.status}).`;
  }
}

export interface Api {
  submitFeedback(body: SubmissionBody, idempotencyKey: string): Promise<CreatedFeedback>;
  listFeedback(options?: { limit?: number; cursor?: string | null } & BrowseFilter): Promise<FeedbackPage>;
  getAnalytics(): Promise<Analytics>;
}

const TIMEOUT_MS = 15_000;

async function errorFrom(response: Response): Promise<ApiError> {
  const kind: ApiErrorKind = response.status >= 500 ? "server" : "client";
  let body: { error?: unknown; message?: unknown; details?: unknown } = {};
  try {
    body = (await response.json()) ?? {};
  } catch {
    // Not JSON (a proxy's or the gateway's own page): the status says enough.
  }
  const message = typeof body.message === "string" && body.message ? body.message : response.statusText || "request failed";
  const details = Array.isArray(body.details)
    ? body.details.filter(
        (d): d is FieldError => typeof d === "object" && d !== null && typeof d.field === "string" && typeof d.problem === "string",
      )
    : [];
  const code = typeof body.error === "string" ? body.error : null;
  return new ApiError(kind, message, response.status, code, details);
}

export function createApi(config: AppConfig, fetchImpl: typeof fetch = (...args) => fetch(...args), timeoutMs = TIMEOUT_MS): Api {
  async function call<T>(path: string, init: RequestInit = {}): Promise<{ data: T; response: Response }> {
    const headers = new Headers(init.headers);
    headers.set("Accept", "application/json");
    if (config.apiKey) headers.set("X-Api-Key", config.apiKey);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    let response: Response;
    try {
      response = await fetchImpl(`${config.apiBaseUrl}${path}`, { ...init, headers, signal: controller.signal });
    } catch (error) {
      if (controller.signal.aborted) throw new ApiError("timeout", "the request timed out");
      throw new ApiError("network", error instanceof Error ? error.message : "network error");
    } finally {
      clearTimeout(timer);
    }
    if (!response.ok) throw await errorFrom(response);
    try {
      return { data: (await response.json()) as T, response };
    } catch {
      throw new ApiError("server", "the API answered with something that is not JSON", response.status);
    }
  }

  return {
    async submitFeedback(body, idempotencyKey) {
      const { data, response } = await call<Omit<CreatedFeedback, "replayed">>("/feedback", {
        method: "POST",
        headers: { "Content-Type": "application/json", "Idempotency-Key": idempotencyKey },
        body: JSON.stringify(body),
      });
      return { ...data, replayed: response.headers.get("Idempotent-Replayed") === "true" };
    },
    async listFeedback({ limit, cursor, ...filter } = {}) {
      const query = new URLSearchParams();
      if (limit !== undefined) query.set("limit", String(limit));
      if (cursor) query.set("cursor", cursor);
      for (const [key, value] of Object.entries(filter)) if (value !== undefined) query.set(key, String(value));
      const text = query.toString();
      const suffix = text ? `?${text}` : "";
      return (await call<FeedbackPage>(`/feedback${suffix}`)).data;
    },
    async getAnalytics() {
      return (await call<Analytics>("/analytics")).data;
    },
  };
}
