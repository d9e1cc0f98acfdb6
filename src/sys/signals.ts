// Signal masks, signalfd and dispositions. Bun ignores SIGPIPE and SIGXFSZ and may block
// others; an exec'd command inherits both, so the stage resets them before exec.
import { check, errno, FFIType as T, lazyBind, libc } from "./libc.ts";
import { Errno } from "./errno.ts";
import { SysError } from "./error.ts";

export const SIG = {
  HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10, SEGV: 11,
  USR2: 12, PIPE: 13, ALRM: 14, TERM: 15, STKFLT: 16, CHLD: 17, CONT: 18, STOP: 19, TSTP: 20,
  TTIN: 21, TTOU: 22, URG: 23, XCPU: 24, XFSZ: 25, VTALRM: 26, PROF: 27, WINCH: 28, IO: 29,
  PWR: 30, SYS: 31,
} as const;

export type SignalName = `SIG${keyof typeof SIG}`;

export function signalNumber(sig: number | string): number {
  if (typeof sig === "number") return sig;
  const n = (SIG as Record<string, number>)[sig.replace(/^SIG/, "")];
  if (n === undefined) throw new SysError("signal", Errno.EINVAL, sig);
  return n;
}

export function signalName(n: number): string {
  const e = Object.entries(SIG).find(([, v]) => v === n);
  return e ? `SIG${e[0]}` : `SIG${n}`;
}

const sigs = libc;

export const SIG_BLOCK = 0;
export const SIG_UNBLOCK = 1;
export const SIG_SETMASK = 2;

/** A kernel sigset (64 signals) as the 8 bytes the kernel reads; glibc's 128-byte set is zero-extended. */
export function sigset(signals: readonly number[]): BigUint64Array {
  const set = new BigUint64Array(16);
  for (const s of signals) set[0]! |= 1n << BigInt(s - 1);
  return set;
}

export function sigprocmask(how: number, signals: readonly number[]): bigint {
  const old = new BigUint64Array(16);
  check(sigs.sigprocmask(how, sigset(signals), old), "sigprocmask");
  return old[0]!;
}

const sysSignalfd = lazyBind("signalfd4", [T.i32, T.ptr, T.u64, T.i32], { symbol: null });
export const SFD_CLOEXEC = 0o2000000;

/** signalfd for `signals` (which must be blocked); reads return 128-byte signalfd_siginfo. */
export function signalfd(signals: readonly number[]): number {
  return check(sysSignalfd(-1, sigset(signals), 8, SFD_CLOEXEC), "signalfd", signals.map(signalName).join(","));
}

/** si_code of a signal the kernel itself raised, e.g. the terminal's ^C or a window resize. */
export const SI_KERNEL = 0x80;

export interface SignalInfo {
  signo: number;
  /** SI_USER for kill(2), SI_KERNEL for the terminal driver, ... */
  code: number;
}

/** Blocking read of one signal from a signalfd: its number and how it was sent. */
export function readSignal(fd: number): SignalInfo {
  const info = new Int32Array(32); // struct signalfd_siginfo: ssi_signo, ssi_errno, ssi_code, ...
  for (;;) {
    const n = Number(libc.read(fd, info, 128));
    if (n === 128) return { signo: info[0]!, code: info[2]! };
    if (n < 0 && errno() === Errno.EINTR) continue;
    throw new SysError("read(signalfd)", n < 0 ? errno() : Errno.EIO);
  }
}

/**
 * What a freshly exec'd program expects: every signal at its default disposition (ignored ones
 * are inherited across execve) and none blocked.
 */
export function resetSignalsForExec(): void {
  for (let s = 1; s <= 64; s++) {
    if (s === SIG.KILL || s === SIG.STOP) continue;
    sigs.signal(s, 0n); // SIG_DFL; fails harmlessly for the two reserved glibc signals
  }
  sigprocmask(SIG_SETMASK, []);
}

/** SIG_DFL for one signal. */
export function defaultAction(sig: number): void {
  sigs.signal(sig, 0n);
}

export const signalBindings = { signalfd4: sysSignalfd };
