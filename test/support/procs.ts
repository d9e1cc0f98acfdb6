// Finding processes by their command line, for "nothing left running" checks.
import { readdirSync, readFileSync } from "node:fs";

/** Host pids whose command line has `marker` as one of its arguments. */
export function pidsWith(marker: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, "latin1").split("\0").includes(marker)) out.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
