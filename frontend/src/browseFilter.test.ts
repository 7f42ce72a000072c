/** The Browse filters in the URL: read with the API's rules, written back without losing the rest. */

import { describe, expect, it } from "vitest";
import { isDate, isFiltered, readFilter, writeFilter } from "./browseFilter";

const read = (search: string) => readFilter(new URLSearchParams(search));

describe("browse filter", () => {
  it("reads every filter from the URL", () => {
    expect(read("rating=5&from=2025-03-01&to=2025-03-31")).toEqual({ rating: 5, from: "2025-03-01", to: "2025-03-31" });
    expect(read("sentiment=negative")).toEqual({ sentiment: "negative" });
    expect(read("")).toEqual({});
  });

  it("drops what the API would refuse instead of sending it", () => {
    for (const search of ["rating=0", "rating=6", "rating=05", "rating=5.0", "rating=%205", "sentiment=Positive", "sentiment=good"]) {
      expect(read(search)).toEqual({});
    }
    for (const date of ["2025-02-30", "2025-13-01", "2025-1-01", "2025-01-01T00:00", "yesterday"]) {
      expect(isDate(date)).toBe(false);
      expect(read(`from=${date}&to=${date}`)).toEqual({});
    }
    expect(isDate("2024-02-29")).toBe(true);
    expect(read("from=2025-03-02&to=2025-03-01")).toEqual({ from: "2025-03-02" });
  });

  it("reads rating and sentiment together, dropping only a value the API would refuse", () => {
    expect(read("rating=1&sentiment=negative")).toEqual({ rating: 1, sentiment: "negative" });
    expect(read("rating=1&sentiment=awful")).toEqual({ rating: 1 });
    expect(read("rating=0&sentiment=negative")).toEqual({ sentiment: "negative" });
  });

  it("writes a filter into the URL, removing cleared ones and keeping other parameters", () => {
    const params = new URLSearchParams("rating=3&utm=x");
    expect(writeFilter(params, { sentiment: "neutral", from: "2025-03-01" }).toString()).toBe(
      "utm=x&sentiment=neutral&from=2025-03-01",
    );
    expect(writeFilter(params, {}).toString()).toBe("utm=x");
    expect(params.toString()).toBe("rating=3&utm=x");
  });

  it("round-trips through the URL", () => {
    const filter = { rating: 2, from: "2025-01-01", to: "2025-01-31" };
    expect(readFilter(writeFilter(new URLSearchParams(), filter))).toEqual(filter);
    const both = { rating: 1, sentiment: "negative" as const, from: "2025-03-01" };
    expect(writeFilter(new URLSearchParams(), both).toString()).toBe("rating=1&sentiment=negative&from=2025-03-01");
    expect(readFilter(writeFilter(new URLSearchParams(), both))).toEqual(both);
    expect(isFiltered(filter)).toBe(true);
    expect(isFiltered({})).toBe(false);
  });
});
