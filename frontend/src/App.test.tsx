/** The app shell: pages loaded on first use, navigation by keyboard, focus on the new page, 404. */

import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router";
import { describe, expect, it } from "vitest";
import { AppRoutes } from "./App";
import { ServicesProvider } from "./context";
import { CONFIG, fakeApi } from "./test/render";

function renderApp(path = "/") {
  render(
    <ServicesProvider api={fakeApi()} config={CONFIG}>
      <MemoryRouter initialEntries={[path]}>
        <AppRoutes />
      </MemoryRouter>
    </ServicesProvider>,
  );
}

describe("App", () => {
  it("moves between pages from the main navigation and focuses the new page's heading", async () => {
    const user = userEvent.setup();
    renderApp();
    // Each page's code loads on first use: a status first, then the page, focus left alone.
    expect(screen.getByRole("status")).toHaveTextContent("Loading the page…");
    expect(await screen.findByRole("heading", { level: 1, name: "Give feedback" })).not.toHaveFocus();
    const nav = screen.getByRole("navigation", { name: "Main" });
    expect(nav).toBeInTheDocument();
    await user.tab();
    expect(screen.getByRole("link", { name: "Skip to content" })).toHaveFocus();
    screen.getByRole("link", { name: "Browse" }).focus();
    await user.keyboard("{Enter}");
    // The page shows once its code has loaded; the focus moves to its heading as it arrives.
    const browse = await screen.findByRole("heading", { level: 1, name: "Feedback" });
    await waitFor(() => expect(browse).toHaveFocus());
    expect(screen.getByRole("link", { name: "Browse" })).toHaveAttribute("aria-current", "page");
    await user.click(screen.getByRole("link", { name: "Analytics" }));
    const analytics = await screen.findByRole("heading", { level: 1, name: "Analytics" });
    await waitFor(() => expect(analytics).toHaveFocus());
    expect(document.title).toBe("Analytics · Feedback");
  });

  it("shows the stage and a not-found page for unknown paths", () => {
    renderApp("/nowhere");
    expect(screen.getByRole("heading", { name: "Page not found" })).toBeInTheDocument();
    expect(screen.getByText("local")).toBeInTheDocument();
  });
});
