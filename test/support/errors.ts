// Catching the error a call throws, for tests that assert on its fields.
import { expect } from "bun:test";
import { PlanError } from "../../src/plan/errors.ts";

/** The error `fn` throws (fails the test when it throws nothing). */
export function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected the call to throw");
}

/** The PlanError `fn` throws (fails the test when it throws nothing or something else). */
export function planError(fn: () => unknown): PlanError {
  const e = thrown(fn);
  expect(e).toBeInstanceOf(PlanError);
  return e as PlanError;
}
