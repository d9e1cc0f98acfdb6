// Resource limits of a sandbox as plain data. Four are watched by a process of ours outside the
// command (src/stage/limits.ts), for the sandbox as a whole; the rest are rlimits the command
// starts with. Pure: parsing (the CLI's BenchExec names), validation, the words of a report.
import { RLIMIT, type RlimitName } from "../sys/rlimit.ts";
import { PlanError } from "./errors.ts";

/** A limit that ends a sandbox, as reported (Subprocess.limit, the CLI's line). */
export type LimitName = "memory" | "cpu-time" | "wall-time" | "pids";

export interface RlimitSetting {
  resource: RlimitName;
  /** null: unlimited. */
  soft: number | null;
  hard: number | null;
}

export interface Limits {
  /** Bytes of resident memory, summed over the sandbox's processes. */
  memory: number | null;
  /** Milliseconds of CPU time (user + system), summed over the sandbox's processes. */
  cpuTime: number | null;
  /** Milliseconds from the start of the command. */
  wallTime: number | null;
  /** Processes of the sandbox at once. */
  pids: number | null;
  /** rlimits the command starts with (--rlimit, openFiles, fileSize, core, stack). */
  rlimits: RlimitSetting[];
}

export const noLimits = (): Limits => ({ memory: null, cpuTime: null, wallTime: null, pids: null, rlimits: [] });

/** Whether a process of ours must watch the sandbox. */
export const watched = (l: Limits): boolean => l.memory !== null || l.cpuTime !== null || l.wallTime !== null || l.pids !== null;
export const anyLimit = (l: Limits): boolean => watched(l) || l.rlimits.length > 0;

export const RLIMIT_NAMES = Object.keys(RLIMIT) as RlimitName[];

const SIZE_UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** "512m", "4096", "1g": bytes; null when not such a size. */
export function parseBytes(text: string): number | null {
  const m = /^(\d+)([kmg]?)$/i.exec(text);
  const n = m ? Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]! : NaN;
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

/** "2", "0.5": milliseconds from seconds; null when not a positive number. */
export function parseSeconds(text: string): number | null {
  if (!/^\d+(\.\d+)?$/.test(text)) return null;
  const ms = Math.round(Number(text) * 1000);
  return ms > 0 ? ms : null;
}

/** One rlimit value: a size, or "unlimited"/"infinity". */
function rlimitValue(text: string): number | null | undefined {
  if (text === "unlimited" || text === "infinity") return null;
  if (text === "0") return 0;
  return parseBytes(text) ?? undefined;
}

/** `NAME=SOFT[:HARD]` (--rlimit nofile=256, --rlimit core=0, --rlimit stack=8m:unlimited); throws a one-line reason. */
export function parseRlimit(text: string): RlimitSetting {
  const m = /^([a-z]+)=([^:]+)(?::(.+))?$/.exec(text);
  const resource = m?.[1] as RlimitName | undefined;
  if (!m || !resource || !RLIMIT_NAMES.includes(resource)) {
    throw new Error(`"${text}" is not NAME=SOFT[:HARD] with NAME one of ${RLIMIT_NAMES.join(", ")}`);
  }
  const soft = rlimitValue(m[2]!);
  const hard = m[3] === undefined ? soft : rlimitValue(m[3]);
  if (soft === undefined || hard === undefined) throw new Error(`"${text}": a value is a number (k, m, g suffixes allowed) or unlimited`);
  if (hard !== null && (soft === null || soft > hard)) throw new Error(`"${text}": the soft limit exceeds the hard one`);
  return { resource, soft, hard };
}

const requirePositive = (field: string, v: unknown): void => {
  if (v !== null && !(Number.isSafeInteger(v) && (v as number) > 0)) throw new PlanError(field, "must be a positive integer or null");
};

export function validateLimits(l: Limits, field = "limits"): void {
  if (typeof l !== "object" || l === null) throw new PlanError(field, "must be an object");
  for (const k of ["memory", "cpuTime", "wallTime", "pids"] as const) requirePositive(`${field}.${k}`, l[k]);
  if (!Array.isArray(l.rlimits)) throw new PlanError(`${field}.rlimits`, "must be a list");
  l.rlimits.forEach((r, i) => {
    if (!RLIMIT_NAMES.includes(r?.resource)) throw new PlanError(`${field}.rlimits[${i}].resource`, `one of ${RLIMIT_NAMES.join(", ")}`);
    for (const k of ["soft", "hard"] as const) {
      if (r[k] !== null && !(Number.isSafeInteger(r[k]) && r[k]! >= 0)) throw new PlanError(`${field}.rlimits[${i}].${k}`, "a non-negative integer or null (unlimited)");
    }
    if (r.hard !== null && (r.soft === null || r.soft > r.hard)) throw new PlanError(`${field}.rlimits[${i}]`, "the soft limit exceeds the hard one");
  });
}

const sizeWords = (n: number): string => {
  for (const [u, f] of [["g", 1024 ** 3], ["m", 1024 ** 2], ["k", 1024]] as const) if (n % f === 0) return `${n / f}${u}`;
  return String(n);
};

/** The CLI option that set `limit`, with its value: "--memlimit 256m". */
export function limitOption(l: Limits, limit: LimitName): string {
  switch (limit) {
    case "memory": return `--memlimit ${sizeWords(l.memory!)}`;
    case "cpu-time": return `--timelimit ${l.cpuTime! / 1000}`;
    case "wall-time": return `--walltimelimit ${l.wallTime! / 1000}`;
    case "pids": return `--pidlimit ${l.pids}`;
  }
}
