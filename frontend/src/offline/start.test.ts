/**
 * The update offer: a new worker waiting behind an active one is offered; the first install is
 * not; taking the offer asks the waiting worker to take over, then reloads once it has.
 */

import { afterEach, describe, expect, it, vi } from "vitest";
import type { OfflineStatus } from "./status";
import { watchForUpdates } from "./start";

class FakeWorker extends EventTarget {
  readonly postMessage = vi.fn();
  constructor(public state: ServiceWorkerState) {
    super();
  }
  become(state: ServiceWorkerState) {
    this.state = state;
    this.dispatchEvent(new Event("statechange"));
  }
}

class FakeRegistration extends EventTarget {
  installing: FakeWorker | null = null;
  waiting: FakeWorker | null = null;
  active: FakeWorker | null = null;
  readonly update = vi.fn(async () => undefined);

  /** A new worker is found, installs, and waits (or activates, when none is active). */
  deploy(): FakeWorker {
    const worker = new FakeWorker("installing");
    this.installing = worker;
    this.dispatchEvent(new Event("updatefound"));
    this.installing = null;
    this.waiting = worker;
    worker.become("installed");
    return worker;
  }
}

const stops: Array<() => void> = [];

function watch(registration: FakeRegistration) {
  const report = vi.fn<(change: Partial<OfflineStatus>) => void>();
  const reload = vi.fn();
  stops.push(watchForUpdates(registration as unknown as ServiceWorkerRegistration, report, reload));
  const offer = () => report.mock.calls.map(([change]) => change.update).find(Boolean);
  return { report, reload, offer };
}

afterEach(() => {
  stops.splice(0).forEach((stop) => stop());
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("watchForUpdates", () => {
  it("offers a new version that waits behind the active one, and reloads once it took over", () => {
    const registration = new FakeRegistration();
    registration.active = new FakeWorker("activated");
    const { offer, reload } = watch(registration);
    expect(offer()).toBeUndefined();

    const next = registration.deploy();
    const update = offer();
    expect(update).toBeTypeOf("function");
    update!();
    expect(next.postMessage).toHaveBeenCalledWith({ type: "skip-waiting" });
    expect(reload).not.toHaveBeenCalled();
    next.become("activating");
    next.become("activated");
    expect(reload).toHaveBeenCalledTimes(1);
  });

  it("offers a worker already waiting when the page starts", () => {
    const registration = new FakeRegistration();
    registration.active = new FakeWorker("activated");
    registration.waiting = new FakeWorker("installed");
    expect(watch(registration).offer()).toBeTypeOf("function");
  });

  it("offers nothing on the first install", () => {
    const registration = new FakeRegistration();
    const { offer } = watch(registration);
    registration.deploy();
    expect(offer()).toBeUndefined();
  });

  it("checks for a new deploy when the tab is shown again and every hour", () => {
    vi.useFakeTimers();
    const registration = new FakeRegistration();
    watch(registration);
    vi.spyOn(document, "visibilityState", "get").mockReturnValue("visible");
    document.dispatchEvent(new Event("visibilitychange"));
    expect(registration.update).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(60 * 60 * 1000);
    expect(registration.update).toHaveBeenCalledTimes(2);
  });
});
