/**
 * The Browse filters as they live in the URL (`/browse?rating=5&from=2025-03-01`), so a link
 * shares the view. Read with the API's rules (lambdas/common/feedback_filter.py): a value the API
 * would refuse is dropped rather than sent. Rating and sentiment combine ("1 star, negative").
 */

import type { Sentiment } from "./api";

export const SENTIMENTS: readonly Sentiment[] = ["positive", "neutral", "negative"];
export const FILTER_KEYS = ["rating", "sentiment", "from", "to"] as const;

export interface BrowseFilter {
  rating?: number;
  sentiment?: Sentiment;
  from?: string;
  to?: string;
}

/** A calendar date as YYYY-MM-DD (the API refuses 2025-02-30 and 2025-1-01). */
export function isDate(value: string): boolean {
  if (!/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(value)) return false;
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value;
}

export function readFilter(params: URLSearchParams): BrowseFilter {
  const filter: BrowseFilter = {};
  const rating = params.get("rating");
  const sentiment = params.get("sentiment");
  if (rating !== null && /^[1-5]$/.test(rating)) filter.rating = Number(rating);
  if (sentiment !== null && (SENTIMENTS as readonly string[]).includes(sentiment)) filter.sentiment = sentiment as Sentiment;
  const from = params.get("from");
  const to = params.get("to");
  if (from !== null && isDate(from)) filter.from = from;
  if (to !== null && isDate(to) && (filter.from === undefined || to >= filter.from)) filter.to = to;
  return filter;
}

/** The URL's search params with `filter` in place of the old filters; other params are kept. */
export function writeFilter(params: URLSearchParams, filter: BrowseFilter): URLSearchParams {
  const next = new URLSearchParams(params);
  for (const key of FILTER_KEYS) {
    const value = filter[key];
    if (value === undefined || value === "") next.delete(key);
    else next.set(key, String(value));
  }
  return next;
}

export function isFiltered(filter: BrowseFilter): boolean {
  return FILTER_KEYS.some((key) => filter[key] !== undefined);
}
