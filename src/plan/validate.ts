// Whole-plan validation: every field checked, errors name the field.
import type { Plan } from "./types.ts";
import { emptyPlan } from "./types.ts";
import { PlanError, requireAbsolute, requireBool, requireString } from "./errors.ts";
import { validateOperation } from "./ops/index.ts";
import { normalizeAbsolute } from "./paths.ts";
import { capName } from "./caps.ts";
import { CONFINEMENTS } from "./landlock.ts";
import { validateLimits } from "./limits.ts";
import { parseHostPattern } from "./network.ts";

const BOOL_FIELDS = [
  "becomeRoot", "mapSubids", "unshareNet", "unshareIpc", "unsharePid", "unshareUts", "unshareCgroup",
  "suppressChown", "suppressSync", "newSessionKeyring", "newSession", "dieWithParent", "packFds", "suspend", "debug",
  "harden", "disableUserns",
] as const satisfies readonly (keyof Plan)[];

export interface ValidateOptions {
  /** A plan without a command yet (toPlan() of a builder) is fine when false. */
  requireCommand?: boolean;
}

export function validatePlan(plan: Plan, opts: ValidateOptions = {}): Plan {
  if (typeof plan !== "object" || plan === null) throw new PlanError("plan", "must be an object");
  const known = new Set(Object.keys(emptyPlan()));
  for (const k of Object.keys(plan)) if (!known.has(k)) throw new PlanError(k, `unknown plan field (known: ${[...known].join(", ")})`);
  if (!Array.isArray(plan.argv)) throw new PlanError("argv", "must be a list of strings");
  if (plan.argv.length === 0 && opts.requireCommand !== false) throw new PlanError("argv", "needs at least the command to run");
  plan.argv.forEach((a, i) => requireString(`argv[${i}]`, a));
  if (plan.argv.length > 0 && plan.argv[0] === "") throw new PlanError("argv[0]", "the command name is empty");
  if (typeof plan.env !== "object" || plan.env === null) throw new PlanError("env", "must be an object of strings");
  for (const [k, v] of Object.entries(plan.env)) {
    if (k === "" || k.includes("=") || k.includes("\0")) throw new PlanError(`env.${k}`, "invalid variable name");
    requireString(`env.${k}`, v);
  }
  requireAbsolute("cwd", plan.cwd);
  if (!Array.isArray(plan.ops)) throw new PlanError("ops", "must be a list of operations");
  plan.ops.forEach((op, i) => validateOperation(op, `ops[${i}]`));
  validateDirModesUse(plan);
  for (const k of BOOL_FIELDS) requireBool(k, plan[k]);
  plan.ops.forEach((op, i) => {
    if ((op.kind === "mqueue" || (op.kind === "dev" && op.mqueue)) && !plan.unshareIpc) {
      throw new PlanError(`ops[${i}]`, "a private mqueue needs an IPC namespace: set unshareIpc (CLI --unshare-ipc, library .unshareIpc())");
    }
  });
  if (plan.hostname !== null) {
    requireString("hostname", plan.hostname);
    if (plan.hostname.length === 0 || plan.hostname.length > 64) throw new PlanError("hostname", "must be 1 to 64 characters");
    if (!plan.unshareUts) throw new PlanError("hostname", "setting a hostname needs a UTS namespace (unshareUts)");
  }
  if (plan.seal !== null) requireBool("seal", plan.seal);
  validateCapChanges(plan);
  validateLimits(plan.limits);
  validateAllowHosts(plan);
  if (!CONFINEMENTS.includes(plan.confinement)) throw new PlanError("confinement", `must be one of ${CONFINEMENTS.join(", ")}`);
  if (!Array.isArray(plan.fds) || plan.fds.some((fd) => !Number.isInteger(fd) || fd < 3)) {
    throw new PlanError("fds", "must be a list of fd numbers above 2 (stdio is always passed)");
  }
  return plan;
}

/** Directory modes build the root themselves: at most one set, and nothing else may replace "/". */
function validateDirModesUse(plan: Plan): void {
  const at = plan.ops.map((op, i) => (op.kind === "dirmodes" ? i : -1)).filter((i) => i >= 0);
  if (at.length === 0) return;
  if (at.length > 1) throw new PlanError(`ops[${at[1]}]`, "a plan has at most one set of directory modes; put every directory in one dirmodes operation");
  plan.ops.forEach((op, i) => {
    if ((op.kind === "bind" || op.kind === "tmpfs" || op.kind === "overlay") && normalizeAbsolute(op.dst) === "/") {
      throw new PlanError(`ops[${i}]`, `a ${op.kind} on / cannot be combined with directory modes, which build the root from the host's mounts; drop one (e.g. --read-only-dir / instead of --ro-bind / /)`);
    }
  });
}

/** Known names only; --harden's empty set cannot be widened. */
function validateCapChanges(plan: Plan): void {
  if (!Array.isArray(plan.capChanges)) throw new PlanError("capChanges", "must be a list of { add, cap }");
  plan.capChanges.forEach((c, i) => {
    if (typeof c !== "object" || c === null || typeof c.add !== "boolean" || typeof c.cap !== "string" || capName(c.cap) !== c.cap) {
      throw new PlanError(`capChanges[${i}]`, `unknown capability ${JSON.stringify((c as { cap?: unknown })?.cap)}; use a name like sys_admin (CAP_ prefix and case do not matter) or ALL`);
    }
    if (c.add && plan.harden) throw new PlanError(`capChanges[${i}]`, "--harden gives the command no capabilities; --cap-add cannot widen that (drop --harden, or the --cap-add)");
  });
}

/** Each pattern parses; a policy needs the network namespace its proxies listen in. */
function validateAllowHosts(plan: Plan): void {
  if (!Array.isArray(plan.allowHosts)) throw new PlanError("allowHosts", "must be a list of host patterns");
  plan.allowHosts.forEach((p, i) => {
    try {
      parseHostPattern(requireString(`allowHosts[${i}]`, p));
    } catch (e) {
      if (e instanceof PlanError) throw e;
      throw new PlanError(`allowHosts[${i}]`, (e as Error).message);
    }
  });
  if (plan.allowHosts.length && !plan.unshareNet) throw new PlanError("allowHosts", "needs a network namespace: set unshareNet (the CLI's --allow-host and the library's allowHosts() do)");
}
