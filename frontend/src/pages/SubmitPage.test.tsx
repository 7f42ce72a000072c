/**
 * The submit form: inline validation in the API's words, the server's field errors, one request
 * per submission, Idempotency-Key reuse on retry, and the confirmation with the sentiment.
 */

import { screen, waitFor, within } from "@testing-library/react";
import type { UserEvent } from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { ApiError, type CreatedFeedback } from "../api";
import { fakeApi, renderWith } from "../test/render";
import { SubmitPage } from "./SubmitPage";

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
    const failures = [new ApiError("network", "Failed to fetch"), new ApiError("server", "boom", 503)];
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
    expect(await screen.findByRole("alert")).toHaveTextContent("Cannot reach the feedback service");
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
});
