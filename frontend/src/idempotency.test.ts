/**
 * Idempotency keys: valid for the API, reused for a retry of the same body, fresh otherwise.
 *
 * @vitest-environment node
 */

import { describe, expect, it } from "vitest";
import { IDEMPOTENCY_KEY_RE, IdempotencyKeys, newKey } from "./idempotency";

describe("IdempotencyKeys", () => {
  it("reuses the key while the same body is retried", () => {
    const keys = new IdempotencyKeys();
    const first = keys.keyFor('{"a":1}');
    expect(keys.keyFor('{"a":1}')).toBe(first);
    expect(first).toMatch(IDEMPOTENCY_KEY_RE);
  });

  it("makes a new key for another body and after a reset", () => {
    const keys = new IdempotencyKeys();
    const first = keys.keyFor('{"a":1}');
    const second = keys.keyFor('{"a":2}');
    expect(second).not.toBe(first);
    keys.reset();
    expect(keys.keyFor('{"a":2}')).not.toBe(second);
  });
});

describe("newKey", () => {
  it("builds a version-4 UUID without crypto.randomUUID (insecure contexts)", () => {
    const key = newKey({ getRandomValues: (array) => crypto.getRandomValues(array) });
    expect(key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(key).toMatch(IDEMPOTENCY_KEY_RE);
  });
});
