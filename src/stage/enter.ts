// Entering the namespaces of a running process and running a command there, in this
// single-threaded process (the CLI itself, or a stage server's forked child). Returns only by
// throwing a SetupError; otherwise the command replaces this process, or (PID or time namespace)
// a forked child runs it while this process waits, forwards signals and exits with its status.
//
// Steps, all of the target's files opened before the first setns so a path is never resolved
// half-way between two worlds:
//   1. /proc/PID as a directory fd (everything else is read through it: a reused pid cannot
//      slip in), the target's and our own namespace links, the target's ids when its user
//      namespace will be entered;
//   2. an fd for every namespace to enter, for /proc/PID/root and /proc/PID/cwd;
//   3. setns in the order of setnsOrder() (user first when unprivileged, last as root);
//      right after the mount namespace: fchdir(root) + chroot("."), then the working directory;
//   4. in an entered user namespace, the target's gid and uid (a privileged caller first takes
//      the target's supplementary groups, while it still may);
//   5. fork when a PID or time namespace was entered (they apply to children only);
//   6. only stdio and the explicitly passed fds stay open; signals reset; execvpe.
import {
  chooseNamespaces, mapIdInto, namespaceFlag, NAMESPACE_NAMES, needsFork, parseIdMap, parseStatusIds,
  resultingNamespaces, setnsOrder, type EnterSpec, type NamespaceLinks, type ProcessIds,
} from "../plan/enter.ts";
import type { NamespaceName } from "../sys/flags.ts";
import { O } from "../sys/flags.ts";
import { closeQuiet, open } from "../sys/fd.ts";
import { readlink, readlinkOrNull, readText } from "../sys/fs.ts";
import { SysError } from "../sys/error.ts";
import { Errno, errnoMessage, errnoName } from "../sys/errno.ts";
import { CAP, hasEffectiveCap } from "../sys/caps.ts";
import {
  assertSingleThreaded, chdir, chroot, execvpe, exit, fchdir, fork, getcwdOrNull, getgid, getpid, getppid, getuid,
  nsGetParent, prepareFork, setgid, setgroups, setns, setParentDeathSignal, setuid,
} from "../sys/process.ts";
import { keepOnlyFds } from "../sys/fdpack.ts";
import { resetSignalsForExec, SIG } from "../sys/signals.ts";
import { SetupError } from "./errors.ts";
import { rawStderr } from "./exec.ts";
import { blockSupervisedSignals, supervise } from "./init.ts";
import { writeStatus } from "./status.ts";
import { flushTrace, trace } from "../sys/trace.ts";

export interface EnterRuntime {
  /** Status fd of the library (close-on-exec): "ready" and exec failures are reported there. */
  statusFd?: number;
}

/** What was learnt about the target before touching any namespace. */
interface Target {
  /** /proc/self/fd/N of the /proc/PID directory fd. */
  proc: string;
  links: NamespaceLinks;
}

const describe = (e: unknown) => (e instanceof SysError ? `${errnoMessage(e.errno)} (${e.code})` : e instanceof Error ? e.message : String(e));

function inspectTarget(pid: number, who: string): { dir: number; target: Target } {
  let dir: number;
  try {
    dir = open(`/proc/${pid}`, O.PATH | O.DIRECTORY);
  } catch (e) {
    if (e instanceof SysError && e.errno === Errno.ENOENT) throw new SetupError(who, `${errnoMessage(Errno.ESRCH)} (ESRCH)`, Errno.ESRCH);
    throw new SetupError(who, `cannot open /proc/${pid}: ${describe(e)}`, e instanceof SysError ? e.errno : undefined);
  }
  const proc = `/proc/self/fd/${dir}`;
  const links: NamespaceLinks = {};
  let denied: SysError | null = null;
  let readable = 0;
  for (const ns of NAMESPACE_NAMES) {
    try {
      links[ns] = readlink(`${proc}/ns/${ns}`);
      readable++;
    } catch (e) {
      // ENOENT: this kernel has no such namespace type (or the process is exiting).
      if (e instanceof SysError && (e.errno === Errno.EACCES || e.errno === Errno.EPERM)) denied ??= e;
    }
  }
  if (denied) {
    closeQuiet(dir);
    throw new SetupError(who, `cannot read /proc/${pid}/ns: ${describe(denied)}; only the process's owner (with the same uid, and a dumpable process) or root may enter its namespaces`, denied.errno);
  }
  if (readable === 0) {
    closeQuiet(dir);
    throw new SetupError(who, `the process has no namespaces left (it is exiting): ${errnoMessage(Errno.ESRCH)} (ESRCH)`, Errno.ESRCH);
  }
  return { dir, target: { proc, links } };
}

function ownLinks(): NamespaceLinks {
  const out: NamespaceLinks = {};
  for (const ns of NAMESPACE_NAMES) {
    const l = readlinkOrNull(`/proc/self/ns/${ns}`);
    if (l !== null) out[ns] = l;
  }
  return out;
}

interface Identity {
  /** The target's ids inside its user namespace. */
  uid: number;
  gid: number;
  /** Its supplementary groups as we see them (set before entering, when privileged). */
  groups: number[];
}

/** The ids the command takes in the target's user namespace: the target's own. */
function targetIdentity(t: Target, who: string): Identity {
  let ids: ProcessIds | null;
  let uidMap: string;
  let gidMap: string;
  try {
    ids = parseStatusIds(readText(`${t.proc}/status`));
    uidMap = readText(`${t.proc}/uid_map`);
    gidMap = readText(`${t.proc}/gid_map`);
  } catch (e) {
    throw new SetupError(who, `reading the target's ids: ${describe(e)}`, e instanceof SysError ? e.errno : undefined);
  }
  if (!ids) throw new SetupError(who, "reading the target's ids: unexpected /proc/PID/status format");
  const uid = mapIdInto(ids.uid, parseIdMap(uidMap));
  const gid = mapIdInto(ids.gid, parseIdMap(gidMap));
  if (uid === null || gid === null) {
    throw new SetupError(who, `the target's uid ${ids.uid} or gid ${ids.gid} has no mapping in its own user namespace; there is no identity to take there`, Errno.EINVAL);
  }
  return { uid, gid, groups: ids.groups };
}

/**
 * The working directory: the `cwd` asked for (inside the new root), else the target's own when
 * it lies under the root we now have, else "/".
 */
function enterCwd(spec: EnterSpec, cwdFd: number, who: string): void {
  if (spec.cwd !== null) {
    try {
      chdir(spec.cwd);
    } catch (e) {
      throw new SetupError(`${who}: chdir ${spec.cwd}`, describe(e), e instanceof SysError ? e.errno : undefined);
    }
    return;
  }
  if (cwdFd >= 0) {
    try {
      fchdir(cwdFd);
      if (getcwdOrNull() !== null) return;
    } catch {
      // not searchable for us: fall back to the root
    }
  }
  try {
    chdir("/");
  } catch (e) {
    throw new SetupError(`${who}: chdir /`, describe(e), e instanceof SysError ? e.errno : undefined);
  }
}

/**
 * For a target whose user namespace is not a child of ours (a sealed sandbox: the command's user
 * namespace is a child of the one that built it): an fd of the outermost user namespace between
 * ours and the target's, or -1 when the target's is a child of ours.
 */
function outerUserNamespace(userFd: number, ownUser: string | undefined, who: string): number {
  // Walk up from the target's; `below` is the namespace whose parent is looked at next.
  let below = userFd;
  try {
    for (let depth = 0; depth < 33; depth++) {
      const parent = nsGetParent(below);
      if (readlinkOrNull(`/proc/self/fd/${parent}`) === ownUser) {
        closeQuiet(parent);
        return below === userFd ? -1 : below;
      }
      if (below !== userFd) closeQuiet(below);
      below = parent;
    }
    throw new SysError("ioctl(NS_GET_PARENT)", Errno.ELOOP);
  } catch (e) {
    if (below !== userFd) closeQuiet(below);
    throw new SetupError(who, `finding the target's user namespace below ours: ${describe(e)}`, e instanceof SysError ? e.errno : undefined);
  }
}

export function runEnter(spec: EnterSpec, rt: EnterRuntime = {}): never {
  const who = `enter ${spec.pid}`;
  trace("enter");
  try {
    // setns into a user or mount namespace needs a single-threaded process; fork too. Checked
    // (and fork prepared) now, while /proc is ours: after the root change it may not be.
    assertSingleThreaded("setns");
    prepareFork();
  } catch (e) {
    throw new SetupError(who, e);
  }
  const { dir, target } = inspectTarget(spec.pid, who);
  const self = ownLinks();
  const choice = chooseNamespaces(spec.namespaces, target.links, self);
  if (choice.unsupported.length > 0) {
    closeQuiet(dir);
    throw new SetupError(who, `the process has no ${choice.unsupported.join(", ")} namespace (this kernel does not support it, or the process is exiting)`, Errno.ENOENT);
  }
  const privileged = hasEffectiveCap(CAP.SYS_ADMIN);
  const identity = choice.enter.includes("user") ? targetIdentity(target, who) : null;

  // Every fd of the target before the first setns.
  const nsFds = new Map<NamespaceName, number>();
  let rootFd = -1;
  let cwdFd = -1;
  let outerFd = -1;
  const closeAll = () => {
    for (const fd of nsFds.values()) closeQuiet(fd);
    for (const fd of [rootFd, cwdFd, dir, outerFd]) if (fd >= 0) closeQuiet(fd);
  };
  try {
    for (const ns of choice.enter) {
      try {
        nsFds.set(ns, open(`${target.proc}/ns/${ns}`, O.RDONLY));
      } catch (e) {
        throw new SetupError(who, `open(/proc/${spec.pid}/ns/${ns}): ${describe(e)}`, e instanceof SysError ? e.errno : undefined);
      }
    }
    if (!privileged && nsFds.has("user")) outerFd = outerUserNamespace(nsFds.get("user")!, self.user, who);
    const order = setnsOrder(choice.enter, privileged, outerFd >= 0);
    if (order.includes("mnt")) {
      try {
        rootFd = open(`${target.proc}/root`, O.PATH | O.DIRECTORY);
      } catch (e) {
        throw new SetupError(who, `open(/proc/${spec.pid}/root): ${describe(e)}`, e instanceof SysError ? e.errno : undefined);
      }
    }
    try {
      cwdFd = open(`${target.proc}/cwd`, O.PATH | O.DIRECTORY);
    } catch {
      // not reachable: "/" (or the cwd option) instead
    }
    trace("enter: fds");

    // A privileged caller takes the target's supplementary groups now: inside a user namespace
    // made unprivileged, setgroups is denied.
    if (identity && privileged) {
      try {
        setgroups(identity.groups);
      } catch (e) {
        throw new SetupError(`${who}: setgroups`, describe(e), e instanceof SysError ? e.errno : undefined);
      }
    }
    if (!order.includes("mnt")) enterCwd(spec, cwdFd, who);
    if (outerFd >= 0) {
      try {
        setns(outerFd, namespaceFlag("user"));
      } catch (e) {
        throw new SetupError(who, `setns(the user namespace around the target's): ${describe(e)}`, e instanceof SysError ? e.errno : undefined);
      }
    }
    for (const ns of order) {
      try {
        setns(nsFds.get(ns)!, namespaceFlag(ns));
      } catch (e) {
        const errno = e instanceof SysError ? e.errno : Errno.EINVAL;
        // Unprivileged, a sandbox's namespaces can only be entered from inside its user namespace.
        const hint = errno === Errno.EPERM && !privileged && !order.includes("user") && target.links.user !== self.user
          ? "; its user namespace owns it: enter that too (add user to the namespace list)"
          : "";
        throw new SetupError(who, `setns(${ns}): ${errnoMessage(errno)} (${errnoName(errno)})${hint}`, errno);
      }
      if (ns === "mnt") {
        // setns(mnt) put us at the namespace's root mount; the target may have another root.
        try {
          fchdir(rootFd);
          chroot(".");
        } catch (e) {
          throw new SetupError(`${who}: change root to the target's root`, describe(e), e instanceof SysError ? e.errno : undefined);
        }
        enterCwd(spec, cwdFd, who);
      }
    }
    if (identity) {
      try {
        if (getgid() !== identity.gid) setgid(identity.gid);
        if (getuid() !== identity.uid) setuid(identity.uid);
      } catch (e) {
        throw new SetupError(`${who}: take the target's uid ${identity.uid} and gid ${identity.gid}`, describe(e), e instanceof SysError ? e.errno : undefined);
      }
    }
  } finally {
    closeAll();
  }
  trace("enter: entered");
  const statusFd = rt.statusFd;
  if (statusFd !== undefined) writeStatus(statusFd, { event: "ready", namespaces: resultingNamespaces(choice.enter, target.links, self), confinement: "namespaces" });

  if (needsFork(choice.enter)) {
    // This process stays outside the PID namespace: it waits for the command, forwards the
    // signals a terminal or build tool sends, and exits with the command's status.
    blockSupervisedSignals();
    // In the entered PID namespace the parent (outside it) shows as pid 0.
    const parent = choice.enter.includes("pid") ? 0 : getpid();
    const child = fork(true);
    if (child > 0) supervise(child, { reapAll: false });
    setParentDeathSignal(SIG.KILL);
    if (getppid() !== parent) exit(1); // the supervisor died before the death signal was set
  }
  execEntered(spec, statusFd);
}

function execEntered(spec: EnterSpec, statusFd: number | undefined): never {
  keepOnlyFds(spec.fds, statusFd === undefined ? [] : [statusFd]);
  resetSignalsForExec();
  trace("exec");
  flushTrace();
  const err = execvpe(spec.argv[0]!, spec.argv, spec.env);
  const code = err === Errno.ENOENT ? 127 : 126;
  const message = `${spec.argv[0]}: ${errnoMessage(err)}`;
  if (statusFd !== undefined) writeStatus(statusFd, { event: "error", message, errno: err, exitCode: code });
  else rawStderr(`sandbox: ${message}`);
  exit(code);
}
