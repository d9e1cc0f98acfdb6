// Capabilities: capget/capset, the ambient set and the bounding set.
import { check, libc } from "./libc.ts";
import { prctl, PR, PR_CAP_AMBIENT } from "./process.ts";
import { readText } from "./fs.ts";

export const CAP = {
  CHOWN: 0, DAC_OVERRIDE: 1, DAC_READ_SEARCH: 2, FOWNER: 3, FSETID: 4, KILL: 5, SETGID: 6,
  SETUID: 7, SETPCAP: 8, LINUX_IMMUTABLE: 9, NET_BIND_SERVICE: 10, NET_BROADCAST: 11,
  NET_ADMIN: 12, NET_RAW: 13, IPC_LOCK: 14, IPC_OWNER: 15, SYS_MODULE: 16, SYS_RAWIO: 17,
  SYS_CHROOT: 18, SYS_PTRACE: 19, SYS_PACCT: 20, SYS_ADMIN: 21, SYS_BOOT: 22, SYS_NICE: 23,
  SYS_RESOURCE: 24, SYS_TIME: 25, SYS_TTY_CONFIG: 26, MKNOD: 27, LEASE: 28, AUDIT_WRITE: 29,
  AUDIT_CONTROL: 30, SETFCAP: 31, MAC_OVERRIDE: 32, MAC_ADMIN: 33, SYSLOG: 34, WAKE_ALARM: 35,
  BLOCK_SUSPEND: 36, AUDIT_READ: 37, PERFMON: 38, BPF: 39, CHECKPOINT_RESTORE: 40,
} as const;

export type CapName = keyof typeof CAP;

const LINUX_CAPABILITY_VERSION_3 = 0x20080522;

export interface CapSets {
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
}

/** struct __user_cap_header_struct for this process (version 3). */
export function capHeader(): Int32Array {
  return new Int32Array([LINUX_CAPABILITY_VERSION_3, 0]);
}

/** capset's data: two struct __user_cap_data_struct {effective, permitted, inheritable}, low words first. */
export function capData(sets: CapSets): Uint32Array {
  const data = new Uint32Array(6);
  const put = (i: number, v: bigint) => {
    data[i] = Number(v & 0xffffffffn);
    data[3 + i] = Number(v >> 32n);
  };
  put(0, sets.effective);
  put(1, sets.permitted);
  put(2, sets.inheritable);
  return data;
}

export function capget(): CapSets {
  const data = new Uint32Array(6); // two struct __user_cap_data_struct {effective, permitted, inheritable}
  check(libc.capget(capHeader(), data), "capget");
  const join = (i: number) => (BigInt(data[3 + i]!) << 32n) | BigInt(data[i]!);
  return { effective: join(0), permitted: join(1), inheritable: join(2) };
}

export function capset(sets: CapSets): void {
  check(libc.capset(capHeader(), capData(sets)), "capset");
}

let lastCapCache: number | undefined;
/** Highest capability number the kernel knows (/proc/sys/kernel/cap_last_cap). */
export function lastCap(): number {
  return (lastCapCache ??= Number(readText("/proc/sys/kernel/cap_last_cap").trim()));
}

export function hasEffectiveCap(cap: number): boolean {
  return (capget().effective & (1n << BigInt(cap))) !== 0n;
}

export const ambientRaise = (cap: number) => void prctl(PR.CAP_AMBIENT, PR_CAP_AMBIENT.RAISE, cap, 0, 0, `PR_CAP_AMBIENT_RAISE(${cap})`);
export const ambientLower = (cap: number) => void prctl(PR.CAP_AMBIENT, PR_CAP_AMBIENT.LOWER, cap, 0, 0, `PR_CAP_AMBIENT_LOWER(${cap})`);
export const ambientIsSet = (cap: number) => prctl(PR.CAP_AMBIENT, PR_CAP_AMBIENT.IS_SET, cap, 0, 0, `PR_CAP_AMBIENT_IS_SET(${cap})`) === 1;
export const ambientClearAll = () => void prctl(PR.CAP_AMBIENT, PR_CAP_AMBIENT.CLEAR_ALL, 0, 0, 0, "PR_CAP_AMBIENT_CLEAR_ALL");
export const boundingDrop = (cap: number) => void prctl(PR.CAPBSET_DROP, cap, 0, 0, 0, `PR_CAPBSET_DROP(${cap})`);
export const boundingHas = (cap: number) => prctl(PR.CAPBSET_READ, cap, 0, 0, 0, `PR_CAPBSET_READ(${cap})`) === 1;

export function capMask(caps: readonly number[]): bigint {
  return caps.reduce((m, c) => m | (1n << BigInt(c)), 0n);
}

/**
 * Keeps exactly `keep` (intersected with what we hold): drops the rest from the bounding set,
 * sets permitted = effective = inheritable = kept, and raises the kept ones to ambient so they
 * survive execve of a non-setuid program.
 */
export function keepCapabilities(keep: readonly number[]): bigint {
  const cur = capget();
  const kept = cur.permitted & capMask(keep);
  const last = lastCap();
  // Dropping from the bounding set needs CAP_SETPCAP. A process without it (an unprivileged user
  // outside any user namespace of its own, as under landlock) keeps the bounding set it was
  // given; it has no capability to use, and no_new_privs stops an exec from gaining one.
  const bounding = (cur.effective & (1n << BigInt(CAP.SETPCAP))) !== 0n;
  for (let c = 0; bounding && c <= last; c++) {
    if (!(kept & (1n << BigInt(c)))) boundingDrop(c);
  }
  capset({ effective: kept, permitted: kept, inheritable: kept });
  for (let c = 0; c <= last; c++) {
    if (kept & (1n << BigInt(c))) ambientRaise(c);
  }
  return kept;
}

/** Every set of this process: what restoreCapabilities() puts back. */
export interface CapSnapshot extends CapSets {
  bounding: bigint;
  ambient: bigint;
}

export function snapshotCapabilities(): CapSnapshot {
  const last = lastCap();
  let bounding = 0n;
  let ambient = 0n;
  for (let c = 0; c <= last; c++) {
    if (boundingHas(c)) bounding |= 1n << BigInt(c);
    if (ambientIsSet(c)) ambient |= 1n << BigInt(c);
  }
  return { ...capget(), bounding, ambient };
}

/**
 * Puts back the sets of a snapshot, e.g. after unshare(CLONE_NEWUSER), which grants every
 * capability in the new namespace: the bounding set is cut to the snapshot's, then the rest.
 */
export function restoreCapabilities(s: CapSnapshot): void {
  const last = lastCap();
  for (let c = 0; c <= last; c++) if (!(s.bounding & (1n << BigInt(c)))) boundingDrop(c);
  capset({ effective: s.effective, permitted: s.permitted, inheritable: s.inheritable });
  for (let c = 0; c <= last; c++) if (s.ambient & (1n << BigInt(c))) ambientRaise(c);
}

export function capNames(mask: bigint): string[] {
  return Object.entries(CAP).filter(([, n]) => mask & (1n << BigInt(n))).map(([name]) => name.toLowerCase());
}
