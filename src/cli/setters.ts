// The setters of options.ts that do more than one thing: each takes the parse state, the
// option's arguments and its table entry, and throws a UsageError naming the option.
import type { Operation } from "../plan/types.ts";
import { parseRemountOptions } from "../plan/ops/remount.ts";
import { FlagParseError } from "../sys/flags.ts";
import { parseNamespaceList, PID_MAX } from "../plan/enter.ts";
import { DIR_MODE_OPTIONS } from "../plan/ops/dirmodes.ts";
import { capName } from "../plan/caps.ts";
import { CONFINEMENTS, type Confinement } from "../plan/landlock.ts";
import { parseBytes, parseRlimit, parseSeconds } from "../plan/limits.ts";
import { parseHostPattern } from "../plan/network.ts";
import type { OptionSpec } from "./options.ts";
import {
  abs, badValue, emptyPath, parseOctalMode, parseSize, readData, takePerms, usageFrom, UsageError, type Args, type EnterState, type RunState,
} from "./state.ts";

export type RunSetter = (s: RunState, a: Args, o: OptionSpec) => void;
export type EnterSetter = (e: EnterState, a: Args) => void;

export const addOp = (s: RunState, op: Operation): void => void s.plan.ops.push(op);

export function bind(readonly: boolean, optional: boolean, nofollow: boolean): RunSetter {
  return (s, [src, dst], o) => {
    const relative = src.startsWith("+");
    if (relative && nofollow) throw new UsageError(`${o.name} does not take a +SRC (relative) source`);
    if (src === "+") throw emptyPath(o.name, "SRC");
    addOp(s, { kind: "bind", src: abs(s, relative ? src.slice(1) : src), dst: abs(s, dst), readonly, optional, relative, nofollow });
  };
}

/** --overlay: the layers gathered so far, checked, then reset for the next one. */
export function overlay(s: RunState, [dst]: Args): void {
  const { lower, upper, work } = s.overlay;
  if (lower.length === 0) throw new UsageError(`--overlay ${dst} needs at least one --overlay-lowerdir DIR before it`);
  if (upper !== null && upper !== "tmpfs" && work === null) {
    throw new UsageError(`--overlay ${dst} has --overlay-upperdir but no --overlay-workdir DIR (on the same filesystem as the upper directory)`);
  }
  if (upper === null && lower.length < 2) {
    throw new UsageError(`--overlay ${dst} without --overlay-upperdir is read-only and needs at least two --overlay-lowerdir (or add --overlay-upperdir tmpfs)`);
  }
  addOp(s, { kind: "overlay", lower, upper, work: upper === "tmpfs" ? null : work, dst: abs(s, dst) });
  s.overlay = { lower: [], upper: null, work: null };
}

export function confinement(s: RunState, [mode]: Args): void {
  if (!CONFINEMENTS.includes(mode as Confinement)) throw new UsageError(`--confinement: unknown mode ${JSON.stringify(mode)}; give ${CONFINEMENTS.join(", ")}`);
  s.plan.confinement = mode as Confinement;
}

export function allowHost(s: RunState, [pattern]: Args): void {
  usageFrom("--allow-host", () => parseHostPattern(pattern));
  s.plan.allowHosts.push(pattern);
  s.plan.unshareNet = true;
}

// The limits (BenchExec's runexec names, and --rlimit for the rest).
export function memlimit(s: RunState, [text]: Args, o: OptionSpec): void {
  s.plan.limits.memory = parseBytes(text) ?? badValue(o.name, text, "a positive number of bytes (k, m, g suffixes multiply by 1024, 1024^2, 1024^3)");
}

export function timelimit(s: RunState, [text]: Args, o: OptionSpec): void {
  s.plan.limits.cpuTime = parseSeconds(text) ?? badValue(o.name, text, "a positive number of seconds of CPU time");
}

export function walltimelimit(s: RunState, [text]: Args, o: OptionSpec): void {
  s.plan.limits.wallTime = parseSeconds(text) ?? badValue(o.name, text, "a positive number of seconds");
}

export function pidlimit(s: RunState, [text]: Args, o: OptionSpec): void {
  s.plan.limits.pids = /^[1-9]\d{0,6}$/.test(text) ? Number(text) : badValue(o.name, text, "a positive number of processes");
}

export function rlimit(s: RunState, [text]: Args): void {
  const r = usageFrom("--rlimit", () => parseRlimit(text));
  s.plan.limits.rlimits = [...s.plan.limits.rlimits.filter((x) => x.resource !== r.resource), r];
}

export function capChange(add: boolean): RunSetter {
  return (s, [text], o) => {
    const cap = capName(text);
    if (cap === null) throw new UsageError(`${o.name}: unknown capability ${JSON.stringify(text)}; give a name like CAP_SYS_ADMIN or sys_admin, or ALL`);
    s.plan.capChanges.push({ add, cap });
  };
}

/** --perms: the mode of what the next operation makes. */
export function perms(s: RunState, [text]: Args): void {
  if (s.perms) throw new UsageError(`--perms given twice (${s.perms.text}, ${text}) for one operation`);
  s.perms = { mode: parseOctalMode("--perms", text), text };
}

/** --size: the size of the next tmpfs. */
export function size(s: RunState, [text]: Args): void {
  if (s.size) throw new UsageError(`--size given twice (${s.size.text}, ${text}) for one --tmpfs`);
  s.size = { bytes: parseSize("--size", text), text };
}

export function remount(s: RunState, [options, dst]: Args): void {
  usageFrom(`--remount ${options}`, () => parseRemountOptions(options), FlagParseError);
  addOp(s, { kind: "remount", dst: abs(s, dst), options });
}

export function data(readonly: boolean): RunSetter {
  return (s, [fd, dst], o) => {
    const base64 = Buffer.from(readData(s, o.name, fd)).toString("base64");
    addOp(s, { kind: "file", dst: abs(s, dst), base64, readonly, ...takePerms(s) });
  };
}

export function dirMode(s: RunState, [text]: Args, o: OptionSpec): void {
  const dir = abs(s, text);
  const mode = o.dirMode!;
  // A mistyped DIR would leave the real one with its parent's mode: only a -try form may miss.
  if (!o.optional && s.input.hostHas?.(dir) === false) {
    throw new UsageError(`${o.name} ${text}: ${dir} does not exist on the host; create it, or use ${o.name}-try to skip it when missing`);
  }
  const before = s.dirModes.find((m) => m.dir === dir);
  if (before && before.mode !== mode) throw new UsageError(`${o.name} ${text}: ${dir} already has mode ${before.mode} (${DIR_MODE_OPTIONS[before.mode]}); give one mode per directory`);
  if (!before) s.dirModes.push({ dir, mode, ...(o.optional ? { optional: true } : {}) });
  else if (!o.optional) delete before.optional;
}

/** A directory-mode setting checked by `check` (null: fine, else why not). */
export function dirModeSetting(key: "tmpfsSize" | "tmpfsNuma", check: (v: string) => string | null): RunSetter {
  return (s, [text], o) => {
    const why = check(text);
    if (why) throw new UsageError(`${o.name}: ${why}`);
    s.dirModeSettings[key] = text;
  };
}

export function enterPid(e: EnterState, [text]: Args): void {
  if (e.pid !== null) throw new UsageError("--enter given twice; enter one process at a time");
  if (!/^[1-9][0-9]*$/.test(text) || Number(text) > PID_MAX) throw new UsageError(`--enter: invalid process id "${text}"; give a pid between 1 and ${PID_MAX}`);
  e.pid = Number(text);
}

export function enterNamespaces(e: EnterState, [list]: Args): void {
  e.namespaces = usageFrom("--namespaces", () => parseNamespaceList(list));
}

export function enterChdir(e: EnterState, [dir]: Args): void {
  if (!dir.startsWith("/")) throw new UsageError(`--chdir with --enter: "${dir}" is not an absolute path (it is taken inside the target's root)`);
  e.cwd = dir;
}
