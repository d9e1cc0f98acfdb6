// A plan as `sandbox` CLI arguments (the reverse of src/cli/args.ts for what the CLI can say).
import type { Plan } from "../plan/types.ts";
import { PlanError } from "../plan/errors.ts";
import { defaultDirMode, formatMode, joinPath } from "../plan/paths.ts";
import { DIR_MODE_OPTIONS } from "../plan/ops/dirmodes.ts";

export interface EnvChanges {
  setenv: readonly (readonly [string, string])[];
  unsetenv: readonly string[];
  chdir: string | null;
}

const LIBRARY_ONLY = ["unsharePid", "unshareUts", "unshareCgroup", "newSession", "dieWithParent"] as const;

const secs = (ms: number) => String(ms / 1000);
const rl = (v: number | null) => (v === null ? "unlimited" : String(v));

function limitArgs(plan: Plan): string[] {
  const l = plan.limits;
  const out: string[] = [];
  if (l.memory !== null) out.push("--memlimit", String(l.memory));
  if (l.cpuTime !== null) out.push("--timelimit", secs(l.cpuTime));
  if (l.wallTime !== null) out.push("--walltimelimit", secs(l.wallTime));
  if (l.pids !== null) out.push("--pidlimit", String(l.pids));
  for (const r of l.rlimits) out.push("--rlimit", `${r.resource}=${rl(r.soft)}:${rl(r.hard)}`);
  return out;
}

export function planToArgs(plan: Plan, env: EnvChanges): string[] {
  // Sealing concerns the whole sandbox: first (the library seals by default, as real root too).
  const args: string[] = plan.seal === null ? [] : [plan.seal ? "--seal" : "--no-seal"];
  if (plan.confinement !== "namespaces") args.push("--confinement", plan.confinement);
  const unsupported = (field: string, what: string): never => {
    throw new PlanError(field, `${what} has no sandbox CLI option; toArgs() cannot express it`);
  };
  plan.ops.forEach((op, i) => {
    const field = `ops[${i}]`;
    switch (op.kind) {
      case "bind": {
        if (op.optional && op.nofollow) unsupported(field, "an optional nofollow bind");
        if (op.device === false) unsupported(`${field}.device`, "a nodev bind");
        const name = `--${op.readonly ? "ro-" : ""}bind${op.optional ? "-try" : op.nofollow ? "-nofollow" : ""}`;
        args.push(name, op.relative ? `+${op.src}` : op.src, op.dst);
        break;
      }
      case "tmpfs":
        if (op.readonly) unsupported(`${field}.readonly`, "a read-only tmpfs");
        if (op.size !== undefined) args.push("--size", String(op.size));
        if (op.mode !== undefined && op.mode !== defaultDirMode(op.dst)) args.push("--perms", formatMode(op.mode));
        args.push("--tmpfs", op.dst);
        break;
      case "dev":
        args.push("--dev", op.dst);
        if (op.mqueue) args.push("--mqueue", joinPath(op.dst, "mqueue"));
        break;
      case "proc":
        args.push("--proc", op.dst);
        break;
      case "dir":
        if (op.mode !== undefined && op.mode !== defaultDirMode(op.dst)) args.push("--perms", formatMode(op.mode));
        args.push("--dir", op.dst);
        break;
      case "symlink":
        args.push(op.dereference ? "--copy-symlink" : "--symlink", op.target, op.dst);
        break;
      case "write":
        args.push("--write", op.data, op.dst);
        break;
      case "overlay":
        for (const l of op.lower) args.push("--overlay-lowerdir", l);
        if (op.upper !== null) args.push("--overlay-upperdir", op.upper);
        if (op.work !== null) args.push("--overlay-workdir", op.work);
        args.push("--overlay", op.dst);
        break;
      case "mqueue":
        args.push("--mqueue", op.dst);
        break;
      case "remount":
        if (op.options === "ro") args.push("--remount-ro", op.dst);
        else args.push("--remount", op.options, op.dst);
        break;
      case "file":
        unsupported(field, "a placed file (its bytes come from an fd on the command line)");
        break;
      case "chmod":
        args.push("--chmod", formatMode(op.mode), op.dst);
        break;
      case "dirmodes":
        for (const m of op.modes) args.push(DIR_MODE_OPTIONS[m.mode], m.dir);
        if (op.tmpfsSize !== undefined) args.push("--tmpfs-size", op.tmpfsSize);
        if (op.tmpfsNuma !== undefined) args.push("--tmpfs-numa", op.tmpfsNuma);
        if (op.outputDir !== undefined) args.push("--output-dir", op.outputDir);
        break;
    }
  });
  if (plan.hostname !== null) unsupported("hostname", "a hostname");
  for (const f of LIBRARY_ONLY) if (plan[f]) unsupported(f, f);
  if (plan.mapSubids) args.push("--map-subids");
  else if (plan.becomeRoot) args.push("--become-root");
  const flags: [keyof Plan, string][] = [
    ["suppressChown", "--suppress-chown"], ["suppressSync", "--suppress-sync"], ["unshareNet", "--unshare-net"],
    ["unshareIpc", "--unshare-ipc"], ["newSessionKeyring", "--new-session-keyring"], ["packFds", "--pack-fds"],
    ["suspend", "--suspend"], ["debug", "--debug"], ["harden", "--harden"], ["disableUserns", "--disable-userns"],
  ];
  for (const [k, opt] of flags) if (plan[k]) args.push(opt);
  for (const c of plan.capChanges) args.push(c.add ? "--cap-add" : "--cap-drop", c.cap);
  args.push(...limitArgs(plan));
  for (const h of plan.allowHosts) args.push("--allow-host", h);
  for (const [k, v] of env.setenv) args.push("--setenv", k, v);
  for (const k of env.unsetenv) args.push("--unsetenv", k);
  if (env.chdir !== null) args.push("--chdir", env.chdir);
  if (plan.argv.length) args.push("--", ...plan.argv);
  return args;
}
