import { describe, expect, test } from "bun:test";
import { failureText } from "../../src/cli/failure.ts";

describe("failureText", () => {
  test("anything else: one line, the first of its message, and where the trace is", () => {
    expect(failureText(new TypeError("x is not a function\nmore"), false)).toBe("sandbox: internal error: x is not a function; rerun with --debug for the trace\n");
    expect(failureText("thrown string", false)).toBe("sandbox: internal error: thrown string; rerun with --debug for the trace\n");
  });

  test("with --debug the trace follows the line", () => {
    const e = new RangeError("bad");
    const [first, ...rest] = failureText(e, true).trimEnd().split("\n");
    expect(first).toBe("sandbox: internal error: bad");
    expect(rest[0]).toBe("RangeError: bad");
    expect(rest.slice(1).every((l) => l.startsWith("    at "))).toBe(true);
  });
});
