// Runs a plan in this (single-threaded) process: namespaces, identity, the new root, then
// exec of the command in place. Returns only by throwing a SetupError.
import { SysError } from "../sys/error.ts";
import { Errno } from "../sys/errno.ts";
import type { Operation, Plan } from "../plan/types.ts";
import { describeOperation } from "../plan/ops/index.ts";
import { optimizeOperations } from "../plan/optimize.ts";
import { CLONE, MS, formatNamespaces } from "../sys/flags.ts";
import { keepCapabilities, lastCap } from "../sys/caps.ts";
import { assertSingleThreaded, getgid, getuid, sethostname, umask, unshare } from "../sys/process.ts";
import { mount } from "../sys/mount.ts";
import { interfaceUp } from "../sys/net.ts";
import { lockKernelTunables } from "./tunables.ts";
import { SetupError } from "./errors.ts";
import {
  commandMaps, identityOf, mapSelf, ownIds, planSubidMapping, selfWritable, startSubidHelper, type SubidHelper, type SubidMapping,
} from "./identity.ts";
import { namespaceIdsAt, READ_ONLY_PROC, sealInPlace, SEAL_NAMESPACES, type SealSpec } from "./seal.ts";
import { closeQuiet, open, pipe2, tryOpen } from "../sys/fd.ts";
import { O } from "../sys/flags.ts";
import { enterWorkspace, leaveWorkspace } from "./workspace.ts";
import { applyOperation } from "./ops/index.ts";
import type { StageContext } from "./context.ts";
import { execCommand, rawStderr, type ExecOptions } from "./exec.ts";
import { explainMountRefusal, explainNamespaceError } from "./explain.ts";
import { trace } from "../sys/trace.ts";
import { namespaceFlags } from "./namespaces.ts";
import { runLandlock } from "./landlock.ts";
import { sendListeners, startProxy } from "./proxy.ts";
import { applyRlimits, kernelCountsPids, watchFrom, watchLimits } from "./limits.ts";
import { watched } from "../plan/limits.ts";
import { probeNamespaces } from "./probe.ts";

export { namespaceFlags };
import { blockSupervisedSignals, exitLike, killTheRest, reportedStatus, reportStatus, supervise, superviseUntilExit, supervisor } from "./init.ts";
import { earlyPhase } from "./early.ts";
import { chownSuppressed } from "./confine.ts";
import type { StageRuntime } from "./status.ts";

export { earlyPhase, chownSuppressed, type StageRuntime };
import { prepareDirModes, type PreparedDirModes } from "./ops/dirmodes.ts";
import { copyOverlayWrites, makeOutputDir } from "./output.ts";
import { exitCodeOf, fork, setChildSubreaper, setParentDeathSignal } from "../sys/process.ts";
import { SIG } from "../sys/signals.ts";
import { writeStatus, writeStubs } from "./status.ts";
import { takeStubs } from "./stubs.ts";

export { KEPT_CAPS, KEPT_NET_CAPS } from "./confine.ts";
import { commandCaps } from "./confine.ts";

/** Namespaces, or Landlock where the plan asks for it (or for `auto`, where namespaces are refused). */
export function runStage(plan: Plan, rt: StageRuntime = {}): never {
  if (plan.confinement === "landlock") return runLandlock(plan, rt, "which --confinement landlock does not use", false);
  if (plan.confinement === "auto") {
    const why = probeNamespaces(plan);
    if (why !== null) return runLandlock(plan, rt, `which this host refuses: ${why}`, true);
  }
  return runNamespaces(plan, rt);
}

function runNamespaces(plan: Plan, rt: StageRuntime): never {
  const debug = plan.debug ? (line: string) => rawStderr(`sandbox: ${line}`) : () => {};
  trace("stage");
  debug(`confinement: namespaces${plan.confinement === "auto" ? " (auto: they work here)" : ""}`);
  const callerUmask = umask(0);
  const ops = earlyPhase(optimizeOperations(plan.ops), (op) => debug(`skipped (no source): ${describeOperation(op)}`));

  // Directory modes look at the host's mounts and the caller's permissions before anything changes.
  const dirModesOp = ops.find((op) => op.kind === "dirmodes");
  const dirModes = dirModesOp ? prepareDirModes(dirModesOp, callerUmask) : null;
  trace("early phase");
  assertSingleThreaded("unshare");
  lastCap(); // cached now: /proc may not exist in the new root
  const uid = getuid();
  const gid = getgid();
  const identity = identityOf(plan.becomeRoot);
  const userns = identity !== "host";
  const sealed = plan.seal ?? userns;
  // As real root the command keeps every id: read now, while this /proc is ours.
  const hostIds = sealed && !userns ? ownIds() : undefined;
  const all = namespaceFlags(plan, userns);
  // Sealed, the namespaces the command's capabilities act on are made with the seal.
  const flags = sealed ? all & ~SEAL_NAMESPACES : all;

  /** In PID 1: where the command's wait status goes to the relay (see init.ts exitLike). */
  let pid1Report = -1;
  let subids: SubidMapping | null = null;
  let helper: SubidHelper | undefined;
  if (userns && plan.mapSubids) {
    try {
      subids = planSubidMapping(uid, gid, sealed);
      helper = startSubidHelper(subids);
    } catch (e) {
      throw new SetupError("map subordinate ids", e);
    }
  }
  // The proxies of --allow-host start before unshare: they stay in the host's namespaces.
  const proxyChannel = plan.allowHosts.length ? startProxy(plan, rt.statusFd) : -1;
  debug(`unshare(${formatNamespaces(flags)})${sealed ? `, sealed with unshare(${formatNamespaces(CLONE.NEWUSER | CLONE.NEWNS | (all & SEAL_NAMESPACES))})` : ""}`);
  try {
    unshare(flags);
  } catch (e) {
    helper?.cancel();
    throw new SetupError(`unshare(${formatNamespaces(flags)})`, explainNamespaceError(e));
  }
  // Read while /proc is still reachable: the new root may have none.
  const suppressChown = chownSuppressed(plan, userns);
  if (userns) {
    try {
      // Sealed, the first namespace maps the caller to itself; the command's mapping comes with the seal.
      if (helper) helper.finish();
      else mapSelf(sealed ? false : plan.becomeRoot, uid, gid);
    } catch (e) {
      if (e instanceof SysError && e.errno === Errno.EROFS) throw new SetupError("write uid/gid maps", READ_ONLY_PROC, Errno.EROFS);
      throw new SetupError("write uid/gid maps", explainNamespaceError(e));
    }
  }
  trace("namespaces");
  if (flags & CLONE.NEWPID) {
    // Only children enter the new PID namespace: this process stays outside and relays
    // signals to the child, which becomes PID 1 and builds the sandbox.
    blockSupervisedSignals();
    const [reportRead, reportWrite] = pipe2();
    // Opened before the fork: PID 1's pivot_root moves every process of this mount namespace,
    // the relay included, into the new root, which may have no /proc.
    const hostProc = watched(plan.limits) ? open("/proc", O.PATH | O.DIRECTORY) : -1;
    const child = fork();
    if (child > 0) {
      closeQuiet(reportWrite);
      supervisor(() => relay(child, reportRead, hostProc, plan, rt.statusFd, kernelCountsPids(userns || sealed)));
    }
    setParentDeathSignal(SIG.KILL);
    closeQuiet(reportRead);
    closeQuiet(hostProc);
    pid1Report = reportWrite;
  }
  if (flags & CLONE.NEWNET) interfaceUp("lo");
  if (flags & CLONE.NEWUTS && plan.hostname !== null) sethostname(plan.hostname);
  // A user namespace turns inherited mounts into slaves by itself; as real root do it here.
  if (!userns) {
    try {
      mount(null, "/", null, MS.SLAVE | MS.REC);
    } catch (e) {
      throw new SetupError("make the mounts of / slaves", explainMountRefusal(e, false));
    }
  }

  trace("before workspace");
  const { procFd } = buildRoot(ops, { userns, pidns: (flags & CLONE.NEWPID) !== 0, ipcns: (flags & CLONE.NEWIPC) !== 0, dirModes, debug, harden: plan.harden });
  if (rt.statusFd !== undefined) writeStubs(rt.statusFd, takeStubs());
  const caps = commandCaps(plan, userns, (all & CLONE.NEWNET) !== 0);
  if (caps && !sealed) {
    try {
      keepCapabilities(caps);
    } catch (e) {
      throw new SetupError("capabilities", e);
    }
  }
  trace("pivot and capabilities");
  const seal: SealSpec | null = sealed
    ? { maps: commandMaps(identity, uid, gid, subids, hostIds), selfWritable: selfWritable(identity, subids), namespaces: all & SEAL_NAMESPACES, hostname: plan.hostname, caps, procFd }
    : null;
  const start: CommandStart = { plan, seal, procFd, exec: { umask: callerUmask, suppressChown, statusFd: rt.statusFd }, ownUserns: userns || sealed, pidns: (flags & CLONE.NEWPID) !== 0, proxyChannel };
  // With an output directory something must outlive the command to copy its files: this process.
  const output = dirModes && dirModes.outFd >= 0 ? dirModes : null;
  if (flags & CLONE.NEWPID) {
    // PID 1: fork the command, then reap and forward signals until it ends. Threads were checked
    // before the pivot; the new root may have no /proc to check them again.
    const child = fork(true);
    if (child === 0) return startCommand(start);
    closeQuiet(procFd);
    if (!output) supervisor(() => supervise(child, { reapAll: true, reportFd: pid1Report }));
    supervisor(() => collectOutput(child, output!, pid1Report, rt.statusFd, debug));
  }
  if (output) {
    blockSupervisedSignals();
    const child = fork();
    if (child === 0) {
      setParentDeathSignal(SIG.KILL);
      return startCommand(start);
    }
    closeQuiet(procFd);
    supervisor(() => collectOutput(child, output, -1, rt.statusFd, debug));
  }
  return startCommand(start);
}

/** What the process that execs the command needs. */
interface CommandStart {
  plan: Plan;
  seal: SealSpec | null;
  /** The host's /proc (fd), or -1; closed here. */
  procFd: number;
  exec: ExecOptions;
  /** The command runs in a user namespace of ours (RLIMIT_NPROC counts only the sandbox there). */
  ownUserns: boolean;
  /** --allow-host: where the proxies' listening sockets go, once the command's network namespace exists; or -1. */
  proxyChannel: number;
  pidns: boolean;
}

/** In the process that will exec: the seal, the "ready" report with the command's namespaces, the exec. */
function startCommand(s: CommandStart): never {
  if (s.seal) {
    if (s.procFd < 0) throw new SetupError("seal", "the host has no /proc to write the command's id maps through; mount /proc, or use --no-seal");
    sealInPlace(s.seal);
  }
  // The command's network namespace exists now (sealed, the seal made it).
  if (s.proxyChannel >= 0) sendListeners(s.proxyChannel);
  // Limits to watch: this process forks, watches, and ends as the command does; the child goes on.
  // With a PID namespace the relay outside it watches.
  if (!s.pidns) watchLimits(s.plan, { procFd: s.procFd, statusFd: s.exec.statusFd, kernelCountsPids: kernelCountsPids(s.ownUserns) });
  if (s.exec.statusFd !== undefined) writeStatus(s.exec.statusFd, { event: "ready", namespaces: s.procFd >= 0 ? namespaceIdsAt(s.procFd) : {}, confinement: "namespaces" });
  closeQuiet(s.procFd);
  return execCommand(s.plan, { ...s.exec, beforeExec: () => applyRlimits(s.plan.limits, kernelCountsPids(s.ownUserns)) });
}

export interface RootOptions {
  /** The mounts happen in a user namespace we made (for the explanation of a refusal). */
  userns: boolean;
  pidns: boolean;
  ipcns: boolean;
  dirModes: PreparedDirModes | null;
  debug: (line: string) => void;
  /** See StageContext.neverBlock. */
  neverBlock?: boolean;
  /** --harden: the kernel's tunables are made read-only after the operations (see tunables.ts). */
  harden: boolean;
}

/**
 * Builds the new root from `ops` (after their early phase) in a workspace and makes it this
 * process's root: the workspace and the host's root are detached. Runs in a fresh mount namespace.
 */
export function buildRoot(ops: readonly Operation[], opts: RootOptions): { procFd: number } {
  let ws;
  try {
    ws = enterWorkspace();
  } catch (e) {
    throw new SetupError("workspace", explainMountRefusal(e, opts.userns));
  }
  trace("workspace");
  const ctx: StageContext = {
    oldroot: ws.oldroot, newroot: ws.newroot, scratch: ws.scratch,
    procFd: `${ws.oldroot}/proc/self/fd`, mountinfo: `${ws.oldroot}/proc/self/mountinfo`,
    pidns: opts.pidns, ipcns: opts.ipcns, dirModes: opts.dirModes, debug: opts.debug, neverBlock: opts.neverBlock === true,
  };
  for (const op of ops) {
    let applied: boolean;
    try {
      applied = applyOperation(op, ctx);
    } catch (e) {
      throw SetupError.forOperation(op, e);
    }
    opts.debug(`${applied ? "" : "skipped (no source): "}${describeOperation(op)}`);
  }
  if (opts.harden) {
    try {
      lockKernelTunables(ctx);
    } catch (e) {
      throw new SetupError("harden: kernel tunables read-only", e);
    }
  }
  trace("operations");
  // Kept across the pivot: the new root may have no /proc, and the seal and the status report need one.
  const procFd = tryOpen(`${ws.oldroot}/proc`, O.PATH | O.DIRECTORY);
  try {
    leaveWorkspace(ws);
  } catch (e) {
    closeQuiet(procFd);
    throw new SetupError("pivot_root into the new root", e);
  }
  return { procFd };
}

/**
 * Waits for the command (forwarding signals), then copies what it wrote in overlay directories
 * to the output directory and exits with the command's status. A failed copy is reported on
 * stderr (or the library's status fd) and makes the status 1 when the command succeeded.
 */
function collectOutput(child: number, output: PreparedDirModes, pid1Report: number, statusFd: number | undefined, debug: (line: string) => void): never {
  const pid1 = pid1Report >= 0;
  const keep = [output.writesFd, output.outFd, 2, ...(statusFd === undefined ? [] : [statusFd]), ...(pid1 ? [pid1Report] : [])];
  let status = superviseUntilExit(child, { reapAll: pid1, keep });
  // Nothing may write into the overlays while they are copied.
  if (pid1) killTheRest();
  let code = exitCodeOf(status);
  try {
    const out = makeOutputDir(output.outFd, output.outMissing, output.outMode, output.outputDir!);
    const r = copyOverlayWrites(output.writesFd, out, output.overlays);
    for (const s of r.skipped) debug(`output-dir: not copied: ${s}`);
    debug(`output-dir: ${r.files} files and ${r.symlinks} symlinks copied to ${output.outputDir}; ${r.whiteouts} deletions not represented`);
  } catch (e) {
    const message = `output-dir ${output.outputDir}: ${e instanceof Error ? e.message : String(e)}`;
    if (code === 0) code = 1;
    status = code << 8;
    if (statusFd !== undefined) writeStatus(statusFd, { event: "error", message, errno: e instanceof SysError ? e.errno : null, exitCode: code });
    else rawStderr(`sandbox: ${message}`);
  }
  if (pid1) reportStatus(pid1Report, status);
  exitLike(status);
}

/**
 * Outside the PID namespace: relays signals to PID 1, then ends the way the command did. It also
 * watches the limits, where the command cannot name it (PID 1 itself does not count).
 */
function relay(pid1: number, reportFd: number, procFd: number, plan: Plan, statusFd: number | undefined, kernelPids: boolean): never {
  if (procFd < 0) {
    const status = superviseUntilExit(pid1, { reapAll: false, keep: [reportFd] });
    exitLike(reportedStatus(reportFd) ?? status);
  }
  setChildSubreaper();
  const status = watchFrom(plan.limits, pid1, [reportFd], { procFd, statusFd, ours: pid1, kernelCountsPids: kernelPids });
  exitLike(reportedStatus(reportFd) ?? status);
}
