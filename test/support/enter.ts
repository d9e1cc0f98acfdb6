// Targets for the --enter / enter() tests: long-running sandboxes started as root or as the
// test user, by the CLI or by the library, with their host pid; and the namespace links of a
// process as the host sees them.
import { spawn, type Subprocess } from "bun";
import { readFileSync, readlinkSync } from "node:fs";
import { asWho, BIN, BUN, envFor, ROOT, type Who } from "./run.ts";

export const NS_NAMES = ["user", "mnt", "pid", "net", "ipc", "uts", "cgroup", "time"] as const;

/** Shell snippet printing "name link" for each namespace of the shell itself. */
export const NS_SCRIPT = `for n in ${NS_NAMES.join(" ")}; do echo "$n $(readlink /proc/self/ns/$n)"; done`;

/** Parses NS_SCRIPT's output lines (other lines are ignored). */
export function parseNs(out: string): Record<string, string> {
  const res: Record<string, string> = {};
  for (const line of out.split("\n")) {
    const m = /^(\w+) (\w+:\[\d+\])$/.exec(line);
    if (m && (NS_NAMES as readonly string[]).includes(m[1]!)) res[m[1]!] = m[2]!;
  }
  return res;
}

/** The namespace links of `pid` ("self" for this process), read from the host's /proc. */
export function nsLinks(pid: number | "self"): Record<string, string> {
  return Object.fromEntries(NS_NAMES.map((n) => [n, readlinkSync(`/proc/${pid}/ns/${n}`)]));
}

export function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

/** A pid that cannot exist: pids stay below kernel.pid_max. */
export function missingPid(): number {
  return Number(readFileSync("/proc/sys/kernel/pid_max", "utf8").trim());
}

export interface Target {
  /** Host pid of the sandboxed command (a sleep). */
  pid: number;
  /** The process that was spawned (CLI: the same as pid; library: the fixture). */
  proc: Subprocess;
  stop(): Promise<void>;
}

async function waitFor(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

function stopper(proc: Subprocess, pid: () => number): () => Promise<void> {
  return async () => {
    for (const p of [pid(), proc.pid]) {
      try {
        process.kill(p, "SIGKILL");
      } catch {
        // gone
      }
    }
    await proc.exited;
  };
}

/** `sandbox ARGS... -- CMD...` as `who`; ready once the command (comm `name`) has replaced the CLI. */
export async function cliTarget(who: Who, args: string[], cmd: string[] = ["sleep", "60"], name = "sleep"): Promise<Target> {
  const proc = spawn([...asWho(who), BIN, ...args, "--", ...cmd], { env: envFor(who), stdin: "ignore", stdout: "ignore", stderr: "inherit" });
  const stop = stopper(proc, () => proc.pid);
  try {
    await waitFor(() => comm(proc.pid) === name || proc.exitCode !== null, `the CLI sandbox's ${name}`);
    if (proc.exitCode !== null) throw new Error(`the CLI sandbox ended (${proc.exitCode}) before running ${name}`);
  } catch (e) {
    await stop();
    throw e;
  }
  return { pid: proc.pid, proc, stop };
}

/** test/fixtures/enter-target.ts as `who`: a library sandbox with a PID namespace, hostname "inner". */
export async function libTarget(who: Who): Promise<Target & { supervisor: number }> {
  const proc = spawn([...asWho(who), BUN, `${ROOT}/test/fixtures/enter-target.ts`], { env: envFor(who), stdin: "ignore", stdout: "pipe", stderr: "inherit" });
  let info: { supervisor: number; pid: number } | null = null;
  const stop = stopper(proc, () => info?.pid ?? proc.pid);
  try {
    const reader = proc.stdout.getReader();
    let text = "";
    const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    clearTimeout(timer);
    reader.releaseLock();
    if (!text.includes("\n")) throw new Error("the library target did not report its pid");
    info = JSON.parse(text.slice(0, text.indexOf("\n"))) as { supervisor: number; pid: number };
  } catch (e) {
    await stop();
    throw e;
  }
  return { pid: info.pid, supervisor: info.supervisor, proc, stop };
}
