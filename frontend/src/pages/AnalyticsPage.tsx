/**
 * Analytics: totals, average rating, sentiment distribution, rating histogram and the daily
 * trend, kept live: the page asks the API every second whether the figures changed (a
 * conditional GET, answered 304 with no body when they did not; src/live.ts), less often while
 * the tab is hidden, and at once when it is shown again. A failed check keeps the last figures
 * on screen and says they may be stale.
 */

import { memo, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link } from "react-router";
import type { Analytics } from "../api";
import { useServices } from "../context";
import { usePageTitle } from "../components/Layout";
import { DailyTrend, RatingHistogram, SentimentChart } from "../components/Charts";
import { Empty, ErrorNotice, Loading } from "../components/Status";
import { conditionalJson, LIVE_INTERVAL_MS, startLive, type ConditionalGet, type LiveFeed } from "../live";

const timeFormat = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

interface Props {
  /** Between checks while the page is visible. */
  intervalMs?: number;
  /** How the figures are fetched (tests); by default GET /analytics on the stage's API. */
  get?: ConditionalGet<Analytics>;
}

export function AnalyticsPage({ intervalMs = LIVE_INTERVAL_MS, get }: Props) {
  usePageTitle("Analytics");
  const { config } = useServices();
  const source = useMemo(() => get ?? conditionalJson<Analytics>(config, "/analytics"), [get, config]);
  const [data, setData] = useState<Analytics | null>(null);
  const [checkedAt, setCheckedAt] = useState<Date | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const feed = useRef<LiveFeed | null>(null);

  useEffect(() => {
    const live = startLive({
      get: source,
      intervalMs,
      onData: (next) => {
        setData(next);
        setCheckedAt(new Date());
        setError(null);
      },
      onUnchanged: () => {
        setCheckedAt(new Date());
        setError(null);
      },
      onError: (failure) => setError(() => failure),
    });
    feed.current = live;
    return () => {
      live.stop();
      feed.current = null;
    };
  }, [source, intervalMs]);

  const refresh = useCallback(async () => {
    if (!feed.current) return;
    setBusy(true);
    try {
      await feed.current.refresh();
    } finally {
      setBusy(false);
    }
  }, []);

  const seconds = intervalMs / 1000;
  const every = seconds === 1 ? "every second" : `every ${Number(seconds.toFixed(1))} s`;
  return (
    <section aria-labelledby="analytics-title">
      <div className="title-row">
        <h1 id="analytics-title" tabIndex={-1}>
          Analytics
        </h1>
        <button type="button" className="button secondary small" onClick={() => void refresh()} disabled={busy}>
          {busy ? "Refreshing…" : "Refresh"}
        </button>
      </div>
      {data && checkedAt ? (
        <p className="lead" data-testid="live-status">
          Live: checked {every} while this page is shown, last at {timeFormat.format(checkedAt)}
          {data.lastUpdated ? `; last feedback counted ${dateTimeFormat.format(new Date(data.lastUpdated))}` : ""}.
        </p>
      ) : null}
      {!data && !error ? <Loading label="Loading analytics…" /> : null}
      {error && !data ? <ErrorNotice title="Could not load analytics" error={error} onRetry={() => void refresh()} /> : null}
      {error && data ? <ErrorNotice title="Could not refresh; the figures below may be out of date" error={error} /> : null}
      {data ? <Dashboard data={data} /> : null}
    </section>
  );
}

/** Re-rendered only when a poll brings new figures, not on every check. */
const Dashboard = memo(function Dashboard({ data }: { data: Analytics }) {
  const positive = data.sentiment.positive;
  return (
    <>
      <dl className="stats">
        <div className="stat">
          <dt>Total feedback</dt>
          <dd data-testid="total-feedback">{data.totalFeedback}</dd>
        </div>
        <div className="stat">
          <dt>Average rating</dt>
          <dd data-testid="average-rating">
            {data.averageRating === null ? (
              "–"
            ) : (
              <>
                {data.averageRating.toFixed(2)}
                <small> / 5</small>
              </>
            )}
          </dd>
        </div>
        <div className="stat">
          <dt>Positive</dt>
          <dd data-testid="positive-share">
            {data.totalFeedback > 0 ? `${Math.round((positive / data.totalFeedback) * 100)}%` : "–"}
          </dd>
        </div>
      </dl>
      {data.totalFeedback === 0 ? (
        <Empty title="No feedback counted yet">
          <p>
            Charts appear once feedback arrives. <Link to="/">Give the first feedback.</Link>
          </p>
        </Empty>
      ) : (
        <div className="charts">
          <SentimentChart sentiment={data.sentiment} />
          <RatingHistogram ratings={data.ratings} />
          <div className="wide">
            <DailyTrend daily={data.daily} />
          </div>
        </div>
      )}
    </>
  );
});
