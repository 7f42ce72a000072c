/**
 * The service worker, built into dist/sw.js with its build's manifest (vite.config.ts). It
 * precaches the app shell into a cache named after the build's version, deletes older builds'
 * caches when it activates, answers page loads and the shell's files from that cache, fetches
 * config.json from the network first, leaves the API to the network, and sends the queued
 * submissions on a Background Sync. A new version waits until the page asks it to take over.
 */

import { SYNC_TAG } from "./queue";
import { flushQueue } from "./send";
import {
  CONFIG_URL,
  SHELL_URL,
  cacheName,
  isApiUrl,
  precacheUrls,
  staleCaches,
  strategyFor,
  type ShellManifest,
} from "./shell";

declare const __SHELL_MANIFEST__: ShellManifest;

// The worker's own events, which the DOM library does not describe.
interface ExtendableEvent extends Event {
  waitUntil(promise: Promise<unknown>): void;
}
interface FetchEvent extends ExtendableEvent {
  readonly request: Request;
  respondWith(response: Promise<Response>): void;
}
interface SyncEvent extends ExtendableEvent {
  readonly tag: string;
}
interface WorkerScope {
  readonly location: Location;
  skipWaiting(): Promise<void>;
  addEventListener(type: "install" | "activate", listener: (event: ExtendableEvent) => void): void;
  addEventListener(type: "fetch", listener: (event: FetchEvent) => void): void;
  addEventListener(type: "sync", listener: (event: SyncEvent) => void): void;
  addEventListener(type: "message", listener: (event: MessageEvent<unknown>) => void): void;
}

const worker = globalThis as unknown as WorkerScope;
const manifest = __SHELL_MANIFEST__;
const CACHE = cacheName(manifest.version);
const ORIGIN = worker.location.origin;
const PRECACHED = new Set(precacheUrls(manifest));

async function sha256Hex(data: ArrayBuffer): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Fetches every shell file, then stores them together; any failure fails the install. */
async function precache(): Promise<void> {
  const responses = await Promise.all(
    precacheUrls(manifest).map(async (url) => {
      // Hashed files may come from the HTTP cache (their content is their name); index.html is
      // revalidated.
      const response = await fetch(url, { cache: url === SHELL_URL ? "no-cache" : "default" });
      if (!response.ok) throw new Error(`precaching ${url}: HTTP ${response.status}`);
      return [url, response] as const;
    }),
  );
  // index.html is not content-hashed: fetched while a deploy is under way (sw.js is uploaded
  // before it), it may be another build's. The install then fails and is tried again later.
  const index = responses.find(([url]) => url === SHELL_URL)![1];
  if ((await sha256Hex(await index.clone().arrayBuffer())) !== manifest.indexSha256) {
    throw new Error("index.html is not this build's: a newer deploy is under way");
  }
  const cache = await caches.open(CACHE);
  await Promise.all(responses.map(([url, response]) => cache.put(url, response)));
  try {
    const config = await fetch(CONFIG_URL, { cache: "no-store" });
    if (config.ok) await cache.put(CONFIG_URL, config);
  } catch {
    // Fetched again on the next page load; the shell does not depend on it being cached now.
  }
}

async function cleanUp(): Promise<void> {
  await Promise.all(staleCaches(await caches.keys(), manifest.version).map((name) => caches.delete(name)));
}

async function fromCache(url: string, request: Request): Promise<Response> {
  return (await (await caches.open(CACHE)).match(url)) ?? fetch(request);
}

/** A page load: the cached shell, unless it is for the API (same-origin locally). */
async function page(request: Request): Promise<Response> {
  const cached = await (await caches.open(CACHE)).match(CONFIG_URL);
  const config = cached ? ((await cached.json().catch(() => null)) as { apiBaseUrl?: string } | null) : null;
  if (isApiUrl(request.url, config?.apiBaseUrl, ORIGIN)) return fetch(request);
  return fromCache(SHELL_URL, request);
}

/** config.json: the network's answer (kept as the last copy); the last copy only offline. */
async function config(request: Request): Promise<Response> {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(CONFIG_URL, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(CONFIG_URL);
    if (cached) return cached;
    throw error;
  }
}

worker.addEventListener("install", (event) => event.waitUntil(precache()));
worker.addEventListener("activate", (event) => event.waitUntil(cleanUp()));

worker.addEventListener("fetch", (event) => {
  const { request } = event;
  switch (strategyFor(request, ORIGIN, PRECACHED)) {
    case "shell":
      return event.respondWith(page(request));
    case "precached":
      return event.respondWith(fromCache(new URL(request.url).pathname, request));
    case "config":
      return event.respondWith(config(request));
    case "network":
      return; // not answered here: the browser fetches it as if there were no worker
  }
});

worker.addEventListener("message", (event) => {
  if ((event.data as { type?: unknown } | null)?.type === "skip-waiting") void worker.skipWaiting();
});

worker.addEventListener("sync", (event) => {
  if (event.tag !== SYNC_TAG) return;
  // A run that leaves items behind fails, so the browser schedules another sync.
  event.waitUntil(
    flushQueue().then((result) => {
      if (result.remaining > 0) throw new Error(`${result.remaining} submission(s) still queued`);
    }),
  );
});
