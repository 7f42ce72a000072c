/**
 * What the page frame shows of offline use: an offline badge and the count of queued
 * submissions in the header, and the offer of a new version, whose Reload button switches to it.
 */

import { act, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Layout } from "../components/Layout";
import { fakeApi, renderWith } from "../test/render";
import { setOfflineStatus } from "./status";

afterEach(() => {
  act(() => setOfflineStatus({ offline: false, queued: 0, update: null }));
});

describe("the offline status in the layout", () => {
  it("shows nothing while nothing is queued and no new version waits", () => {
    renderWith(<Layout>page</Layout>, fakeApi());
    expect(screen.queryByText(/queued|Offline/)).not.toBeInTheDocument();
    expect(screen.queryByRole("status")).not.toBeInTheDocument();
  });

  it("says when the browser is offline and counts the queued submissions in the header", () => {
    renderWith(<Layout>page</Layout>, fakeApi());
    act(() => setOfflineStatus({ offline: true, queued: 2 }));
    expect(screen.getByRole("banner")).toHaveTextContent("Offline");
    expect(screen.getByRole("banner")).toHaveTextContent("2 queued");
    act(() => setOfflineStatus({ offline: false, queued: 0 }));
    expect(screen.queryByText(/queued|Offline/)).not.toBeInTheDocument();
  });

  it("offers a new version and switches to it on Reload", async () => {
    const update = vi.fn();
    const { user } = renderWith(<Layout>page</Layout>, fakeApi());
    act(() => setOfflineStatus({ update }));
    expect(screen.getByRole("status")).toHaveTextContent("A new version is available — Reload");
    await user.click(screen.getByRole("button", { name: "Reload" }));
    expect(update).toHaveBeenCalledTimes(1);
  });
});
