// Limits of a sandbox, applied right before the command's exec. rlimits are set on the process
// that execs. Memory, CPU time, wall time and processes are the sandbox's as a whole, so a
// process of ours watches them: it forks the command, becomes the subreaper of everything the
// command starts (orphans come back to it, so nothing leaves the tree it watches), samples that
// tree every TICK_MS through the host's /proc, and kills all of it when one is exceeded.
import type { Plan } from "../plan/types.ts";
import { limitOption, watched, type LimitName, type Limits } from "../plan/limits.ts";
import { setRlimit } from "../sys/rlimit.ts";
import { closeAllExcept, closeQuiet } from "../sys/fd.ts";
import { openAt, readdirFd, readToEnd, tryOpenAt } from "../sys/fs.ts";
import { O } from "../sys/flags.ts";
import { fork, getuid, kill, setChildSubreaper, setDumpable, setParentDeathSignal, wait4, WNOHANG } from "../sys/process.ts";
import { readSignal, SIG, signalfd } from "../sys/signals.ts";
import { poll, POLLIN } from "../sys/socket.ts";
import { Errno } from "../sys/errno.ts";
import { SysError } from "../sys/error.ts";
import { blockSupervisedSignals, exitLike, FORWARDED_SIGNALS, fromTerminalToo } from "./init.ts";
import { writeStatus } from "./status.ts";
import { rawStderr } from "./exec.ts";
import { SetupError } from "./errors.ts";

/** How often the tree is sampled: a limit is caught within this, plus one sample's work. */
export const TICK_MS = 10;
/** USER_HZ on x86_64 and aarch64: the unit of /proc/PID/stat's times. */
const CLOCK_TICKS = 100;
const PAGE = 4096;

/**
 * Whether RLIMIT_NPROC can hold --pidlimit: the kernel counts it per user and user namespace, so
 * in one of ours only the sandbox's processes count; but never for uid 0, which it exempts.
 */
export const kernelCountsPids = (ownUserns: boolean): boolean => ownUserns && getuid() !== 0;

/** The rlimits the command starts with; RLIMIT_NPROC backs --pidlimit where the kernel counts it (kernelCountsPids). */
export function applyRlimits(limits: Limits, nproc: boolean): void {
  try {
    for (const r of limits.rlimits) setRlimit(r.resource, { soft: big(r.soft), hard: big(r.hard) });
    // The kernel counts RLIMIT_NPROC per user and user namespace: in ours only the sandbox's
    // processes count, so a fork past the limit fails there (EAGAIN) instead of ending the
    // sandbox. +1: the watcher may be in that namespace too.
    if (limits.pids !== null && nproc) setRlimit("nproc", { soft: BigInt(limits.pids + 1), hard: BigInt(limits.pids + 1) });
    // A backstop per process for the summed CPU time (SIGXCPU at the soft limit).
    if (limits.cpuTime !== null) {
      const s = BigInt(Math.ceil(limits.cpuTime / 1000) + 1);
      setRlimit("cpu", { soft: s, hard: s + 1n });
    }
  } catch (e) {
    throw new SetupError("limits", e);
  }
}

const big = (v: number | null) => (v === null ? null : BigInt(v));

interface Sample {
  pids: number;
  rssBytes: number;
  /** CPU time of the live processes and of the children they reaped, in ms. */
  cpuMs: number;
}

/** The text of `path` under the host's /proc, or null when the process is gone. */
function procText(procFd: number, path: string): string | null {
  const fd = tryOpenAt(procFd, path, O.RDONLY);
  if (fd < 0) return null;
  try {
    return readToEnd(fd, path).toString("latin1");
  } catch {
    return null;
  } finally {
    closeQuiet(fd);
  }
}

/** Children of every thread of `pid`. */
function childrenOf(procFd: number, pid: string): string[] {
  let tasks: string[];
  try {
    const fd = openAt(procFd, `${pid}/task`, O.RDONLY | O.DIRECTORY);
    try {
      tasks = readdirFd(fd).map((e) => e.name);
    } finally {
      closeQuiet(fd);
    }
  } catch {
    return [];
  }
  return tasks.flatMap((t) => (procText(procFd, `${pid}/task/${t}/children`) ?? "").split(" ").filter(Boolean));
}

/** Every process below `root` ("self": this one). */
export function descendants(procFd: number, root: string): string[] {
  const out: string[] = [];
  const queue = childrenOf(procFd, root);
  while (queue.length) {
    const pid = queue.shift()!;
    out.push(pid);
    queue.push(...childrenOf(procFd, pid));
  }
  return out;
}

/** /proc/PID/stat after the command name: own CPU (utime + stime), reaped children's (cutime + cstime), rss. */
export function parseStat(text: string): { ownTicks: number; childTicks: number; rssPages: number } | null {
  const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
  if (f.length < 22) return null;
  const n = (i: number) => Number(f[i - 3]);
  return { ownTicks: n(14) + n(15), childTicks: n(16) + n(17), rssPages: n(24) };
}

/** The tree below us; `ours` (PID 1 under a relay) counts only for what it reaped. */
function sample(procFd: number, ours: number | null): Sample {
  const s: Sample = { pids: 0, rssBytes: 0, cpuMs: 0 };
  for (const pid of descendants(procFd, "self")) {
    const st = parseStat(procText(procFd, `${pid}/stat`) ?? "");
    if (!st) continue;
    const own = Number(pid) !== ours;
    if (own) {
      s.pids++;
      s.rssBytes += st.rssPages * PAGE;
    }
    s.cpuMs += (((own ? st.ownTicks : 0) + st.childTicks) * 1000) / CLOCK_TICKS;
  }
  return s;
}

/** Kills everything below us until nothing is left (a fork may race the first round). */
function killTree(procFd: number): void {
  for (let round = 0; round < 50; round++) {
    const pids = descendants(procFd, "self");
    if (pids.length === 0) return;
    for (const p of pids) {
      try {
        kill(Number(p), SIG.KILL);
      } catch {
        // gone already
      }
    }
  }
}

/**
 * The first limit the sandbox is over, given the time since the start and what we reaped. In a
 * user namespace of ours the kernel holds the process count (a fork past it fails); elsewhere
 * the watcher ends the sandbox when it has more.
 */
function overLimit(l: Limits, s: Sample, elapsedMs: number, reapedCpuMs: number): LimitName | null {
  if (l.wallTime !== null && elapsedMs >= l.wallTime) return "wall-time";
  if (l.cpuTime !== null && s.cpuMs + reapedCpuMs >= l.cpuTime) return "cpu-time";
  if (l.memory !== null && s.rssBytes > l.memory) return "memory";
  if (l.pids !== null && s.pids > l.pids) return "pids";
  return null;
}

export interface WatchOptions {
  /** The host's /proc (fd): the sandbox may have none of its own. */
  procFd: number;
  statusFd: number | undefined;
  /** A process of ours below the watcher (PID 1, under the relay): its own CPU, memory and pid are not the sandbox's. */
  ours?: number;
  /** RLIMIT_NPROC holds the process count (see applyRlimits): the watcher leaves it alone. */
  kernelCountsPids: boolean;
}

/**
 * With limits to watch: forks. The child returns to exec the command; this process watches until
 * it has ended, then ends like it (a limit's kill: SIGKILL), after one report of the limit hit.
 * The command can signal this process (same uid) and so end the watching; with a PID namespace
 * the relay outside watches instead (watchFrom), where the command cannot name it.
 */
export function watchLimits(plan: Plan, opts: WatchOptions): void {
  if (!watched(plan.limits)) return;
  if (opts.procFd < 0) throw new SetupError("limits", "watching memory, CPU time, wall time or processes needs the host's /proc, which this host has not mounted");
  blockSupervisedSignals();
  const child = fork();
  if (child === 0) {
    setParentDeathSignal(SIG.KILL);
    return;
  }
  setDumpable(false);
  setChildSubreaper();
  exitLike(watchFrom(plan.limits, child, [], opts));
}

/** Watches the tree below us until `child` has ended; returns its wait status. Closes all fds but `keep` and the options'. */
export function watchFrom(limits: Limits, child: number, keepToo: number[], opts: WatchOptions): number {
  const keep = [opts.procFd, 2, ...keepToo, ...(opts.statusFd === undefined ? [] : [opts.statusFd])];
  const sfd = signalfd([...FORWARDED_SIGNALS, SIG.CHLD]);
  closeAllExcept([sfd, ...keep], 3);
  for (const fd of [0, 1]) closeQuiet(fd);
  const start = performance.now();
  // Derived once: with RLIMIT_NPROC holding the count the watcher leaves pids alone, and with only
  // a wall time there is no tree to sample.
  const checked = opts.kernelCountsPids ? { ...limits, pids: null } : limits;
  const needsTree = checked.memory !== null || checked.cpuTime !== null || checked.pids !== null;
  const noTree: Sample = { pids: 0, rssBytes: 0, cpuMs: 0 };
  let reapedCpuMs = 0;
  let status: number | null = null;
  let hit: LimitName | null = null;
  for (;;) {
    for (let w = reap(); w; w = reap()) {
      if (w.usage) reapedCpuMs += (w.usage.utime + w.usage.stime) / 1000;
      if (w.pid === child) status = w.status;
    }
    // Sampled before a return too: the command's own process may end first while what it
    // started (over a limit) still runs.
    if (hit === null) {
      hit = overLimit(checked, needsTree ? sample(opts.procFd, opts.ours ?? null) : noTree, performance.now() - start, reapedCpuMs);
      if (hit !== null) {
        report(limits, hit, opts.statusFd);
        killTree(opts.procFd);
      }
    }
    if (status !== null) {
      killTree(opts.procFd);
      while (reap());
      // A limit hit ends the sandbox by SIGKILL, even where the command's own process ended
      // first (its kill raced its exit): what the report says is what the status says.
      return hit === null ? status : SIG.KILL;
    }
    if (poll([{ fd: sfd, events: POLLIN, revents: 0 }], TICK_MS) > 0) forward(sfd, child);
  }
}

function reap(): ReturnType<typeof wait4> | null {
  try {
    const w = wait4(-1, WNOHANG);
    return w.pid > 0 ? w : null;
  } catch (e) {
    if (e instanceof SysError && e.errno === Errno.ECHILD) return null;
    throw e;
  }
}

function forward(sfd: number, child: number): void {
  const sig = readSignal(sfd);
  if (sig.signo === SIG.CHLD || fromTerminalToo(sig, child)) return;
  try {
    kill(child, sig.signo);
  } catch {
    // gone: the next round reaps it
  }
}

/** The limit that ended the sandbox: a status event for the library, one line for the CLI. */
function report(limits: Limits, limit: LimitName, statusFd: number | undefined): void {
  if (statusFd !== undefined) writeStatus(statusFd, { event: "limit", limit });
  else rawStderr(`sandbox: the command exceeded ${limitOption(limits, limit)}`);
}
