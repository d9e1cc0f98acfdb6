// A seccomp filter that makes chosen syscalls return 0 without acting (SECCOMP_RET_ERRNO with
// errno 0), loaded through libseccomp when it is available, or as a classic-BPF program we
// assemble ourselves and load with seccomp(2).
import { dlopen, FFIType as T, ptr as ptrOf, type Pointer } from "bun:ffi";
import { check, lazyBind } from "./libc.ts";
import { SysError } from "./error.ts";
import { Errno } from "./errno.ts";
import { AUDIT_ARCH, hostArch, syscallNumber, type Arch, type SyscallName } from "./numbers.ts";
import { CAP, hasEffectiveCap } from "./caps.ts";
import { setNoNewPrivs } from "./process.ts";

/** Names mkosi-sandbox suppresses; the 32-bit variants exist only on 32-bit ABIs. */
export const CHOWN_SYSCALLS = ["chown", "chown32", "fchown", "fchown32", "fchownat", "lchown", "lchown32"] as const;
export const SYNC_SYSCALLS = ["sync", "syncfs", "fsync", "fdatasync", "msync", "sync_file_range", "sync_file_range2"] as const;

export const SECCOMP_RET = { KILL_PROCESS: 0x80000000, KILL_THREAD: 0, TRAP: 0x00030000, ERRNO: 0x00050000, ALLOW: 0x7fff0000 } as const;

// Classic BPF opcodes used below.
const BPF_LD_W_ABS = 0x20;
const BPF_JEQ_K = 0x15;
const BPF_JGE_K = 0x35;
const BPF_RET_K = 0x06;
const X32_SYSCALL_BIT = 0x40000000;
const SECCOMP_DATA_NR = 0;
const SECCOMP_DATA_ARCH = 4;

export interface BpfInsn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/** Syscall numbers of `names` on `arch`; names the architecture lacks are left out. */
export function resolveSyscalls(names: readonly string[], arch: Arch): number[] {
  return [...new Set(names.map((n) => syscallNumber(n as SyscallName, arch)).filter((n): n is number => n !== undefined))];
}

/**
 * The filter as classic BPF: check the architecture (any other ABI, including x32 on
 * x86_64, kills the process, as libseccomp's default does), then return errno 0 for each
 * listed number and allow everything else.
 */
export function buildSuppressFilter(nrs: readonly number[], arch: Arch): BpfInsn[] {
  const auditArch = AUDIT_ARCH[arch];
  if (auditArch === undefined) throw new SysError(`seccomp filter for ${arch as string}`, Errno.EINVAL);
  if (nrs.length > 200) throw new SysError("seccomp filter: too many syscalls for 8-bit jumps", Errno.E2BIG);
  const prog: BpfInsn[] = [];
  const kill = (): BpfInsn => ({ code: BPF_RET_K, jt: 0, jf: 0, k: SECCOMP_RET.KILL_PROCESS });
  prog.push({ code: BPF_LD_W_ABS, jt: 0, jf: 0, k: SECCOMP_DATA_ARCH });
  prog.push({ code: BPF_JEQ_K, jt: 1, jf: 0, k: auditArch });
  prog.push(kill());
  prog.push({ code: BPF_LD_W_ABS, jt: 0, jf: 0, k: SECCOMP_DATA_NR });
  if (arch === "x86_64") {
    prog.push({ code: BPF_JGE_K, jt: 0, jf: 1, k: X32_SYSCALL_BIT });
    prog.push(kill());
  }
  // Each JEQ jumps forward over the remaining JEQs and the ALLOW to the ERRNO return.
  nrs.forEach((nr, i) => prog.push({ code: BPF_JEQ_K, jt: nrs.length - i, jf: 0, k: nr }));
  prog.push({ code: BPF_RET_K, jt: 0, jf: 0, k: SECCOMP_RET.ALLOW });
  prog.push({ code: BPF_RET_K, jt: 0, jf: 0, k: SECCOMP_RET.ERRNO | 0 });
  return prog;
}

/** struct sock_filter[] as bytes. */
export function encodeFilter(prog: readonly BpfInsn[]): Uint8Array {
  const out = new Uint8Array(prog.length * 8);
  const dv = new DataView(out.buffer);
  prog.forEach((ins, i) => {
    dv.setUint16(i * 8, ins.code, true);
    dv.setUint8(i * 8 + 2, ins.jt);
    dv.setUint8(i * 8 + 3, ins.jf);
    dv.setUint32(i * 8 + 4, ins.k, true);
  });
  return out;
}

/** Referencing a buffer after the call keeps the GC from freeing memory the kernel still reads. */
function keepAlive(_buf: Uint8Array): void {}

const sysSeccomp = lazyBind("seccomp", [T.u32, T.u32, T.ptr], { symbol: null });
const SECCOMP_SET_MODE_FILTER = 1;

/** Loads a classic-BPF program with seccomp(SECCOMP_SET_MODE_FILTER). */
export function loadBpfFilter(prog: readonly BpfInsn[]): void {
  const filter = encodeFilter(prog);
  const fprog = new BigUint64Array(2); // struct sock_fprog { u16 len; struct sock_filter *filter; }
  fprog[0] = BigInt(prog.length);
  fprog[1] = BigInt(ptrOf(filter));
  check(sysSeccomp(SECCOMP_SET_MODE_FILTER, 0, fprog), "seccomp", "SECCOMP_SET_MODE_FILTER");
  keepAlive(filter);
}


// ---- libseccomp -------------------------------------------------------------------------------

const libseccompSymbols = {
  seccomp_init: { args: [T.u32], returns: T.ptr },
  seccomp_release: { args: [T.ptr], returns: T.void },
  seccomp_attr_set: { args: [T.ptr, T.i32, T.u32], returns: T.i32 },
  seccomp_syscall_resolve_name: { args: [T.cstring], returns: T.i32 },
  seccomp_rule_add_exact: { args: [T.ptr, T.u32, T.i32, T.u32], returns: T.i32 },
  seccomp_load: { args: [T.ptr], returns: T.i32 },
} as const;

type Libseccomp = ReturnType<typeof dlopen<typeof libseccompSymbols>>["symbols"];
let libseccompCache: Libseccomp | null | undefined;

/** libseccomp.so.2, or null when absent or disabled with BUN_SANDBOX_NO_LIBSECCOMP=1. */
export function libseccomp(): Libseccomp | null {
  if (libseccompCache !== undefined) return libseccompCache;
  if (process.env.BUN_SANDBOX_NO_LIBSECCOMP === "1") return (libseccompCache = null);
  try {
    libseccompCache = dlopen("libseccomp.so.2", libseccompSymbols).symbols;
  } catch {
    libseccompCache = null;
  }
  return libseccompCache;
}

const SCMP_FLTATR_CTL_NNP = 3;

function loadWithLibseccomp(lib: Libseccomp, names: readonly string[], setNnp: boolean): void {
  // libseccomp returns -errno rather than setting errno.
  const fail = (what: string, r: number): never => {
    throw new SysError(what, -r);
  };
  const ctx = lib.seccomp_init(SECCOMP_RET.ALLOW) as Pointer | null;
  if (!ctx) throw new SysError("seccomp_init", Errno.ENOMEM);
  try {
    let r = lib.seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, setNnp ? 1 : 0);
    if (r < 0) fail("seccomp_attr_set", r);
    for (const name of names) {
      const nr = lib.seccomp_syscall_resolve_name(name);
      if (nr < 0) continue; // not a syscall of this architecture
      r = lib.seccomp_rule_add_exact(ctx, SECCOMP_RET.ERRNO | 0, nr, 0);
      if (r < 0) fail(`seccomp_rule_add_exact(${name})`, r);
    }
    r = lib.seccomp_load(ctx);
    if (r < 0) fail("seccomp_load", r);
  } finally {
    lib.seccomp_release(ctx);
  }
}

export interface SuppressOptions {
  chown?: boolean;
  sync?: boolean;
}

/**
 * Installs the suppress filter for the requested families. no_new_privs is set only when we
 * lack CAP_SYS_ADMIN (the kernel requires one of the two). Returns which loader was used.
 */
export function suppressSyscalls(opts: SuppressOptions): "libseccomp" | "bpf" | "none" {
  const names = [...(opts.chown ? CHOWN_SYSCALLS : []), ...(opts.sync ? SYNC_SYSCALLS : [])];
  if (names.length === 0) return "none";
  const needNnp = !hasEffectiveCap(CAP.SYS_ADMIN);
  const lib = libseccomp();
  if (lib) {
    loadWithLibseccomp(lib, names, needNnp);
    return "libseccomp";
  }
  const arch = hostArch();
  if (arch === null) throw new SysError(`seccomp: no syscall table for architecture ${process.arch}; install libseccomp`, Errno.ENOSYS);
  if (needNnp) setNoNewPrivs();
  loadBpfFilter(buildSuppressFilter(resolveSyscalls(names, arch), arch));
  return "bpf";
}

export const seccompBinding = sysSeccomp;
