/**
 * The submission rules, mirrored from lambdas/common/validation.py so the form says what the API
 * would say before the request is sent. Lengths count code points (Python's len), "visible" and
 * trimming use Python's whitespace set, and problems are worded exactly as the API words them.
 * validation.test.ts runs the Python rules' own answers (validation.cases.json) through this file.
 */

export const FIELDS = ["name", "email", "rating", "message"] as const;
export type Field = (typeof FIELDS)[number];

export const NAME_MAX = 100;
export const EMAIL_MAX = 254;
export const MESSAGE_MAX = 2000;
export const RATING_MIN = 1;
export const RATING_MAX = 5;
export const MAX_BODY_BYTES = 10 * 1024;

// The same pattern strings the API renders into its JSON Schema model.
export const NAME_FORBIDDEN = "[\\u0000-\\u001f\\u007f-\\u009f]";
export const MESSAGE_FORBIDDEN = "[\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]";
export const EMAIL_PATTERN =
  "^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@" +
  "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?" +
  "(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$";

// Python's `\s` on str patterns; JavaScript's `\s` differs (it adds U+FEFF, drops U+001C-U+001F
// and U+0085), so a name of only U+FEFF is visible to the API and must be visible here too.
export const PYTHON_WHITESPACE =
  "\\t\\n\\v\\f\\r\\u001c-\\u001f \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";

// Unicode hygiene (lambdas/common/validation.py): unpaired surrogates, bidi embeddings/overrides/
// isolates and noncharacters are rejected; invisible characters do not count as visible.
export const INVISIBLE =
  "\\u00ad\\u034f\\u061c\\u115f\\u1160\\u17b4\\u17b5\\u180b-\\u180f\\u200b-\\u200f" +
  "\\u2060-\\u2064\\u206a-\\u206f\\u2800\\u3164\\ufe00-\\ufe0f\\ufeff\\uffa0";
// Without the u flag: JavaScript strings are UTF-16, and only a surrogate without its partner matches.
const SURROGATE_RE = /[\ud800-\udbff](?![\udc00-\udfff])|(?:^|[^\ud800-\udbff])[\udc00-\udfff]/;
const BIDI_CONTROL_RE = /[\u202a-\u202e\u2066-\u2069]/;
const NONCHARACTER_RE = new RegExp(
  "[\\ufdd0-\\ufdef" +
    Array.from({ length: 17 }, (_, plane) => {
      const base = (plane << 16) | 0xfffe;
      return `\\u{${base.toString(16)}}\\u{${(base + 1).toString(16)}}`;
    }).join("") +
    "]",
  "u",
);
const NAME_FORBIDDEN_RE = new RegExp(NAME_FORBIDDEN);
const MESSAGE_FORBIDDEN_RE = new RegExp(MESSAGE_FORBIDDEN);
const EMAIL_RE = new RegExp(EMAIL_PATTERN);
const EMAIL_FORBIDDEN_RE = new RegExp(`[${PYTHON_WHITESPACE}\\u0000-\\u001f\\u007f-\\u009f]`);
const VISIBLE_RE = new RegExp(`[^${PYTHON_WHITESPACE}${INVISIBLE}\\u{e0000}-\\u{e007f}]`, "u");
const EDGE_SPACE_RE = new RegExp(`^[${PYTHON_WHITESPACE}]+|[${PYTHON_WHITESPACE}]+$`, "g");

export interface FieldError {
  field: string;
  problem: string;
}

export interface Feedback {
  name: string;
  email: string;
  rating: number;
  message: string;
}

export type Validation = { ok: true; value: Feedback } | { ok: false; errors: FieldError[] };

/** Python's len(): code points, so an emoji is one character (JavaScript's length says two). */
export function codePoints(value: string): number {
  return Array.from(value).length;
}

/** Python's str.strip(). */
export function pyStrip(value: string): string {
  return value.replace(EDGE_SPACE_RE, "");
}

function checkText(field: Field, value: unknown, max: number, forbidden: RegExp): FieldError[] {
  if (typeof value !== "string") return [{ field, problem: "must be a string" }];
  if (codePoints(value) > max) return [{ field, problem: `must be at most ${max} characters` }];
  if (SURROGATE_RE.test(value)) return [{ field, problem: "must not contain unpaired surrogates" }];
  if (forbidden.test(value)) return [{ field, problem: "must not contain control characters" }];
  if (BIDI_CONTROL_RE.test(value)) {
    return [{ field, problem: "must not contain bidirectional control characters" }];
  }
  if (NONCHARACTER_RE.test(value)) return [{ field, problem: "must not contain Unicode noncharacters" }];
  if (!VISIBLE_RE.test(value)) return [{ field, problem: "must not be empty" }];
  return [];
}

function checkEmail(value: unknown): FieldError[] {
  if (typeof value !== "string") return [{ field: "email", problem: "must be a string" }];
  if (codePoints(value) > EMAIL_MAX) {
    return [{ field: "email", problem: `must be at most ${EMAIL_MAX} characters` }];
  }
  if (EMAIL_FORBIDDEN_RE.test(value) || !EMAIL_RE.test(value)) {
    return [{ field: "email", problem: "must be a valid email address" }];
  }
  return [];
}

function checkRating(value: unknown): FieldError[] {
  // JSON has one number type: 5.0 arrives as 5 and is an integer here, as the form never sends it.
  if (typeof value !== "number" || !Number.isInteger(value)) {
    return [{ field: "rating", problem: "must be an integer" }];
  }
  if (value < RATING_MIN || value > RATING_MAX) {
    return [{ field: "rating", problem: `must be between ${RATING_MIN} and ${RATING_MAX}` }];
  }
  return [];
}

/** The problems with one field's value (none when it is fine), in the API's words. */
export function checkField(field: Field, value: unknown): FieldError[] {
  switch (field) {
    case "name":
      return checkText("name", value, NAME_MAX, NAME_FORBIDDEN_RE);
    case "email":
      return checkEmail(value);
    case "rating":
      return checkRating(value);
    case "message":
      return checkText("message", value, MESSAGE_MAX, MESSAGE_FORBIDDEN_RE);
  }
}

function isObject(body: unknown): body is Record<string, unknown> {
  return typeof body === "object" && body !== null && !Array.isArray(body);
}

/** validate_feedback(): every problem in the API's order, or the submission trimmed as stored. */
export function validateFeedback(body: unknown): Validation {
  if (!isObject(body)) return { ok: false, errors: [{ field: "body", problem: "must be a JSON object" }] };
  const known = new Set<string>(FIELDS);
  const errors: FieldError[] = Object.keys(body)
    .filter((key) => !known.has(key))
    .sort()
    .map((field) => ({ field, problem: "unknown field" }));
  for (const field of FIELDS) {
    if (!(field in body)) errors.push({ field, problem: "is required" });
  }
  for (const field of FIELDS) {
    if (field in body) errors.push(...checkField(field, body[field]));
  }
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: {
      name: pyStrip(body.name as string),
      email: body.email as string,
      rating: body.rating as number,
      message: pyStrip(body.message as string),
    },
  };
}
