// What the user reads when an error reaches the CLI's entry point (src/cli/entry.ts): one line.
import { LibcUnavailable } from "../sys/error.ts";

/**
 * The text for `e`: its cause where that is known (no C library), else "internal error" with the
 * first line of its message; the trace follows only with `debug` (--debug).
 */
export function failureText(e: unknown, debug: boolean): string {
  if (e instanceof LibcUnavailable) return `sandbox: ${e.message}\n`;
  const message = (e instanceof Error ? e.message : String(e)).split("\n")[0];
  if (!debug) return `sandbox: internal error: ${message}; rerun with --debug for the trace\n`;
  return `sandbox: internal error: ${message}\n${e instanceof Error && e.stack ? e.stack : String(e)}\n`;
}
