/**
 * Analytics: totals, average rating, sentiment distribution, rating histogram and the daily
 * trend, refreshed periodically while the page is visible. A failed refresh keeps the last
 * figures on screen and says they may be stale.
 */

import { useCallback, useEffect, useRef, useState } from "react";
import { Link } from "react-router";
import type { Analytics } from "../api";
import { useApi } from "../context";
import { usePageTitle } from "../components/Layout";
import { DailyTrend, RatingHistogram, SentimentChart } from "../components/Charts";
import { Empty, ErrorNotice, Loading } from "../components/Status";

export const REFRESH_MS = 15_000;

const timeFormat = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

interface Snapshot {
  data: Analytics;
  fetchedAt: Date;
}

export function AnalyticsPage({ refreshMs = REFRESH_MS }: { refreshMs?: number }) {
  usePageTitle("Analytics");
  const api = useApi();
  const [snapshot, setSnapshot] = useState<Snapshot | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const inFlight = useRef(false);

  const refresh = useCallback(async () => {
    if (inFlight.current) return;
    inFlight.current = true;
    setBusy(true);
    try {
      const data = await api.getAnalytics();
      setSnapshot({ data, fetchedAt: new Date() });
      setError(null);
    } catch (failure) {
      setError(failure);
    } finally {
      inFlight.current = false;
      setBusy(false);
    }
  }, [api]);

  useEffect(() => {
    void refresh();
    const timer = setInterval(() => {
      if (document.visibilityState !== "hidden") void refresh();
    }, refreshMs);
    const onVisible = () => {
      if (document.visibilityState === "visible") void refresh();
    };
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      clearInterval(timer);
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, [refresh, refreshMs]);

  const data = snapshot?.data;
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
      {snapshot ? (
        <p className="lead">
          Refreshed at {timeFormat.format(snapshot.fetchedAt)} (every {Math.round(refreshMs / 1000)} s)
          {data?.lastUpdated ? `; last feedback counted ${dateTimeFormat.format(new Date(data.lastUpdated))}` : ""}.
        </p>
      ) : null}
      {!snapshot && !error ? <Loading label="Loading analytics…" /> : null}
      {error && !snapshot ? <ErrorNotice title="Could not load analytics" error={error} onRetry={() => void refresh()} /> : null}
      {error && snapshot ? (
        <ErrorNotice title="Could not refresh; the figures below may be out of date" error={error} />
      ) : null}
      {data ? <Dashboard data={data} /> : null}
    </section>
  );
}

function Dashboard({ data }: { data: Analytics }) {
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
}
