// A namespace worker: a child of the stage server that builds many sandboxes without forking.
//
// Forking the ~50 MiB Bun process per sandbox and exec'ing from the copy costs milliseconds of
// page-table copying and tear-down. The worker instead makes its user namespace once (when one is
// needed) and, for each request, unshares a fresh mount namespace, builds the new root in it
// (the same code as the stage), posix_spawns the command (a vfork-style clone, no copy) and
// setns()es back into its base mount namespace for the next request. Its capabilities in its own
// user namespace are what allow the setns back.
//
// Sandboxes of one worker share its user namespace (the same id mapping); every other
// namespace a plan asks for, seccomp, the keyring, fd packing, --suspend, directory modes and
// --debug still go through a forked stage (see workerKind). Any failure before the command runs
// hands the request back to the server unchanged, which then runs it the forked way: that path
// produces the error with its usual message, so the two paths never disagree on errors.
//
// Protocol on the worker's socket: the server sends requests exactly as it received them, or
// HOST_GONE when the host went away (dieWithParent sandboxes are then killed); EOF retires the
// worker, which exits once its sandboxes have ended. The worker sends READY once set up, and
// sends back requests it could not run.
import type { Plan } from "../plan/types.ts";
import { optimizeOperations } from "../plan/optimize.ts";
import { CLONE, MS, O } from "../sys/flags.ts";
import { closeAllExcept, closeQuiet, F, fcntl, open } from "../sys/fd.ts";
import { keepCapabilities, lastCap } from "../sys/caps.ts";
import { mount } from "../sys/mount.ts";
import {
  chdir, exit, getgid, getppid, getuid, kill, PackedArgs, pathCandidates, pidfdOpen, setDumpable, setns, setParentDeathSignal,
  umask, unshare, waitpid, WNOHANG,
} from "../sys/process.ts";
import { poll, POLLIN, recvWithFds, sendWithFds, type PollFd } from "../sys/socket.ts";
import { canCloseFrom, posixSpawn } from "../sys/spawn.ts";
import { readdir, stat } from "../sys/fs.ts";
import { SIG } from "../sys/signals.ts";
import { mapSelf, needsUserNamespace } from "./identity.ts";
import { buildRoot, earlyPhase, KEPT_CAPS } from "./run.ts";
import { decodeRequest, REQUEST_BUFFER, type StageRequest } from "./request.ts";
import { namespaceIds, writeStatus } from "./status.ts";

/** Which worker can run a plan: by the identity its user namespace gives; null: fork a stage. */
export type WorkerKind = "host" | "self" | "root";

export const HOST_GONE = "H";
export const READY = "R";
const GC_EVERY = 256;
/** fds the command gets are below this; the worker parks received fds at or above it. */
const HIGH_FD = 1000;

export function workerKind(plan: Plan): WorkerKind | null {
  const forked =
    plan.unsharePid || plan.unshareNet || plan.unshareIpc || plan.unshareUts || plan.unshareCgroup ||
    plan.hostname !== null || plan.mapSubids || plan.suppressChown || plan.suppressSync ||
    plan.newSessionKeyring || plan.packFds || plan.suspend || plan.debug ||
    plan.fds.some((fd) => fd >= HIGH_FD) || plan.ops.some((op) => op.kind === "dirmodes" || op.kind === "mqueue");
  if (forked) return null;
  if (!needsUserNamespace(plan.becomeRoot)) return "host";
  return plan.becomeRoot ? "root" : "self";
}

interface Sandbox {
  pid: number;
  pidfd: number;
  statusFd: number;
  dieWithParent: boolean;
}

/** The worker's life, in the forked child; `sock` is its end of the socket to the server. */
export function runWorker(sock: number, kind: WorkerKind, serverPid: number): never {
  setParentDeathSignal(SIG.KILL);
  if (getppid() !== serverPid) exit(0);
  closeAllExcept([sock], 3);
  let base: number;
  try {
    base = enterBase(kind);
  } catch {
    // The server then runs this kind the forked way, which reports why it fails.
    exit(1);
  }
  // Not dumpable: a sandboxed command runs as the same user but must not ptrace its way into
  // the worker's view of the host (after the id maps are written: /proc/self then belongs to root).
  setDumpable(false);
  const callerUmask = umask(0);
  sendWithFds(sock, Buffer.from(READY), []);

  const running = new Map<number, Sandbox>();
  let connected = true;
  let served = 0;
  for (;;) {
    if (!connected && running.size === 0) exit(0);
    const order = [...running.values()];
    const fds: PollFd[] = order.map((s) => ({ fd: s.pidfd, events: POLLIN, revents: 0 }));
    if (connected) fds.push({ fd: sock, events: POLLIN, revents: 0 });
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
    if (!connected || !fds[order.length]!.revents) continue;
    const msg = recvWithFds(sock, REQUEST_BUFFER);
    if (msg === null) {
      connected = false;
      continue;
    }
    if (msg.data.toString("latin1") === HOST_GONE) {
      for (const s of running.values()) if (s.dieWithParent) kill(s.pid, SIG.KILL);
      continue;
    }
    const started = serve(msg.data, msg.fds, base, callerUmask);
    if (started) running.set(started.pid, started);
    else sendWithFds(sock, msg.data, msg.fds); // back to the server, to run it forked
    for (const fd of msg.fds) if (fd !== started?.statusFd) closeQuiet(fd);
    if (++served % GC_EVERY === 0) Bun.gc(true);
  }

}

/** The user and mount namespaces every sandbox of this worker starts from. */
function enterBase(kind: WorkerKind): number {
  const uid = getuid();
  const gid = getgid();
  lastCap(); // cached while /proc is reachable
  if (kind === "host") {
    unshare(CLONE.NEWNS);
    mount(null, "/", null, MS.SLAVE | MS.REC);
  } else {
    unshare(CLONE.NEWUSER | CLONE.NEWNS);
    mapSelf(kind === "root", uid, gid);
    keepCapabilities(KEPT_CAPS);
  }
  return open("/proc/self/ns/mnt", O.RDONLY);
}

/** Builds one sandbox and starts its command; null when anything failed (nothing is left running). */
function serve(data: Buffer, received: number[], base: number, callerUmask: number): Sandbox | null {
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
  if (!("plan" in req)) return null;
  const plan = req.plan;
  let pid = -1;
  try {
    const ops = earlyPhase(optimizeOperations(plan.ops));
    // Listed while /proc is reachable; only needed where libc cannot close fds by range.
    const openFds = canCloseFrom() ? [] : readdir("/proc/self/fd").map(Number);
    unshare(CLONE.NEWNS);
    try {
      const namespaces = namespaceIds();
      buildRoot(ops, { pidns: false, ipcns: false, dirModes: null, debug: () => {}, neverBlock: true });
      chdir(plan.cwd);
      pid = spawnCommand(plan, req.targets, io, callerUmask, openFds);
      if (pid > 0) {
        writeStatus(statusFd, { event: "spawned", pid });
        writeStatus(statusFd, { event: "ready", namespaces });
      }
    } finally {
      // Back to the base namespace; without it this worker can build nothing more.
      try {
        setns(base, CLONE.NEWNS);
      } catch {
        if (pid > 0) kill(pid, SIG.KILL);
        exit(1);
      }
    }
  } catch {
    return null;
  }
  if (pid < 0) return null;
  return { pid, pidfd: pidfdOpen(pid), statusFd, dieWithParent: plan.dieWithParent };
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
