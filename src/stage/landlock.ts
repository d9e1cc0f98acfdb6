// Runs a plan with `--confinement landlock`: no namespaces and no mounts. The plan's places become
// Landlock rules (src/plan/landlock.ts), its namespace-like options seccomp rules and scopes; the
// command runs on the host's root, confined by a domain made in this single-threaded process
// right before the exec.
import type { Plan } from "../plan/types.ts";
import { optimizeOperations } from "../plan/optimize.ts";
import { describeOperation } from "../plan/ops/index.ts";
import { ALWAYS_SCOPED, landlockShortfall, NeedsNamespaces, spreadRules, translateForLandlock, ALL, DEVICE, READ, type LandlockPlan, type Place } from "../plan/landlock.ts";
import { addNetPortRule, addPathRule, createRuleset, describeMissing, landlockStatus, LANDLOCK_ACCESS_NET, LANDLOCK_SCOPE } from "../sys/landlock.ts";
import { closeQuiet, tryOpen } from "../sys/fd.ts";
import { O } from "../sys/flags.ts";
import { DT, lstat, readdirFd, readlinkOrNull, stat, tryOpenAt } from "../sys/fs.ts";
import { keepCapabilities } from "../sys/caps.ts";
import { fork, setParentDeathSignal, umask } from "../sys/process.ts";
import { SIG } from "../sys/signals.ts";
import { chownSuppressed, commandCaps } from "./confine.ts";
import { SetupError } from "./errors.ts";
import { execCommand, rawStderr } from "./exec.ts";
import { blockSupervisedSignals, exitLike, superviseUntilExit } from "./init.ts";
import { earlyPhase } from "./early.ts";
import { namespaceIdsAt } from "./seal.ts";
import { writeStatus, type StageRuntime } from "./status.ts";
import { makePrivateTmp, removeTree, type PrivateTmp } from "./tmpdir.ts";
import { applyRlimits, watchLimits } from "./limits.ts";
import { startHostProxy } from "./proxy.ts";
import { retargetProxyEnv } from "../plan/network.ts";

/** `path` with its symlinks resolved (through /proc/self/fd); as given when it is missing. */
function canonical(path: string): string {
  const fd = tryOpen(path, O.PATH | O.CLOEXEC);
  if (fd < 0) return path;
  try {
    return readlinkOrNull(`/proc/self/fd/${fd}`) ?? path;
  } finally {
    closeQuiet(fd);
  }
}

/** Entries a rule may go on: no symlinks (their targets are checked where they are), UTF-8 names. */
function listEntries(dir: string): string[] | null {
  const fd = tryOpen(dir, O.RDONLY | O.DIRECTORY | O.CLOEXEC);
  if (fd < 0) return null;
  try {
    return readdirFd(fd, dir).filter((e) => e.utf8 && e.type !== DT.LNK && !(e.type === DT.UNKNOWN && lstat(`${dir}/${e.name}`)?.isSymbolicLink())).map((e) => e.name);
  } finally {
    closeQuiet(fd);
  }
}

/** The checks of names that must exist (or not be links) on the host. */
function checkHostPaths(lp: LandlockPlan): void {
  for (const d of lp.dirs) if (!stat(d)?.isDirectory()) throw new NeedsNamespaces(`--dir ${d} (it does not exist, and nothing is made on the host)`);
  for (const s of lp.nofollow) if (lstat(s)?.isSymbolicLink()) throw new NeedsNamespaces(`a -nofollow bind of the symlink ${s}`);
}

const NAMED: readonly [bigint, string][] = [[ALL, "all"], [READ, "read"], [DEVICE, "device"], [READ | DEVICE, "read, device"]];
const rightsWords = (r: bigint) => NAMED.find(([v]) => v === r)?.[1] ?? `0x${r.toString(16)}`;

/** The ruleset fd (close-on-exec) that gives each place its rights. */
function buildRuleset(lp: LandlockPlan, places: Place[], scoped: bigint, ports: readonly number[], debug: (l: string) => void): number {
  const fd = createRuleset({ handledFs: ALL, handledNet: lp.handledNet, scoped });
  try {
    for (const port of ports) addNetPortRule(fd, port, LANDLOCK_ACCESS_NET.CONNECT_TCP);
    for (const rule of spreadRules(places, listEntries)) {
      const at = tryOpenAt(-100, rule.path, O.PATH | (rule.listed ? O.NOFOLLOW : 0));
      if (at < 0) continue; // gone since it was listed, or never there: nothing to allow
      try {
        const granted = addPathRule(fd, at, rule.rights, rule.path);
        debug(`landlock: ${rule.path} ${rightsWords(granted)}`);
      } finally {
        closeQuiet(at);
      }
    }
  } catch (e) {
    closeQuiet(fd);
    throw e;
  }
  return fd;
}

/** The translation, with a refusal said as one line naming the option and why namespaces are out. */
function translate(plan: Plan, why: string, auto: boolean, debug: (l: string) => void): LandlockPlan {
  try {
    const ops = earlyPhase(optimizeOperations(plan.ops), (op) => debug(`skipped (no source): ${describeOperation(op)}`));
    const lp = translateForLandlock(plan, ops, auto);
    checkHostPaths(lp);
    return lp;
  } catch (e) {
    if (e instanceof NeedsNamespaces) throw new SetupError(e.what, `needs namespaces, ${why}`);
    throw e;
  }
}

/**
 * Runs `plan` confined by Landlock; `why` says why namespaces are not used ("which this host
 * refuses: ..."). Returns only by throwing a SetupError.
 */
export function runLandlock(plan: Plan, rt: StageRuntime, why: string, auto: boolean): never {
  const debug = plan.debug ? (line: string) => rawStderr(`sandbox: ${line}`) : () => {};
  const callerUmask = umask(0);
  const status = landlockStatus();
  debug(`confinement: landlock (${status.abi > 0 ? `ABI ${status.abi}` : "unavailable"}), no namespaces: ${why}`);
  const lp = translate(plan, why, auto, debug);
  for (const n of lp.notes) debug(n);
  const short = landlockShortfall(lp.needs, status);
  if (short.length) throw new SetupError("--confinement landlock", `this kernel cannot enforce the plan: ${short.join("; ")}`);
  const scoped = lp.scoped | ALWAYS_SCOPED | (plan.harden ? LANDLOCK_SCOPE.SIGNAL | LANDLOCK_SCOPE.ABSTRACT_UNIX_SOCKET : 0n);
  if (plan.harden) for (const m of describeMissing(status, { scoped })) rawStderr(`sandbox: warning: --harden: ${m}; the rest applies`);
  const places = lp.places.map((p) => ({ path: canonical(p.path), rights: p.rights }));
  let tmp: PrivateTmp | null = null;
  let env = { ...plan.env };
  let ports: number[] = [];
  try {
    if (lp.proxied) {
      const p = startHostProxy(plan, rt.statusFd);
      env = retargetProxyEnv(env, p);
      ports = [p.http, p.socks];
      debug(`network: proxies on the host's 127.0.0.1:${p.http} (HTTP) and 127.0.0.1:${p.socks} (SOCKS5); TCP connect to these ports only`);
    }
    if (lp.tmpdirIn) {
      tmp = makePrivateTmp(lp.tmpdirIn);
      places.push({ path: tmp.path, rights: ALL });
      env.TMPDIR = tmp.path;
      debug(`TMPDIR=${tmp.path} (removed when the command has ended)`);
    }
    const ruleset = buildRuleset(lp, places, scoped, ports, debug);
    const caps = commandCaps(plan, false, false);
    if (caps) keepCapabilities(caps);
    if (tmp) superviseTmp(tmp);
    // The host's /proc, for the limits' watcher and the namespaces the ready event names.
    const proc = tryOpen("/proc", O.PATH | O.DIRECTORY);
    try {
      watchLimits(plan, { procFd: proc, statusFd: rt.statusFd, kernelCountsPids: false });
      if (rt.statusFd !== undefined) writeStatus(rt.statusFd, { event: "ready", namespaces: proc >= 0 ? namespaceIdsAt(proc) : {}, confinement: "landlock" });
    } finally {
      closeQuiet(proc);
    }
    return execCommand({ ...plan, env }, {
      umask: callerUmask, suppressChown: chownSuppressed(plan, false), statusFd: rt.statusFd,
      beforeExec: () => applyRlimits(plan.limits, false), landlock: { fd: ruleset, extraRules: lp.rules },
    });
  } catch (e) {
    if (tmp) removeTree(tmp.parentFd, tmp.name);
    throw e instanceof SetupError ? e : new SetupError("landlock", e);
  }
}

/**
 * With a private TMPDIR something must outlive the command to remove it: this process. The child
 * goes on to exec; here we forward signals, wait, remove the directory and exit with its status.
 */
function superviseTmp(tmp: PrivateTmp): void {
  blockSupervisedSignals();
  const child = fork();
  if (child === 0) {
    setParentDeathSignal(SIG.KILL);
    closeQuiet(tmp.parentFd);
    return;
  }
  const status = superviseUntilExit(child, { reapAll: false, keep: [tmp.parentFd, 2] });
  try {
    removeTree(tmp.parentFd, tmp.name);
  } catch (e) {
    rawStderr(`sandbox: removing TMPDIR ${tmp.path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  exitLike(status);
}
