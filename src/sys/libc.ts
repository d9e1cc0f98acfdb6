// The one place that talks to libc through bun:ffi: a single dlopen of the symbols every
// glibc has, errno read through a cached view, and late-bound calls that use the libc wrapper
// when it exists and `syscall(NR, ...)` otherwise.
import { CFunction, dlopen, FFIType as T, toArrayBuffer, type Pointer } from "bun:ffi";
import { Errno } from "./errno.ts";
import { LibcUnavailable, SysError } from "./error.ts";
import { hostArch, syscallNumber, type SyscallName } from "./numbers.ts";

/** glibc's. BUN_SANDBOX_TEST_LIBC names another file: the tests' way to a host without it. */
const LIBC = process.env.BUN_SANDBOX_TEST_LIBC || "libc.so.6";

const symbols = {
  __errno_location: { args: [], returns: T.ptr },
  dlsym: { args: [T.ptr, T.cstring], returns: T.ptr },
  unshare: { args: [T.i32], returns: T.i32 },
  setns: { args: [T.i32, T.i32], returns: T.i32 },
  mount: { args: [T.ptr, T.ptr, T.ptr, T.u64, T.ptr], returns: T.i32 },
  umount2: { args: [T.ptr, T.i32], returns: T.i32 },
  pivot_root: { args: [T.ptr, T.ptr], returns: T.i32 },
  chroot: { args: [T.ptr], returns: T.i32 },
  chdir: { args: [T.ptr], returns: T.i32 },
  fchdir: { args: [T.i32], returns: T.i32 },
  statfs: { args: [T.ptr, T.ptr], returns: T.i32 },
  fstatfs: { args: [T.i32, T.ptr], returns: T.i32 },
  ioctl: { args: [T.i32, T.u64, T.ptr], returns: T.i32 },
  capget: { args: [T.ptr, T.ptr], returns: T.i32 },
  capset: { args: [T.ptr, T.ptr], returns: T.i32 },
  prctl: { args: [T.i32, T.u64, T.u64, T.u64, T.u64], returns: T.i32 },
  eventfd: { args: [T.u32, T.i32], returns: T.i32 },
  pipe2: { args: [T.ptr, T.i32], returns: T.i32 },
  dup3: { args: [T.i32, T.i32, T.i32], returns: T.i32 },
  fcntl: { args: [T.i32, T.i32, T.u64], returns: T.i32 },
  open: { args: [T.ptr, T.i32, T.u32], returns: T.i32 },
  close: { args: [T.i32], returns: T.i32 },
  read: { args: [T.i32, T.ptr, T.u64], returns: T.i64_fast },
  write: { args: [T.i32, T.ptr, T.u64], returns: T.i64_fast },
  pread: { args: [T.i32, T.ptr, T.u64, T.i64], returns: T.i64_fast },
  fork: { args: [], returns: T.i32 },
  execve: { args: [T.ptr, T.ptr, T.ptr], returns: T.i32 },
  waitpid: { args: [T.i32, T.ptr, T.i32], returns: T.i32 },
  wait4: { args: [T.i32, T.ptr, T.i32, T.ptr], returns: T.i32 },
  kill: { args: [T.i32, T.i32], returns: T.i32 },
  setsid: { args: [], returns: T.i32 },
  getpid: { args: [], returns: T.i32 },
  getppid: { args: [], returns: T.i32 },
  getuid: { args: [], returns: T.u32 },
  geteuid: { args: [], returns: T.u32 },
  getgid: { args: [], returns: T.u32 },
  getegid: { args: [], returns: T.u32 },
  sethostname: { args: [T.ptr, T.u64], returns: T.i32 },
  madvise: { args: [T.u64, T.u64, T.i32], returns: T.i32 },
  umask: { args: [T.u32], returns: T.u32 },
  isatty: { args: [T.i32], returns: T.i32 },
  socket: { args: [T.i32, T.i32, T.i32], returns: T.i32 },
  bind: { args: [T.i32, T.ptr, T.u32], returns: T.i32 },
  listen: { args: [T.i32, T.i32], returns: T.i32 },
  socketpair: { args: [T.i32, T.i32, T.i32, T.ptr], returns: T.i32 },
  sendmsg: { args: [T.i32, T.ptr, T.i32], returns: T.i64_fast },
  recvmsg: { args: [T.i32, T.ptr, T.i32], returns: T.i64_fast },
  shutdown: { args: [T.i32, T.i32], returns: T.i32 },
  _exit: { args: [T.i32], returns: T.void },
  sigprocmask: { args: [T.i32, T.ptr, T.ptr], returns: T.i32 },
  signal: { args: [T.i32, T.u64], returns: T.u64 },
  poll: { args: [T.ptr, T.u64, T.i32], returns: T.i32 },
  setpgid: { args: [T.i32, T.i32], returns: T.i32 },
  getpgid: { args: [T.i32], returns: T.i32 },
  setgroups: { args: [T.u64, T.ptr], returns: T.i32 },
  setresuid: { args: [T.u32, T.u32, T.u32], returns: T.i32 },
  setresgid: { args: [T.u32, T.u32, T.u32], returns: T.i32 },
  getcwd: { args: [T.ptr, T.u64], returns: T.ptr },
} as const;

function openLibc() {
  try {
    return dlopen(LIBC, symbols).symbols;
  } catch (e) {
    throw new LibcUnavailable(LIBC, e);
  }
}

/** Throws LibcUnavailable when the module loads without it (the CLI's entry and the library's report it). */
export const libc = openLibc();

const errnoCell = new Int32Array(toArrayBuffer(libc.__errno_location() as Pointer, 0, 4));

/** errno of the last failed call. Read it in the statement right after the call. */
export function errno(): number {
  return errnoCell[0]!;
}

/** Sets errno: a caller that must know whether a later call failed clears it first. */
export function setErrno(v: number): void {
  errnoCell[0] = v;
}

/** Throws SysError when a libc-convention return value (-1 and errno) signals failure. */
export function check(ret: number, syscall: string, path?: string, dest?: string): number {
  if (ret < 0) throw new SysError(syscall, errnoCell[0]!, path, dest);
  return ret;
}

/** NUL-terminated copy of a string for a `char *` argument. */
export function cstr(s: string): Buffer {
  if (s.includes("\0")) throw new SysError("cstr", Errno.EINVAL, s);
  return Buffer.from(s + "\0");
}

/** Pointer-or-null helper for optional `const char *` arguments. */
export function cstrOrNull(s: string | null | undefined): Buffer | null {
  return s === null || s === undefined ? null : cstr(s);
}

// ---- late-bound calls -----------------------------------------------------------------------

const forceSyscall = process.env.BUN_SANDBOX_FORCE_SYSCALL === "1";
const arch = hostArch();

type ArgType = typeof T.i32 | typeof T.u32 | typeof T.i64 | typeof T.u64 | typeof T.ptr;
type Arg = number | bigint | NodeJS.TypedArray | null;
/** A call bound to either the libc wrapper or `syscall(NR, ...)`; returns the raw result. */
export type BoundCall = ((...args: Arg[]) => number) & { readonly via: "libc" | "syscall" | "missing" };

function symbolAddress(name: string): Pointer | null {
  return libc.dlsym(null, name) as Pointer | null;
}

export interface BindOptions {
  /** Library symbol to use instead of the syscall; null: always the raw syscall. Default: the syscall's name. */
  symbol?: string | null;
  /** The wrapper returns ssize_t/long rather than int. */
  long?: boolean;
  /** Symbol lookup (default: dlsym in the global namespace). */
  lookup?: (s: string) => Pointer | null;
}

/**
 * Binds `name` once: to the library symbol when present (and not forced off with
 * BUN_SANDBOX_FORCE_SYSCALL=1), else to `syscall(NR_name, ...)`. Pointer arguments stay typed
 * arrays on both paths so the buffers are alive for the whole call. The return type matters:
 * an int wrapper's -1 read as 64 bits would be 4294967295.
 */
export function lateBind(name: SyscallName, args: ArgType[], opts: BindOptions = {}): BoundCall {
  const symbol = opts.symbol === undefined ? name : opts.symbol;
  const lookup = opts.lookup ?? symbolAddress;
  let fn: ((...args: Arg[]) => number) | undefined;
  let via: BoundCall["via"] = "missing";
  const wrapper = forceSyscall || symbol === null ? null : lookup(symbol);
  if (wrapper) {
    const c = CFunction({ ptr: wrapper, args, returns: opts.long ? T.i64_fast : T.i32 }) as unknown as (...a: Arg[]) => number;
    fn = c;
    via = "libc";
  } else {
    const nr = arch === null ? undefined : syscallNumber(name, arch);
    const sc = symbolAddress("syscall");
    if (nr !== undefined && sc) {
      // syscall() returns long and reads every argument as a long, so widen integers to 64 bits.
      const raw = CFunction({ ptr: sc, args: [T.i64, ...args.map((a) => (a === T.ptr ? T.ptr : T.i64))], returns: T.i64_fast }) as unknown as (...a: Arg[]) => number;
      fn = (...a: Arg[]) => raw(nr, ...a);
      via = "syscall";
    }
  }
  const call = ((...a: Arg[]) => {
    if (!fn) throw new SysError(name, Errno.ENOSYS);
    return fn(...a);
  }) as BoundCall;
  Object.defineProperty(call, "via", { value: via });
  return call;
}

/** Whether libc exports `symbol` (used by diagnostics). */
export function hasLibcSymbol(symbol: string): boolean {
  return symbolAddress(symbol) !== null;
}

/** Lazily created binding: the CFunction is compiled on first use only. */
export function lazyBind(name: SyscallName, args: ArgType[], opts: BindOptions = {}): BoundCall {
  let bound: BoundCall | undefined;
  const get = () => (bound ??= lateBind(name, args, opts));
  const call = ((...a: Arg[]) => get()(...a)) as BoundCall;
  Object.defineProperty(call, "via", { get: () => get().via });
  return call;
}

export { T as FFIType };
