import { describe, expect, test } from "bun:test";
import { failureText } from "../../src/cli/failure.ts";
import { LibcUnavailable } from "../../src/sys/error.ts";

describe("failureText", () => {
  test("no C library: its own line, the dlopen message without Bun's repetition of the path", () => {
    const e = new LibcUnavailable("libc.so.6", new Error('Failed to open library "libc.so.6": libc.so.6: cannot open shared object file: No such file or directory'));
    const text = "sandbox: cannot open the C library libc.so.6 (libc.so.6: cannot open shared object file: No such file or directory); glibc is needed, and musl-based systems such as Alpine are not supported\n";
    expect([failureText(e, false), failureText(e, true)]).toEqual([text, text]);
  });

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
