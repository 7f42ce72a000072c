/**
 * Ratings: the accessible 1–5 star input (a radio group: arrow keys move, each star has a spoken
 * label) and the read-only stars shown on a feedback card.
 */

import type { ChangeEvent } from "react";

export const RATING_WORDS = ["Poor", "Fair", "Good", "Very good", "Excellent"];

interface StarInputProps {
  name: string;
  value: number | null;
  onChange: (value: number) => void;
  describedBy?: string;
  invalid?: boolean;
  disabled?: boolean;
}

export function StarInput({ name, value, onChange, describedBy, invalid, disabled }: StarInputProps) {
  const change = (event: ChangeEvent<HTMLInputElement>) => onChange(Number(event.target.value));
  return (
    <div className={`stars-input${invalid ? " invalid" : ""}`}>
      {[1, 2, 3, 4, 5].map((star) => {
        const id = `${name}-${star}`;
        return (
          <span key={star} className="star-option">
            <input
              type="radio"
              className="sr-only"
              id={id}
              name={name}
              value={star}
              checked={value === star}
              onChange={change}
              aria-describedby={describedBy}
              disabled={disabled}
            />
            <label htmlFor={id} className={value !== null && star <= value ? "star on" : "star"}>
              <span aria-hidden="true">★</span>
              <span className="sr-only">
                {star} {star === 1 ? "star" : "stars"}, {RATING_WORDS[star - 1]}
              </span>
            </label>
          </span>
        );
      })}
      <span className="stars-word" aria-hidden="true">
        {value !== null ? RATING_WORDS[value - 1] : ""}
      </span>
    </div>
  );
}

export function Stars({ rating }: { rating: number }) {
  return (
    <span className="stars" role="img" aria-label={`Rated ${rating} out of 5`}>
      {[1, 2, 3, 4, 5].map((star) => (
        <span key={star} aria-hidden="true" className={star <= rating ? "star on" : "star"}>
          ★
        </span>
      ))}
    </span>
  );
}

export function SentimentBadge({ sentiment }: { sentiment: string }) {
  return <span className={`badge badge-${sentiment}`}>{sentiment}</span>;
}
