// The library's way into a running process's namespaces (`sandbox --enter PID` for Bun
// programs): enter(pid) describes where to go, spawn()/spawnSync() run commands there exactly
// like a sandbox's (same options, same results, same exit, kill, timeout and onExit behaviour).
//
//   import { enter } from "bun-sandbox";
//   const r = enter(pid, { namespaces: "net,mnt" }).spawnSync(["ip", "addr"]);
//
// The host process is multithreaded and must never call setns itself: each command goes to the
// single-threaded stage server, whose forked child enters the namespaces (src/stage/enter.ts).
import { normalizeNamespaces, requirePid, validateEnterSpec, type EnterSpec } from "../plan/enter.ts";
import { PlanError, requireAbsolute } from "../plan/errors.ts";
import type { NamespaceName } from "../sys/flags.ts";
import { SandboxProcess } from "./subprocess.ts";
import { spawnSyncJob } from "./sync.ts";
import type { SandboxSpawnOptions, SandboxSpawnSyncOptions, SandboxStatus, SandboxSubprocess, SandboxSyncResult, StdioOption } from "./types.ts";

export interface EnterOptions {
  /**
   * Namespaces to enter, "net,ipc" or ["net", "ipc"], from user, mnt, pid, net, ipc, uts,
   * cgroup, time. Default: every one that differs from this process's. Namespaces the target
   * shares with this process are skipped either way.
   */
  namespaces?: string | readonly string[];
  /** Working directory inside the target's root (default: the target's own when reachable, else "/"). */
  cwd?: string;
  /** Environment of the commands (default: process.env at spawn time); a spawn's env replaces it. */
  env?: Record<string, string | undefined>;
  /** Use the shared warm stage server (default); false or BUN_SANDBOX_WARM=0: a fresh stage per command. */
  warm?: boolean;
  /** Called with the command's host pid and namespace ids once it runs, and with its exit status. */
  onStatus?: (status: SandboxStatus) => void;
}

/** The namespaces of one process, ready to run commands in. Immutable. */
export class EnteredNamespaces {
  readonly pid: number;
  readonly namespaces: readonly NamespaceName[] | null;
  private readonly cwd: string | null;
  private readonly env: Readonly<Record<string, string | undefined>> | null;
  private readonly warm: boolean;
  private readonly onStatus: ((s: SandboxStatus) => void) | null;

  /** @internal */
  constructor(pid: number, options: EnterOptions = {}) {
    this.pid = requirePid("enter()", pid);
    if (options.namespaces !== undefined) {
      try {
        this.namespaces = normalizeNamespaces(options.namespaces);
      } catch (e) {
        throw new PlanError("enter().namespaces", (e as Error).message);
      }
    } else {
      this.namespaces = null;
    }
    this.cwd = options.cwd === undefined ? null : requireAbsolute("enter().cwd", options.cwd);
    this.env = options.env === undefined ? null : { ...options.env };
    this.warm = options.warm ?? true;
    this.onStatus = options.onStatus ?? null;
  }

  /** The request the stage would run for `cmd` (plain data, validated). */
  toSpec(cmd: readonly string[], options: Pick<SandboxSpawnOptions, "cwd" | "env"> = {}): EnterSpec {
    if (!Array.isArray(cmd) || cmd.length === 0) throw new PlanError("spawn()", "needs a command: spawn([\"program\", ...args])");
    const base = options.env ?? this.env ?? process.env;
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v;
    const cwd = options.cwd !== undefined ? requireAbsolute("spawn().cwd", options.cwd) : this.cwd;
    return validateEnterSpec({ pid: this.pid, namespaces: this.namespaces === null ? null : [...this.namespaces], cwd, argv: [...cmd], env, fds: [] });
  }

  /** Runs `cmd` in the namespaces; like Bun.spawn (and a sandbox's spawn). */
  spawn<const In extends StdioOption = "ignore", const Out extends StdioOption = "pipe", const Err extends StdioOption = "inherit">(
    cmd: readonly string[], options: SandboxSpawnOptions<In, Out, Err> = {},
  ): SandboxSubprocess<In, Out, Err> {
    return new SandboxProcess({ enter: this.toSpec(cmd, options) }, options, this.warm, this.onStatus);
  }

  /** Runs `cmd` in the namespaces and waits; like Bun.spawnSync (and a sandbox's spawnSync). */
  spawnSync<const Out extends StdioOption = "pipe", const Err extends StdioOption = "pipe">(
    cmd: readonly string[], options: SandboxSpawnSyncOptions<Out, Err> = {},
  ): SandboxSyncResult<Out, Err> {
    return spawnSyncJob({ enter: this.toSpec(cmd, options) }, options, this.warm, this.onStatus);
  }
}

/** The namespaces of process `pid` (as this process sees it), to spawn commands in. */
export function enter(pid: number, options: EnterOptions = {}): EnteredNamespaces {
  return new EnteredNamespaces(pid, options);
}
