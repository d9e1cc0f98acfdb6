// Resource limits (prlimit(2)): the RLIMIT_* numbers, and setting one for this process (the
// command inherits it across exec). The same numbers on x86_64 and aarch64.
import { errno, FFIType as T, lazyBind } from "./libc.ts";
import { SysError } from "./error.ts";

export const RLIMIT = {
  cpu: 0, fsize: 1, data: 2, stack: 3, core: 4, rss: 5, nproc: 6, nofile: 7, memlock: 8, as: 9,
  locks: 10, sigpending: 11, msgqueue: 12, nice: 13, rtprio: 14, rttime: 15,
} as const;
export type RlimitName = keyof typeof RLIMIT;

/** RLIM_INFINITY; null in the wrappers below. */
const INFINITY = 0xffffffffffffffffn;

// glibc's prlimit is prlimit64 on 64-bit targets.
const sysPrlimit = lazyBind("prlimit64", [T.i32, T.i32, T.ptr, T.ptr], { symbol: "prlimit" });

export interface Rlimit {
  /** null: unlimited. */
  soft: bigint | null;
  hard: bigint | null;
}

const toRaw = (v: bigint | null) => (v === null ? INFINITY : v);
const fromRaw = (v: bigint) => (v === INFINITY ? null : v);

/** prlimit(0, resource, new, old): sets this process's limit, returns the one before. */
export function setRlimit(resource: RlimitName, limit: Rlimit): Rlimit {
  const next = new BigUint64Array([toRaw(limit.soft), toRaw(limit.hard)]);
  const old = new BigUint64Array(2);
  if (sysPrlimit(0, RLIMIT[resource], next, old) < 0) {
    throw new SysError("prlimit", errno(), `RLIMIT_${resource.toUpperCase()}`, undefined, "a hard limit can only be raised with CAP_SYS_RESOURCE; the soft limit must not exceed the hard one");
  }
  return { soft: fromRaw(old[0]!), hard: fromRaw(old[1]!) };
}

/** This process's limit. */
export function getRlimit(resource: RlimitName): Rlimit {
  const old = new BigUint64Array(2);
  if (sysPrlimit(0, RLIMIT[resource], null, old) < 0) throw new SysError("prlimit", errno(), `RLIMIT_${resource.toUpperCase()}`);
  return { soft: fromRaw(old[0]!), hard: fromRaw(old[1]!) };
}

export const rlimitBindings = { prlimit64: sysPrlimit };
