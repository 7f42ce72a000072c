/**
 * Browse: the feedback newest first, one page at a time through the API's cursor ("Load more").
 * Names and messages are rendered as text, never as HTML; emails are never part of the list.
 */

import { useCallback, useEffect, useRef, useState } from "react";
import { Link } from "react-router";
import type { FeedbackItem } from "../api";
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
      const page = await api.listFeedback({ limit: PAGE_SIZE });
      setItems(page.items);
      setCursor(page.nextCursor);
      setLoad({ state: "ready" });
    } catch (error) {
      setLoad({ state: "error", error });
    }
  }, [api]);

  useEffect(() => {
    void first();
  }, [first]);

  useEffect(() => {
    // After "Load more", move focus to the first new item so keyboard users continue from there.
    if (focusIndex.current === null) return;
    listRef.current?.querySelectorAll<HTMLElement>("article")[focusIndex.current]?.focus();
    focusIndex.current = null;
  }, [items]);

  async function loadMore() {
    if (!cursor || more.busy) return;
    setMore({ busy: true, error: null });
    try {
      const page = await api.listFeedback({ limit: PAGE_SIZE, cursor });
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
      {load.state === "loading" ? <Loading label="Loading feedback…" /> : null}
      {load.state === "error" ? (
        <ErrorNotice title="Could not load feedback" error={load.error} onRetry={() => void first()} />
      ) : null}
      {load.state === "ready" && items.length === 0 ? (
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
