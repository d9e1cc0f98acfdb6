// A namespace worker: a child of the stage server that builds many sandboxes without forking.
//
// Forking the ~50 MiB Bun process per sandbox and exec'ing from the copy costs milliseconds of
// page-table copying and tear-down. The worker instead makes its user namespace once (when one is
// needed) and, for each request, unshares a fresh mount namespace (and network, IPC, UTS and
// cgroup namespaces when its key says so), builds the new root in it (the same code as the
// stage), posix_spawns the command (a vfork-style clone, no copy) and setns()es back into its
// base namespaces for the next request. Its capabilities in its own user namespace are what
// allow the setns back. A seccomp filter, if any, is loaded into the worker once and inherited.
//
// Sandboxes of one worker share its user namespace (the same id mapping). A PID namespace,
// --map-subids, a new keyring, fd packing, --suspend, directory modes and --debug still go
// through a forked stage (see workerKey). Any failure before the command runs hands the request
// back to the server unchanged, which then runs it the forked way: that path produces the error
// with its usual message, so the two paths never disagree on errors.
//
// Protocol on the worker's socket: the server sends requests exactly as it received them, or
// HOST_GONE when the host went away (dieWithParent sandboxes are then killed); EOF retires the
// worker, which exits once its sandboxes have ended; a hang-up means the server died, and the
// worker then kills its dieWithParent sandboxes as HOST_GONE would (a forked sandbox that asked
// for it dies with the server too) and reports the others' exits. The worker sends READY once
// set up, and sends back requests it could not run.
import type { Plan } from "../plan/types.ts";
import { optimizeOperations } from "../plan/optimize.ts";
import { CLONE, MS, O } from "../sys/flags.ts";
import { closeAllExcept, closeQuiet, F, fcntl, open } from "../sys/fd.ts";
import { keepCapabilities, lastCap } from "../sys/caps.ts";
import { mount } from "../sys/mount.ts";
import {
  chdir, exit, getgid, getppid, getuid, kill, PackedArgs, pathCandidates, pidfdOpen, setDumpable, sethostname, setns,
  umask, unshare, waitpid, WNOHANG,
} from "../sys/process.ts";
import { poll, POLLERR, POLLHUP, POLLIN, recvWithFds, sendWithFds, type PollFd } from "../sys/socket.ts";
import { canCloseFrom, posixSpawn } from "../sys/spawn.ts";
import { readdir, stat } from "../sys/fs.ts";
import { SIG } from "../sys/signals.ts";
import { interfaceUp } from "../sys/net.ts";
import { suppressSyscalls } from "../sys/seccomp.ts";
import { mapSelf, needsUserNamespace } from "./identity.ts";
import { walkPath } from "./resolve.ts";
import { buildRoot, chownSuppressed, earlyPhase, KEPT_CAPS, KEPT_NET_CAPS, namespaceFlags } from "./run.ts";
import { decodeRequest, REQUEST_BUFFER, type StageRequest } from "./request.ts";
import { namespaceIds, writeStatus } from "./status.ts";

/** Who the command is: real root without a user namespace, the caller mapped to itself, or to root. */
export type Identity = "host" | "self" | "root";

/**
 * What a worker is made with, once: the identity its user namespace gives, the namespaces it
 * makes afresh for each sandbox beside the mount namespace (network, IPC, UTS, cgroup), and the
 * seccomp filter it carries (inherited by every command it starts).
 */
export interface WorkerKey {
  identity: Identity;
  namespaces: number;
  suppressChown: boolean;
  suppressSync: boolean;
}

export const HOST_GONE = "H";
export const READY = "R";
const GC_EVERY = 256;
/** fds the command gets are below this; the worker parks received fds at or above it. */
const HIGH_FD = 1000;
/** Namespaces a worker can make per sandbox and leave again with setns. */
const PER_SANDBOX = CLONE.NEWNET | CLONE.NEWIPC | CLONE.NEWUTS | CLONE.NEWCGROUP;
const NS_FILES: [flag: number, name: string][] = [[CLONE.NEWNET, "net"], [CLONE.NEWIPC, "ipc"], [CLONE.NEWUTS, "uts"], [CLONE.NEWCGROUP, "cgroup"]];

/** The worker a plan can run in; null: it needs a forked stage. */
export function workerKey(plan: Plan): WorkerKey | null {
  const forked =
    plan.unsharePid || plan.mapSubids || plan.newSessionKeyring || plan.packFds || plan.suspend || plan.debug ||
    plan.fds.some((fd) => fd >= HIGH_FD) || plan.ops.some((op) => op.kind === "dirmodes");
  if (forked) return null;
  const userns = needsUserNamespace(plan.becomeRoot);
  if (plan.seal ?? userns) return null; // TODO: sealed sandboxes on the worker
  const identity: Identity = !userns ? "host" : plan.becomeRoot ? "root" : "self";
  const namespaces = namespaceFlags(plan, userns) & PER_SANDBOX;
  return { identity, namespaces, suppressChown: chownSuppressed(plan, userns), suppressSync: plan.suppressSync };
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

export const keyName = (k: WorkerKey): string => `${k.identity}/${k.namespaces}/${Number(k.suppressChown)}${Number(k.suppressSync)}`;

/** The worker's base namespaces, to return to after each sandbox. */
interface Base {
  mnt: number;
  others: [flag: number, fd: number][];
}

interface Sandbox {
  pid: number;
  pidfd: number;
  statusFd: number;
  dieWithParent: boolean;
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
  let connected = true;
  let serverGone = false;
  let served = 0;
  for (;;) {
    if (!connected && running.size === 0) exit(0);
    const order = [...running.values()];
    const fds: PollFd[] = order.map((s) => ({ fd: s.pidfd, events: POLLIN, revents: 0 }));
    // The server's end: requests while connected, and its hang-up (POLLHUP, reported unasked)
    // even once retired. A retiring server only shuts down its writing side; POLLHUP means it
    // died, so the host may be gone with nobody left to send HOST_GONE.
    if (!serverGone) fds.push({ fd: sock, events: connected ? POLLIN : 0, revents: 0 });
    poll(fds);
    order.forEach((s, i) => {
      if (!fds[i]!.revents) return;
      const w = waitpid(s.pid, WNOHANG);
      if (w.pid !== s.pid) return;
      running.delete(s.pid);
      writeStatus(s.statusFd, { event: "exit", status: w.status });
      closeQuiet(s.statusFd);
      closeQuiet(s.pidfd);
    });
    const revents = serverGone ? 0 : fds[order.length]!.revents;
    if (revents & (POLLHUP | POLLERR)) {
      // Requests still queued go with the socket: their hosts see the status pipe close before
      // "spawned", as when a server dies before forking, and start them elsewhere.
      serverGone = true;
      connected = false;
      closeQuiet(sock);
      for (const s of running.values()) if (s.dieWithParent) kill(s.pid, SIG.KILL);
      continue;
    }
    if (!connected || !revents) continue;
    const msg = recvWithFds(sock, REQUEST_BUFFER);
    if (msg === null) {
      connected = false;
      continue;
    }
    if (msg.data.toString("latin1") === HOST_GONE) {
      for (const s of running.values()) if (s.dieWithParent) kill(s.pid, SIG.KILL);
      continue;
    }
    const started = serve(msg.data, msg.fds, key, base, callerUmask);
    if (started) running.set(started.pid, started);
    else {
      try {
        sendWithFds(sock, msg.data, msg.fds); // back to the server, to run it forked
      } catch {
        // the server died meanwhile: the fds close below and the host starts it again
      }
    }
    for (const fd of msg.fds) if (fd !== started?.statusFd) closeQuiet(fd);
    // Stranded outside the base namespaces: whatever comes next goes back to the server.
    if (stranded) connected = false;
    if (++served % GC_EVERY === 0) Bun.gc(true);
  }
}

/** Set when the worker could not return to its base namespaces: it builds nothing more. */
let stranded = false;

/**
 * The namespaces every sandbox of this worker starts from: its own user namespace (unless real
 * root), and a mount namespace plus one of each per-sandbox kind that it returns to; then the
 * capabilities and the seccomp filter the commands inherit.
 */
function enterBase(key: WorkerKey): Base {
  const uid = getuid();
  const gid = getgid();
  lastCap(); // cached while /proc is reachable
  if (key.identity === "host") {
    unshare(CLONE.NEWNS | key.namespaces);
    mount(null, "/", null, MS.SLAVE | MS.REC);
  } else {
    unshare(CLONE.NEWUSER | CLONE.NEWNS | key.namespaces);
    mapSelf(key.identity === "root", uid, gid);
    keepCapabilities(key.namespaces & CLONE.NEWNET ? [...KEPT_CAPS, ...KEPT_NET_CAPS] : KEPT_CAPS);
  }
  const base: Base = {
    mnt: open("/proc/self/ns/mnt", O.RDONLY),
    others: NS_FILES.filter(([flag]) => key.namespaces & flag).map(([flag, name]) => [flag, open(`/proc/self/ns/${name}`, O.RDONLY)]),
  };
  suppressSyscalls({ chown: key.suppressChown, sync: key.suppressSync });
  return base;
}

/** Builds one sandbox and starts its command; null when anything failed (nothing is left running). */
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
  let pid = -1;
  let pidfd = -1;
  let namespaces: Record<string, string> | undefined;
  try {
    const ops = earlyPhase(optimizeOperations(plan.ops));
    // Listed while /proc is reachable; only needed where libc cannot close fds by range.
    const openFds = canCloseFrom() ? [] : readdir("/proc/self/fd").map(Number);
    unshare(CLONE.NEWNS | key.namespaces);
    try {
      namespaces = namespaceIds();
      if (key.namespaces & CLONE.NEWNET) interfaceUp("lo");
      if (plan.hostname !== null) sethostname(plan.hostname);
      const ipcns = (key.namespaces & CLONE.NEWIPC) !== 0;
      buildRoot(ops, { pidns: false, ipcns, dirModes: null, debug: () => {}, neverBlock: true });
      chdir(plan.cwd);
      pid = spawnCommand(plan, req.targets, io, callerUmask, openFds);
      if (pid > 0) pidfd = pidfdOpen(pid);
    } finally {
      // Back to the base namespaces; without them this worker can build nothing more.
      try {
        setns(base.mnt, CLONE.NEWNS);
        for (const [flag, fd] of base.others) setns(fd, flag);
      } catch {
        stranded = true;
      }
    }
    if (stranded) throw new Error("stranded");
    if (pid < 0) return null;
    writeStatus(statusFd, { event: "spawned", pid });
    writeStatus(statusFd, { event: "ready", namespaces: namespaces ?? {} });
    return { pid, pidfd, statusFd, dieWithParent: plan.dieWithParent };
  } catch {
    // Nothing may run for a request handed back: the forked stage starts it again.
    if (pid > 0) {
      kill(pid, SIG.KILL);
      waitpid(pid);
    }
    closeQuiet(pidfd);
    return null;
  }
}

/** posix_spawn of the command as execvpe would find it; -1 when it cannot start that way. */
function spawnCommand(plan: Plan, targets: number[], io: number[], callerUmask: number, openFds: number[]): number {
  // Park the received fds high first, so no dup2 target overwrites a source still needed.
  const high = io.map((fd) => fcntl(fd, F.DUPFD_CLOEXEC, HIGH_FD));
  const args = new PackedArgs(plan.argv, Object.entries(plan.env).map(([k, v]) => `${k}=${v}`));
  const opts = { dups: targets.map((t, i) => [high[i]!, t] as const), openFds, setsid: plan.newSession };
  umask(callerUmask);
  try {
    for (const candidate of pathCandidates(plan.argv[0]!, plan.env)) {
      // Missing candidates are skipped without a clone; any other outcome than a started
      // command (EACCES, ENOEXEC's /bin/sh fallback, ...) is left to the forked stage.
      if (!stat(candidate)) continue;
      const pid = posixSpawn(candidate, args, opts);
      return pid > 0 ? pid : -1;
    }
    return -1;
  } finally {
    umask(0);
    for (const fd of high) closeQuiet(fd);
  }
}
