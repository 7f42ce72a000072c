/**
 * Offline start-up, loaded once the app is shown: keeps the header's offline badge and count of
 * queued submissions; sends the queue when the browser comes back online, when the tab is shown
 * again and at start (what an earlier visit left); hands it to the service worker (Background
 * Sync) when the tab is hidden, in case it is closed; registers the worker and offers a waiting
 * new version.
 */

import { WORKER_URL } from "./shell";
import { onQueueEvent, queuedSubmissions, requestBackgroundSync } from "./queue";
import { flushQueue } from "./send";
import type { OfflineStatus } from "./status";

const UPDATE_CHECK_MS = 60 * 60 * 1000;

export interface StartOptions {
  /** Where the layout reads the queue's size and the update offer (offline/status.ts). */
  report: (change: Partial<OfflineStatus>) => void;
  /** Register the service worker (the production build only: the dev server has no sw.js). */
  worker?: boolean;
  /** Reloads the page once the new version has taken over. */
  reload?: () => void;
}

function flush(): void {
  void flushQueue().catch(() => undefined); // kept for the next try; the count says what is left
}

/** Starts it all; the function returned stops listening for the queue and the network. */
export async function startOffline({
  report,
  worker = true,
  reload = () => location.reload(),
}: StartOptions): Promise<() => void> {
  let queued = 0;
  const count = async () => {
    queued = (await queuedSubmissions()).length;
    report({ queued });
  };
  const onVisibility = () => {
    if (queued === 0) return;
    if (document.visibilityState === "hidden") void requestBackgroundSync().catch(() => undefined);
    else if (navigator.onLine) flush();
  };
  const onNetwork = () => {
    report({ offline: !navigator.onLine });
    if (navigator.onLine) flush();
  };
  const stopListening = onQueueEvent(() => void count().catch(() => undefined));
  window.addEventListener("online", onNetwork);
  window.addEventListener("offline", onNetwork);
  document.addEventListener("visibilitychange", onVisibility);
  const stop = () => {
    stopListening();
    window.removeEventListener("online", onNetwork);
    window.removeEventListener("offline", onNetwork);
    document.removeEventListener("visibilitychange", onVisibility);
  };
  report({ offline: !navigator.onLine });
  try {
    await count();
    if (queued > 0 && navigator.onLine) flush();
  } catch {
    // No IndexedDB (a private window in some browsers): nothing can have been queued.
  }
  if (!worker || !("serviceWorker" in navigator)) return stop;
  const stopWatching = watchForUpdates(await navigator.serviceWorker.register(WORKER_URL), report, reload);
  return () => {
    stop();
    stopWatching();
  };
}

/** Offers the waiting worker (a new build) once there is one and an older one is active. */
export function watchForUpdates(
  registration: ServiceWorkerRegistration,
  report: StartOptions["report"],
  reload: () => void,
): () => void {
  const offer = () => {
    const waiting = registration.waiting;
    if (waiting && registration.active) report({ update: () => activate(waiting, reload) });
  };
  const track = (worker: ServiceWorker | null) => worker?.addEventListener("statechange", offer);
  registration.addEventListener("updatefound", () => track(registration.installing));
  track(registration.installing);
  offer();
  // A tab left open hears of a deploy when it is looked at again, or within the hour.
  const check = () => void registration.update().catch(() => undefined);
  const onVisible = () => {
    if (document.visibilityState === "visible") check();
  };
  const timer = setInterval(check, UPDATE_CHECK_MS);
  document.addEventListener("visibilitychange", onVisible);
  return () => {
    clearInterval(timer);
    document.removeEventListener("visibilitychange", onVisible);
  };
}

/** Lets the waiting worker take over, then reloads into the new version. */
function activate(worker: ServiceWorker, reload: () => void): void {
  if (worker.state === "activated") return reload();
  worker.addEventListener("statechange", () => {
    if (worker.state === "activated") reload();
  });
  worker.postMessage({ type: "skip-waiting" });
}
