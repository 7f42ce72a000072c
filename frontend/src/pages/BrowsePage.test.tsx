/** Browse: newest first as the API orders it, cursor pagination, filters in the URL, text stays text, no emails, states. */

import { screen, waitFor, within } from "@testing-library/react";
import { useLocation } from "react-router";
import { describe, expect, it } from "vitest";
import { ApiError, type FeedbackItem } from "../api";
import { fakeApi, item, renderWith } from "../test/render";
import { BrowsePage, PAGE_SIZE } from "./BrowsePage";

function names(): string[] {
  return screen.getAllByRole("article").map((article) => within(article).getByRole("heading").textContent ?? "");
}

describe("BrowsePage", () => {
  it("shows the first page in the API's order, with rating, sentiment and date", async () => {
    const api = fakeApi({ listFeedback: async () => ({ items: [item(3), item(2), item(1)], nextCursor: null }) });
    renderWith(<BrowsePage />, api);
    expect(screen.getByText("Loading feedback…")).toHaveAttribute("role", "status");
    await screen.findByRole("list", { name: /newest first/i });
    expect(names()).toEqual(["Person 3", "Person 2", "Person 1"]);
    expect(api.listFeedback).toHaveBeenCalledWith({ limit: PAGE_SIZE });
    const first = screen.getAllByRole("article")[0];
    expect(within(first).getByRole("img", { name: "Rated 4 out of 5" })).toBeInTheDocument();
    expect(within(first).getByText("positive")).toBeInTheDocument();
    expect(first.querySelector("time")).toHaveAttribute("dateTime", "2025-01-04T10:00:00.000Z");
    expect(screen.getByText("That is all the feedback so far.")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Load more" })).not.toBeInTheDocument();
  });

  it("loads the next page with the API's cursor until there is none", async () => {
    const pages: Record<string, { items: FeedbackItem[]; nextCursor: string | null }> = {
      start: { items: [item(5), item(4)], nextCursor: "c1" },
      c1: { items: [item(3), item(2)], nextCursor: "c2" },
      c2: { items: [item(1)], nextCursor: null },
    };
    const api = fakeApi({ listFeedback: async ({ cursor } = {}) => pages[cursor ?? "start"] });
    const { user } = renderWith(<BrowsePage />, api);
    await user.click(await screen.findByRole("button", { name: "Load more" }));
    await waitFor(() => expect(names()).toHaveLength(4));
    expect(api.listFeedback).toHaveBeenLastCalledWith({ limit: PAGE_SIZE, cursor: "c1" });
    await waitFor(() => expect(screen.getAllByRole("article")[2]).toHaveFocus());
    await user.click(screen.getByRole("button", { name: "Load more" }));
    await waitFor(() => expect(names()).toEqual(["Person 5", "Person 4", "Person 3", "Person 2", "Person 1"]));
    expect(api.listFeedback).toHaveBeenLastCalledWith({ limit: PAGE_SIZE, cursor: "c2" });
    expect(screen.queryByRole("button", { name: "Load more" })).not.toBeInTheDocument();
    expect(screen.getByText("Loaded 1 more; 5 shown.")).toBeInTheDocument();
  });

  it("keeps what it has when loading more fails, and can try again", async () => {
    let fail = true;
    const api = fakeApi({
      listFeedback: async ({ cursor } = {}) => {
        if (!cursor) return { items: [item(2)], nextCursor: "c1" };
        if (fail) {
          fail = false;
          throw new ApiError("server", "boom", 500);
        }
        return { items: [item(1)], nextCursor: null };
      },
    });
    const { user } = renderWith(<BrowsePage />, api);
    await user.click(await screen.findByRole("button", { name: "Load more" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("HTTP 500");
    expect(names()).toEqual(["Person 2"]);
    await user.click(screen.getByRole("button", { name: "Try loading more again" }));
    await waitFor(() => expect(names()).toEqual(["Person 2", "Person 1"]));
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
  });

  it("renders markup in names and messages as text", async () => {
    const payload = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">';
    const api = fakeApi({ listFeedback: async () => ({ items: [item(1, { name: "<b>bold</b>", message: payload })], nextCursor: null }) });
    const { container } = renderWith(<BrowsePage />, api);
    expect(await screen.findByText(payload)).toBeInTheDocument();
    expect(screen.getByRole("heading", { name: "<b>bold</b>" })).toBeInTheDocument();
    expect(container.querySelector("script, img, b")).toBeNull();
  });

  it("never shows an email, even if one came back", async () => {
    const leaked = { ...item(1), email: "secret@example.com" } as FeedbackItem;
    const api = fakeApi({ listFeedback: async () => ({ items: [leaked], nextCursor: null }) });
    const { container } = renderWith(<BrowsePage />, api);
    await screen.findByText("Person 1");
    expect(container.textContent).not.toContain("secret@example.com");
  });

  it("says when there is no feedback yet", async () => {
    renderWith(<BrowsePage />, fakeApi());
    expect(await screen.findByText("No feedback yet")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: /be the first/i })).toHaveAttribute("href", "/");
  });

  it.each([
    [new ApiError("network", "Failed to fetch"), "Cannot reach the feedback service"],
    [new ApiError("server", "Internal server error", 500), "HTTP 500"],
    [new ApiError("client", "cursor is invalid; start again without a cursor", 400, "invalid_cursor"), "cursor is invalid"],
    [new ApiError("client", "Forbidden", 403), "refused the request (HTTP 403)"],
  ])("shows an error state with a retry (%s)", async (error, text) => {
    let calls = 0;
    const api = fakeApi({
      listFeedback: async () => {
        calls += 1;
        if (calls === 1) throw error;
        return { items: [item(1)], nextCursor: null };
      },
    });
    const { user } = renderWith(<BrowsePage />, api);
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Could not load feedback");
    expect(alert).toHaveTextContent(text);
    await user.click(within(alert).getByRole("button", { name: "Try again" }));
    expect(await screen.findByText("Person 1")).toBeInTheDocument();
  });
});

function ShowLocation() {
  const { search } = useLocation();
  return <output data-testid="search">{search}</output>;
}

describe("BrowsePage filters", () => {
  it("loads the view a shared link names, filters shown as chosen", async () => {
    const api = fakeApi({ listFeedback: async () => ({ items: [item(4)], nextCursor: "c1" }) });
    const { user } = renderWith(<BrowsePage />, api, "/browse?rating=5&from=2025-03-01");
    await screen.findByRole("list", { name: /newest first/i });
    expect(api.listFeedback).toHaveBeenCalledWith({ limit: PAGE_SIZE, rating: 5, from: "2025-03-01" });
    expect(screen.getByLabelText("Rating")).toHaveValue("5");
    expect(screen.getByLabelText("From")).toHaveValue("2025-03-01");
    await user.click(screen.getByRole("button", { name: "Load more" }));
    expect(api.listFeedback).toHaveBeenLastCalledWith({ limit: PAGE_SIZE, cursor: "c1", rating: 5, from: "2025-03-01" });
  });

  it("puts each change in the URL and reloads from the first page", async () => {
    const api = fakeApi({
      listFeedback: async ({ rating, sentiment } = {}) => ({
        items:
          rating && sentiment
            ? [item(7, { rating, sentiment, name: "Two stars, negative" })]
            : sentiment
              ? [item(6, { sentiment, name: "Only negative" })]
              : [item(2), item(1)],
        nextCursor: null,
      }),
    });
    const { user } = renderWith(
      <>
        <BrowsePage />
        <ShowLocation />
      </>,
      api,
      "/browse?rating=2",
    );
    await screen.findByRole("list", { name: /newest first/i });
    await user.selectOptions(screen.getByLabelText("Sentiment"), "negative");
    expect(screen.getByTestId("search")).toHaveTextContent("?rating=2&sentiment=negative");
    await waitFor(() => expect(names()).toEqual(["Two stars, negative"]));
    expect(api.listFeedback).toHaveBeenLastCalledWith({ limit: PAGE_SIZE, rating: 2, sentiment: "negative" });
    expect(screen.getByLabelText("Rating")).toHaveValue("2");
    expect(screen.getByLabelText("Sentiment")).toHaveValue("negative");
    await user.selectOptions(screen.getByLabelText("Rating"), "");
    expect(screen.getByTestId("search")).toHaveTextContent("?sentiment=negative");
    await waitFor(() => expect(names()).toEqual(["Only negative"]));
    expect(api.listFeedback).toHaveBeenLastCalledWith({ limit: PAGE_SIZE, sentiment: "negative" });
    await user.type(screen.getByLabelText("To"), "2025-03-31");
    expect(screen.getByTestId("search")).toHaveTextContent("?sentiment=negative&to=2025-03-31");
    await user.selectOptions(screen.getByLabelText("Sentiment"), "");
    await user.clear(screen.getByLabelText("To"));
    expect(screen.getByTestId("search")).toBeEmptyDOMElement();
  });

  it("says when nothing matches, with a way back to everything", async () => {
    const api = fakeApi({ listFeedback: async () => ({ items: [], nextCursor: null }) });
    renderWith(<BrowsePage />, api, "/browse?sentiment=neutral");
    expect(await screen.findByText("No feedback matches these filters")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Show all feedback." })).toHaveAttribute("href", "/browse");
  });
});
