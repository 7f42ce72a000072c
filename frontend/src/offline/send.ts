/**
 * Sending the queue, in order, by whichever context gets there first (a page when the browser
 * comes back online or opens the site, the service worker on a Background Sync), one sender at a
 * time (Web Locks). An item leaves the queue once the API answered it; a repeat send after a lost
 * answer carries the same Idempotency-Key, so the API stores it once (docs/frontend.md, "Offline").
 */

import { ApiError, createApi, describeError, type CreatedFeedback } from "../api";
import { CHANNEL, queuedSubmissions, settle, type QueueOutcome, type QueuedSubmission } from "./queue";

export interface FlushResult {
  sent: number;
  rejected: number;
  remaining: number;
}

/** Sends an item to the API it was made for, with its key (the page's and the worker's way). */
export function sendToApi(item: QueuedSubmission): Promise<CreatedFeedback> {
  return createApi({ ...item.api, stage: "" }).submitFeedback(item.body, item.key);
}

let localTail: Promise<unknown> = Promise.resolve();

/** One sender at a time across the site's pages and its worker (within this context without Web Locks). */
function exclusively<T>(work: () => Promise<T>): Promise<T> {
  // `request` settles with the callback's own result (its typing nests the promise).
  if (typeof navigator !== "undefined" && navigator.locks) {
    return navigator.locks.request(CHANNEL, work).then((result) => result);
  }
  const run = localTail.then(work, work);
  localTail = run.catch(() => undefined);
  return run;
}

/**
 * Sends the waiting submissions in order. An answered item leaves the queue (a refusal other
 * than a retryable one too, told as `rejected`); the first network, timeout or server failure
 * stops the run with the rest kept for the next one.
 */
export function flushQueue(send: (item: QueuedSubmission) => Promise<CreatedFeedback> = sendToApi): Promise<FlushResult> {
  return exclusively(async () => {
    const items = await queuedSubmissions();
    const result: FlushResult = { sent: 0, rejected: 0, remaining: items.length };
    for (const item of items) {
      let event: QueueOutcome;
      try {
        event = { type: "sent", key: item.key, feedback: await send(item) };
        result.sent += 1;
      } catch (error) {
        if (!(error instanceof ApiError) || error.retryable) break;
        event = { type: "rejected", key: item.key, message: describeError(error) };
        result.rejected += 1;
      }
      await settle(event);
      result.remaining -= 1;
    }
    return result;
  });
}
