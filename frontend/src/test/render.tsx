/** Renders a page (or the whole app at a path) with a fake API and an in-memory router. */

import { render } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { ReactElement } from "react";
import { MemoryRouter } from "react-router";
import { vi } from "vitest";
import type { Analytics, Api, FeedbackItem } from "../api";
import type { AppConfig } from "../config";
import { ServicesProvider } from "../context";

export const CONFIG: AppConfig = { apiBaseUrl: "http://127.0.0.1:8000/local", apiKey: null, stage: "local" };

/** An Api whose methods are spies; `overrides` give their behaviour. */
export function fakeApi(overrides: Partial<Api> = {}) {
  return {
    submitFeedback: vi.fn<Api["submitFeedback"]>(overrides.submitFeedback),
    listFeedback: vi.fn<Api["listFeedback"]>(overrides.listFeedback ?? (async () => ({ items: [], nextCursor: null }))),
    getAnalytics: vi.fn<Api["getAnalytics"]>(overrides.getAnalytics ?? (async () => analytics())),
  };
}

export function renderWith(ui: ReactElement, api: Api, path = "/") {
  const user = userEvent.setup();
  const result = render(
    <ServicesProvider api={api} config={CONFIG}>
      <MemoryRouter initialEntries={[path]}>{ui}</MemoryRouter>
    </ServicesProvider>,
  );
  return { user, ...result };
}

export function item(n: number, extra: Partial<FeedbackItem> = {}): FeedbackItem {
  return {
    feedbackId: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`,
    name: `Person ${n}`,
    rating: (n % 5) + 1,
    message: `Message number ${n}`,
    sentiment: "positive",
    createdAt: `2025-01-${String((n % 28) + 1).padStart(2, "0")}T10:00:00.000Z`,
    ...extra,
  };
}

export function analytics(extra: Partial<Analytics> = {}): Analytics {
  const daily = Array.from({ length: 30 }, (_, i) => {
    const date = new Date(Date.UTC(2025, 0, 1 + i)).toISOString().slice(0, 10);
    return { date, count: 0, averageRating: null, positive: 0, neutral: 0, negative: 0 };
  });
  return {
    totalFeedback: 0,
    averageRating: null,
    sentiment: { positive: 0, neutral: 0, negative: 0 },
    ratings: { "1": 0, "2": 0, "3": 0, "4": 0, "5": 0 },
    daily,
    lastUpdated: null,
    ...extra,
  };
}
