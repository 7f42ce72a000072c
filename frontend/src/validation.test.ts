/**
 * The TypeScript rules against the Python rules' own answers: validation.cases.json is written by
 * frontend/scripts/export_validation_cases.py, which runs every case through validate_feedback.
 *
 * @vitest-environment node
 */

import { describe, expect, it } from "vitest";
import cases from "./validation.cases.json";
import * as rules from "./validation";

describe("validation mirrors lambdas/common/validation.py", () => {
  it("uses the same limits and patterns", () => {
    const { constants } = cases;
    expect(rules.NAME_MAX).toBe(constants.NAME_MAX);
    expect(rules.EMAIL_MAX).toBe(constants.EMAIL_MAX);
    expect(rules.MESSAGE_MAX).toBe(constants.MESSAGE_MAX);
    expect(rules.RATING_MIN).toBe(constants.RATING_MIN);
    expect(rules.RATING_MAX).toBe(constants.RATING_MAX);
    expect(rules.MAX_BODY_BYTES).toBe(constants.MAX_BODY_BYTES);
    expect([...rules.FIELDS]).toEqual(constants.FIELDS);
    expect(rules.NAME_FORBIDDEN).toBe(constants.NAME_FORBIDDEN);
    expect(rules.MESSAGE_FORBIDDEN).toBe(constants.MESSAGE_FORBIDDEN);
    expect(rules.EMAIL_PATTERN).toBe(constants.EMAIL_PATTERN);
  });

  it("treats exactly Python's whitespace as invisible, over every code point", () => {
    const python = new Set(cases.pythonWhitespace);
    const differing: number[] = [];
    for (let cp = 0; cp <= 0x10ffff; cp += 1) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue; // lone surrogates are not characters
      const ch = String.fromCodePoint(cp);
      const invisible = rules.pyStrip(ch) === "";
      if (invisible !== python.has(cp)) differing.push(cp);
    }
    expect(differing).toEqual([]);
  });

  const runnable = cases.cases.filter((c) => c.jsonSafe);

  it("covers the Python unit tests' table", () => {
    expect(runnable.filter((c) => c.source.startsWith("tests/unit/")).length).toBeGreaterThanOrEqual(10);
    // 5.0 cannot cross JSON into JavaScript as a float; the form only ever sends integers.
    expect(cases.cases.filter((c) => !c.jsonSafe).map((c) => c.id)).toEqual(["rating=5.0", "rating=5.0"]);
  });

  it.each(runnable.map((c) => [c.id, c] as const))("%s", (_id, c) => {
    const result = rules.validateFeedback(c.body);
    if (c.errors.length === 0) {
      expect(result).toEqual({ ok: true, value: { ...(c.body as object), ...c.trimmed } });
    } else {
      expect(result).toEqual({ ok: false, errors: c.errors });
    }
  });
});

describe("codePoints", () => {
  it("counts what Python's len counts", () => {
    expect(rules.codePoints("😀")).toBe(1);
    expect(rules.codePoints("Zoë")).toBe(3);
    expect(rules.codePoints("")).toBe(0);
  });
});
