/**
 * Submissions waiting for the network: kept in IndexedDB with their Idempotency-Key and the API
 * they were made for, until sent (src/offline/send.ts). Every change is told to the listeners of
 * this page, of the site's other pages and of its service worker (BroadcastChannel).
 */

import type { CreatedFeedback, SubmissionBody } from "../api";
import type { AppConfig } from "../config";

export interface QueuedSubmission {
  key: string;
  body: SubmissionBody;
  api: Pick<AppConfig, "apiBaseUrl" | "apiKey">;
  queuedAt: string;
}

/** How the API answered a queued submission: stored (or found stored), or refused. */
export type QueueOutcome =
  | { type: "sent"; key: string; feedback: CreatedFeedback }
  | { type: "rejected"; key: string; message: string };

/** What happened to the queue, told to every page of the site (and the worker). */
export type QueueEvent = { type: "queued"; key: string } | QueueOutcome;

export const SYNC_TAG = "feedback-queue";
const DB_NAME = "feedbackctl-offline";
const STORE = "submissions";
export const CHANNEL = "feedbackctl-queue";

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function openDb(): Promise<IDBDatabase> {
  const opening = indexedDB.open(DB_NAME, 1);
  opening.onupgradeneeded = () => opening.result.createObjectStore(STORE, { keyPath: "key" });
  return request(opening);
}

/** Runs `work` on the store in one transaction, resolving once the transaction committed. */
async function withStore<T>(mode: IDBTransactionMode, work: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await openDb();
  try {
    const tx = db.transaction(STORE, mode);
    const committed = new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = tx.onabort = () => reject(tx.error);
    });
    const [result] = await Promise.all([request(work(tx.objectStore(STORE))), committed]);
    return result;
  } finally {
    db.close();
  }
}

/** Keeps a submission until it is sent; the same key twice is one item. */
export async function enqueue(item: QueuedSubmission): Promise<void> {
  await withStore("readwrite", (store) => store.put(item));
  emit({ type: "queued", key: item.key });
}

/** The waiting submissions, oldest first. */
export async function queuedSubmissions(): Promise<QueuedSubmission[]> {
  const items = await withStore("readonly", (store) => store.getAll() as IDBRequest<QueuedSubmission[]>);
  return items.sort((a, b) => (a.queuedAt < b.queuedAt ? -1 : a.queuedAt > b.queuedAt ? 1 : 0));
}

/** Removes an answered item and tells everyone how it was answered. */
export async function settle(event: QueueOutcome): Promise<void> {
  await withStore("readwrite", (store) => store.delete(event.key));
  emit(event);
}

/** Asks the service worker to send the queue when the browser is online (Background Sync). */
export async function requestBackgroundSync(): Promise<boolean> {
  const registration = await navigator.serviceWorker?.getRegistration();
  const sync = (registration as { sync?: { register(tag: string): Promise<void> } } | undefined)?.sync;
  if (!registration?.active || !sync) return false;
  await sync.register(SYNC_TAG);
  return true;
}

type Listener = (event: QueueEvent) => void;
const listeners = new Set<Listener>();
let channel: BroadcastChannel | null | undefined;

/** This context's channel to the others: it never hears its own messages, listeners do. */
function broadcast(): BroadcastChannel | null {
  if (channel === undefined) {
    channel = typeof BroadcastChannel === "function" ? new BroadcastChannel(CHANNEL) : null;
    if (channel) channel.onmessage = (message: MessageEvent<QueueEvent>) => listeners.forEach((l) => l(message.data));
  }
  return channel;
}

function emit(event: QueueEvent): void {
  listeners.forEach((listener) => listener(event));
  broadcast()?.postMessage(event);
}

/** Hears what happens to the queue in this page, in other pages and in the worker. */
export function onQueueEvent(listener: Listener): () => void {
  broadcast();
  listeners.add(listener);
  return () => listeners.delete(listener);
}
