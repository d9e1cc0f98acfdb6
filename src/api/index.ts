// bun-sandbox as a library: describe a sandbox, spawn commands in it like Bun.spawn.
//
//   import { sandbox } from "bun-sandbox";
//   const base = sandbox().roBind("/", "/").dev("/dev").proc("/proc").tmpfs("/tmp").unshareNet();
//   const p = base.bind("./out", "/out").spawn(["make", "-C", "/out"]);
//   await p.exited;
//
//   import { enter } from "bun-sandbox";
//   enter(p.pid).spawnSync(["ip", "addr"]);   // a command in the namespaces of a running process
// First: without the C library, one line instead of a trace from one of the imports below.
import "./preflight.ts";
import { Sandbox, type SandboxOptions } from "./builder.ts";
import type { Plan } from "../plan/types.ts";
import { shutdownWarmServer, warmServerPid } from "./server.ts";

/** A new, empty sandbox description (an empty tmpfs-less root until operations are added). */
export function sandbox(options: SandboxOptions = {}): Sandbox {
  return Sandbox.create(options);
}

/** Rebuilds a sandbox from a plan produced by toPlan(). */
sandbox.fromPlan = (plan: Plan, options: SandboxOptions = {}): Sandbox => Sandbox.fromPlan(plan, options);

/** Stops accepting work on the warm stage server; it exits when its sandboxes have ended. */
sandbox.shutdown = (): void => shutdownWarmServer();

/** Host pid of the warm stage server, or null when none runs (for diagnostics and tests). */
sandbox.warmServerPid = (): number | null => warmServerPid();

export { Sandbox };
export { enter, EnteredNamespaces, type EnterOptions } from "./enter.ts";
export type { LimitOptions } from "./builder.ts";
export type { SandboxOptions, TmpfsOptions, OverlayLayers, BindOptions, DevOptions, SymlinkOptions, DataOptions } from "./builder.ts";
export { SandboxError } from "./types.ts";
export type { SandboxSpawnOptions, SandboxSpawnSyncOptions, SandboxSubprocess, SandboxSyncResult, SandboxStatus, StdioOption } from "./types.ts";
export type { Plan, Operation, DirMode } from "../plan/types.ts";
export { PlanError } from "../plan/errors.ts";
