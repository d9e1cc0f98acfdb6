// The library's front door: an immutable description of a sandbox, extended with chainable
// methods that mirror the CLI options, and spawned like Bun.spawn.
import type { BindOp, CapChange, DirMode, DirModeEntry, DirModesOp, Operation, Plan } from "../plan/types.ts";
import { capName } from "../plan/caps.ts";
import { emptyPlan } from "../plan/types.ts";
import { validateOperation } from "../plan/ops/index.ts";
import { validatePlan } from "../plan/validate.ts";
import { PlanError, requireMode, requireString } from "../plan/errors.ts";
import { absolutize } from "../plan/paths.ts";
import { checkNumaNodes, checkTmpfsSize, DIR_MODES } from "../plan/ops/dirmodes.ts";
import { SandboxProcess } from "./subprocess.ts";
import { spawnSyncJob } from "./sync.ts";
import { planToArgs } from "./args.ts";
import { CONFINEMENTS, type Confinement } from "../plan/landlock.ts";
import { noLimits, type Limits } from "../plan/limits.ts";
import { parseHostPattern, proxyEnv } from "../plan/network.ts";
import type { RlimitName } from "../sys/rlimit.ts";
import type { SandboxSpawnOptions, SandboxSpawnSyncOptions, SandboxStatus, SandboxSubprocess, SandboxSyncResult, StdioOption } from "./types.ts";

type Flag =
  | "becomeRoot" | "mapSubids" | "unshareNet" | "unshareIpc" | "unsharePid" | "unshareUts" | "unshareCgroup"
  | "suppressChown" | "suppressSync" | "newSessionKeyring" | "newSession" | "dieWithParent" | "packFds" | "debug"
  | "harden" | "disableUserns";

/** The directory-mode settings, gathered into one dirmodes operation by toPlan(). */
interface DirModesState {
  modes: readonly DirModeEntry[];
  tmpfsSize?: string;
  tmpfsNuma?: string;
  outputDir?: string;
}

interface State {
  ops: readonly Operation[];
  dirModes: DirModesState;
  flags: Readonly<Record<Flag, boolean>>;
  hostname: string | null;
  setenv: readonly (readonly [string, string])[];
  unsetenv: readonly string[];
  chdir: string | null;
  /** Complete environment (from fromPlan); null: the spawn's env or process.env. */
  env: Readonly<Record<string, string>> | null;
  onStatus: ((s: SandboxStatus) => void) | null;
  warm: boolean;
  /** See Plan.seal: the library seals by default, as real root too. */
  seal: boolean | null;
  confinement: Confinement;
  limits: Limits;
  allowHosts: readonly string[];
  capChanges: readonly CapChange[];
}

export interface SandboxOptions {
  /**
   * Use the shared warm stage server (default). false, or BUN_SANDBOX_WARM=0 in the
   * environment, starts a fresh stage process per spawn instead.
   */
  warm?: boolean;
  /**
   * What confines the command: "namespaces" (the default), "landlock" (no namespaces: Landlock
   * rules, seccomp and no_new_privs; such sandboxes are always forked) or "auto" (namespaces
   * where this host allows them, else landlock). docs/landlock.md's table says how a plan translates.
   */
  confinement?: Confinement;
}

export interface TmpfsOptions {
  /** Size in bytes. */
  size?: number;
  /** Mode of the tmpfs root (default 0755, 01777 under /tmp and /var/tmp). */
  mode?: number;
  /** An empty read-only tmpfs (to hide what is below, or as a read-only mount point). */
  readonly?: boolean;
}

/** Flags of a bind (hakurei's BindOptional / BindWritable / BindDevice). */
export interface BindOptions {
  /** Writable; default true for bind(). */
  writable?: boolean;
  /** Skip silently when the source is missing (like bindTry()). */
  optional?: boolean;
  /**
   * Device nodes in it can be opened; default true (mkosi-sandbox's semantics). false mounts
   * it nodev, as hakurei does by default: opening a device node then fails with EACCES.
   */
  device?: boolean;
  /** Bind a symlink source itself instead of what it points to. */
  nofollow?: boolean;
}

export interface DevOptions {
  /** A private mqueue on DST/mqueue (needs unshareIpc()). */
  mqueue?: boolean;
}

export interface SymlinkOptions {
  /**
   * `target` is the path of a host symlink whose target the new symlink gets (read on the host
   * when the sandbox is set up).
   */
  dereference?: boolean;
}

export interface DataOptions {
  /** Mode of the file (default 0444 for roBindData(), 0644 for bindData()). */
  mode?: number;
}

export interface OverlayLayers {
  /** Lower directories, bottom first. */
  lower: string[];
  /** Upper directory, or "tmpfs" for a fresh one; omitted: read-only (needs two lower dirs). */
  upper?: string;
  /** Work directory on the upper directory's filesystem (not with "tmpfs"). */
  work?: string;
}

const FLAGS: Flag[] = [
  "becomeRoot", "mapSubids", "unshareNet", "unshareIpc", "unsharePid", "unshareUts", "unshareCgroup",
  "suppressChown", "suppressSync", "newSessionKeyring", "newSession", "dieWithParent", "packFds", "debug",
  "harden", "disableUserns",
];

const abs = (p: string) => absolutize(p, process.cwd());

/** Rejects option objects with unknown keys or non-boolean flags, naming the method. */
function checkOptions(method: string, options: object, booleans: readonly string[], others: readonly string[] = []): void {
  if (typeof options !== "object" || options === null) throw new PlanError(`${method}()`, "options must be an object");
  for (const [k, v] of Object.entries(options)) {
    if (!booleans.includes(k) && !others.includes(k)) throw new PlanError(`${method}().${k}`, `unknown option (known: ${[...booleans, ...others].join(", ")})`);
    if (booleans.includes(k) && v !== undefined && typeof v !== "boolean") throw new PlanError(`${method}().${k}`, "must be true or false");
  }
}

const BIND_FLAGS = ["writable", "optional", "device", "nofollow"] as const;

/** What limits() takes. */
export interface LimitOptions {
  memory?: number;
  cpuTime?: number;
  wallTime?: number;
  pids?: number;
  openFiles?: number;
  fileSize?: number;
  core?: number;
  stack?: number;
}

const WATCHED = ["memory", "cpuTime", "wallTime", "pids"] as const;
const RLIMIT_OPTIONS = { openFiles: "nofile", fileSize: "fsize", core: "core", stack: "stack" } as const;

function confinementOf(options: SandboxOptions, fallback: Confinement): Confinement {
  const c = options.confinement ?? fallback;
  if (!CONFINEMENTS.includes(c)) throw new PlanError("sandbox().confinement", `must be one of ${CONFINEMENTS.join(", ")}`);
  return c;
}

export class Sandbox {
  private constructor(private readonly s: State) {}

  /** @internal */
  static create(options: SandboxOptions = {}): Sandbox {
    const flags = Object.fromEntries(FLAGS.map((f) => [f, false])) as Record<Flag, boolean>;
    checkOptions("sandbox", options, ["warm"], ["confinement"]);
    return new Sandbox({
      ops: [], dirModes: { modes: [] }, flags, hostname: null, setenv: [], unsetenv: [], chdir: null, env: null, onStatus: null,
      warm: options.warm ?? true, seal: true, capChanges: [], confinement: confinementOf(options, "namespaces"), limits: noLimits(), allowHosts: [],
    });
  }

  /** Rebuilds a sandbox from a plan (toPlan's output); the plan's env becomes the base environment. */
  static fromPlan(plan: Plan, options: SandboxOptions = {}): Sandbox {
    validatePlan(plan, { requireCommand: false });
    const flags = Object.fromEntries(FLAGS.map((f) => [f, plan[f]])) as Record<Flag, boolean>;
    const dm = plan.ops.find((op): op is DirModesOp => op.kind === "dirmodes");
    const { kind: _kind, ...dirModes } = dm ? structuredClone(dm) : { kind: "dirmodes", modes: [] };
    return new Sandbox({
      ops: plan.ops.filter((op) => op.kind !== "dirmodes").map((op) => structuredClone(op)), dirModes, flags, hostname: plan.hostname, setenv: [], unsetenv: [],
      chdir: plan.cwd, env: { ...plan.env }, onStatus: null, warm: options.warm ?? true, seal: plan.seal,
      capChanges: plan.capChanges.map((c) => ({ ...c })), confinement: confinementOf(options, plan.confinement), limits: structuredClone(plan.limits), allowHosts: [...plan.allowHosts],
    });
  }

  private with(patch: Partial<State>): Sandbox {
    return new Sandbox({ ...this.s, ...patch });
  }

  private op(method: string, op: Operation): Sandbox {
    validateOperation(op, `${method}()`);
    return this.with({ ops: [...this.s.ops, op] });
  }

  private flag(f: Flag): Sandbox {
    return this.with({ flags: { ...this.s.flags, [f]: true } });
  }

  private bindOp(method: string, src: string, dst: string, readonly: boolean, optional: boolean, nofollow: boolean, device?: boolean): Sandbox {
    if (typeof src !== "string" || typeof dst !== "string") throw new PlanError(`${method}()`, "needs a source and a destination path");
    const relative = src.startsWith("+");
    const op: BindOp = { kind: "bind", src: abs(relative ? src.slice(1) : src), dst: abs(dst), readonly, optional, relative, nofollow };
    if (device !== undefined) op.device = device;
    return this.op(method, op);
  }

  /**
   * Recursive bind, writable unless `writable: false`. A source starting with "+" is taken
   * inside the sandbox. `{ device: false }` mounts it nodev, `{ optional: true }` skips a
   * missing source.
   */
  bind(src: string, dst: string, options: BindOptions = {}): Sandbox {
    checkOptions("bind", options, BIND_FLAGS);
    return this.bindOp("bind", src, dst, !(options.writable ?? true), options.optional ?? false, options.nofollow ?? false, options.device);
  }
  /** Recursive bind, read-only on every submount; options as bind() except `writable`. */
  roBind(src: string, dst: string, options: Omit<BindOptions, "writable"> = {}): Sandbox {
    checkOptions("roBind", options, BIND_FLAGS.filter((f) => f !== "writable"));
    return this.bindOp("roBind", src, dst, true, options.optional ?? false, options.nofollow ?? false, options.device);
  }
  bindTry(src: string, dst: string): Sandbox {
    return this.bindOp("bindTry", src, dst, false, true, false);
  }
  roBindTry(src: string, dst: string): Sandbox {
    return this.bindOp("roBindTry", src, dst, true, true, false);
  }
  bindNofollow(src: string, dst: string): Sandbox {
    return this.bindOp("bindNofollow", src, dst, false, false, true);
  }
  roBindNofollow(src: string, dst: string): Sandbox {
    return this.bindOp("roBindNofollow", src, dst, true, false, true);
  }
  /** A new tmpfs; `size` limits it (ENOSPC beyond), `mode` is its root's, `readonly` leaves it empty and read-only. */
  tmpfs(dst: string, options: TmpfsOptions = {}): Sandbox {
    checkOptions("tmpfs", options, ["readonly"], ["size", "mode"]);
    return this.op("tmpfs", {
      kind: "tmpfs", dst: abs(dst), ...(options.size !== undefined ? { size: options.size } : {}), ...(options.mode !== undefined ? { mode: options.mode } : {}),
      ...(options.readonly !== undefined ? { readonly: options.readonly } : {}),
    });
  }
  /** A minimal /dev; `{ mqueue: true }` adds a private mqueue on DST/mqueue (needs unshareIpc()). */
  dev(dst: string, options: DevOptions = {}): Sandbox {
    checkOptions("dev", options, ["mqueue"]);
    return this.op("dev", { kind: "dev", dst: abs(dst), console: null, ...(options.mqueue ? { mqueue: true } : {}) });
  }
  /** A private mqueue filesystem on dst (needs unshareIpc()). */
  mqueue(dst: string): Sandbox {
    return this.op("mqueue", { kind: "mqueue", dst: abs(dst) });
  }
  proc(dst: string): Sandbox {
    return this.op("proc", { kind: "proc", dst: abs(dst) });
  }
  dir(dst: string, options: { mode?: number } = {}): Sandbox {
    if (options.mode !== undefined) requireMode("dir().mode", options.mode);
    return this.op("dir", { kind: "dir", dst: abs(dst), ...(options.mode !== undefined ? { mode: options.mode } : {}) });
  }
  /** A symlink dst -> target; with `{ dereference: true }` target is a host symlink whose target is used. */
  symlink(target: string, dst: string, options: SymlinkOptions = {}): Sandbox {
    checkOptions("symlink", options, ["dereference"]);
    if (options.dereference) return this.op("symlink", { kind: "symlink", target: abs(target), dst: abs(dst), dereference: true });
    return this.op("symlink", { kind: "symlink", target, dst: abs(dst) });
  }
  write(data: string, dst: string): Sandbox {
    return this.op("write", { kind: "write", data, dst: abs(dst) });
  }
  /** An overlay of `layers` on dst; the three forms below say which kind it is. */
  overlay(layers: OverlayLayers, dst: string): Sandbox {
    const upper = layers.upper === undefined ? null : layers.upper === "tmpfs" ? "tmpfs" : abs(layers.upper);
    return this.op("overlay", { kind: "overlay", lower: (layers.lower ?? []).map(abs), upper, work: layers.work === undefined ? null : abs(layers.work), dst: abs(dst) });
  }
  /** Writes land in the host directory `upper` (`work`: an empty directory on the same filesystem). */
  overlayPersistent(lower: string[], upper: string, work: string, dst: string): Sandbox {
    if (upper === "tmpfs") throw new PlanError("overlayPersistent().upper", `"tmpfs" is not a directory; use overlayEphemeral() for a fresh upper layer`);
    return this.overlay({ lower, upper, work }, dst);
  }
  /** Writable, with a fresh tmpfs as the upper layer: writes vanish with the sandbox. */
  overlayEphemeral(lower: string[], dst: string): Sandbox {
    return this.overlay({ lower, upper: "tmpfs" }, dst);
  }
  /** Read-only (writes fail with EROFS); needs at least two lower directories. */
  overlayReadonly(lower: string[], dst: string): Sandbox {
    return this.overlay({ lower }, dst);
  }
  /**
   * Changes the flags of the mount at dst after every mount operation: `options` is a mount
   * option string such as "ro,nosuid,nodev" ("rec": every mount below dst too). Flags not
   * named are kept, so flags the host locked in a user namespace stay.
   */
  remount(dst: string, options: string): Sandbox {
    return this.op("remount", { kind: "remount", dst: abs(dst), options });
  }
  /** remount(dst, "ro"). */
  remountRo(dst: string): Sandbox {
    return this.remount(dst, "ro");
  }
  /** A read-only file holding `data` at dst (hakurei's placed file); never written to the host. */
  roBindData(data: string | Uint8Array, dst: string, options: DataOptions = {}): Sandbox {
    return this.dataOp("roBindData", data, dst, true, options);
  }
  /** A writable file holding `data` at dst; writes stay in the sandbox. */
  bindData(data: string | Uint8Array, dst: string, options: DataOptions = {}): Sandbox {
    return this.dataOp("bindData", data, dst, false, options);
  }
  private dataOp(method: string, data: string | Uint8Array, dst: string, readonly: boolean, options: DataOptions): Sandbox {
    checkOptions(method, options, [], ["mode"]);
    if (typeof data !== "string" && !(data instanceof Uint8Array)) throw new PlanError(`${method}()`, "data must be a string or a Uint8Array");
    const base64 = Buffer.from(data).toString("base64");
    return this.op(method, { kind: "file", dst: abs(dst), base64, readonly, ...(options.mode !== undefined ? { mode: options.mode } : {}) });
  }
  /** chmod of path in the sandbox, after every mount operation. */
  chmod(path: string, mode: number): Sandbox {
    return this.op("chmod", { kind: "chmod", dst: abs(path), mode });
  }
  /**
   * Directory modes (BenchExec's container mode): the root becomes a private copy of all of the
   * host's mounts and each mount point gets the mode of its nearest configured directory:
   * "hidden" (an empty directory), "read-only", "overlay" (writes land in the sandbox's tmpfs) or
   * "full-access" (writes reach the host). Without a mode for "/", "/" is overlay and /run and
   * /tmp are hidden. Other operations apply on top. A `dir` missing on the host fails the spawn
   * unless `{ optional: true }` (the CLI's -try forms), which skips it.
   */
  dirMode(dir: string, mode: DirMode, options: { optional?: boolean } = {}): Sandbox {
    if (typeof dir !== "string" || dir === "") throw new PlanError("dirMode()", "needs a directory");
    if (!DIR_MODES.includes(mode)) throw new PlanError("dirMode()", `unknown directory mode ${JSON.stringify(mode)} (known: ${DIR_MODES.join(", ")})`);
    checkOptions("dirMode", options, ["optional"]);
    const path = abs(dir);
    const before = this.s.dirModes.modes.find((m) => m.dir === path);
    if (before && before.mode !== mode) throw new PlanError("dirMode()", `${path} already has mode ${before.mode}; give one mode per directory`);
    // Given once as required, it stays required.
    const optional = options.optional === true && (!before || before.optional === true);
    const entry: DirModeEntry = { dir: path, mode, ...(optional ? { optional } : {}) };
    const modes = before ? this.s.dirModes.modes.map((m) => (m === before ? entry : m)) : [...this.s.dirModes.modes, entry];
    return this.with({ dirModes: { ...this.s.dirModes, modes } });
  }
  /**
   * After the command has ended, the files it wrote in overlay directories are copied to `dir`
   * (on the host) under their paths in the sandbox. Needs directory modes.
   */
  outputDir(dir: string): Sandbox {
    if (typeof dir !== "string" || dir === "") throw new PlanError("outputDir()", "needs a directory");
    return this.with({ dirModes: { ...this.s.dirModes, outputDir: abs(dir) } });
  }
  /** Size of the tmpfs holding overlay writes and hidden directories: bytes, or "512m", "50%" (default "100%"). */
  tmpfsSize(size: number | string): Sandbox {
    const s = typeof size === "number" ? String(size) : size;
    const why = checkTmpfsSize(s);
    if (why) throw new PlanError("tmpfsSize()", why);
    return this.with({ dirModes: { ...this.s.dirModes, tmpfsSize: s } });
  }
  /** Binds the memory of that tmpfs to NUMA nodes: "0", "0-1,3" or a list of node numbers. */
  tmpfsNuma(nodes: string | readonly number[]): Sandbox {
    const s = typeof nodes === "string" ? nodes : nodes.join(",");
    const why = checkNumaNodes(s);
    if (why) throw new PlanError("tmpfsNuma()", why);
    return this.with({ dirModes: { ...this.s.dirModes, tmpfsNuma: s } });
  }
  setenv(name: string, value: string): Sandbox {
    if (typeof name !== "string" || name === "" || name.includes("=") || name.includes("\0")) throw new PlanError("setenv()", `invalid variable name ${JSON.stringify(name)}`);
    return this.with({ setenv: [...this.s.setenv, [name, requireString("setenv()", String(value))]] });
  }
  unsetenv(name: string): Sandbox {
    return this.with({ unsetenv: [...this.s.unsetenv, name] });
  }
  /** Working directory inside the sandbox (default "/"). */
  chdir(dir: string): Sandbox {
    return this.with({ chdir: abs(dir) });
  }
  becomeRoot(): Sandbox {
    return this.flag("becomeRoot");
  }
  mapSubids(): Sandbox {
    return this.flag("mapSubids").flag("becomeRoot");
  }
  suppressChown(): Sandbox {
    return this.flag("suppressChown");
  }
  suppressSync(): Sandbox {
    return this.flag("suppressSync");
  }
  unshareNet(): Sandbox {
    return this.flag("unshareNet");
  }
  unshareIpc(): Sandbox {
    return this.flag("unshareIpc");
  }
  newSessionKeyring(): Sandbox {
    return this.flag("newSessionKeyring");
  }
  packFds(): Sandbox {
    return this.flag("packFds");
  }
  /** Print each applied operation to the sandbox's stderr. */
  debug(): Sandbox {
    return this.flag("debug");
  }
  /** A PID namespace: PID 1 is a small init that reaps orphans and forwards signals. */
  unsharePid(): Sandbox {
    return this.flag("unsharePid");
  }
  /** Every process of the sandbox dies when this process dies. */
  dieWithParent(): Sandbox {
    return this.flag("dieWithParent");
  }
  /** The command runs in a new session (setsid): no controlling terminal. */
  newSession(): Sandbox {
    return this.flag("newSession");
  }
  unshareUts(): Sandbox {
    return this.flag("unshareUts");
  }
  /** A UTS namespace with this hostname. */
  hostname(name: string): Sandbox {
    if (typeof name !== "string" || name.length === 0 || name.length > 64) throw new PlanError("hostname()", "must be 1 to 64 characters");
    requireString("hostname()", name);
    return this.flag("unshareUts").with({ hostname: name });
  }
  unshareCgroup(): Sandbox {
    return this.flag("unshareCgroup");
  }
  /**
   * Leave the mounts the sandbox makes changeable by its command (remount, unmount), for a flow
   * that must do that. The default seals them (see docs/threat-model.md). Such sandboxes are
   * always forked from the stage server, never built by a namespace worker.
   */
  unsealed(): Sandbox {
    return this.with({ seal: false });
  }
  /**
   * For untrusted code: no capabilities (all five sets empty), no_new_privs, no new user
   * namespaces, a seccomp filter refusing what a build does not need (src/plan/harden.ts), and
   * Landlock: writes only where the plan made a writable place, signals and abstract unix
   * sockets kept inside the sandbox (where the kernel has them; see docs/threat-model.md).
   */
  harden(): Sandbox {
    return this.flag("harden");
  }
  /** The command cannot make user namespaces (bubblewrap's --disable-userns). */
  disableUserns(): Sandbox {
    return this.flag("disableUserns");
  }
  /** Capabilities to give the command: "CAP_SYS_ADMIN", "sys_admin" or "ALL" (bubblewrap's --cap-add). */
  capAdd(...caps: string[]): Sandbox {
    return this.caps("capAdd", true, caps);
  }
  /** Capabilities to take from the command (or "ALL"; bubblewrap's --cap-drop). */
  capDrop(...caps: string[]): Sandbox {
    return this.caps("capDrop", false, caps);
  }
  private caps(method: string, add: boolean, caps: string[]): Sandbox {
    const changes = caps.map((c) => {
      const cap = typeof c === "string" ? capName(c) : null;
      if (cap === null) throw new PlanError(`${method}()`, `unknown capability ${JSON.stringify(c)}; use a name like CAP_SYS_ADMIN or sys_admin, or ALL`);
      return { add, cap };
    });
    return this.with({ capChanges: [...this.s.capChanges, ...changes] });
  }
  /**
   * Limits of the sandbox (merged with earlier ones): `memory` (bytes, resident, summed over its
   * processes), `cpuTime` (ms, summed), `wallTime` (ms), `pids` (processes at once) end it when
   * exceeded, reported as `Subprocess.limit`; `openFiles`, `fileSize` (bytes), `core` (bytes),
   * `stack` (bytes) are rlimits the command starts with. Such sandboxes run on the forked stage.
   */
  limits(limits: LimitOptions): Sandbox {
    checkOptions("limits", limits, [], [...WATCHED, ...Object.keys(RLIMIT_OPTIONS)]);
    const next: Limits = structuredClone(this.s.limits);
    for (const k of WATCHED) {
      const v = limits[k];
      if (v === undefined) continue;
      if (!Number.isSafeInteger(v) || v <= 0) throw new PlanError(`limits().${k}`, "must be a positive integer");
      next[k] = v;
    }
    for (const [k, resource] of Object.entries(RLIMIT_OPTIONS) as [keyof typeof RLIMIT_OPTIONS, RlimitName][]) {
      const v = limits[k];
      if (v === undefined) continue;
      if (!Number.isSafeInteger(v) || v < 0) throw new PlanError(`limits().${k}`, "must be a non-negative integer");
      next.rlimits = [...next.rlimits.filter((r) => r.resource !== resource), { resource, soft: v, hard: v }];
    }
    return this.with({ limits: next });
  }

  /**
   * Only these hosts are reachable, through an HTTP and a SOCKS5 proxy of ours outside the
   * sandbox (patterns: "registry.npmjs.org", "*.example.com", "127.0.0.1:3000", "[::1]:8080";
   * without a port, 80 and 443). Implies unshareNet(); the command's environment points its tools
   * at the proxies; each decision reaches onStatus as { type: "network", ... }.
   */
  allowHosts(...patterns: string[]): Sandbox {
    for (const p of patterns) {
      try {
        parseHostPattern(p);
      } catch (e) {
        throw new PlanError("allowHosts()", (e as Error).message);
      }
    }
    return this.with({ allowHosts: [...this.s.allowHosts, ...patterns] }).flag("unshareNet");
  }

  /** Called with the sandbox's host pid and namespace ids once it runs, and with its exit status. */
  onStatus(fn: (status: SandboxStatus) => void): Sandbox {
    return this.with({ onStatus: fn });
  }

  /** The plan the stage would run for `cmd` (default: none yet). */
  toPlan(cmd: readonly string[] = [], options: Pick<SandboxSpawnOptions, "cwd" | "env"> = {}): Plan {
    const base = options.env ?? this.s.env ?? process.env;
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v;
    for (const [k, v] of this.s.setenv) env[k] = v;
    for (const k of this.s.unsetenv) delete env[k];
    const plan: Plan = {
      ...emptyPlan(), ...this.s.flags, argv: [...cmd], env, cwd: options.cwd !== undefined ? abs(options.cwd) : (this.s.chdir ?? "/"),
      ops: this.s.ops.map((op) => structuredClone(op)), hostname: this.s.hostname, seal: this.s.seal,
      capChanges: this.s.capChanges.map((c) => ({ ...c })), confinement: this.s.confinement, limits: structuredClone(this.s.limits), allowHosts: [...this.s.allowHosts],
    };
    if (plan.allowHosts.length) {
      plan.unshareNet = true;
      for (const [k, v] of Object.entries(proxyEnv())) if (!this.s.setenv.some(([n]) => n === k) && !this.s.unsetenv.includes(k)) plan.env[k] = v;
    }
    const dm = this.s.dirModes;
    if (dm.modes.length > 0 || dm.outputDir !== undefined || dm.tmpfsSize !== undefined || dm.tmpfsNuma !== undefined) {
      plan.ops.unshift({ kind: "dirmodes", ...structuredClone(dm), modes: dm.modes.map((m) => ({ ...m })) });
    }
    return plan;
  }

  /** The equivalent `sandbox` command line (throws for settings the CLI does not have). */
  toArgs(cmd: readonly string[] = []): string[] {
    return planToArgs(this.toPlan(cmd, { env: {} }), { setenv: this.s.setenv, unsetenv: this.s.unsetenv, chdir: this.s.chdir });
  }

  private planFor(cmd: readonly string[], options: Pick<SandboxSpawnOptions, "cwd" | "env">): Plan {
    if (!Array.isArray(cmd) || cmd.length === 0) throw new PlanError("spawn()", "needs a command: spawn([\"program\", ...args])");
    return validatePlan(this.toPlan(cmd, options));
  }

  /** Runs `cmd` in the sandbox; like Bun.spawn (stdout piped, stderr inherited unless told otherwise). */
  spawn<const In extends StdioOption = "ignore", const Out extends StdioOption = "pipe", const Err extends StdioOption = "inherit">(
    cmd: readonly string[], options: SandboxSpawnOptions<In, Out, Err> = {},
  ): SandboxSubprocess<In, Out, Err> {
    return new SandboxProcess({ plan: this.planFor(cmd, options) }, options, this.s.warm, this.s.onStatus);
  }

  /** Runs `cmd` in the sandbox and waits; like Bun.spawnSync (stdout and stderr captured unless told otherwise). */
  spawnSync<const Out extends StdioOption = "pipe", const Err extends StdioOption = "pipe">(
    cmd: readonly string[], options: SandboxSpawnSyncOptions<Out, Err> = {},
  ): SandboxSyncResult<Out, Err> {
    return spawnSyncJob({ plan: this.planFor(cmd, options) }, options, this.s.warm, this.s.onStatus);
  }
}
