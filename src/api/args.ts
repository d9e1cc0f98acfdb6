// A plan as `sandbox` CLI arguments (the reverse of src/cli/args.ts for what the CLI can say).
// Option names and their argument counts come from the CLI's table (src/cli/options.ts), so a
// renamed option or a changed arity does not compile here.
import { emptyPlan, type BindOp, type Plan } from "../plan/types.ts";
import { PlanError } from "../plan/errors.ts";
import { defaultDirMode, formatMode, joinPath } from "../plan/paths.ts";
import { OPTIONS, optionOfMode, type ArgsOf, type OptionName } from "../cli/options.ts";

export interface EnvChanges {
  setenv: readonly (readonly [string, string])[];
  unsetenv: readonly string[];
  chdir: string | null;
}

/** The plan's switches no option sets (unsharePid, dieWithParent, ...). */
function libraryOnly(): (keyof Plan)[] {
  const plan = emptyPlan();
  const set = new Set(OPTIONS.flatMap((o) => (o.flag ? [o.flag] : (o.fields ?? []))));
  return (Object.keys(plan) as (keyof Plan)[]).filter((k) => typeof plan[k] === "boolean" && !set.has(k));
}

/** Option `name` with its arguments. */
const opt = <N extends OptionName>(name: N, ...values: ArgsOf<N>): string[] => [name, ...values];

const secs = (ms: number) => String(ms / 1000);
const rl = (v: number | null) => (v === null ? "unlimited" : String(v));

function limitArgs(plan: Plan): string[] {
  const l = plan.limits;
  const out: string[] = [];
  if (l.memory !== null) out.push(...opt("--memlimit", String(l.memory)));
  if (l.cpuTime !== null) out.push(...opt("--timelimit", secs(l.cpuTime)));
  if (l.wallTime !== null) out.push(...opt("--walltimelimit", secs(l.wallTime)));
  if (l.pids !== null) out.push(...opt("--pidlimit", String(l.pids)));
  for (const r of l.rlimits) out.push(...opt("--rlimit", `${r.resource}=${rl(r.soft)}:${rl(r.hard)}`));
  return out;
}

/** The bind option for a bind's flags (an optional nofollow one has none). */
function bindOption(op: BindOp): "--bind" | "--bind-try" | "--bind-nofollow" | "--ro-bind" | "--ro-bind-try" | "--ro-bind-nofollow" {
  const suffix = op.optional ? "-try" : op.nofollow ? "-nofollow" : "";
  return `--${op.readonly ? "ro-" : ""}bind${suffix}` as const;
}

export function planToArgs(plan: Plan, env: EnvChanges): string[] {
  // Sealing concerns the whole sandbox: first (the library seals by default, as real root too).
  const args: string[] = plan.seal === null ? [] : [plan.seal ? "--seal" : "--no-seal"];
  if (plan.confinement !== "namespaces") args.push(...opt("--confinement", plan.confinement));
  const unsupported = (field: string, what: string): never => {
    throw new PlanError(field, `${what} has no sandbox CLI option; toArgs() cannot express it`);
  };
  plan.ops.forEach((op, i) => {
    const field = `ops[${i}]`;
    switch (op.kind) {
      case "bind": {
        if (op.optional && op.nofollow) unsupported(field, "an optional nofollow bind");
        if (op.device === false) unsupported(`${field}.device`, "a nodev bind");
        args.push(...opt(bindOption(op), op.relative ? `+${op.src}` : op.src, op.dst));
        break;
      }
      case "tmpfs":
        if (op.readonly) unsupported(`${field}.readonly`, "a read-only tmpfs");
        if (op.size !== undefined) args.push(...opt("--size", String(op.size)));
        if (op.mode !== undefined && op.mode !== defaultDirMode(op.dst)) args.push(...opt("--perms", formatMode(op.mode)));
        args.push(...opt("--tmpfs", op.dst));
        break;
      case "dev":
        args.push(...opt("--dev", op.dst));
        if (op.mqueue) args.push(...opt("--mqueue", joinPath(op.dst, "mqueue")));
        break;
      case "proc":
        args.push(...opt("--proc", op.dst));
        break;
      case "dir":
        if (op.mode !== undefined && op.mode !== defaultDirMode(op.dst)) args.push(...opt("--perms", formatMode(op.mode)));
        args.push(...opt("--dir", op.dst));
        break;
      case "symlink":
        args.push(...opt(op.dereference ? "--copy-symlink" : "--symlink", op.target, op.dst));
        break;
      case "write":
        args.push(...opt("--write", op.data, op.dst));
        break;
      case "overlay":
        for (const l of op.lower) args.push(...opt("--overlay-lowerdir", l));
        if (op.upper !== null) args.push(...opt("--overlay-upperdir", op.upper));
        if (op.work !== null) args.push(...opt("--overlay-workdir", op.work));
        args.push(...opt("--overlay", op.dst));
        break;
      case "mqueue":
        args.push(...opt("--mqueue", op.dst));
        break;
      case "remount":
        if (op.options === "ro") args.push(...opt("--remount-ro", op.dst));
        else args.push(...opt("--remount", op.options, op.dst));
        break;
      case "file":
        unsupported(field, "a placed file (its bytes come from an fd on the command line)");
        break;
      case "chmod":
        args.push(...opt("--chmod", formatMode(op.mode), op.dst));
        break;
      case "dirmodes":
        for (const m of op.modes) args.push(...opt(optionOfMode(m.mode, m.optional), m.dir));
        if (op.tmpfsSize !== undefined) args.push(...opt("--tmpfs-size", op.tmpfsSize));
        if (op.tmpfsNuma !== undefined) args.push(...opt("--tmpfs-numa", op.tmpfsNuma));
        if (op.outputDir !== undefined) args.push(...opt("--output-dir", op.outputDir));
        break;
    }
  });
  if (plan.hostname !== null) unsupported("hostname", "a hostname");
  for (const f of libraryOnly()) if (plan[f]) unsupported(f, f);
  // --map-subids implies --become-root; the flags follow in the table's order.
  if (plan.mapSubids) args.push(...opt("--map-subids"));
  for (const o of OPTIONS) if (o.flag && plan[o.flag] && !(o.flag === "becomeRoot" && plan.mapSubids)) args.push(o.name);
  for (const c of plan.capChanges) args.push(...opt(c.add ? "--cap-add" : "--cap-drop", c.cap));
  args.push(...limitArgs(plan));
  for (const h of plan.allowHosts) args.push(...opt("--allow-host", h));
  for (const [k, v] of env.setenv) args.push(...opt("--setenv", k, v));
  for (const k of env.unsetenv) args.push(...opt("--unsetenv", k));
  if (env.chdir !== null) args.push(...opt("--chdir", env.chdir));
  if (plan.argv.length) args.push("--", ...plan.argv);
  return args;
}
