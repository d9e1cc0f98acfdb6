// A namespace worker: a child of the stage server that builds many sandboxes without forking.
//
// Forking the ~50 MiB Bun process per sandbox and exec'ing from the copy costs milliseconds of
// page-table copying and tear-down. The worker instead makes its user namespace once (mapping
// the caller to itself; as real root none), and for each request unshares a fresh mount
// namespace, builds the new root in it (the same code as the stage), and starts the command
// with a syscall chain (src/sys/syscallchain.ts): a CLONE_VM child made by clone(2) with a user
// namespace of its own and a copy of the mount namespace, so every sandbox is sealed (its
// mounts are locked, see seal.ts) and no two sandboxes share a user namespace: one cannot
// setns into or ptrace another, and none can reach the worker. The worker writes the child's
// id maps (mkosi-sandbox's mapping, as the forked stage gives it), the child sets its
// capabilities, seccomp filter and fds, and execs; the worker then setns()es back to its base
// mount namespace for the next request.
//
// A PID namespace, --map-subids, a new keyring, fd packing, --suspend, directory modes, a private
// mqueue, --debug and unsealed plans still go through a forked stage (see workerKey). Any
// failure before the command runs hands the request back to the server unchanged, which then
// runs it the forked way: that path produces the error with its usual message, so the two paths
// never disagree on errors.
//
// Protocol on the worker's socket: the server sends requests exactly as it received them,
// HOST_GONE when the host went away (dieWithParent sandboxes are then killed), RETIRE when it
// wants no more from this worker, which exits once its sandboxes have ended (HOST_GONE still
// reaches a retired worker); a hang-up means the server died, and the worker then kills its
// dieWithParent sandboxes as HOST_GONE would (a forked sandbox that asked for it dies with the
// server too) and reports the others' exits. The worker sends READY once set up, and sends back
// requests it could not run.
import type { Plan } from "../plan/types.ts";
import { anyLimit } from "../plan/limits.ts";
import { optimizeOperations } from "../plan/optimize.ts";
import { CLONE, MS, O } from "../sys/flags.ts";
import { closeAllExcept, closeQuiet, F, fcntl, open, read } from "../sys/fd.ts";
import { lastCap, snapshotCapabilities, type CapSnapshot } from "../sys/caps.ts";
import { mount } from "../sys/mount.ts";
import {
  chdir, exit, getgid, getppid, getuid, kill, PackedArgs, pathCandidates, setDumpable, setns, umask, unshare, wait4, WNOHANG,
} from "../sys/process.ts";
import { poll, POLLERR, POLLHUP, POLLIN, recvWithFds, sendWithFds, type PollFd } from "../sys/socket.ts";
import { ChainError, chainSupported, startChain, type ChainHandle } from "../sys/syscallchain.ts";
import { openAt, stat } from "../sys/fs.ts";
import { Errno, errnoMessage } from "../sys/errno.ts";
import { SIG } from "../sys/signals.ts";
import { compileFilter } from "../sys/seccomp.ts";
import { CAP } from "../sys/caps.ts";
import { commandCaps, commandRules, hardenDomain } from "./confine.ts";
import { withRoot } from "./context.ts";
import { commandMaps, mapSelf, needsUserNamespace, ownIds } from "./identity.ts";
import { walkPath } from "./resolve.ts";
import { buildRoot, chownSuppressed, earlyPhase, namespaceFlags } from "./run.ts";
import { decodeRequest, REQUEST_BUFFER, type StageRequest } from "./request.ts";
import { writeStatus, writeStubs } from "./status.ts";
import { removeStubs, resetStubs, takeStubs } from "./stubs.ts";
import { namespaceIdsAt, writeMaps, SEAL_NAMESPACES } from "./seal.ts";
import { commandChain, uniformCaps, type CapTarget } from "./commandchain.ts";

/**
 * Which worker a plan runs in: as real root the worker stays in the host's user namespace
 * ("host"); otherwise it has one of its own mapping the caller to itself ("userns"), from which
 * both the caller's own mapping and --become-root are given to commands.
 */
export interface WorkerKey {
  kind: "host" | "userns";
}

export const HOST_GONE = "H";
export const READY = "R";
/** No more requests will come: finish the sandboxes (still killing dieWithParent ones on HOST_GONE) and exit. */
export const RETIRE = "T";
const GC_EVERY = 256;
/** fds the command gets are below this; the worker parks received fds at or above it. */
const HIGH_FD = 1000;

/** The worker a plan can run in; null: it needs a forked stage. */
export function workerKey(plan: Plan): WorkerKey | null {
  const forked =
    plan.unsharePid || plan.mapSubids || plan.newSessionKeyring || plan.packFds || plan.suspend || plan.debug ||
    plan.seal === false || plan.confinement === "landlock" || anyLimit(plan.limits) || plan.allowHosts.length > 0 || plan.fds.some((fd) => fd >= HIGH_FD) ||
    plan.ops.some((op) => op.kind === "dirmodes" || op.kind === "mqueue" || (op.kind === "dev" && op.mqueue === true));
  if (forked || !chainSupported()) return null;
  return { kind: needsUserNamespace(plan.becomeRoot) ? "userns" : "host" };
}

/** Host paths a plan's setup looks up (sources of binds, overlay layers, links to read). */
export function hostPaths(plan: Plan): string[] {
  const out: string[] = [];
  for (const op of plan.ops) {
    if (op.kind === "bind" && !op.relative) out.push(op.src);
    else if (op.kind === "overlay") out.push(...op.lower, ...[op.upper, op.work].filter((p): p is string => p !== null && p !== "tmpfs"));
    else if (op.kind === "symlink" && op.dereference) out.push(op.target);
  }
  return out;
}

/** Whether `path` lies at or below one of `mountPoints`. */
export function underAny(path: string, mountPoints: readonly string[]): boolean {
  return mountPoints.some((m) => path === m || path.startsWith(m.endsWith("/") ? m : `${m}/`));
}

/**
 * Whether looking up `path` on the host passes through one of `mountPoints`, symlinks followed
 * with `readLink` (null: not a link, or missing). Each prefix is checked before it is read, so
 * nothing inside those mount points is ever looked up.
 */
export function reachesAny(path: string, mountPoints: readonly string[], readLink: (p: string) => string | null): boolean {
  if (mountPoints.length === 0) return false;
  if (mountPoints.includes("/")) return true;
  try {
    return walkPath("/", path, readLink, (p) => !underAny(p, mountPoints)) === null;
  } catch {
    return false; // ELOOP: the setup reports it
  }
}

export const keyName = (k: WorkerKey): string => k.kind;

interface Sandbox {
  pid: number;
  pidfd: number;
  statusFd: number;
  dieWithParent: boolean;
  /** The wait status to report instead of the child's own (its exec failed: 127 or 126, as execvpe's caller gives). */
  status?: number;
}

/** What the worker keeps from its start: its base mount namespace, and as real root its capabilities. */
interface Base {
  mnt: number;
  /** The command's capability sets as real root (the worker's own); null in a user namespace. */
  hostCaps: CapSnapshot | null;
  /** As real root, the ids the command keeps (each to itself). */
  hostIds?: { uid: string; gid: string };
}

/** The worker's life, in the forked child; `sock` is its end of the socket to the server. */
export function runWorker(sock: number, key: WorkerKey, serverPid: number): never {
  // No parent-death signal: a worker killed with the server would leave its dieWithParent
  // sandboxes running. It watches its socket instead (see below).
  if (getppid() !== serverPid) exit(0);
  closeAllExcept([sock], 3);
  let base: Base;
  try {
    base = enterBase(key);
  } catch {
    // The server then runs these plans the forked way, which reports why it fails.
    exit(1);
  }
  // Not dumpable: a sandboxed command runs as the same user but must not ptrace its way into
  // the worker's view of the host (after the id maps are written: /proc/self then belongs to root).
  setDumpable(false);
  const callerUmask = umask(0);
  try {
    sendWithFds(sock, Buffer.from(READY), []);
  } catch {
    exit(0); // the server is gone already
  }

  const running = new Map<number, Sandbox>();
  // retired: no new request is taken (RETIRE, or the server's end closed); the worker exits once
  // its sandboxes have ended, and still hears HOST_GONE until then. readable: the socket is not
  // at end of file (at EOF it would poll readable forever).
  let retired = false;
  let readable = true;
  let serverGone = false;
  let served = 0;
  const killDieWithParent = () => {
    for (const s of running.values()) if (s.dieWithParent) kill(s.pid, SIG.KILL);
  };
  for (;;) {
    if (retired && running.size === 0) exit(0);
    const order = [...running.values()];
    const fds: PollFd[] = order.map((s) => ({ fd: s.pidfd, events: POLLIN, revents: 0 }));
    // The server's end: requests and HOST_GONE, and its hang-up (POLLHUP, reported unasked):
    // the server died, so the host may be gone with nobody left to send HOST_GONE.
    if (!serverGone) fds.push({ fd: sock, events: readable ? POLLIN : 0, revents: 0 });
    poll(fds);
    order.forEach((s, i) => {
      if (!fds[i]!.revents) return;
      const w = wait4(s.pid, WNOHANG);
      if (w.pid !== s.pid) return;
      running.delete(s.pid);
      writeStatus(s.statusFd, { event: "exit", status: s.status ?? w.status, ...(w.usage ? { usage: w.usage } : {}) });
      closeQuiet(s.statusFd);
      closeQuiet(s.pidfd);
    });
    const revents = serverGone ? 0 : fds[order.length]!.revents;
    if (revents & (POLLHUP | POLLERR)) {
      // Requests still queued go with the socket: their hosts see the status pipe close before
      // "spawned", as when a server dies before forking, and start them elsewhere.
      serverGone = true;
      retired = true;
      closeQuiet(sock);
      killDieWithParent();
      continue;
    }
    if (!readable || !(revents & POLLIN)) continue;
    const msg = recvWithFds(sock, REQUEST_BUFFER);
    if (msg === null) {
      readable = false;
      retired = true;
      continue;
    }
    const word = msg.fds.length === 0 ? msg.data.toString("latin1") : "";
    if (word === HOST_GONE) {
      killDieWithParent();
      continue;
    }
    if (word === RETIRE) {
      retired = true;
      continue;
    }
    const started = retired ? null : serve(msg.data, msg.fds, key, base, callerUmask);
    if (started) running.set(started.pid, started);
    else {
      try {
        sendWithFds(sock, msg.data, msg.fds); // back to the server, to run it forked
      } catch {
        // the server died meanwhile: the fds close below and the host starts it again
      }
    }
    for (const fd of msg.fds) if (fd !== started?.statusFd) closeQuiet(fd);
    // Stranded outside the base namespace: whatever comes next goes back to the server.
    if (stranded) retired = true;
    if (++served % GC_EVERY === 0) Bun.gc(true);
  }
}

/** Set when the worker could not return to its base mount namespace: it builds nothing more. */
let stranded = false;

/**
 * The worker's base: a mount namespace of its own (a copy of the host's) that each sandbox's
 * starts from, inside a user namespace mapping the caller to itself unless real root. The
 * worker keeps every capability there; each command gets its own sets from its chain.
 */
function enterBase(key: WorkerKey): Base {
  const uid = getuid();
  const gid = getgid();
  lastCap(); // cached while /proc is reachable
  const hostCaps = key.kind === "host" ? snapshotCapabilities() : null;
  const hostIds = key.kind === "host" ? ownIds() : undefined;
  if (key.kind === "host") {
    unshare(CLONE.NEWNS);
    mount(null, "/", null, MS.SLAVE | MS.REC);
  } else {
    unshare(CLONE.NEWUSER | CLONE.NEWNS);
    mapSelf(false, uid, gid);
  }
  return { mnt: open("/proc/self/ns/mnt", O.RDONLY), hostCaps, hostIds };
}

/** Compiled seccomp filters by their rules; kept alive for the children that load them. */
const filters = new Map<string, Uint8Array>();

function commandFilter(plan: Plan, suppressChown: boolean): Uint8Array | null {
  const rules = commandRules(plan, suppressChown);
  if (rules.length === 0) return null;
  // The rules follow from these four (their conditions hold BigInts, which JSON cannot keep).
  const key = [suppressChown, plan.suppressSync, plan.harden, plan.disableUserns].join();
  let f = filters.get(key);
  if (!f) filters.set(key, (f = compileFilter(rules).bytes));
  return f;
}

/** The capability sets of a plan's command (see confine.ts); as real root with no changes, the worker's own. */
function capTarget(plan: Plan, base: Base, netns: boolean): CapTarget {
  const userns = base.hostCaps === null;
  const caps = commandCaps(plan, userns, netns);
  if (caps === null) return base.hostCaps!;
  if (userns) return uniformCaps(caps);
  // Real root keeps what it is given through exec by being root: no ambient set.
  const m = uniformCaps(caps).bounding;
  return { bounding: m, effective: m, permitted: m, inheritable: 0n, ambient: 0n };
}

/**
 * Builds one sandbox and starts its command; null when it could not (nothing is left running,
 * and nothing was reported to the host). "spawned" goes to the host once the command's setup
 * has succeeded, before its exec: spawn() waits for it, and the exec need not be waited for.
 */
function serve(data: Buffer, received: number[], key: WorkerKey, base: Base, callerUmask: number): Sandbox | null {
  let req: StageRequest;
  let statusFd: number;
  let io: number[];
  try {
    const decoded = decodeRequest(data, received);
    req = JSON.parse(decoded.text) as StageRequest;
    [statusFd, ...io] = decoded.fds as [number, ...number[]];
  } catch {
    return null;
  }
  if (!("plan" in req) || stranded) return null;
  const plan = req.plan;
  let sandbox: Sandbox | null = null;
  let inBase = true;
  // Back to the base mount namespace; without it this worker can build nothing more.
  const leave = () => {
    if (inBase) return;
    inBase = true;
    try {
      setns(base.mnt, CLONE.NEWNS);
    } catch {
      stranded = true;
    }
  };
  resetStubs();
  try {
    const ops = earlyPhase(optimizeOperations(plan.ops));
    unshare(CLONE.NEWNS);
    inBase = false;
    const { procFd } = buildRoot(ops, { userns: true, pidns: false, ipcns: false, dirModes: null, debug: () => {}, neverBlock: true, harden: plan.harden });
    try {
      chdir(plan.cwd);
      const reported = (pid: number, pidfd: number, namespaces: Record<string, string>) => {
        sandbox = { pid, pidfd, statusFd, dieWithParent: plan.dieWithParent };
        writeStubs(statusFd, takeStubs());
        writeStatus(statusFd, { event: "spawned", pid });
        writeStatus(statusFd, { event: "ready", namespaces, confinement: "namespaces" });
      };
      // --harden's Landlock rules name the sandbox's inodes: made while its root is ours.
      const landlock = plan.harden ? withRoot("/", (root) => hardenDomain(plan, root).fd) : -1;
      let failed: ChainError | null;
      try {
        failed = startCommand(plan, req.targets, io, { key, base, callerUmask, procFd, leave, landlock }, reported);
      } finally {
        closeQuiet(landlock);
      }
      if (failed && sandbox) reportExecFailure(plan, sandbox, statusFd, failed);
    } finally {
      closeQuiet(procFd);
      leave();
    }
  } catch {
    leave();
    // Once reported the sandbox is the host's; before, nothing of it runs (startCommand saw to
    // that) and the forked stage starts it again, after what this try made on the host is gone.
    if (!sandbox) removeStubs(takeStubs());
    return sandbox;
  }
  return sandbox;
}

/**
 * The command did not start after "spawned" went out: for a failed exec the error and status the
 * forked stage would give (127 not found, 126 otherwise), for a failed setup step exit status 1.
 */
function reportExecFailure(plan: Plan, s: Sandbox, statusFd: number, e: ChainError): void {
  const code = e.stage !== "exec" ? 1 : e.errno === Errno.ENOENT ? 127 : 126;
  const message = e.stage === "exec" ? `${plan.argv[0]}: ${errnoMessage(e.errno)}` : `starting the command: ${e.message}`;
  writeStatus(statusFd, { event: "error", message, errno: e.errno, exitCode: code });
  s.status = code << 8;
}

function killQuietly(pid: number): void {
  try {
    kill(pid, SIG.KILL);
  } catch {
    // gone already
  }
}

interface StartContext {
  key: WorkerKey;
  base: Base;
  callerUmask: number;
  /** The host's /proc (fd): the new root may have none. */
  procFd: number;
  /** Returns the worker to its base mount namespace (once the command has its copy). */
  leave: () => void;
  /** --harden's Landlock ruleset fd, or -1. */
  landlock: number;
}

/**
 * Starts the command in its own user namespace (and a copy of the built mount namespace, plus the
 * network, IPC, UTS and cgroup namespaces it asked for), as execvpe would find it. `reported` is
 * called with its pid, pidfd and namespace ids once its setup has succeeded; the exec's failure
 * after that is returned. Throws, with nothing left running and nothing reported, when it cannot
 * start that way.
 */
function startCommand(
  plan: Plan, targets: number[], io: number[], ctx: StartContext, reported: (pid: number, pidfd: number, ns: Record<string, string>) => void,
): ChainError | null {
  const userns = ctx.key.kind === "userns";
  const flags = CLONE.NEWUSER | CLONE.NEWNS | (namespaceFlags(plan, userns) & (SEAL_NAMESPACES | CLONE.NEWIPC));
  // Inside the worker's user namespace we hold every capability: the identity comes from the key.
  const maps = commandMaps(userns ? (plan.becomeRoot ? "root" : "self") : "host", getuid(), getgid(), null, ctx.base.hostIds);
  const path = execPath(plan);
  // Park the received fds high first, so no dup3 target overwrites a source still needed.
  const high = io.map((fd) => fcntl(fd, F.DUPFD_CLOEXEC, HIGH_FD));
  // The child inherits this (close-on-exec) reference to the built mount namespace: once the
  // worker has left it, the child's exec tears it down, not the worker.
  let built = openAt(ctx.procFd, "self/ns/mnt", O.RDONLY);
  const dropBuilt = () => {
    if (built >= 0) closeQuiet(built);
    built = -1;
  };
  try {
    const caps = capTarget(plan, ctx.base, (flags & CLONE.NEWNET) !== 0);
    const seccomp = commandFilter(plan, chownSuppressed(plan, userns));
    const setup = commandChain({
      dups: targets.map((t, i) => [high[i]!, t] as const),
      caps,
      // Without CAP_SYS_ADMIN a filter needs no_new_privs; --harden always sets it.
      nnp: plan.harden || (seccomp !== null && !(caps.effective & (1n << BigInt(CAP.SYS_ADMIN)))),
      landlock: ctx.landlock,
      seccomp,
      loopback: (flags & CLONE.NEWNET) !== 0,
      hostname: plan.hostname,
      setsid: plan.newSession,
    }, high[0] ?? ctx.procFd);
    const args = new PackedArgs(plan.argv, Object.entries(plan.env).map(([k, v]) => `${k}=${v}`));
    umask(ctx.callerUmask);
    let h: ChainHandle;
    try {
      // Once "spawned" is out the child is the worker's to reap, whatever happens to its exec.
      h = startChain({ flags, setup, exec: { path, args }, reapOnFailure: false });
    } finally {
      umask(0);
    }
    try {
      dropBuilt();
      ctx.leave();
      // While the child runs its setup: its maps and namespace links. Until it execs it shares the
      // worker's memory, and with it the worker's "not dumpable", which gives its /proc files to
      // root: the caller could do neither.
      setDumpable(true);
      let namespaces: Record<string, string>;
      try {
        writeMaps(ctx.procFd, String(h.pid), maps);
        namespaces = namespaceIdsAt(ctx.procFd, h.pid);
      } finally {
        setDumpable(false);
      }
      // spawn() waits for this: the rest (the setup check, the exec) is not waited for.
      reported(h.pid, h.pidfd, namespaces);
    } catch (e) {
      h.abort();
      throw e;
    }
    try {
      h.release();
      return null;
    } catch (e) {
      // Not started: a setup step or its exec failed, or it was killed meanwhile (its status
      // says so); the worker's poll reaps it.
      if (!(e instanceof ChainError)) return null;
      // Ended before it could exec (a kill() soon after spawn): its own status tells how.
      if (e.stage === "gone") return null;
      if (e.stage === "setup") killQuietly(h.pid);
      return e;
    }
  } finally {
    dropBuilt();
    for (const fd of high) closeQuiet(fd);
  }
}

/**
 * The file execvpe would run: the first candidate that exists and starts as a program (an ELF
 * file or a "#!" script). Anything else (ENOEXEC's /bin/sh fallback, a file we cannot read, no
 * candidate) is left to the forked stage, which reports it as usual.
 */
function execPath(plan: Plan): string {
  for (const candidate of pathCandidates(plan.argv[0]!, plan.env)) {
    const st = stat(candidate);
    if (!st) continue;
    if (!st.isFile()) break;
    const fd = openAt(-100, candidate, O.RDONLY | O.NONBLOCK);
    try {
      const head = new Uint8Array(4);
      const n = read(fd, head);
      const elf = n === 4 && head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46;
      if (elf || (n >= 2 && head[0] === 0x23 && head[1] === 0x21)) return candidate;
    } finally {
      closeQuiet(fd);
    }
    break;
  }
  throw new Error("not started by the worker");
}
