/**
 * The dashboard's charts as hand-written SVG (a charting library would add 50–110 kB gzip here).
 * Each chart is a figure: the drawing is for the eye (aria-hidden, with hover titles) and a
 * visually hidden table carries the same numbers for screen readers.
 */

import { useEffect, useRef, useState, type ReactNode, type RefObject } from "react";
import type { Analytics, DailyPoint, Sentiment } from "../api";

export const SENTIMENTS: Sentiment[] = ["positive", "neutral", "negative"];
const RATINGS = ["1", "2", "3", "4", "5"] as const;

/** A round axis maximum at or above `value`: the count itself up to 10, then 15, 20, 25, 30, … */
export function niceMax(value: number): number {
  if (value <= 10) return Math.max(1, Math.ceil(value));
  const magnitude = 10 ** Math.floor(Math.log10(value));
  const step = [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].find((s) => value <= s * magnitude) ?? 10;
  return step * magnitude;
}

const DEFAULT_WIDTH = 320;

/**
 * The drawing's width in CSS pixels, so one SVG unit is one pixel and labels keep their size on
 * a phone and on a wide screen (without ResizeObserver, as in tests, a fixed width).
 */
function useWidth(): [RefObject<HTMLDivElement | null>, number] {
  const ref = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(DEFAULT_WIDTH);
  useEffect(() => {
    const element = ref.current;
    if (!element || typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(([entry]) => {
      const measured = Math.round(entry.contentRect.width);
      if (measured > 0) setWidth(Math.max(240, measured));
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  return [ref, width];
}

function percent(part: number, whole: number): string {
  return whole > 0 ? `${Math.round((part / whole) * 100)}%` : "0%";
}

interface FigureProps {
  id: string;
  title: string;
  table: ReactNode;
  children: ReactNode;
  plotRef: RefObject<HTMLDivElement | null>;
}

function Figure({ id, title, table, children, plotRef }: FigureProps) {
  return (
    <figure className="chart" aria-labelledby={`${id}-title`} data-chart={id}>
      <figcaption id={`${id}-title`}>{title}</figcaption>
      <div ref={plotRef} className="chart-plot">
        {children}
      </div>
      {/* A table keeps its content's width even when clipped: the wrapper is what is hidden. */}
      <div className="sr-only">
        <table>
          <caption>{title}</caption>
          {table}
        </table>
      </div>
    </figure>
  );
}

function Svg({ width, height, children }: { width: number; height: number; children: ReactNode }) {
  return (
    <svg viewBox={`0 0 ${width} ${height}`} width={width} height={height} className="chart-svg" aria-hidden="true" focusable="false">
      {children}
    </svg>
  );
}

export function SentimentChart({ sentiment }: { sentiment: Analytics["sentiment"] }) {
  const [ref, width] = useWidth();
  const total = SENTIMENTS.reduce((sum, label) => sum + sentiment[label], 0);
  const max = Math.max(1, ...SENTIMENTS.map((label) => sentiment[label]));
  const row = 34;
  const barX = 78;
  const barWidth = width - barX - 72;
  return (
    <Figure
      id="sentiment"
      title="Sentiment"
      plotRef={ref}
      table={
        <>
          <thead>
            <tr>
              <th scope="col">Sentiment</th>
              <th scope="col">Feedback</th>
              <th scope="col">Share</th>
            </tr>
          </thead>
          <tbody>
            {SENTIMENTS.map((label) => (
              <tr key={label}>
                <th scope="row">{label}</th>
                <td>{sentiment[label]}</td>
                <td>{percent(sentiment[label], total)}</td>
              </tr>
            ))}
          </tbody>
        </>
      }
    >
      <Svg width={width} height={row * SENTIMENTS.length}>
        {SENTIMENTS.map((label, i) => (
          <g key={label} transform={`translate(0 ${i * row})`}>
            <text x={0} y={row / 2} dominantBaseline="middle" className="chart-label">
              {label}
            </text>
            <rect x={barX} y={7} width={barWidth} height={row - 14} rx={3} className="chart-track" />
            <rect
              x={barX}
              y={7}
              width={(sentiment[label] / max) * barWidth}
              height={row - 14}
              rx={3}
              className={`bar bar-${label}`}
              data-value={sentiment[label]}
            >
              <title>{`${label}: ${sentiment[label]} (${percent(sentiment[label], total)})`}</title>
            </rect>
            <text x={barX + barWidth + 8} y={row / 2} dominantBaseline="middle" className="chart-value">
              {sentiment[label]} · {percent(sentiment[label], total)}
            </text>
          </g>
        ))}
      </Svg>
    </Figure>
  );
}

export function RatingHistogram({ ratings }: { ratings: Analytics["ratings"] }) {
  const [ref, width] = useWidth();
  const max = niceMax(Math.max(...RATINGS.map((r) => ratings[r])));
  const height = 120;
  const top = 20;
  const column = (width - 8) / RATINGS.length;
  const barWidth = Math.min(56, column - 16);
  return (
    <Figure
      id="ratings"
      title="Ratings"
      plotRef={ref}
      table={
        <>
          <thead>
            <tr>
              <th scope="col">Stars</th>
              <th scope="col">Feedback</th>
            </tr>
          </thead>
          <tbody>
            {RATINGS.map((r) => (
              <tr key={r}>
                <th scope="row">{r}</th>
                <td>{ratings[r]}</td>
              </tr>
            ))}
          </tbody>
        </>
      }
    >
      <Svg width={width} height={top + height + 24}>
        <line x1={0} x2={width} y1={top + height} y2={top + height} className="chart-axis" />
        {RATINGS.map((r, i) => {
          const h = (ratings[r] / max) * height;
          const center = 4 + column * (i + 0.5);
          return (
            <g key={r}>
              <rect x={center - barWidth / 2} y={top + height - h} width={barWidth} height={h} rx={2} className="bar bar-rating" data-value={ratings[r]}>
                <title>{`${r} ${r === "1" ? "star" : "stars"}: ${ratings[r]}`}</title>
              </rect>
              <text x={center} y={top + height - h - 5} textAnchor="middle" className="chart-value">
                {ratings[r]}
              </text>
              <text x={center} y={top + height + 17} textAnchor="middle" className="chart-label">
                {r}★
              </text>
            </g>
          );
        })}
      </Svg>
    </Figure>
  );
}

function dayLabel(date: string): string {
  return date.slice(5); // MM-DD
}

export function DailyTrend({ daily }: { daily: DailyPoint[] }) {
  const [ref, width] = useWidth();
  const max = niceMax(Math.max(0, ...daily.map((d) => d.count)));
  const left = 28;
  const top = 10;
  const height = 130;
  const plotWidth = width - left - 4;
  const step = daily.length > 0 ? plotWidth / daily.length : plotWidth;
  const barWidth = Math.max(2, Math.min(24, step - 3));
  // Label about one day in seven on a phone, more when there is room; always the latest day.
  const every = Math.max(1, Math.ceil(46 / step));
  const ticks = max % 2 === 0 ? [0, max / 2, max] : [0, max];
  return (
    <Figure
      id="trend"
      title={`Daily feedback, last ${daily.length} days`}
      plotRef={ref}
      table={
        <>
          <thead>
            <tr>
              <th scope="col">Date</th>
              <th scope="col">Feedback</th>
              <th scope="col">Average rating</th>
              <th scope="col">Positive</th>
              <th scope="col">Neutral</th>
              <th scope="col">Negative</th>
            </tr>
          </thead>
          <tbody>
            {daily.map((d) => (
              <tr key={d.date}>
                <th scope="row">{d.date}</th>
                <td>{d.count}</td>
                <td>{d.averageRating ?? "–"}</td>
                <td>{d.positive}</td>
                <td>{d.neutral}</td>
                <td>{d.negative}</td>
              </tr>
            ))}
          </tbody>
        </>
      }
    >
      <Svg width={width} height={top + height + 22}>
        {ticks.map((tick) => {
          const y = top + height - (tick / max) * height;
          return (
            <g key={tick}>
              <line x1={left} x2={left + plotWidth} y1={y} y2={y} className={tick === 0 ? "chart-axis" : "chart-grid"} />
              <text x={left - 5} y={y} textAnchor="end" dominantBaseline="middle" className="chart-tick">
                {tick}
              </text>
            </g>
          );
        })}
        {daily.map((d, i) => {
          const x = left + i * step + (step - barWidth) / 2;
          let base = top + height;
          const average = d.averageRating === null ? "" : `, average ${d.averageRating}`;
          return (
            <g key={d.date} className="day" data-date={d.date} data-count={d.count}>
              <title>{`${d.date}: ${d.count} feedback (${d.positive} positive, ${d.neutral} neutral, ${d.negative} negative)${average}`}</title>
              <rect x={left + i * step} y={top} width={step} height={height} className="chart-hit" />
              {SENTIMENTS.map((label) => {
                const h = (d[label] / max) * height;
                base -= h;
                return h > 0 ? <rect key={label} x={x} y={base} width={barWidth} height={h} className={`bar bar-${label}`} /> : null;
              })}
              {(daily.length - 1 - i) % every === 0 ? (
                <text x={x + barWidth / 2} y={top + height + 15} textAnchor="middle" className="chart-tick">
                  {dayLabel(d.date)}
                </text>
              ) : null}
            </g>
          );
        })}
      </Svg>
      <ul className="legend" aria-hidden="true">
        {SENTIMENTS.map((label) => (
          <li key={label}>
            <span className={`swatch bar-${label}`} /> {label}
          </li>
        ))}
      </ul>
    </Figure>
  );
}
