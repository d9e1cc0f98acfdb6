// What the option setters of options.ts work on while args.ts walks the command line, and the
// small value parsers they share. Pure: the host is reached only through ParseInput.
import type { DirModeEntry, DirModesOp, Plan } from "../plan/types.ts";
import { emptyPlan } from "../plan/types.ts";
import { absolutize } from "../plan/paths.ts";
import type { EnterSpec } from "../plan/enter.ts";

/** Bad command line: printed as one line, exit status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export type ParseResult =
  | { kind: "run"; plan: Plan }
  | { kind: "enter"; spec: EnterSpec }
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "doctor"; json: boolean };

export interface ParseInput {
  argv: readonly string[];
  env: Readonly<Record<string, string>>;
  cwd: string;
  /** Terminal device of stderr, when it is one (for --dev's console). */
  tty: string | null;
  /** fds above stderr the caller passed to us. */
  fds: readonly number[];
  /** Reads an fd to its end (--bind-data, --ro-bind-data); absent: those options are refused. */
  readFd?: (fd: number) => Uint8Array;
  /** Whether a host directory is there (a directory mode's DIR); absent: not checked. */
  hostHas?: (path: string) => boolean;
}

/** An option's arguments, "" past its arity. */
export type Args = readonly [string, string];

/** The run being parsed: the plan's own fields are set in `plan`, the rest is gathered here. */
export interface RunState {
  readonly input: ParseInput;
  readonly plan: Plan;
  readonly setenv: [string, string][];
  readonly unsetenv: string[];
  chdir: string | null;
  /** The settings of the next --overlay. */
  overlay: { lower: string[]; upper: string | null; work: string | null };
  // --perms and --size apply to the operation right after them (bubblewrap's rule).
  perms: { mode: number; text: string } | null;
  size: { bytes: number; text: string } | null;
  readonly usedFds: Set<number>;
  readonly dirModes: DirModeEntry[];
  readonly dirModeSettings: Omit<DirModesOp, "kind" | "modes">;
}

export function newRunState(input: ParseInput): RunState {
  return {
    input, plan: emptyPlan(), setenv: [], unsetenv: [], chdir: null, overlay: { lower: [], upper: null, work: null },
    perms: null, size: null, usedFds: new Set(), dirModes: [], dirModeSettings: {},
  };
}

/** The --enter being parsed. */
export interface EnterState {
  pid: number | null;
  namespaces: EnterSpec["namespaces"];
  cwd: string | null;
  readonly setenv: [string, string][];
  readonly unsetenv: string[];
}

export const newEnterState = (): EnterState => ({ pid: null, namespaces: null, cwd: null, setenv: [], unsetenv: [] });

/** `text` against the caller's working directory. */
export const abs = (s: RunState, text: string): string => absolutize(text, s.input.cwd);

/** The caller's environment with --setenv, then --unsetenv applied (mkosi-sandbox's order). */
export function applyEnv(base: Readonly<Record<string, string>>, s: RunState | EnterState): Record<string, string> {
  const env: Record<string, string> = { ...base };
  for (const [k, v] of s.setenv) env[k] = v;
  for (const k of s.unsetenv) delete env[k];
  return env;
}

export function setenv(s: RunState | EnterState, name: string, value: string): void {
  if (name === "" || name.includes("=")) throw new UsageError(`--setenv: invalid variable name "${name}"`);
  s.setenv.push([name, value]);
}

/** Runs `parse`, saying its error as a usage error of `option` (only errors of `only`, when given). */
export function usageFrom<T>(option: string, parse: () => T, only: abstract new (...a: never[]) => Error = Error): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof only) throw new UsageError(`${option}: ${e.message}`);
    throw e;
  }
}

/** The usage error for an empty path (which would have meant the current directory). */
export function emptyPath(option: string, arg: string): UsageError {
  return new UsageError(`${option}: ${arg} is empty; give a path ("." is the current directory)`);
}

/** The usage error for a value `option` does not take, saying what it does take. */
export function badValue(option: string, text: string, what: string): never {
  throw new UsageError(`${option}: invalid value "${text}"; give ${what}`);
}

/** An octal mode 0..7777 ("0755", "700"); the error names the option. */
export function parseOctalMode(option: string, text: string): number {
  if (!/^[0-7]{1,4}$/.test(text)) throw new UsageError(`${option}: invalid mode "${text}"; give an octal mode between 0000 and 7777`);
  return parseInt(text, 8);
}

const SIZE_UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** A positive size in bytes, with an optional k, m or g suffix (powers of 1024). */
export function parseSize(option: string, text: string): number {
  const m = /^(\d+)([kmg]?)$/i.exec(text);
  const n = m ? Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]! : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new UsageError(`${option}: invalid size "${text}"; give a positive number of bytes (a k, m or g suffix multiplies by 1024, 1024^2, 1024^3)`);
  }
  return n;
}

/** The pending --perms as an operation's mode (used up). */
export function takePerms(s: RunState): { mode?: number } {
  const p = s.perms;
  s.perms = null;
  return p ? { mode: p.mode } : {};
}

/** The pending --size as a tmpfs size (used up). */
export function takeSize(s: RunState): { size?: number } {
  const z = s.size;
  s.size = null;
  return z ? { size: z.bytes } : {};
}

/** The bytes of the fd named by `text` (--bind-data, --ro-bind-data): each fd is read once. */
export function readData(s: RunState, option: string, text: string): Uint8Array {
  if (!/^\d+$/.test(text)) throw new UsageError(`${option}: "${text}" is not an fd number`);
  const fd = Number(text);
  const { fds, readFd } = s.input;
  if (s.usedFds.has(fd)) throw new UsageError(`${option} ${text}: fd ${fd} was already read by an earlier --bind-data/--ro-bind-data`);
  if (fd !== 0 && !fds.includes(fd)) throw new UsageError(`${option} ${text}: fd ${fd} is not open in sandbox; pass it from the caller (e.g. ${fd}<FILE)`);
  if (!readFd) throw new UsageError(`${option}: reading fds is not available here`);
  let bytes: Uint8Array;
  try {
    bytes = readFd(fd);
  } catch (e) {
    throw new UsageError(`${option} ${text}: cannot read fd ${fd}: ${e instanceof Error ? e.message : String(e)}`);
  }
  s.usedFds.add(fd);
  return bytes;
}
