// Parsing the status lines of one sandbox (the format is in src/stage/status.ts). Other
// processes write that pipe (the stage server, the sandbox's stage, a namespace worker), so the
// host trusts nothing of a line's shape: what is not a well-formed event becomes a "malformed"
// one, reported as the sandbox's error, and never an exception.
import type { StatusEvent } from "../stage/status.ts";
import type { Stub } from "../stage/stubs.ts";
import type { RawUsage } from "../sys/process.ts";
import type { LimitName } from "../plan/limits.ts";

const LIMIT_NAMES: readonly LimitName[] = ["memory", "cpu-time", "wall-time", "pids"];

export interface MalformedStatus {
  event: "malformed";
  /** What was wrong, with the start of the line. */
  detail: string;
}

export type ReadStatus = StatusEvent | MalformedStatus;

/** Longest line accepted (the server caps its own at ~4000 bytes). */
export const MAX_STATUS_LINE = 64 * 1024;

export const malformedMessage = (detail: string): string => `bun-sandbox: malformed status from the stage server: ${detail}`;

const excerpt = (s: string): string => JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}...` : s);
const malformed = (detail: string): MalformedStatus => ({ event: "malformed", detail });
const isInt = (v: unknown, min: number, max: number): v is number => Number.isInteger(v) && (v as number) >= min && (v as number) <= max;

function isNamespaces(v: unknown): v is Record<string, string> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && Object.values(v).every((s) => typeof s === "string");
}

function isStub(v: unknown): v is Stub {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o.path === "string" && o.path.startsWith("/") && typeof o.dir === "boolean" && isInt(o.ino, 1, Number.MAX_SAFE_INTEGER) && typeof o.dev === "string";
}

const USAGE_FIELDS = ["utime", "stime", "maxrss", "ixrss", "nswap", "inblock", "oublock", "msgsnd", "msgrcv", "nsignals", "nvcsw", "nivcsw"] as const;

/** A struct rusage as the server sent it: every field a non-negative integer. */
function rawUsage(v: unknown): RawUsage | null {
  if (typeof v !== "object" || v === null) return null;
  const o = v as Record<string, unknown>;
  if (!USAGE_FIELDS.every((k) => isInt(o[k], 0, Number.MAX_SAFE_INTEGER))) return null;
  return Object.fromEntries(USAGE_FIELDS.map((k) => [k, o[k]])) as unknown as RawUsage;
}

/** The event of one line (without its newline); a fresh object holding only the known fields. */
export function parseStatusLine(line: string): ReadStatus {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return malformed(`not JSON: ${excerpt(line)}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return malformed(`not an object: ${excerpt(line)}`);
  const o = v as Record<string, unknown>;
  const missing = (what: string) => malformed(`"${String(o.event)}" event without ${what}: ${excerpt(line)}`);
  switch (o.event) {
    case "spawned":
      return isInt(o.pid, 1, 2 ** 31 - 1) ? { event: "spawned", pid: o.pid } : missing("a valid pid");
    case "ready":
      if (!isNamespaces(o.namespaces)) return missing("namespaces");
      if (o.confinement !== "namespaces" && o.confinement !== "landlock") return missing("a confinement");
      return { event: "ready", namespaces: { ...o.namespaces }, confinement: o.confinement };
    case "error": {
      if (typeof o.message !== "string") return missing("a message");
      if (!isInt(o.exitCode, 0, 255)) return missing("a valid exitCode");
      const errno = o.errno === undefined || o.errno === null ? null : o.errno;
      if (errno !== null && !isInt(errno, 1, 4095)) return missing("a valid errno");
      return { event: "error", message: o.message, exitCode: o.exitCode, errno };
    }
    case "exit": {
      if (!isInt(o.status, 0, 0xffff)) return missing("a valid wait status");
      if (o.usage === undefined) return { event: "exit", status: o.status };
      const usage = rawUsage(o.usage);
      return usage ? { event: "exit", status: o.status, usage } : missing("a valid usage");
    }
    case "network":
      if (typeof o.host !== "string" || !isInt(o.port, 0, 65535) || typeof o.allowed !== "boolean" || typeof o.reason !== "string") return missing("host, port, allowed and reason");
      return { event: "network", host: o.host, port: o.port, allowed: o.allowed, reason: o.reason };
    case "limit":
      return LIMIT_NAMES.includes(o.limit as LimitName) ? { event: "limit", limit: o.limit as LimitName } : missing("a known limit");
    case "stubs": {
      const list = Array.isArray(o.stubs) ? o.stubs : null;
      const ok = list?.every((x: unknown) => isStub(x));
      return ok ? { event: "stubs", stubs: (list as Stub[]).map((x) => ({ path: x.path, dir: x.dir, ino: x.ino, dev: x.dev })) } : missing("a list of stubs");
    }
    default:
      return malformed(`${o.event === undefined ? "no" : "unknown"} event: ${excerpt(line)}`);
  }
}
