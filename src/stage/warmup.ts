// JIT warm-up for the stage server. A forked child inherits the parent's compiled code (the JIT
// region is marked MADV_DOFORK), so code the server has run often runs compiled in every
// sandbox instead of starting cold in the interpreter: measured 5.3 ms -> 2.4 ms for a child
// running stage-like code. Only side-effect-free paths run here: pure plan code and read-only
// syscalls on the host.
import type { Plan } from "../plan/types.ts";
import { emptyPlan } from "../plan/types.ts";
import { validatePlan } from "../plan/validate.ts";
import { optimizeOperations } from "../plan/optimize.ts";
import { describeOperation } from "../plan/ops/index.ts";
import { overlayOptions } from "../plan/ops/overlay.ts";
import { absolutize, joinPath, parentOf, splitPath } from "../plan/paths.ts";
import { exists, lstat, readlinkOrNull, readText, stat } from "../sys/fs.ts";
import { PackedArgs, threadCount } from "../sys/process.ts";
import { hasEffectiveCap, CAP } from "../sys/caps.ts";
import { sigset } from "../sys/signals.ts";
import { formatNamespaces } from "../sys/flags.ts";
import { closeQuiet, F, fcntl, open } from "../sys/fd.ts";
import { O } from "../sys/flags.ts";
import { resolveInRoot, walkInRoot } from "./resolve.ts";
import { parseMountinfo, mountFlagsOf } from "./mounts.ts";
import { earlyPhase } from "./run.ts";
import { writeStatus } from "./status.ts";
import { namespaceIdsAt } from "./seal.ts";
import { openInRoot } from "./context.ts";
import { tmpfsData } from "./ops/tmpfs.ts";
import { commandChain, uniformCaps } from "./commandchain.ts";
import { KEPT_CAPS } from "./run.ts";
import { warmUpChain } from "../sys/syscallchain.ts";

/**
 * Host directories the sample plan binds and overlays, taken only where they exist (a host may
 * lack /opt, or anything but /): the early phase checks them as a real setup would, and a missing
 * one would fail the round.
 */
const SAMPLE_DIRS = ["/usr", "/opt", "/etc"];
let sampleDirs: string[] | null = null;

function existingDirs(): string[] {
  return (sampleDirs ??= SAMPLE_DIRS.filter((d) => stat(d)?.isDirectory() === true));
}

function samplePlan(): Plan {
  const dirs = existingDirs();
  const binds = dirs.map((d) => ({ kind: "bind" as const, src: d, dst: d, readonly: true, optional: false, relative: false, nofollow: false }));
  // Two layers where the host has them (the usual shape), else what there is, under a tmpfs upper.
  const lower = dirs.length >= 2 ? dirs.slice(0, 2) : [dirs[0] ?? "/"];
  return {
    ...emptyPlan(),
    argv: ["true"],
    env: { PATH: "/usr/bin:/bin", HOME: "/root", LANG: "C.UTF-8" },
    ops: [
      { kind: "bind", src: "/", dst: "/", readonly: true, optional: false, relative: false, nofollow: false },
      ...binds,
      { kind: "bind", src: "/no/such/path", dst: "/x", readonly: false, optional: true, relative: false, nofollow: false },
      { kind: "tmpfs", dst: "/tmp" },
      { kind: "dev", dst: "/dev", console: null },
      { kind: "proc", dst: "/proc" },
      { kind: "dir", dst: "/var/tmp" },
      { kind: "symlink", target: "usr/bin", dst: "/bin" },
      { kind: "write", data: "x", dst: "/etc/x" },
      { kind: "overlay", lower, upper: "tmpfs", work: null, dst: "/usr" },
      { kind: "file", base64: "eAo=", dst: "/etc/y", readonly: true },
      { kind: "remount", dst: "/usr", options: "ro,nosuid,nodev" },
      { kind: "chmod", dst: "/tmp", mode: 0o1777 },
    ],
  };
}

/**
 * One round of the warm-up; the server runs rounds while it is idle, and each child it forks
 * ahead of time runs one. It never throws: warming up is worth no crash, whatever the host lacks.
 */
export function warmUpRound(): void {
  try {
    sampleRound();
  } catch {
    // a path or file the host does not have: this round is cut short, the next ones alike
  }
}

/** The round itself, which throws what it meets (exported for tests). */
export function sampleRound(): void {
  const text = JSON.stringify({ plan: samplePlan(), targets: [0, 1, 2] });
  const plan = (JSON.parse(text) as { plan: Plan }).plan;
  validatePlan(plan);
  const ops = earlyPhase(optimizeOperations(plan.ops));
  for (const op of ops) describeOperation(op);
  for (const p of ["/usr/bin/env", "/proc/self", "/etc/../usr/lib", "/nonexistent/a/b"]) {
    resolveInRoot("/", p, "/proc/self/fd");
    walkInRoot("/", p);
    joinPath("/newroot", p);
    parentOf(p);
    splitPath(p);
    absolutize(p, "/usr");
    stat(p);
    lstat(p);
    exists(p);
    // The fd walk every destination goes through (read-only here: nothing is created).
    const fd = openInRoot("/", p);
    if (fd !== null) closeQuiet(fd);
  }
  overlayOptions(["/a,b", "/c:d"], "/u", "/w");
  tmpfsData(0o1777, 1 << 20);
  formatNamespaces(0x10020000);
  sigset([15, 17]);
  hasEffectiveCap(CAP.SYS_ADMIN);
  threadCount();
  const proc = open("/proc", O.PATH | O.DIRECTORY);
  namespaceIdsAt(proc);
  closeQuiet(proc);
  readlinkOrNull("/proc/self/exe");
  mountFlagsOf("rw,nosuid,nodev,relatime");
  new PackedArgs(plan.argv, Object.entries(plan.env).map(([k, v]) => `${k}=${v}`));
  // The namespace workers' command start, up to (not including) the clone.
  const setup = commandChain({ dups: [[1000, 0], [1001, 1], [1002, 2]], caps: uniformCaps(KEPT_CAPS), nnp: false, landlock: -1, seccomp: null, loopback: true, hostname: "warm", setsid: false }, 1000);
  warmUpChain({ flags: 0, setup, exec: { path: "/bin/true", args: new PackedArgs(plan.argv, ["PATH=/usr/bin:/bin"]) } });
  const devnull = open("/dev/null", O.WRONLY);
  const dup = fcntl(devnull, F.DUPFD_CLOEXEC, 1000);
  writeStatus(dup, { event: "ready", namespaces: {}, confinement: "namespaces" });
  closeQuiet(dup);
  closeQuiet(devnull);
}

let mountinfoDone = false;

/** Warm-up rounds left to run; the server asks between requests. */
export function warmUp(rounds: number): void {
  if (!mountinfoDone) {
    mountinfoDone = true;
    try {
      parseMountinfo(readText("/proc/self/mountinfo"));
    } catch {
      // no /proc: nothing to warm there
    }
  }
  for (let i = 0; i < rounds; i++) warmUpRound();
}
