/** Analytics: figures and charts from the API's numbers, the empty and error states, periodic refresh. */

import { screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ApiError, type Analytics } from "../api";
import { analytics, fakeApi, renderWith } from "../test/render";
import { AnalyticsPage } from "./AnalyticsPage";

function withData(): Analytics {
  const base = analytics();
  base.daily[29] = { ...base.daily[29], count: 5, averageRating: 4.2, positive: 3, neutral: 1, negative: 1 };
  base.daily[27] = { ...base.daily[27], count: 2, averageRating: 3.5, positive: 1, neutral: 1, negative: 0 };
  return {
    ...base,
    totalFeedback: 7,
    averageRating: 4,
    sentiment: { positive: 4, neutral: 2, negative: 1 },
    ratings: { "1": 0, "2": 1, "3": 1, "4": 1, "5": 4 },
    lastUpdated: "2025-01-30T12:00:00.000Z",
  };
}

describe("AnalyticsPage", () => {
  it("shows totals, the average and all three charts", async () => {
    const { container } = renderWith(<AnalyticsPage />, fakeApi({ getAnalytics: async () => withData() }));
    expect(screen.getByRole("status")).toHaveTextContent("Loading analytics…");
    expect(await screen.findByTestId("total-feedback")).toHaveTextContent("7");
    expect(screen.getByTestId("average-rating")).toHaveTextContent("4.00 / 5");
    expect(screen.getByTestId("positive-share")).toHaveTextContent("57%");
    expect(screen.getByRole("figure", { name: "Sentiment" })).toBeInTheDocument();
    expect(screen.getByRole("figure", { name: "Ratings" })).toBeInTheDocument();
    expect(screen.getByRole("figure", { name: "Daily feedback, last 30 days" })).toBeInTheDocument();
    expect(container.querySelectorAll("[data-chart=trend] g.day")).toHaveLength(30);
  });

  it("says when nothing has been counted yet", async () => {
    renderWith(<AnalyticsPage />, fakeApi());
    expect(await screen.findByText("No feedback counted yet")).toBeInTheDocument();
    expect(screen.getByTestId("total-feedback")).toHaveTextContent("0");
    expect(screen.getByTestId("average-rating")).toHaveTextContent("–");
    expect(screen.queryByRole("figure")).not.toBeInTheDocument();
  });

  it("shows an error state when the API is down, and recovers on retry", async () => {
    let down = true;
    const api = fakeApi({
      getAnalytics: async () => {
        if (down) throw new ApiError("network", "Failed to fetch");
        return withData();
      },
    });
    const { user } = renderWith(<AnalyticsPage refreshMs={60_000} />, api);
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Could not load analytics");
    down = false;
    await user.click(within(alert).getByRole("button", { name: "Try again" }));
    expect(await screen.findByTestId("total-feedback")).toHaveTextContent("7");
  });

  it("refreshes periodically and keeps the last figures when a refresh fails", async () => {
    const answers: Array<Analytics | Error> = [analytics({ totalFeedback: 1, averageRating: 5 }), withData(), new ApiError("server", "boom", 503)];
    const api = fakeApi({
      getAnalytics: async () => {
        const next = answers.length > 1 ? answers.shift()! : answers[0];
        if (next instanceof Error) throw next;
        return next;
      },
    });
    renderWith(<AnalyticsPage refreshMs={20} />, api);
    // Three answers in turn (1, then 7, then failures): only a timer brings the second and third.
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("may be out of date");
    expect(alert).toHaveTextContent("HTTP 503");
    expect(screen.getByTestId("total-feedback")).toHaveTextContent("7");
    expect(api.getAnalytics.mock.calls.length).toBeGreaterThanOrEqual(3);
  });
});
