// Processes: namespaces, identity, fork/clone3 made safe for Bun, exec with GC-proof argv,
// waiting, signals, pidfds, prctl and the single-thread check.
import { ptr } from "bun:ffi";
import { check, cstr, errno, FFIType as T, lazyBind, libc } from "./libc.ts";
import { Errno } from "./errno.ts";
import { SysError } from "./error.ts";
import { exists, readText } from "./fs.ts";

// ---- namespaces and identity ---------------------------------------------------------------

export function unshare(flags: number): void {
  check(libc.unshare(flags), "unshare");
}

export function setns(fd: number, nstype = 0, label?: string): void {
  check(libc.setns(fd, nstype), "setns", label);
}

const NS_GET_USERNS = 0xb701;
const NS_GET_PARENT = 0xb702;

/** ioctl(NS_GET_PARENT): an fd of the parent of the user (or PID) namespace `fd`; EPERM above our own. */
export function nsGetParent(fd: number): number {
  return check(libc.ioctl(fd, NS_GET_PARENT, null), "ioctl(NS_GET_PARENT)", `fd ${fd}`);
}

/** ioctl(NS_GET_USERNS): an fd of the user namespace that owns namespace `fd`. */
export function nsGetUserns(fd: number): number {
  return check(libc.ioctl(fd, NS_GET_USERNS, null), "ioctl(NS_GET_USERNS)", `fd ${fd}`);
}

export const getpid = (): number => libc.getpid();
export const getppid = (): number => libc.getppid();
export const getuid = (): number => libc.getuid();
export const geteuid = (): number => libc.geteuid();
export const getgid = (): number => libc.getgid();
export const getegid = (): number => libc.getegid();

export function sethostname(name: string): void {
  const b = Buffer.from(name);
  check(libc.sethostname(b, b.length), "sethostname", name);
}

export function chroot(path: string): void {
  check(libc.chroot(cstr(path)), "chroot", path);
}

export function chdir(path: string): void {
  check(libc.chdir(cstr(path)), "chdir", path);
}

export function fchdir(fd: number): void {
  check(libc.fchdir(fd), "fchdir", `fd ${fd}`);
}

/** setgroups(2): the supplementary group list (needs CAP_SETGID; denied in a user namespace with setgroups "deny"). */
export function setgroups(groups: readonly number[]): void {
  check(libc.setgroups(groups.length, groups.length ? new Uint32Array(groups) : null), "setgroups", groups.join(","));
}

/** setresgid(2) with one gid for real, effective and saved. */
export function setgid(gid: number): void {
  check(libc.setresgid(gid, gid, gid), "setresgid", String(gid));
}

/** setresuid(2) with one uid for real, effective and saved. */
export function setuid(uid: number): void {
  check(libc.setresuid(uid, uid, uid), "setresuid", String(uid));
}

const cwdBuf = Buffer.alloc(4097);

/**
 * getcwd(3): the working directory, or null when it lies outside the root directory (glibc
 * reports ENOENT for the kernel's "(unreachable)" paths) or cannot be read.
 */
export function getcwdOrNull(): string | null {
  if (libc.getcwd(cwdBuf, cwdBuf.length) === null) return null;
  const path = cwdBuf.toString("utf8", 0, cwdBuf.indexOf(0));
  return path.startsWith("/") ? path : null;
}

/** getpgid(2): the process group of `pid` (0: this process). */
export function getpgid(pid = 0): number {
  return check(libc.getpgid(pid), "getpgid", String(pid));
}

export function setsid(): number {
  return check(libc.setsid(), "setsid");
}

export function umask(mask: number): number {
  return libc.umask(mask);
}

// ---- threads ---------------------------------------------------------------------------------

/** Number of threads of this process, from /proc/self/status. */
export function threadCount(): number {
  const status = readText("/proc/self/status");
  const m = /\nThreads:\s*(\d+)/.exec(status);
  return m ? Number(m[1]) : -1;
}

/** Throws unless this process has exactly one thread (unshare(CLONE_NEWUSER) and fork need it). */
export function assertSingleThreaded(purpose: string): void {
  const n = threadCount();
  if (n !== 1) {
    throw new SysError(purpose, Errno.EINVAL, undefined, undefined, `${purpose} needs a single-threaded process, this one has ${n} threads: start Bun with the single-thread variables BUN_JSC_useConcurrentJIT=0 BUN_JSC_useConcurrentGC=0 BUN_JSC_numberOfGCMarkers=1 (as bin/sandbox.cjs does)`);
  }
}

// ---- fork ------------------------------------------------------------------------------------

const MADV_DOFORK = 11;
let forkPrepared = false;

/**
 * JavaScriptCore maps its JIT region MADV_DONTFORK, so a forked child that runs JS jumps into
 * unmapped memory. Re-enable inheritance on every such mapping (flag `dc` in smaps), once.
 */
export function prepareFork(): number {
  if (forkPrepared) return 0;
  const smaps = readText("/proc/self/smaps");
  let fixed = 0;
  let at = 0;
  while ((at = smaps.indexOf(" dc", at)) !== -1) {
    const lineStart = smaps.lastIndexOf("\n", at) + 1;
    const end = at + 3;
    at = end;
    if (!smaps.startsWith("VmFlags:", lineStart) || (smaps[end] !== " " && smaps[end] !== "\n" && end !== smaps.length)) continue;
    // The mapping header is the last line starting with a hex range before this VmFlags line.
    let h = smaps.lastIndexOf("\n", lineStart - 2);
    while (h >= 0 && !/^[0-9a-f]+-[0-9a-f]+ /.test(smaps.slice(h + 1, h + 40))) h = smaps.lastIndexOf("\n", h - 1);
    const header = smaps.slice(h + 1, smaps.indexOf(" ", h + 1));
    const [lo, hi] = header.split("-").map((x) => BigInt(`0x${x}`));
    if (lo === undefined || hi === undefined) continue;
    check(libc.madvise(lo, hi - lo, MADV_DOFORK), "madvise", header);
    fixed++;
  }
  forkPrepared = true;
  return fixed;
}

/**
 * fork() that is safe in a single-threaded Bun: refuses when other threads exist.
 * `threadsChecked`: the caller checked (and prepared with prepareFork) before changing its root,
 * where /proc may be missing or belong to another PID namespace, and has started nothing since.
 */
export function fork(threadsChecked = false): number {
  if (!threadsChecked) {
    assertSingleThreaded("fork");
    prepareFork();
  } else if (!forkPrepared) {
    throw new SysError("fork", Errno.EINVAL, undefined, undefined, "prepareFork() must run before fork(true)");
  }
  return check(libc.fork(), "fork");
}

// glibc's clone3 is internal (it needs a child function and stack), so always the raw syscall.
const sysClone3 = lazyBind("clone3", [T.ptr, T.u64], { symbol: null });

export interface Clone3Result {
  pid: number;
  /** pidfd when CLONE_PIDFD was asked for, else -1. */
  pidfd: number;
}

/** clone3() with namespace flags; returns 0 as pid in the child. Same rules as fork(). */
export function clone3(flags: bigint, exitSignal = 17 /* SIGCHLD */): Clone3Result {
  assertSingleThreaded("clone3");
  prepareFork();
  const pidfd = new Int32Array([-1]);
  const args = new BigUint64Array(11); // struct clone_args, CLONE_ARGS_SIZE_VER2 = 88
  args[0] = flags;
  args[1] = BigInt(ptr(pidfd));
  args[4] = BigInt(exitSignal);
  const pid = check(sysClone3(args, 88), "clone3");
  return { pid, pidfd: pidfd[0]! };
}

export const clone3Binding = sysClone3;

// ---- exec --------------------------------------------------------------------------------------

/**
 * argv and envp packed into one buffer: two NULL-terminated pointer arrays followed by the
 * strings they point to. One allocation keeps every string alive as long as the arrays are.
 */
export class PackedArgs {
  readonly buf: Uint8Array;
  readonly argv: BigUint64Array;
  readonly envp: BigUint64Array;

  constructor(argv: readonly string[], envp: readonly string[]) {
    const all = [...argv, ...envp];
    for (const s of all) if (s.includes("\0")) throw new SysError("execve", Errno.EINVAL, s);
    const ptrBytes = (all.length + 2) * 8;
    // One encoding of every string, each followed by its NUL, after the two pointer arrays.
    const text = Buffer.from(all.length ? `${all.join("\0")}\0` : "");
    this.buf = new Uint8Array(new ArrayBuffer(ptrBytes + text.length));
    this.buf.set(text, ptrBytes);
    const table = new Uint32Array(this.buf.buffer, 0, ptrBytes / 4);
    // Addresses stay below 2^53, so plain numbers carry them; each goes in as two 32-bit halves.
    const base = ptr(this.buf);
    let off = ptrBytes;
    let slot = 0;
    const put = (addr: number) => {
      table[slot * 2] = addr % 0x100000000;
      table[slot * 2 + 1] = Math.floor(addr / 0x100000000);
      slot++;
    };
    all.forEach((_, i) => {
      if (i === argv.length) put(0); // argv terminator
      put(base + off);
      off = this.buf.indexOf(0, off) + 1;
    });
    if (all.length === argv.length) put(0);
    put(0);
    const words = new BigUint64Array(this.buf.buffer, 0, ptrBytes / 8);
    this.argv = words.subarray(0, argv.length + 1);
    this.envp = words.subarray(argv.length + 1);
  }
}

/** execve(2); returns only on failure, with the errno. */
export function execve(path: string, args: PackedArgs): number {
  libc.execve(cstr(path), args.argv, args.envp);
  return errno();
}

export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Where execvp(3) looks for `file`, in order: itself when it has a "/", else each PATH entry. */
export function pathCandidates(file: string, env: Record<string, string>): string[] {
  if (file.includes("/")) return [file];
  if (file === "") return [];
  return (env.PATH ?? DEFAULT_PATH).split(":").map((dir) => `${dir || "."}/${file}`);
}

/**
 * execvpe(3) semantics: a name without "/" is searched in PATH (from `env`, or a default);
 * EACCES on one candidate is remembered while the search goes on; ENOEXEC runs the file with
 * /bin/sh. Returns only on failure, with the errno that describes it best.
 */
export function execvpe(file: string, argv: readonly string[], env: Record<string, string>): number {
  const envp = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const args = new PackedArgs(argv, envp);
  const tryOne = (path: string): number => {
    const e = execve(path, args);
    if (e === Errno.ENOEXEC) {
      execve("/bin/sh", new PackedArgs(["/bin/sh", path, ...argv.slice(1)], envp));
    }
    return e;
  };
  if (file.includes("/")) return tryOne(file);
  if (file === "") return Errno.ENOENT;
  let sawEacces = false;
  for (const candidate of pathCandidates(file, env)) {
    const e = tryOne(candidate);
    // EACCES counts only for a file that is there; an unreadable PATH directory is "not found".
    if (e === Errno.EACCES) sawEacces ||= exists(candidate);
    else if (e !== Errno.ENOENT && e !== Errno.ENOTDIR && e !== Errno.ESTALE && e !== Errno.ENODEV && e !== Errno.ETIMEDOUT) return e;
  }
  return sawEacces ? Errno.EACCES : Errno.ENOENT;
}

export function exit(code: number): never {
  libc._exit(code);
  throw new Error("unreachable");
}

// ---- waiting and signals ----------------------------------------------------------------------

export const WNOHANG = 1;
export const WUNTRACED = 2;
export const __WALL = 0x40000000;

export interface WaitResult {
  pid: number;
  status: number;
}

export function waitpid(pid: number, options = 0): WaitResult {
  const st = new Int32Array(1);
  for (;;) {
    const r = libc.waitpid(pid, st, options);
    if (r < 0) {
      const e = errno();
      if (e === Errno.EINTR) continue;
      throw new SysError("waitpid", e, String(pid));
    }
    return { pid: r, status: st[0]! };
  }
}

/**
 * struct rusage (x86_64 and aarch64: two timevals, then 14 longs), as plain numbers: times in
 * microseconds, maxrss in KiB as the kernel gives it.
 */
export interface RawUsage {
  utime: number;
  stime: number;
  maxrss: number;
  ixrss: number;
  nswap: number;
  inblock: number;
  oublock: number;
  msgsnd: number;
  msgrcv: number;
  nsignals: number;
  nvcsw: number;
  nivcsw: number;
}

const RUSAGE_SIZE = 144;

export function decodeRusage(b: Buffer): RawUsage {
  const long = (i: number) => Number(b.readBigInt64LE(32 + 8 * i));
  const tv = (off: number) => Number(b.readBigInt64LE(off)) * 1e6 + Number(b.readBigInt64LE(off + 8));
  return {
    utime: tv(0), stime: tv(16), maxrss: long(0), ixrss: long(1), nswap: long(6), inblock: long(7), oublock: long(8),
    msgsnd: long(9), msgrcv: long(10), nsignals: long(11), nvcsw: long(12), nivcsw: long(13),
  };
}

/** wait4(2): waitpid with the resource usage of the child and every descendant it reaped. */
export function wait4(pid: number, options = 0): WaitResult & { usage: RawUsage | null } {
  const st = new Int32Array(1);
  const ru = Buffer.alloc(RUSAGE_SIZE);
  for (;;) {
    const r = libc.wait4(pid, st, options, ru);
    if (r < 0) {
      const e = errno();
      if (e === Errno.EINTR) continue;
      throw new SysError("wait4", e, String(pid));
    }
    return { pid: r, status: st[0]!, usage: r > 0 ? decodeRusage(ru) : null };
  }
}

/** Shell-style exit code of a wait status: the code, or 128+signal. */
export function exitCodeOf(status: number): number {
  const sig = status & 0x7f;
  return sig === 0 ? (status >> 8) & 0xff : 128 + sig;
}

export const wifexited = (s: number) => (s & 0x7f) === 0;
export const wifsignaled = (s: number) => (s & 0x7f) !== 0 && (s & 0x7f) !== 0x7f;
export const wtermsig = (s: number) => s & 0x7f;
export const wexitstatus = (s: number) => (s >> 8) & 0xff;

export function kill(pid: number, sig: number): void {
  check(libc.kill(pid, sig), "kill", String(pid));
}

const sysPidfdOpen = lazyBind("pidfd_open", [T.i32, T.u32]);
const sysPidfdSendSignal = lazyBind("pidfd_send_signal", [T.i32, T.i32, T.ptr, T.u32]);

export function pidfdOpen(pid: number, flags = 0): number {
  return check(sysPidfdOpen(pid, flags), "pidfd_open", String(pid));
}

export function pidfdSendSignal(pidfd: number, sig: number): void {
  check(sysPidfdSendSignal(pidfd, sig, null, 0), "pidfd_send_signal", `pidfd ${pidfd}`);
}

export const pidfdBindings = { pidfd_open: sysPidfdOpen, pidfd_send_signal: sysPidfdSendSignal };

// ---- prctl -------------------------------------------------------------------------------------

export const PR = {
  SET_PDEATHSIG: 1, GET_PDEATHSIG: 2, GET_DUMPABLE: 3, SET_DUMPABLE: 4, SET_NAME: 15,
  CAPBSET_READ: 23, CAPBSET_DROP: 24, SET_CHILD_SUBREAPER: 36, GET_CHILD_SUBREAPER: 37,
  SET_NO_NEW_PRIVS: 38, GET_NO_NEW_PRIVS: 39, CAP_AMBIENT: 47,
} as const;
export const PR_CAP_AMBIENT = { IS_SET: 1, RAISE: 2, LOWER: 3, CLEAR_ALL: 4 } as const;

export function prctl(option: number, a2 = 0, a3 = 0, a4 = 0, a5 = 0, label = `prctl(${option})`): number {
  return check(libc.prctl(option, a2, a3, a4, a5), label);
}

export const setParentDeathSignal = (sig: number) => void prctl(PR.SET_PDEATHSIG, sig, 0, 0, 0, "PR_SET_PDEATHSIG");
export const getParentDeathSignal = (): number => {
  const out = new Int32Array(1);
  check(libc.prctl(PR.GET_PDEATHSIG, BigInt(ptr(out)), 0, 0, 0), "PR_GET_PDEATHSIG");
  return out[0]!;
};
export const setChildSubreaper = (on = true) => void prctl(PR.SET_CHILD_SUBREAPER, on ? 1 : 0, 0, 0, 0, "PR_SET_CHILD_SUBREAPER");
export const setNoNewPrivs = () => void prctl(PR.SET_NO_NEW_PRIVS, 1, 0, 0, 0, "PR_SET_NO_NEW_PRIVS");
export const getNoNewPrivs = () => prctl(PR.GET_NO_NEW_PRIVS, 0, 0, 0, 0, "PR_GET_NO_NEW_PRIVS");
export const setDumpable = (on: boolean) => void prctl(PR.SET_DUMPABLE, on ? 1 : 0, 0, 0, 0, "PR_SET_DUMPABLE");
export const getDumpable = () => prctl(PR.GET_DUMPABLE, 0, 0, 0, 0, "PR_GET_DUMPABLE");
