// Command-line parsing for `sandbox`: the same options, argument order and stopping rules as
// mkosi-sandbox, walked over the table of options.ts. Pure: the caller passes cwd, environment,
// terminal and the few host look-ups (ParseInput).
import { proxyEnv } from "../plan/network.ts";
import { OPTIONS, optionNamed, type OptionSpec } from "./options.ts";
import { applyEnv, emptyPath, newEnterState, newRunState, UsageError, type Args, type ParseInput, type ParseResult, type RunState } from "./state.ts";

export { parseOctalMode, parseSize, UsageError, type ParseInput, type ParseResult } from "./state.ts";

/** The options that build a sandbox (not --help and the like, not the --enter-only ones). */
export const knownOptions = (): string[] => OPTIONS.filter((o) => o.run || o.flag).map((o) => o.name);

// Argument names that stand for a path.
const PATH_ARGUMENTS: readonly string[] = ["SRC", "DST", "DIR", "PATH", "HOSTLINK"];

function missingArguments(o: OptionSpec, detail = ""): UsageError {
  const n = o.args.length;
  return new UsageError(`${o.name} needs ${n === 1 ? "an argument" : `${n} arguments`} (${o.name} ${o.args.join(" ")})${detail}`);
}

/** The arguments of the option at argv[i] (its arity's worth; "" past it). */
function takeArguments(argv: readonly string[], i: number, o: OptionSpec): Args {
  if (i + o.args.length >= argv.length) throw missingArguments(o);
  const args = argv.slice(i + 1, i + 1 + o.args.length);
  // `--bind /a -- cmd` lacks an argument: -- ends the options, it is never one's argument.
  const dashes = args.indexOf("--");
  if (dashes >= 0) throw missingArguments(o, ` before --; got -- as ${o.args[dashes]}`);
  const empty = o.args.findIndex((name, k) => PATH_ARGUMENTS.includes(name) && args[k] === "");
  if (empty >= 0) throw emptyPath(o.name, o.args[empty]!);
  return [args[0] ?? "", args[1] ?? ""];
}

/** The result of an option that ends parsing (--help, --version, --doctor), typed as `arg`. */
function infoResult(o: OptionSpec, arg: string, rest: readonly string[]): ParseResult {
  const { follow, result } = o.info!;
  // `--doctor --bogus` was a doctor run that dropped --bogus: now only its own flags may follow.
  const stray = follow === null ? undefined : rest.find((r) => !follow.includes(r));
  if (follow !== null && stray !== undefined) throw new UsageError(`${arg} takes ${follow.length ? `only ${follow.join(", ")}` : "nothing"} after it; remove ${stray}`);
  return result(rest);
}

/** The option at `arg`, or the usage error for an unknown one. */
function lookup(arg: string): OptionSpec {
  const o = optionNamed(arg);
  if (!o) throw new UsageError(`unknown option ${arg}; see sandbox --help`);
  return o;
}

/** --perms and --size must be followed by an option that uses them. */
function checkPending(s: RunState, next: OptionSpec | null, what: string): void {
  if (s.perms && !next?.perms) {
    const users = OPTIONS.filter((o) => o.perms).map((o) => o.name);
    throw new UsageError(`--perms ${s.perms.text} must be followed by ${users.join(", ")}; got ${what}`);
  }
  if (s.size && !next?.size) throw new UsageError(`--size ${s.size.text} must be followed by --tmpfs; got ${what}`);
}

/** --enter, or an option only --enter takes (which needs --enter among the options). */
function enterFrom(input: ParseInput, i: number, o: OptionSpec): ParseResult {
  const rest = input.argv.slice(i);
  const end = rest.indexOf("--");
  if (o.name !== "--enter" && !(end < 0 ? rest : rest.slice(0, end)).includes("--enter")) {
    throw new UsageError(`${o.name} only goes with --enter PID; see sandbox --help`);
  }
  return parseEnterArgs(input);
}

export function parseArgs(input: ParseInput): ParseResult {
  const { argv } = input;
  const s = newRunState(input);
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      i++;
      break;
    }
    if (!arg.startsWith("-")) break;
    const o = lookup(arg);
    if (o.info) return infoResult(o, arg, argv.slice(i + 1));
    if (!o.run && !o.flag) return enterFrom(input, i, o);
    const a = takeArguments(argv, i, o);
    i += o.args.length;
    if (!o.prefix) checkPending(s, o, o.name);
    if (o.flag) s.plan[o.flag] = true;
    else o.run!(s, a, o);
  }
  checkPending(s, null, i < argv.length ? `the command ${JSON.stringify(argv[i])}` : "nothing");
  return { kind: "run", plan: finishPlan(s, i < argv.length ? argv.slice(i) : ["bash"]) };
}

/** The plan from what the options gathered, checked as a whole. */
function finishPlan(s: RunState, command: string[]): RunState["plan"] {
  const { plan, overlay } = s;
  const mq = plan.ops.find((op) => op.kind === "mqueue");
  if (mq && !plan.unshareIpc) throw new UsageError(`--mqueue ${mq.dst} needs an IPC namespace; add --unshare-ipc`);
  if (overlay.lower.length > 0 || overlay.upper !== null || overlay.work !== null) {
    throw new UsageError("--overlay-lowerdir/--overlay-upperdir/--overlay-workdir given without a following --overlay DST");
  }
  plan.argv = command;
  plan.env = applyEnv({ ...s.input.env, ...(plan.allowHosts.length ? proxyEnv() : {}) }, s);
  plan.cwd = s.chdir ?? "/";
  finishDirModes(s);
  if (plan.harden && plan.capChanges.some((c) => c.add)) throw new UsageError("--cap-add cannot widen --harden, which gives the command no capabilities; drop one of them");
  // fds read by --bind-data/--ro-bind-data are used up: the command does not get them.
  plan.fds = s.input.fds.filter((fd) => !s.usedFds.has(fd));
  return plan;
}

/** The directory modes become one operation, first; their settings alone are an error. */
function finishDirModes(s: RunState): void {
  const { plan, dirModes } = s;
  if (dirModes.length > 0) {
    plan.ops.unshift({ kind: "dirmodes", modes: dirModes, ...s.dirModeSettings });
  } else {
    const names = { tmpfsSize: "--tmpfs-size", tmpfsNuma: "--tmpfs-numa", outputDir: "--output-dir" };
    const given = Object.keys(s.dirModeSettings).map((k) => names[k as keyof typeof names]);
    if (given.length > 0) throw new UsageError(`${given.join(", ")} only apply with directory modes; add at least one --overlay-dir, --read-only-dir, --hidden-dir or --full-access-dir (e.g. --overlay-dir /)`);
  }
  const rootOp = plan.ops.find((op) => dirModes.length > 0 && (op.kind === "bind" || op.kind === "tmpfs" || op.kind === "overlay") && op.dst === "/");
  if (rootOp) throw new UsageError(`directory modes build the root from the host's mounts; they cannot be combined with a ${rootOp.kind} on / (use --read-only-dir / instead of --ro-bind / /)`);
}

/**
 * `sandbox --enter PID [--namespaces LIST] [--chdir DIR] [--setenv NAME VALUE] [--unsetenv NAME]
 * [--] [COMMAND [ARGUMENTS...]]`: run COMMAND in the namespaces of PID. The options that build
 * a sandbox do not apply (the target's namespaces and root are used as they are).
 */
export function parseEnterArgs(input: ParseInput): ParseResult {
  const { argv } = input;
  const e = newEnterState();
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      i++;
      break;
    }
    if (!arg.startsWith("-")) break;
    const o = lookup(arg);
    if (!o.enter) throw new UsageError(`${arg} cannot be used with --enter (the target's namespaces and root are used as they are)`);
    if (o.info) return infoResult(o, arg, argv.slice(i + 1));
    const a = takeArguments(argv, i, o);
    i += o.args.length;
    if (o.enter !== true) o.enter(e, a);
  }
  if (e.pid === null) throw new UsageError("--enter needs a process id (--enter PID)");
  // Only stdio reaches the command: the caller's other fds stay outside.
  return { kind: "enter", spec: { pid: e.pid, namespaces: e.namespaces, cwd: e.cwd, argv: i < argv.length ? argv.slice(i) : ["bash"], env: applyEnv(input.env, e), fds: [] } };
}
