/**
 * Browse: the feedback newest first, one page at a time through the API's cursor ("Load more"),
 * filtered by rating, sentiment (either or both) and a date range held in the URL (a link shares
 * the view).
 * Names and messages are rendered as text, never as HTML; emails are never part of the list.
 */

import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import { Link, useSearchParams } from "react-router";
import type { FeedbackItem, Sentiment } from "../api";
import { isFiltered, readFilter, SENTIMENTS, writeFilter, type BrowseFilter } from "../browseFilter";
import { useApi } from "../context";
import { usePageTitle } from "../components/Layout";
import { SentimentBadge, Stars } from "../components/Rating";
import { Empty, ErrorNotice, Loading } from "../components/Status";

export const PAGE_SIZE = 10;

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

function formatDate(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : dateFormat.format(date);
}

type Load = { state: "loading" } | { state: "error"; error: unknown } | { state: "ready" };

export function BrowsePage() {
  usePageTitle("Browse feedback");
  const api = useApi();
  const [params, setParams] = useSearchParams();
  const search = params.toString();
  const filter = useMemo(() => readFilter(new URLSearchParams(search)), [search]);
  const [items, setItems] = useState<FeedbackItem[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [load, setLoad] = useState<Load>({ state: "loading" });
  const [more, setMore] = useState<{ busy: boolean; error: unknown }>({ busy: false, error: null });
  const [announcement, setAnnouncement] = useState("");
  const focusIndex = useRef<number | null>(null);
  const listRef = useRef<HTMLOListElement>(null);

  const first = useCallback(async () => {
    setLoad({ state: "loading" });
    try {
      const page = await api.listFeedback({ limit: PAGE_SIZE, ...filter });
      setItems(page.items);
      setCursor(page.nextCursor);
      setLoad({ state: "ready" });
    } catch (error) {
      setLoad({ state: "error", error });
    }
  }, [api, filter]);

  useEffect(() => {
    void first();
  }, [first]);

  useLayoutEffect(() => {
    // After "Load more", move focus to the first new item so keyboard users continue from there,
    // in the commit that shows it.
    if (focusIndex.current === null) return;
    listRef.current?.querySelectorAll<HTMLElement>("article")[focusIndex.current]?.focus();
    focusIndex.current = null;
  }, [items]);

  async function loadMore() {
    if (!cursor || more.busy) return;
    setMore({ busy: true, error: null });
    try {
      const page = await api.listFeedback({ limit: PAGE_SIZE, cursor, ...filter });
      const seen = new Set(items.map((item) => item.feedbackId));
      const fresh = page.items.filter((item) => !seen.has(item.feedbackId));
      focusIndex.current = fresh.length > 0 ? items.length : null;
      setItems([...items, ...fresh]);
      setCursor(page.nextCursor);
      setAnnouncement(`Loaded ${fresh.length} more; ${items.length + fresh.length} shown.`);
      setMore({ busy: false, error: null });
    } catch (error) {
      setMore({ busy: false, error });
    }
  }

  return (
    <section aria-labelledby="browse-title">
      <h1 id="browse-title" tabIndex={-1}>
        Feedback
      </h1>
      <p className="lead">Newest first.</p>
      <FilterForm filter={filter} onChange={(next) => setParams(writeFilter(params, next))} />
      {load.state === "loading" ? <Loading label="Loading feedback…" /> : null}
      {load.state === "error" ? (
        <ErrorNotice title="Could not load feedback" error={load.error} onRetry={() => void first()} />
      ) : null}
      {load.state === "ready" && items.length === 0 && isFiltered(filter) ? (
        <Empty title="No feedback matches these filters">
          <p>
            <Link to="/browse">Show all feedback.</Link>
          </p>
        </Empty>
      ) : null}
      {load.state === "ready" && items.length === 0 && !isFiltered(filter) ? (
        <Empty title="No feedback yet">
          <p>
            <Link to="/">Be the first to give feedback.</Link>
          </p>
        </Empty>
      ) : null}
      {items.length > 0 ? (
        <ol className="feedback-list" ref={listRef} aria-label="Feedback, newest first">
          {items.map((item) => (
            <li key={item.feedbackId}>
              <FeedbackCard item={item} />
            </li>
          ))}
        </ol>
      ) : null}
      <p className="sr-only" role="status">
        {announcement}
      </p>
      {more.error ? <ErrorNotice title="Could not load more feedback" error={more.error} /> : null}
      {load.state === "ready" && cursor ? (
        <div className="actions center">
          <button type="button" className="button secondary" onClick={() => void loadMore()} disabled={more.busy}>
            {more.busy ? "Loading…" : more.error ? "Try loading more again" : "Load more"}
          </button>
        </div>
      ) : null}
      {load.state === "ready" && !cursor && items.length > 0 ? (
        <p className="end-note">That is all the feedback so far.</p>
      ) : null}
    </section>
  );
}

/** The filters; each change rewrites the URL, which reloads the list from its first page. */
function FilterForm({ filter, onChange }: { filter: BrowseFilter; onChange: (next: BrowseFilter) => void }) {
  return (
    <form className="filters" aria-label="Filter feedback" onSubmit={(event) => event.preventDefault()}>
      <div className="field">
        <label htmlFor="filter-rating">Rating</label>
        <select
          id="filter-rating"
          value={filter.rating ?? ""}
          onChange={(e) => onChange({ ...filter, rating: e.target.value ? Number(e.target.value) : undefined })}
        >
          <option value="">Any rating</option>
          {[5, 4, 3, 2, 1].map((n) => (
            <option key={n} value={n}>
              {n} star{n === 1 ? "" : "s"}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="filter-sentiment">Sentiment</label>
        <select
          id="filter-sentiment"
          value={filter.sentiment ?? ""}
          aria-describedby="filter-hint"
          onChange={(e) => onChange({ ...filter, sentiment: (e.target.value || undefined) as Sentiment | undefined })}
        >
          <option value="">Any sentiment</option>
          {SENTIMENTS.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="filter-from">From</label>
        <input id="filter-from" type="date" value={filter.from ?? ""} max={filter.to} onChange={(e) => onChange({ ...filter, from: e.target.value || undefined })} />
      </div>
      <div className="field">
        <label htmlFor="filter-to">To</label>
        <input id="filter-to" type="date" value={filter.to ?? ""} min={filter.from} onChange={(e) => onChange({ ...filter, to: e.target.value || undefined })} />
      </div>
      <p id="filter-hint" className="hint">
        Rating and sentiment can be combined; dates are in UTC.
      </p>
    </form>
  );
}

function FeedbackCard({ item }: { item: FeedbackItem }) {
  const titleId = `fb-${item.feedbackId}`;
  return (
    <article className="card" tabIndex={-1} aria-labelledby={titleId} data-feedback-id={item.feedbackId}>
      <header className="card-head">
        <h2 id={titleId} className="card-name">
          {item.name}
        </h2>
        <Stars rating={item.rating} />
        <SentimentBadge sentiment={item.sentiment} />
        <time dateTime={item.createdAt}>{formatDate(item.createdAt)}</time>
      </header>
      <p className="message">{item.message}</p>
    </article>
  );
}
