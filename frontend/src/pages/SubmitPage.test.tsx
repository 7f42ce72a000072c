/**
 * The submit form: inline validation in the API's words, the server's field errors, one request
 * per submission, Idempotency-Key reuse on retry, the confirmation with the sentiment, and a
 * submission the network failed: queued on the device (fake-indexeddb) with its key, shown as
 * queued, confirmed once sent.
 */

import { act, screen, waitFor, within } from "@testing-library/react";
import type { UserEvent } from "@testing-library/user-event";
import { IDBFactory } from "fake-indexeddb";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError, type CreatedFeedback } from "../api";
import { queuedSubmissions } from "../offline/queue";
import { flushQueue } from "../offline/send";
import { CONFIG, fakeApi, renderWith } from "../test/render";
import { SubmitPage } from "./SubmitPage";

beforeEach(() => {
  globalThis.indexedDB = new IDBFactory(); // an empty queue for every test
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

const CREATED: CreatedFeedback = {
  feedbackId: "f-1",
  name: "Ada",
  rating: 4,
  message: "Great service",
  sentiment: "positive",
  createdAt: "2025-01-01T10:00:00.000Z",
  status: "active",
  replayed: false,
};

async function fill(user: UserEvent, { name = "Ada", email = "ada@example.com", rating = 4, message = "Great service" } = {}) {
  if (name) await user.type(screen.getByLabelText("Name"), name);
  if (email) await user.type(screen.getByLabelText("Email"), email);
  if (rating) await user.click(screen.getByRole("radio", { name: new RegExp(`^${rating} star`) }));
  if (message) await user.type(screen.getByLabelText("Message"), message);
}

const send = () => screen.getByRole("button", { name: /send feedback|sending/i });

describe("SubmitPage", () => {
  it("checks a field when the user leaves it, in the API's words", async () => {
    const { user } = renderWith(<SubmitPage />, fakeApi());
    await user.click(screen.getByLabelText("Name"));
    await user.tab();
    expect(screen.getByText("Name must not be empty")).toBeInTheDocument();
    expect(screen.getByLabelText("Name")).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByLabelText("Name")).toHaveAccessibleDescription("Name must not be empty");

    await user.type(screen.getByLabelText("Email"), "ada@example");
    await user.tab();
    expect(screen.getByText("Email must be a valid email address")).toBeInTheDocument();

    await user.click(screen.getByLabelText("Name"));
    await user.paste("x".repeat(101));
    expect(screen.getByText("Name must be at most 100 characters")).toBeInTheDocument();
    await user.clear(screen.getByLabelText("Name"));
    await user.type(screen.getByLabelText("Name"), "Ada");
    expect(screen.queryByText(/^Name /)).not.toBeInTheDocument();
  });

  it("counts the message in characters as the API does", async () => {
    const { user } = renderWith(<SubmitPage />, fakeApi());
    await user.type(screen.getByLabelText("Message"), "ok 😀");
    expect(screen.getByText("4 / 2000 characters")).toBeInTheDocument();
    expect(screen.getByLabelText("Message")).toHaveAccessibleDescription("4 / 2000 characters");
  });

  it("sends nothing while the form is invalid and focuses the first problem", async () => {
    const api = fakeApi();
    const { user } = renderWith(<SubmitPage />, api);
    await user.type(screen.getByLabelText("Email"), "ada@example.com");
    await user.click(send());
    expect(api.submitFeedback).not.toHaveBeenCalled();
    expect(screen.getByText("Name must not be empty")).toBeInTheDocument();
    expect(screen.getByText("Rating is required")).toBeInTheDocument();
    expect(screen.getByText("Message must not be empty")).toBeInTheDocument();
    expect(screen.getByLabelText("Name")).toHaveFocus();
  });

  it("rejects control characters in a name like the API", async () => {
    const { user } = renderWith(<SubmitPage />, fakeApi());
    await fill(user, { name: "Ada" });
    await user.click(screen.getByLabelText("Name"));
    await user.paste("\u0007");
    await user.click(send());
    expect(screen.getByText("Name must not contain control characters")).toBeInTheDocument();
  });

  it("shows the server's field errors next to their fields", async () => {
    const api = fakeApi({
      submitFeedback: async () => {
        throw new ApiError("client", "the feedback is invalid", 400, "validation_error", [
          { field: "email", problem: "must be a valid email address" },
          { field: "message", problem: "must be at most 2000 characters" },
        ]);
      },
    });
    const { user } = renderWith(<SubmitPage />, api);
    await fill(user);
    await user.click(send());
    expect(await screen.findByText("Email must be a valid email address")).toBeInTheDocument();
    expect(screen.getByText("Message must be at most 2000 characters")).toBeInTheDocument();
    expect(screen.getByLabelText("Email")).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByLabelText("Email")).toHaveFocus();
    expect(screen.getByRole("alert")).toHaveTextContent("The service did not accept the feedback");
    // Editing the field clears the server's complaint about it.
    await user.type(screen.getByLabelText("Email"), "m");
    expect(screen.queryByText("Email must be a valid email address")).not.toBeInTheDocument();
  });

  it("places the gateway validator's body-level answer on the fields it rejected", async () => {
    const problem = "[email: 'ada@example.com ' does not match '^[A-Za-z0-9.]+$', rating: 9 is greater than the maximum of 5]";
    const api = fakeApi({
      submitFeedback: async () => {
        throw new ApiError("client", "the feedback is invalid", 400, "validation_error", [{ field: "body", problem }]);
      },
    });
    const { user } = renderWith(<SubmitPage />, api);
    await fill(user);
    await user.click(send());
    expect(await screen.findByText("Email was not accepted by the service")).toBeInTheDocument();
    expect(screen.getByText("Rating was not accepted by the service")).toBeInTheDocument();
    expect(screen.queryByText(/^Name /)).not.toBeInTheDocument();
    // The fields are marked, so the validator's own wording (schema patterns) is not shown.
    expect(screen.getByRole("alert")).toHaveTextContent("Please correct the fields marked below.");
    expect(screen.getByRole("alert")).not.toHaveTextContent("does not match");
    expect(screen.getByLabelText("Email")).toHaveFocus();
  });

  it("shows the validator's words when no field can be told from them", async () => {
    const problem = "request body is not a JSON object";
    const api = fakeApi({
      submitFeedback: async () => {
        throw new ApiError("client", "the feedback is invalid", 400, "validation_error", [{ field: "body", problem }]);
      },
    });
    const { user } = renderWith(<SubmitPage />, api);
    await fill(user);
    await user.click(send());
    expect(await screen.findByRole("alert")).toHaveTextContent(problem);
  });

  it("sends once while a submission is in flight, then confirms with the sentiment", async () => {
    let finish: (value: CreatedFeedback) => void = () => {};
    const api = fakeApi({ submitFeedback: () => new Promise((resolve) => (finish = resolve)) });
    const { user } = renderWith(<SubmitPage />, api);
    await fill(user);
    await user.click(send());
    expect(send()).toBeDisabled();
    expect(send()).toHaveTextContent("Sending…");
    await user.click(send());
    await user.keyboard("{Enter}");
    expect(api.submitFeedback).toHaveBeenCalledTimes(1);
    expect(api.submitFeedback).toHaveBeenCalledWith(
      { name: "Ada", email: "ada@example.com", rating: 4, message: "Great service" },
      expect.stringMatching(/^[A-Za-z0-9._:-]{8,128}$/),
    );
    finish(CREATED);
    const heading = await screen.findByRole("heading", { name: "Thank you, Ada!" });
    const status = screen.getByRole("status");
    expect(within(status).getByText("positive")).toBeInTheDocument();
    await waitFor(() => expect(heading).toHaveFocus());
    await user.click(screen.getByRole("button", { name: "Give more feedback" }));
    expect(screen.getByLabelText("Name")).toHaveValue("");
  });

  it("reuses the Idempotency-Key when the same feedback is sent again after a failure", async () => {
    const failures = [new ApiError("server", "bad gateway", 502), new ApiError("server", "boom", 503)];
    const api = fakeApi({
      submitFeedback: async () => {
        const failure = failures.shift();
        if (failure) throw failure;
        return CREATED;
      },
    });
    const { user } = renderWith(<SubmitPage />, api);
    await fill(user);
    await user.click(send());
    expect(await screen.findByRole("alert")).toHaveTextContent("HTTP 502");
    expect(screen.getByRole("alert")).toHaveTextContent("Sending again is safe");
    await user.click(send());
    expect(await screen.findByRole("alert")).toHaveTextContent("HTTP 503");
    const [first, second] = api.submitFeedback.mock.calls.map((call) => call[1]);
    expect(second).toBe(first);

    await user.type(screen.getByLabelText("Message"), "!");
    await user.click(send());
    await screen.findByRole("heading", { name: "Thank you, Ada!" });
    const third = api.submitFeedback.mock.calls[2];
    expect(third[0].message).toBe("Great service!");
    expect(third[1]).not.toBe(first);
  });

  it("says so when the API refuses for another reason", async () => {
    const api = fakeApi({
      submitFeedback: async () => {
        throw new ApiError("client", "request body must be at most 10240 bytes", 413, "payload_too_large");
      },
    });
    const { user } = renderWith(<SubmitPage />, api);
    await fill(user);
    await user.click(send());
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Your feedback was not accepted");
    expect(alert).toHaveTextContent("request body must be at most 10240 bytes (HTTP 413)");
  });

  it("queues the feedback when offline, shows it as queued, and confirms once the queue sent it", async () => {
    vi.spyOn(navigator, "onLine", "get").mockReturnValue(false);
    let online = false;
    const api = fakeApi({
      submitFeedback: async () => {
        if (!online) throw new ApiError("network", "Failed to fetch");
        return { ...CREATED, replayed: true };
      },
    });
    const { user } = renderWith(<SubmitPage />, api);
    await fill(user);
    await user.click(send());

    const heading = await screen.findByRole("heading", { name: "Your feedback is queued" });
    await waitFor(() => expect(heading).toHaveFocus());
    expect(screen.getByRole("status")).toHaveTextContent("saved on this device and sent as soon as the connection returns");
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
    expect(screen.getByText("Great service")).toBeInTheDocument();
    const [sent] = api.submitFeedback.mock.calls;
    const [item] = await queuedSubmissions();
    expect(item).toMatchObject({ key: sent[1], body: sent[0], api: { apiBaseUrl: CONFIG.apiBaseUrl, apiKey: null } });

    // Back online, the queue sends it (as the page's `online` listener or the worker would).
    online = true;
    await act(() => flushQueue((queued) => api.submitFeedback(queued.body, queued.key)));
    expect(await screen.findByRole("heading", { name: "Thank you, Ada!" })).toBeInTheDocument();
    expect(screen.getByRole("status")).toHaveTextContent("it had already arrived; it is stored once");
    expect(api.submitFeedback.mock.calls.map((call) => call[1])).toEqual([sent[1], sent[1]]);
    expect(await queuedSubmissions()).toEqual([]);
  });

  it("queues on a network failure while online, and sends it again now with the same key", async () => {
    const answers = [new ApiError("network", "Failed to fetch"), new ApiError("timeout", "the request timed out")];
    const api = fakeApi({
      submitFeedback: async () => {
        const failure = answers.shift();
        if (failure) throw failure;
        return CREATED;
      },
    });
    const { user } = renderWith(<SubmitPage />, api);
    await fill(user);
    await user.click(send());
    expect(await screen.findByRole("heading", { name: "Your feedback is queued" })).toBeInTheDocument();
    expect(screen.getByRole("alert")).toHaveTextContent("Cannot reach the feedback service");
    expect(screen.getByRole("alert")).toHaveTextContent("Sending again is safe");

    await user.click(screen.getByRole("button", { name: "Send feedback now" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("took too long");
    expect(await queuedSubmissions()).toHaveLength(1);
    await user.click(screen.getByRole("button", { name: "Send feedback now" }));
    expect(await screen.findByRole("heading", { name: "Thank you, Ada!" })).toBeInTheDocument();
    const [first, second, third] = api.submitFeedback.mock.calls.map((call) => call[1]);
    expect(new Set([first, second, third]).size).toBe(1);
    expect(await queuedSubmissions()).toEqual([]);
  });

  it("gives the feedback back with the reason when the queued submission is refused", async () => {
    vi.spyOn(navigator, "onLine", "get").mockReturnValue(false);
    const api = fakeApi({
      submitFeedback: async () => {
        throw new ApiError("network", "Failed to fetch");
      },
    });
    const { user } = renderWith(<SubmitPage />, api);
    await fill(user);
    await user.click(send());
    await screen.findByRole("heading", { name: "Your feedback is queued" });
    await act(() =>
      flushQueue(async () => {
        throw new ApiError("client", "the API key is not valid", 403, "forbidden");
      }),
    );
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Your queued feedback was not accepted");
    expect(alert).toHaveTextContent("HTTP 403");
    expect(screen.getByLabelText("Message")).toHaveValue("Great service");
    expect(screen.getByLabelText("Name")).toHaveValue("Ada");
  });

  it("keeps the feedback on the form when the device cannot store it", async () => {
    vi.stubGlobal("indexedDB", undefined);
    const api = fakeApi({
      submitFeedback: async () => {
        throw new ApiError("network", "Failed to fetch");
      },
    });
    const { user } = renderWith(<SubmitPage />, api);
    await fill(user);
    await user.click(send());
    expect(await screen.findByRole("alert")).toHaveTextContent("Cannot reach the feedback service");
    expect(screen.getByRole("alert")).toHaveTextContent("Sending again is safe");
    expect(screen.getByLabelText("Message")).toHaveValue("Great service");
    await user.click(send());
    const [first, second] = api.submitFeedback.mock.calls.map((call) => call[1]);
    expect(second).toBe(first);
  });
});
