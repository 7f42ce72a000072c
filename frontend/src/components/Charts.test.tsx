/** The SVG charts draw what the numbers say and give screen readers the same numbers as tables. */

import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { analytics } from "../test/render";
import { DailyTrend, RatingHistogram, SentimentChart, niceMax } from "./Charts";

function heights(container: HTMLElement, selector: string): number[] {
  return Array.from(container.querySelectorAll(selector), (node) => Number(node.getAttribute("height")));
}

describe("charts", () => {
  it("rounds axis maxima up to a round number (small counts stay as they are)", () => {
    expect([0, 1, 3, 7, 10, 11, 25, 26, 41, 51, 999].map(niceMax)).toEqual([1, 1, 3, 7, 10, 15, 25, 30, 50, 60, 1000]);
  });

  it("draws the rating histogram's bars in proportion to the counts", () => {
    const { container } = render(<RatingHistogram ratings={{ "1": 0, "2": 1, "3": 2, "4": 3, "5": 4 }} />);
    // The axis runs to niceMax(4) = 4 over 120 units.
    expect(heights(container, "rect.bar-rating")).toEqual([0, 30, 60, 90, 120]);
    const table = within(screen.getByRole("table", { name: "Ratings" }));
    expect(table.getByRole("row", { name: "5 4" })).toBeInTheDocument();
  });

  it("draws sentiment bars against the largest label and states shares", () => {
    const { container } = render(<SentimentChart sentiment={{ positive: 6, neutral: 3, negative: 1 }} />);
    const widths = Array.from(container.querySelectorAll("rect.bar"), (r) => Number(r.getAttribute("width")));
    expect(widths).toEqual([170, 85, 170 / 6]);
    expect(container.textContent).toContain("6 · 60%");
    const table = within(screen.getByRole("table", { name: "Sentiment" }));
    expect(table.getByRole("row", { name: "negative 1 10%" })).toBeInTheDocument();
  });

  it("stacks each day's sentiments and labels the latest day", () => {
    const data = analytics().daily;
    data[29] = { ...data[29], count: 4, averageRating: 4.5, positive: 2, neutral: 1, negative: 1 };
    const { container } = render(<DailyTrend daily={data} />);
    const last = container.querySelector(`g.day[data-date="${data[29].date}"]`)!;
    // Axis to niceMax(4) = 4 over 130 units: 2 → 65, 1 → 32.5.
    expect(heights(last as HTMLElement, "rect.bar")).toEqual([65, 32.5, 32.5]);
    expect(last.querySelector("title")?.textContent).toBe(
      `${data[29].date}: 4 feedback (2 positive, 1 neutral, 1 negative), average 4.5`,
    );
    expect(last.textContent).toContain(data[29].date.slice(5));
    expect(container.querySelectorAll("g.day rect.bar")).toHaveLength(3);
    expect(screen.getAllByRole("row")).toHaveLength(31);
  });
});
