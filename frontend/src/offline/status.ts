/**
 * What the page frame shows about offline use: whether the browser is offline, how many
 * submissions wait on this device, and whether a new version of the app is ready (with the
 * action that switches to it). Set by the offline start-up code, read by the layout.
 */

import { useSyncExternalStore } from "react";

export interface OfflineStatus {
  offline: boolean;
  queued: number;
  /** Switches to the new version and reloads; null while there is none waiting. */
  update: (() => void) | null;
}

let current: OfflineStatus = { offline: false, queued: 0, update: null };
const listeners = new Set<() => void>();

export function setOfflineStatus(change: Partial<OfflineStatus>): void {
  current = { ...current, ...change };
  listeners.forEach((listener) => listener());
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function useOfflineStatus(): OfflineStatus {
  return useSyncExternalStore(subscribe, () => current);
}
