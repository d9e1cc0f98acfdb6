// Processes and waiting, for the tests and their fixtures: finding processes by their command
// line ("nothing left running" checks), reading /proc/PID/stat, killing, polling with a deadline.
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

/** A number no other process has on its command line: `sleep 1000 MARKER` sleeps 1000.x s. */
export const newMarker = (): string => `0.${process.pid}${Math.floor(Math.random() * 1e9)}`;

/** The fields of /proc/PID/stat after the command name (which may contain spaces), or null when gone. */
function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    return stat.slice(stat.lastIndexOf(") ") + 2).split(" ");
  } catch {
    return null;
  }
}

/** Whether `pid` runs; a zombie is as good as gone (its parent may not have reaped it yet). */
export function alive(pid: number): boolean {
  const f = statFields(pid);
  return f !== null && f[0] !== "Z";
}

/** Parent pid of `pid`, or -1 when it is gone. */
export function ppidOf(pid: number): number {
  const f = statFields(pid);
  return f === null ? -1 : Number(f[1]);
}

/** The children of `pid` (by their parent pid). */
export function childrenOf(pid: number): number[] {
  return readdirSync("/proc").filter((d) => /^\d+$/.test(d) && ppidOf(Number(d)) === pid).map(Number);
}

/** SIGKILL to each of `pids`, those already gone skipped. */
export function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** `p`, or a rejection "timed out after MS ms: WHAT". */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Polls `cond` every 20 ms until it holds (true) or `ms` passed (false). */
export async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (cond()) return true;
    if (Date.now() > end) return false;
    await Bun.sleep(20);
  }
}
