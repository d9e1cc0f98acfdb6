// BUN_SANDBOX_TRACE=1: timestamps (ms since process start) of the phases of one run, printed to
// stderr at exec. For finding where start-up time goes; costs one env lookup when off.
import { libc } from "./libc.ts";

const enabled = process.env.BUN_SANDBOX_TRACE === "1";
const marks: string[] = [];

export function trace(label: string): void {
  if (enabled) marks.push(`${performance.now().toFixed(2)} ${label}`);
}

export function flushTrace(): void {
  if (!enabled || marks.length === 0) return;
  const b = Buffer.from(`sandbox trace (ms since start):\n  ${marks.join("\n  ")}\n`);
  libc.write(2, b, b.length);
  marks.length = 0;
}
