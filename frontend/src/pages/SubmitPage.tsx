/**
 * Give feedback: the form checks the API's rules as the user goes (on leaving a field and on
 * submit), shows the server's field errors where they belong, sends once per click with an
 * Idempotency-Key (a retry of the same body reuses it, so it is stored once) and confirms with
 * the sentiment the API detected. When the network fails, the submission is queued on the device
 * with its key (src/offline/queue.ts) and confirmed once the queue has sent it.
 */

import { useEffect, useRef, useState, type FormEvent } from "react";
import { Link } from "react-router";
import { ApiError, describeError, type CreatedFeedback, type SubmissionBody } from "../api";
import { useServices } from "../context";
import { IdempotencyKeys } from "../idempotency";
import { enqueue, onQueueEvent, requestBackgroundSync, settle, type QueueEvent, type QueuedSubmission } from "../offline/queue";
import { usePageTitle } from "../components/Layout";
import { SentimentBadge, StarInput, Stars } from "../components/Rating";
import { FIELDS, MESSAGE_MAX, checkField, codePoints, validateFeedback, type Field } from "../validation";

interface Values {
  name: string;
  email: string;
  rating: number | null;
  message: string;
}

const EMPTY: Values = { name: "", email: "", rating: null, message: "" };
const LABELS: Record<Field, string> = { name: "Name", email: "Email", rating: "Rating", message: "Message" };

type Problems = Partial<Record<Field, string>>;

interface FormAlert {
  title: string;
  text: string;
  details?: string[];
}

/** The body as the API receives it: a rating not chosen yet is absent ("is required"). */
function bodyOf(values: Values): SubmissionBody {
  const body: SubmissionBody = { name: values.name, email: values.email, message: values.message };
  if (values.rating !== null) body.rating = values.rating;
  return body;
}

function problemOf(field: Field, values: Values): string | undefined {
  const value = field === "rating" ? (values.rating ?? undefined) : values[field];
  if (value === undefined) return `${LABELS[field]} is required`;
  const [error] = checkField(field, value);
  return error ? `${LABELS[field]} ${error.problem}` : undefined;
}

function isField(name: string): name is Field {
  return (FIELDS as readonly string[]).includes(name);
}

/** A failure after which the feedback may not have arrived, nor been refused: worth queueing. */
function isNetworkFailure(error: unknown): boolean {
  return error instanceof ApiError && (error.kind === "network" || error.kind === "timeout");
}

function valuesOf(body: SubmissionBody): Values {
  return { name: body.name, email: body.email, rating: body.rating ?? null, message: body.message };
}

function alertFor(error: unknown): FormAlert {
  if (error instanceof ApiError && error.retryable) {
    return {
      title: "Your feedback was not confirmed",
      text: `${describeError(error)} Sending again is safe: it will be stored only once.`,
    };
  }
  if (error instanceof ApiError && error.code === "idempotency_conflict") {
    return { title: "Please send again", text: "The form changed while it was being sent. Send it once more." };
  }
  return { title: "Your feedback was not accepted", text: describeError(error) };
}

// The local gateway's validationErrorString names the field ("[email: ... does not match ...]").
const MENTIONED_FIELD_RE = /(?:^\[|, )(name|email|rating|message): /g;

/**
 * Where the API's 400 puts its problems. The handler names fields (`{field: "email"}`); the
 * gateway's request validator, which runs first in AWS, reports one `{field: "body"}` detail in
 * its own words, so the fields it rejected are found by checking the sent body with the same
 * rules (and, locally, from the field names it mentions). Null when the error has no details.
 */
function serverFieldProblems(error: ApiError, body: SubmissionBody): { problems: Problems; unplaced: string[] } | null {
  if (error.details.length === 0) return null;
  const problems: Problems = {};
  const unplaced: string[] = [];
  for (const detail of error.details) {
    if (isField(detail.field)) {
      problems[detail.field] ??= `${LABELS[detail.field]} ${detail.problem}`;
      continue;
    }
    if (detail.field !== "body") {
      unplaced.push(`${detail.field} ${detail.problem}`);
      continue;
    }
    const placedBefore = Object.keys(problems).length;
    for (const match of detail.problem.matchAll(MENTIONED_FIELD_RE)) {
      const field = match[1] as Field;
      problems[field] ??= `${LABELS[field]} was not accepted by the service`;
    }
    const checked = validateFeedback(body);
    if (!checked.ok) {
      for (const e of checked.errors) if (isField(e.field)) problems[e.field] = `${LABELS[e.field]} ${e.problem}`;
    }
    // The validator's own wording (schema patterns and all) helps nobody once the fields are
    // marked; it is shown only when no field could be told from it.
    if (Object.keys(problems).length === placedBefore) unplaced.push(detail.problem);
  }
  return { problems, unplaced };
}

export function SubmitPage() {
  usePageTitle("Give feedback");
  const { api, config } = useServices();
  const [values, setValues] = useState<Values>(EMPTY);
  const [touched, setTouched] = useState<Partial<Record<Field, boolean>>>({});
  const [serverProblems, setServerProblems] = useState<Problems>({});
  const [formAlert, setFormAlert] = useState<FormAlert | null>(null);
  const [submitting, setSubmitting] = useState(false);
  const [created, setCreated] = useState<CreatedFeedback | null>(null);
  const [queued, setQueued] = useState<QueuedSubmission | null>(null);
  const [queueAlert, setQueueAlert] = useState<FormAlert | null>(null); // why it is queued, when online
  const keys = useRef(new IdempotencyKeys());
  const inFlight = useRef(false);
  const awaiting = useRef<QueuedSubmission | null>(null); // the queued submission shown
  const formRef = useRef<HTMLFormElement>(null);
  const doneRef = useRef<HTMLHeadingElement>(null);
  // Focus the confirmation once React has rendered it (an animation frame can come first).
  useEffect(() => {
    if (created || queued) doneRef.current?.focus();
  }, [created, queued]);
  // The queued submission shown here is confirmed (or refused) by whoever sends it.
  useEffect(
    () =>
      onQueueEvent((event: QueueEvent) => {
        const item = awaiting.current;
        if (event.type === "queued" || event.key !== item?.key) return;
        awaiting.current = null;
        setQueued(null);
        if (event.type === "sent") {
          setCreated(event.feedback);
        } else {
          setValues(valuesOf(item.body));
          setFormAlert({ title: "Your queued feedback was not accepted", text: event.message });
        }
      }),
    [],
  );

  const problems: Problems = {};
  for (const field of FIELDS) {
    const problem = serverProblems[field] ?? (touched[field] ? problemOf(field, values) : undefined);
    if (problem) problems[field] = problem;
  }

  function update<K extends Field>(field: K, value: Values[K]) {
    keys.current.reset(); // an edited form is a new submission: a new key
    setValues((current) => ({ ...current, [field]: value }));
    setServerProblems((current) => ({ ...current, [field]: undefined }));
    setFormAlert(null);
    if (field === "rating") setTouched((current) => ({ ...current, rating: true }));
  }

  function blur(field: Field) {
    setTouched((current) => ({ ...current, [field]: true }));
  }

  function focusFirstProblem(fields: Field[]) {
    const form = formRef.current;
    const first = FIELDS.find((field) => fields.includes(field));
    if (!form || !first) return;
    const target =
      first === "rating"
        ? (form.querySelector<HTMLInputElement>('input[name="rating"]:checked') ??
          form.querySelector<HTMLInputElement>('input[name="rating"]'))
        : form.querySelector<HTMLElement>(`#${first}`);
    target?.focus();
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (inFlight.current) return; // a second click or Enter while sending sends nothing
    setTouched({ name: true, email: true, rating: true, message: true });
    const body = bodyOf(values);
    const checked = validateFeedback(body);
    if (!checked.ok) {
      focusFirstProblem(checked.errors.map((e) => e.field).filter(isField));
      return;
    }
    inFlight.current = true;
    setSubmitting(true);
    setFormAlert(null);
    const key = keys.current.keyFor(JSON.stringify(body));
    try {
      const result = await api.submitFeedback(body, key);
      keys.current.reset();
      setCreated(result);
      setValues(EMPTY);
      setTouched({});
      setServerProblems({});
    } catch (error) {
      if (!(isNetworkFailure(error) && (await queue(body, key, error)))) showFailure(error, body);
    } finally {
      inFlight.current = false;
      setSubmitting(false);
    }
  }

  /**
   * Keeps the submission on this device to be sent later; false when it cannot (no IndexedDB).
   * Offline, the service worker is asked to send it once the browser is back online. Online (the
   * service unreachable, an answer lost), the person may send it again now; a page left hidden
   * hands it to the worker (src/offline/start.ts).
   */
  async function queue(body: SubmissionBody, key: string, error: unknown): Promise<boolean> {
    const item: QueuedSubmission = {
      key,
      body,
      api: { apiBaseUrl: config.apiBaseUrl, apiKey: config.apiKey },
      queuedAt: new Date().toISOString(),
    };
    awaiting.current = item;
    try {
      await enqueue(item);
    } catch {
      awaiting.current = null;
      return false;
    }
    keys.current.reset();
    setValues(EMPTY);
    setTouched({});
    setServerProblems({});
    if (awaiting.current !== item) return true; // sent already
    setQueued(item);
    if (navigator.onLine) setQueueAlert(alertFor(error));
    else void requestBackgroundSync().catch(() => undefined); // the page's `online` listener too
    return true;
  }

  /** Sends the queued submission now, with its key; it stays queued if that fails again. */
  async function sendQueued(item: QueuedSubmission) {
    if (inFlight.current) return;
    inFlight.current = true;
    setSubmitting(true);
    setQueueAlert(null);
    try {
      await settle({ type: "sent", key: item.key, feedback: await api.submitFeedback(item.body, item.key) });
    } catch (error) {
      if (error instanceof ApiError && !error.retryable) {
        await settle({ type: "rejected", key: item.key, message: describeError(error) });
      } else {
        setQueueAlert(alertFor(error));
      }
    } finally {
      inFlight.current = false;
      setSubmitting(false);
    }
  }

  function showFailure(error: unknown, body: SubmissionBody) {
    if (!(error instanceof ApiError) || !error.retryable) keys.current.reset();
    const found = error instanceof ApiError ? serverFieldProblems(error, body) : null;
    if (!found) {
      setFormAlert(alertFor(error));
      return;
    }
    setServerProblems(found.problems);
    setFormAlert({
      title: "The service did not accept the feedback",
      text: Object.keys(found.problems).length ? "Please correct the fields marked below." : "",
      details: found.unplaced,
    });
    focusFirstProblem(Object.keys(found.problems) as Field[]);
  }

  function again() {
    awaiting.current = null; // a queued submission left here is still sent; the header counts it
    setQueued(null);
    setQueueAlert(null);
    setCreated(null);
    requestAnimationFrame(() => document.getElementById("name")?.focus());
  }

  if (created) {
    return (
      <section className="panel confirmation" aria-labelledby="done-title">
        <h1 id="done-title" ref={doneRef} tabIndex={-1}>
          Thank you, {created.name}!
        </h1>
        <p role="status">
          Your feedback was received{created.replayed ? " (it had already arrived; it is stored once)" : ""}. We read
          it as <SentimentBadge sentiment={created.sentiment} />.
        </p>
        <dl className="summary">
          <dt>Rating</dt>
          <dd>
            <Stars rating={created.rating} />
          </dd>
          <dt>Message</dt>
          <dd className="message">{created.message}</dd>
        </dl>
        <div className="actions">
          <button type="button" className="button" onClick={again}>
            Give more feedback
          </button>
          <Link className="button secondary" to="/browse">
            See all feedback
          </Link>
        </div>
      </section>
    );
  }

  if (queued) {
    return (
      <section className="panel confirmation queued" aria-labelledby="queued-title">
        <h1 id="queued-title" ref={doneRef} tabIndex={-1}>
          Your feedback is queued
        </h1>
        {queueAlert ? (
          <div className="state state-error" role="alert">
            <p className="state-title">{queueAlert.title}</p>
            <p>{queueAlert.text}</p>
          </div>
        ) : null}
        <p role="status">
          It is saved on this device and sent as soon as the connection returns (or on your next visit). However often
          it is sent, it is stored once.
        </p>
        <dl className="summary">
          <dt>Rating</dt>
          <dd>{queued.body.rating ? <Stars rating={queued.body.rating} /> : null}</dd>
          <dt>Message</dt>
          <dd className="message">{queued.body.message}</dd>
        </dl>
        <div className="actions">
          <button type="button" className="button" disabled={submitting} onClick={() => void sendQueued(queued)}>
            {submitting ? "Sending…" : "Send feedback now"}
          </button>
          <button type="button" className="button secondary" onClick={again}>
            Give more feedback
          </button>
        </div>
      </section>
    );
  }

  const count = codePoints(values.message);
  const describe = (field: Field, extra?: string) =>
    [problems[field] ? `${field}-error` : null, extra].filter(Boolean).join(" ") || undefined;

  return (
    <section aria-labelledby="submit-title">
      <h1 id="submit-title" tabIndex={-1}>
        Give feedback
      </h1>
      <p className="lead">Tell us what worked and what did not. Every field is required.</p>
      {formAlert ? (
        <div className="state state-error" role="alert">
          <p className="state-title">{formAlert.title}</p>
          {formAlert.text ? <p>{formAlert.text}</p> : null}
          {formAlert.details?.length ? (
            <ul className="details">
              {formAlert.details.map((detail) => (
                <li key={detail}>{detail}</li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
      <form ref={formRef} className="panel form" noValidate onSubmit={submit} aria-busy={submitting}>
        <div className="field">
          <label htmlFor="name">Name</label>
          <input
            id="name"
            name="name"
            autoComplete="name"
            value={values.name}
            onChange={(e) => update("name", e.target.value)}
            onBlur={() => blur("name")}
            aria-invalid={problems.name ? true : undefined}
            aria-describedby={describe("name")}
            required
          />
          <FieldProblem field="name" problem={problems.name} />
        </div>
        <div className="field">
          <label htmlFor="email">Email</label>
          <input
            id="email"
            name="email"
            type="email"
            inputMode="email"
            autoComplete="email"
            value={values.email}
            onChange={(e) => update("email", e.target.value)}
            onBlur={() => blur("email")}
            aria-invalid={problems.email ? true : undefined}
            aria-describedby={describe("email", "email-hint")}
            required
          />
          <p id="email-hint" className="hint">
            Only used to contact you about this feedback; never shown.
          </p>
          <FieldProblem field="email" problem={problems.email} />
        </div>
        <fieldset className="field">
          <legend>Rating</legend>
          <StarInput
            name="rating"
            value={values.rating}
            onChange={(value) => update("rating", value)}
            describedBy={problems.rating ? "rating-error" : undefined}
            invalid={Boolean(problems.rating)}
          />
          <FieldProblem field="rating" problem={problems.rating} />
        </fieldset>
        <div className="field">
          <label htmlFor="message">Message</label>
          <textarea
            id="message"
            name="message"
            rows={5}
            value={values.message}
            onChange={(e) => update("message", e.target.value)}
            onBlur={() => blur("message")}
            aria-invalid={problems.message ? true : undefined}
            aria-describedby={describe("message", "message-count")}
            required
          />
          <p id="message-count" className={count > MESSAGE_MAX ? "counter over" : "counter"}>
            {count} / {MESSAGE_MAX} characters
          </p>
          <FieldProblem field="message" problem={problems.message} />
        </div>
        <div className="actions">
          <button type="submit" className="button" disabled={submitting}>
            {submitting ? "Sending…" : "Send feedback"}
          </button>
        </div>
      </form>
    </section>
  );
}

function FieldProblem({ field, problem }: { field: Field; problem?: string }) {
  if (!problem) return null;
  return (
    <p id={`${field}-error`} className="field-error">
      <span aria-hidden="true">⚠ </span>
      {problem}
    </p>
  );
}
