// Seccomp filters that make chosen syscalls fail with a chosen errno (0: return 0 without
// acting), optionally only when their arguments match. A filter is compiled to a
// self-contained struct sock_filter[] (through libseccomp when it loads, else by our own
// classic-BPF assembler) and loaded with seccomp(2); compiling and loading are separate so
// that one process can compile and another, which can only make raw syscalls, load the bytes.
import { dlopen, FFIType as T, ptr as ptrOf, type Pointer } from "bun:ffi";
import { check, errno, lazyBind, libc } from "./libc.ts";
import { SysError } from "./error.ts";
import { Errno } from "./errno.ts";
import { AUDIT_ARCH, hostArch, syscallNumber, type Arch, type SyscallName } from "./numbers.ts";
import { CAP, hasEffectiveCap } from "./caps.ts";
import { setNoNewPrivs } from "./process.ts";
import { closeQuiet } from "./fd.ts";
import { memfdCreate } from "./socket.ts";
import { BPF, BPF_MAXINSNS, BpfAssembler, decodeFilter, encodeFilter, type BpfInsn, type Label } from "./bpf.ts";

export { decodeFilter, encodeFilter, type BpfInsn };

/** Names mkosi-sandbox suppresses; the 32-bit variants exist only on 32-bit ABIs. */
export const CHOWN_SYSCALLS = ["chown", "chown32", "fchown", "fchown32", "fchownat", "lchown", "lchown32"] as const;
export const SYNC_SYSCALLS = ["sync", "syncfs", "fsync", "fdatasync", "msync", "sync_file_range", "sync_file_range2"] as const;

export const SECCOMP_RET = { KILL_PROCESS: 0x80000000, KILL_THREAD: 0, TRAP: 0x00030000, ERRNO: 0x00050000, ALLOW: 0x7fff0000 } as const;

/** errno values a rule commonly carries: 0 pretends success, ENOSYS pretends the call does not exist. */
export const RULE_ERRNO = { RETURN_ZERO: 0, EPERM: Errno.EPERM, ENOSYS: Errno.ENOSYS } as const;

/** One comparison of a syscall argument (as the 64-bit register value seccomp sees). */
export interface ArgCondition {
  arg: 0 | 1 | 2 | 3 | 4 | 5;
  /** masked-eq: (argument & mask) == value. */
  op: "eq" | "ne" | "masked-eq";
  value: bigint;
  mask?: bigint;
}

/** Fail `syscall` with `errno` when all `when` conditions hold; several rules for one syscall are ORed. */
export interface SeccompRule {
  syscall: string;
  errno: number;
  when?: ArgCondition[];
}

export type SeccompCompiler = "libseccomp" | "bpf";

export interface CompiledFilter {
  /** struct sock_filter[], ready for loadCompiled(). */
  bytes: Uint8Array;
  via: SeccompCompiler;
}

const X32_SYSCALL_BIT = 0x40000000;
const SECCOMP_DATA_NR = 0;
const SECCOMP_DATA_ARCH = 4;
const SECCOMP_DATA_ARGS = 16;
const U64_MAX = (1n << 64n) - 1n;
const MAX_ERRNO = 4095; // the kernel caps SECCOMP_RET_DATA of an errno action at this

/** A rule with its syscall number, checked and with masks filled in. */
interface NumberedRule {
  name: string;
  nr: number;
  errno: number;
  when: Required<ArgCondition>[];
}

/** Syscall numbers of `names` on `arch`; names the architecture lacks are left out. */
export function resolveSyscalls(names: readonly string[], arch: Arch): number[] {
  return [...new Set(names.map((n) => syscallNumber(n as SyscallName, arch)).filter((n): n is number => n !== undefined))];
}

// ---- rules ------------------------------------------------------------------------------------

function ruleError(rule: SeccompRule, why: string): SysError {
  return new SysError("compileFilter", Errno.EINVAL, String(rule.syscall), undefined, why);
}

const isU64 = (v: unknown): v is bigint => typeof v === "bigint" && v >= 0n && v <= U64_MAX;

/** Checks one condition and gives it an explicit mask (all ones for eq and ne). */
function checkCondition(rule: SeccompRule, c: ArgCondition): Required<ArgCondition> {
  if (!Number.isInteger(c.arg) || c.arg < 0 || c.arg > 5) throw ruleError(rule, `argument ${String(c.arg)} is not 0..5`);
  if (!isU64(c.value)) throw ruleError(rule, `value ${String(c.value)} is not a bigint in 0..2^64-1`);
  if (c.op === "masked-eq") {
    if (!isU64(c.mask)) throw ruleError(rule, "masked-eq needs a bigint mask in 0..2^64-1");
    // A value bit outside the mask could never match; refuse rather than compile a dead rule.
    if ((c.value & ~c.mask) !== 0n) throw ruleError(rule, `masked-eq value 0x${c.value.toString(16)} has bits outside mask 0x${c.mask.toString(16)}`);
    return { ...c, mask: c.mask };
  }
  if (c.op !== "eq" && c.op !== "ne") throw ruleError(rule, `unknown comparison ${String(c.op)}`);
  if (c.mask !== undefined) throw ruleError(rule, `${c.op} takes no mask`);
  return { ...c, mask: U64_MAX };
}

/**
 * The rules with numbers from `numberOf`; names it does not know (calls the architecture
 * lacks) are skipped. Throws SysError(EINVAL) for a malformed rule.
 */
function numberRules(rules: readonly SeccompRule[], numberOf: (name: string) => number | undefined): NumberedRule[] {
  const out: NumberedRule[] = [];
  for (const rule of rules) {
    if (typeof rule.syscall !== "string" || rule.syscall === "") throw ruleError(rule, "no syscall name");
    if (!Number.isInteger(rule.errno) || rule.errno < 0 || rule.errno > MAX_ERRNO) throw ruleError(rule, `errno ${rule.errno} is not 0..${MAX_ERRNO}`);
    const when = (rule.when ?? []).map((c) => checkCondition(rule, c));
    const nr = numberOf(rule.syscall);
    if (nr !== undefined) out.push({ name: rule.syscall, nr, errno: rule.errno, when });
  }
  return out;
}

const ourNumbers = (arch: Arch) => (name: string) => syscallNumber(name as SyscallName, arch);
const errnoAction = (e: number): number => (SECCOMP_RET.ERRNO | e) >>> 0;

// ---- our classic-BPF compiler -----------------------------------------------------------------

/**
 * The filter as classic BPF: check the architecture (any other ABI, including x32 on
 * x86_64, kills the process, as libseccomp's default does), then each syscall's rules in
 * order (the first that matches gives the action), and allow everything else.
 */
export function compileBpf(rules: readonly SeccompRule[], arch: Arch): BpfInsn[] {
  if (AUDIT_ARCH[arch] === undefined) throw new SysError(`seccomp filter for ${arch as string}`, Errno.EINVAL);
  return assemble(numberRules(rules, ourNumbers(arch)), arch);
}

/** The suppress filter for numbers already resolved: each returns 0 without acting. */
export function buildSuppressFilter(nrs: readonly number[], arch: Arch): BpfInsn[] {
  if (AUDIT_ARCH[arch] === undefined) throw new SysError(`seccomp filter for ${arch as string}`, Errno.EINVAL);
  return assemble(nrs.map((nr) => ({ name: String(nr), nr, errno: 0, when: [] })), arch);
}

function assemble(rules: readonly NumberedRule[], arch: Arch): BpfInsn[] {
  const a = new BpfAssembler();
  const archOk = a.label();
  a.emit(BPF.LD_W_ABS, SECCOMP_DATA_ARCH);
  a.jump(BPF.JEQ_K, AUDIT_ARCH[arch], archOk, "next");
  a.emit(BPF.RET_K, SECCOMP_RET.KILL_PROCESS);
  a.place(archOk);
  a.emit(BPF.LD_W_ABS, SECCOMP_DATA_NR);
  if (arch === "x86_64") {
    // Every number with the x32 bit, -1 included (libseccomp lets -1, a tracer's "skip", through).
    const native = a.label();
    a.jump(BPF.JGE_K, X32_SYSCALL_BIT, "next", native);
    a.emit(BPF.RET_K, SECCOMP_RET.KILL_PROCESS);
    a.place(native);
  }
  // Unconditional rules jump to one shared return per action, placed after the final ALLOW.
  const shared = new Map<number, Label>();
  const sharedReturn = (action: number): Label => shared.get(action) ?? shared.set(action, a.label()).get(action)!;
  let accIsNr = true;
  for (const [nr, group] of groupByNumber(rules)) accIsNr = emitSyscall(a, nr, group, sharedReturn, accIsNr);
  a.emit(BPF.RET_K, SECCOMP_RET.ALLOW);
  for (const [action, label] of shared) {
    a.place(label);
    a.emit(BPF.RET_K, action);
  }
  return a.assemble();
}

function groupByNumber(rules: readonly NumberedRule[]): Map<number, NumberedRule[]> {
  const groups = new Map<number, NumberedRule[]>();
  for (const r of rules) groups.set(r.nr, [...(groups.get(r.nr) ?? []), r]);
  return groups;
}

/** One syscall's rules; returns whether the accumulator still holds the syscall number after. */
function emitSyscall(a: BpfAssembler, nr: number, rules: NumberedRule[], sharedReturn: (action: number) => Label, accIsNr: boolean): boolean {
  if (!accIsNr) a.emit(BPF.LD_W_ABS, SECCOMP_DATA_NR);
  const first = rules[0]!;
  if (first.when.length === 0) {
    a.jump(BPF.JEQ_K, nr, sharedReturn(errnoAction(first.errno)), "next");
    return true;
  }
  const other = a.label();
  a.jump(BPF.JEQ_K, nr, "next", other);
  for (const rule of rules) {
    if (rule.when.length === 0) {
      a.emit(BPF.RET_K, errnoAction(rule.errno));
      break; // later rules for this syscall can never be reached
    }
    const fail = a.label();
    for (const c of rule.when) emitCondition(a, c, fail);
    a.emit(BPF.RET_K, errnoAction(rule.errno));
    a.place(fail);
  }
  a.place(other);
  return false;
}

const lowWord = (v: bigint): number => Number(v & 0xffffffffn);
const highWord = (v: bigint): number => Number(v >> 32n);

/**
 * Falls through when the condition holds, else jumps to `fail`. A 64-bit argument is two
 * 32-bit words, the low one first in seccomp_data on little-endian machines.
 */
function emitCondition(a: BpfAssembler, c: Required<ArgCondition>, fail: Label): void {
  const lo = SECCOMP_DATA_ARGS + 8 * c.arg;
  const hi = lo + 4;
  if (c.op === "ne") {
    const holds = a.label();
    a.emit(BPF.LD_W_ABS, lo);
    a.jump(BPF.JEQ_K, lowWord(c.value), "next", holds);
    a.emit(BPF.LD_W_ABS, hi);
    a.jump(BPF.JEQ_K, highWord(c.value), fail, "next");
    a.place(holds);
    return;
  }
  emitWordEq(a, lo, lowWord(c.mask), lowWord(c.value), fail);
  emitWordEq(a, hi, highWord(c.mask), highWord(c.value), fail);
}

function emitWordEq(a: BpfAssembler, offset: number, mask: number, value: number, fail: Label): void {
  if (mask === 0) return; // (word & 0) == 0 always holds (value bits lie within the mask)
  a.emit(BPF.LD_W_ABS, offset);
  if (mask !== 0xffffffff) a.emit(BPF.ALU_AND_K, mask);
  a.jump(BPF.JEQ_K, value, "next", fail);
}

// ---- libseccomp ---------------------------------------------------------------------------------

const libseccompSymbols = {
  seccomp_init: { args: [T.u32], returns: T.ptr },
  seccomp_release: { args: [T.ptr], returns: T.void },
  seccomp_attr_set: { args: [T.ptr, T.i32, T.u32], returns: T.i32 },
  seccomp_syscall_resolve_name: { args: [T.cstring], returns: T.i32 },
  seccomp_rule_add_exact_array: { args: [T.ptr, T.u32, T.i32, T.u32, T.ptr], returns: T.i32 },
  seccomp_export_bpf: { args: [T.ptr, T.i32], returns: T.i32 },
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

const SCMP_FLTATR_ACT_BADARCH = 2;
/** enum scmp_compare (seccomp.h). */
const SCMP_CMP = { ne: 1, eq: 4, "masked-eq": 7 } as const;
const SCMP_ARG_CMP_SIZE = 24; // struct scmp_arg_cmp { u32 arg; u32 op; u64 datum_a; u64 datum_b; }

/** struct scmp_arg_cmp[] for a rule (masked-eq: datum_a is the mask, datum_b the value). */
function encodeArgCmps(when: readonly Required<ArgCondition>[]): Uint8Array | null {
  if (when.length === 0) return null;
  const out = new Uint8Array(SCMP_ARG_CMP_SIZE * when.length);
  const dv = new DataView(out.buffer);
  when.forEach((c, i) => {
    const o = i * SCMP_ARG_CMP_SIZE;
    dv.setUint32(o, c.arg, true);
    dv.setUint32(o + 4, SCMP_CMP[c.op], true);
    dv.setBigUint64(o + 8, c.op === "masked-eq" ? c.mask : c.value, true);
    dv.setBigUint64(o + 16, c.op === "masked-eq" ? c.value : 0n, true);
  });
  return out;
}

/** libseccomp refuses (EINVAL) a rule that compares one argument twice. */
function libseccompCanExpress(rules: readonly SeccompRule[]): boolean {
  return rules.every((r) => new Set((r.when ?? []).map((c) => c.arg)).size === (r.when ?? []).length);
}

/** Reads the whole of a memfd written by seccomp_export_bpf. */
function readFilterBytes(fd: number): Uint8Array {
  const buf = new Uint8Array(BPF_MAXINSNS * 8 + 8);
  let n = 0;
  for (;;) {
    const r = Number(libc.pread(fd, buf.subarray(n), buf.length - n, n));
    if (r < 0) throw new SysError("pread", errno(), "seccomp_export_bpf output");
    if (r === 0) break;
    n += r;
    if (n === buf.length) throw new SysError("seccomp_export_bpf", Errno.E2BIG, undefined, undefined, `more than ${BPF_MAXINSNS} instructions`);
  }
  if (n === 0 || n % 8 !== 0) throw new SysError("seccomp_export_bpf", Errno.EINVAL, undefined, undefined, `${n} bytes is not a BPF program`);
  return buf.slice(0, n);
}

/** The filter as libseccomp builds it for the native architecture, exported into a memfd. */
function compileWithLibseccomp(lib: Libseccomp, rules: readonly NumberedRule[]): Uint8Array {
  // libseccomp returns -errno rather than setting errno.
  const must = (r: number, what: string, name?: string): void => {
    if (r < 0) throw new SysError(what, -r, name);
  };
  const ctx = lib.seccomp_init(SECCOMP_RET.ALLOW) as Pointer | null;
  if (!ctx) throw new SysError("seccomp_init", Errno.ENOMEM);
  let fd = -1;
  try {
    // Same as ours: a foreign ABI (x32 included) kills the whole process, not one thread.
    must(lib.seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SECCOMP_RET.KILL_PROCESS), "seccomp_attr_set", "SCMP_FLTATR_ACT_BADARCH");
    for (const r of rules) {
      const cmps = encodeArgCmps(r.when);
      must(lib.seccomp_rule_add_exact_array(ctx, errnoAction(r.errno), r.nr, r.when.length, cmps), "seccomp_rule_add_exact_array", r.name);
    }
    fd = memfdCreate("seccomp-bpf");
    must(lib.seccomp_export_bpf(ctx, fd), "seccomp_export_bpf");
    return readFilterBytes(fd);
  } finally {
    if (fd >= 0) closeQuiet(fd);
    lib.seccomp_release(ctx);
  }
}

// ---- compile and load -------------------------------------------------------------------------

/**
 * Compiles `rules` for `arch` (default: this machine) into struct sock_filter[] bytes:
 * through libseccomp when it loads and the filter is for this machine, else with our own
 * assembler. Rules that compare one argument twice go to ours too (libseccomp cannot).
 */
export function compileFilter(rules: readonly SeccompRule[], arch?: Arch): CompiledFilter {
  const host = hostArch();
  const target = arch ?? host;
  const lib = target === host ? libseccomp() : null;
  if (lib && libseccompCanExpress(rules)) {
    // Our tables where we have them, so both compilers see the same numbers.
    const numberOf = target ? ourNumbers(target) : (n: string) => nonNegative(lib.seccomp_syscall_resolve_name(n));
    return { bytes: compileWithLibseccomp(lib, numberRules(rules, numberOf)), via: "libseccomp" };
  }
  if (target === null) throw new SysError(`seccomp: no syscall table for architecture ${process.arch}; install libseccomp`, Errno.ENOSYS);
  return { bytes: encodeFilter(compileBpf(rules, target)), via: "bpf" };
}

const nonNegative = (n: number): number | undefined => (n >= 0 ? n : undefined);

/** Referencing a buffer after the call keeps the GC from freeing memory the kernel still reads. */
function keepAlive(_buf: Uint8Array | BigUint64Array): void {}

const sysSeccomp = lazyBind("seccomp", [T.u32, T.u32, T.ptr], { symbol: null });
const SECCOMP_SET_MODE_FILTER = 1;

/**
 * Loads compiled bytes with seccomp(SECCOMP_SET_MODE_FILTER). The caller needs no_new_privs
 * or CAP_SYS_ADMIN in its user namespace.
 */
export function loadCompiled(bytes: Uint8Array): void {
  if (bytes.length === 0 || bytes.length % 8 !== 0 || bytes.length > BPF_MAXINSNS * 8) {
    throw new SysError("seccomp", Errno.EINVAL, "SECCOMP_SET_MODE_FILTER", undefined, `${bytes.length} bytes is not a program of 1..${BPF_MAXINSNS} instructions`);
  }
  const fprog = new BigUint64Array(2); // struct sock_fprog { u16 len; struct sock_filter *filter; }
  fprog[0] = BigInt(bytes.length / 8);
  fprog[1] = BigInt(ptrOf(bytes));
  check(sysSeccomp(SECCOMP_SET_MODE_FILTER, 0, fprog), "seccomp", "SECCOMP_SET_MODE_FILTER");
  keepAlive(bytes);
}

/** Loads a classic-BPF program given as instructions. */
export function loadBpfFilter(prog: readonly BpfInsn[]): void {
  loadCompiled(encodeFilter(prog));
}

/**
 * Compiles and loads `rules`. no_new_privs is set only when we lack CAP_SYS_ADMIN (the
 * kernel requires one of the two). Returns which compiler was used.
 */
export function loadFilter(rules: readonly SeccompRule[]): SeccompCompiler {
  const { bytes, via } = compileFilter(rules);
  if (!hasEffectiveCap(CAP.SYS_ADMIN)) setNoNewPrivs();
  loadCompiled(bytes);
  return via;
}

export interface SuppressOptions {
  chown?: boolean;
  sync?: boolean;
}

/** Makes the requested families return 0 without acting. Returns which compiler was used. */
export function suppressSyscalls(opts: SuppressOptions): SeccompCompiler | "none" {
  const names = [...(opts.chown ? CHOWN_SYSCALLS : []), ...(opts.sync ? SYNC_SYSCALLS : [])];
  if (names.length === 0) return "none";
  return loadFilter(names.map((syscall) => ({ syscall, errno: RULE_ERRNO.RETURN_ZERO })));
}

export const seccompBinding = sysSeccomp;
