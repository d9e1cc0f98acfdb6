// The setup steps of a command started by a syscall chain (src/sys/syscallchain.ts) in its own
// user namespace: loopback up and the hostname in the namespaces made with it, the seccomp
// filter, the capability sets, the fds and the session. Steps cannot branch, so each one here
// succeeds whenever the request is right; a failure shows as errno and the command never runs.
import { ptr } from "bun:ffi";
import { SyscallChain } from "../sys/syscallchain.ts";
import { capData, capHeader, lastCap } from "../sys/caps.ts";
import { AF_INET, ifreq, IFF_LOOPBACK, IFF_UP, SIOCSIFFLAGS, SOCK_CLOEXEC, SOCK_DGRAM } from "../sys/net.ts";
import { PR, PR_CAP_AMBIENT } from "../sys/process.ts";
import { CLOSE_RANGE } from "../sys/fd.ts";

/** Every capability set the command starts with (the bounding set included). */
export interface CapTarget {
  bounding: bigint;
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
  ambient: bigint;
}

/** The same `caps` in every set: an unprivileged sandbox's kept capabilities. */
export function uniformCaps(caps: readonly number[]): CapTarget {
  const m = caps.reduce((acc, c) => acc | (1n << BigInt(c)), 0n);
  return { bounding: m, effective: m, permitted: m, inheritable: m, ambient: m };
}

export interface CommandChainSpec {
  /** `from` (parked close-on-exec fds) becomes `to` in the command; every other fd is closed at exec. */
  dups: readonly (readonly [from: number, to: number])[];
  caps: CapTarget;
  /** struct sock_filter[] to load, or null; must stay alive until the command has exec'd. */
  seccomp: Uint8Array | null;
  /** Set no_new_privs (before Landlock and the filter, which need it without CAP_SYS_ADMIN). */
  nnp: boolean;
  /** A Landlock ruleset fd to restrict the command with, or -1. */
  landlock: number;
  /** The command has a network namespace of its own: bring lo up in it. */
  loopback: boolean;
  hostname: string | null;
  setsid: boolean;
}

const SECCOMP_SET_MODE_FILTER = 1;

const capChains = new Map<string, SyscallChain>();

/**
 * Bounding set first (dropping needs CAP_SETPCAP, which capset may remove), then the three
 * sets, then ambient (a raise needs the capability permitted and inheritable). Made once per set.
 */
function capabilitySteps(t: CapTarget): SyscallChain {
  const key = [t.bounding, t.effective, t.permitted, t.inheritable, t.ambient].join("/");
  let c = capChains.get(key);
  if (c) return c;
  c = new SyscallChain();
  const last = lastCap();
  for (let cap = 0; cap <= last; cap++) if (!(t.bounding & (1n << BigInt(cap)))) c.call("prctl", PR.CAPBSET_DROP, cap, 0, 0, 0);
  c.call("capset", new Uint8Array(capHeader().buffer), new Uint8Array(capData(t).buffer));
  for (let cap = 0; cap <= last; cap++) if (t.ambient & (1n << BigInt(cap))) c.call("prctl", PR.CAP_AMBIENT, PR_CAP_AMBIENT.RAISE, cap, 0, 0);
  capChains.set(key, c);
  return c;
}

/** The steps, in order; `anyFd` is some fd that is open in the child (used to free fd 0). */
export function commandChain(spec: CommandChainSpec, anyFd: number): SyscallChain {
  const c = new SyscallChain();
  if (spec.loopback) {
    // The socket must land on a known number: fd 0 of the child's own table, freed first.
    c.call("dup3", anyFd, 0, 0).call("close", 0).call("socket", AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    // Steps cannot read the flags first: SIOCSIFFLAGS keeps the ones it cannot change.
    c.call("ioctl", 0, SIOCSIFFLAGS, ifreq("lo", IFF_UP | IFF_LOOPBACK)).call("close", 0);
  }
  if (spec.hostname !== null) c.call("sethostname", Buffer.from(spec.hostname), Buffer.byteLength(spec.hostname));
  c.append(capabilitySteps(spec.caps));
  if (spec.nnp) c.call("prctl", PR.SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  if (spec.landlock >= 0) c.call("landlock_restrict_self", spec.landlock, 0);
  if (spec.seccomp) {
    // struct sock_fprog { u16 len; struct sock_filter *filter; }: the filter is read where it is,
    // so the caller keeps it alive (and unchanged) until the child has exec'd. Last of the
    // confinement: the filter may refuse calls the steps before make.
    const fprog = new BigUint64Array([BigInt(spec.seccomp.length / 8), BigInt(ptr(spec.seccomp))]);
    c.call("seccomp", SECCOMP_SET_MODE_FILTER, 0, new Uint8Array(fprog.buffer));
  }
  c.call("close_range", 0, 0xffffffff, CLOSE_RANGE.CLOEXEC);
  for (const [from, to] of spec.dups) c.call("dup3", from, to, 0);
  if (spec.setsid) c.call("setsid");
  return c;
}
