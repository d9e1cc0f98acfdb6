// posix_spawn(3): start a program without copying this process. glibc clones with CLONE_VM |
// CLONE_VFORK and runs the file actions and execve in the child on a stack of its own, so the
// cost does not grow with the size of the (large) Bun process that calls it, where fork + exec
// pays for copying and tearing down every page table of it.
import { CFunction, FFIType as T } from "bun:ffi";
import { libc } from "./libc.ts";
import { PackedArgs } from "./process.ts";
import { sigset } from "./signals.ts";
import { SysError } from "./error.ts";
import { Errno } from "./errno.ts";

type Fn = (...a: (number | NodeJS.TypedArray | Buffer | null)[]) => number;

function bind(name: string, args: (typeof T.ptr | typeof T.i32 | typeof T.i16)[], optional = false): Fn | null {
  const at = libc.dlsym(null, name);
  if (!at) {
    if (optional) return null;
    throw new SysError(name, Errno.ENOSYS);
  }
  return CFunction({ ptr: at, args, returns: T.i32 }) as unknown as Fn;
}

let fns: ReturnType<typeof load> | undefined;
function load() {
  return {
    spawn: bind("posix_spawn", [T.ptr, T.ptr, T.ptr, T.ptr, T.ptr, T.ptr])!,
    faInit: bind("posix_spawn_file_actions_init", [T.ptr])!,
    faDestroy: bind("posix_spawn_file_actions_destroy", [T.ptr])!,
    faDup2: bind("posix_spawn_file_actions_adddup2", [T.ptr, T.i32, T.i32])!,
    faClose: bind("posix_spawn_file_actions_addclose", [T.ptr, T.i32])!,
    // glibc 2.34+; without it (or with BUN_SANDBOX_NO_CLOSEFROM=1) every other open fd gets its own close action.
    faClosefrom: process.env.BUN_SANDBOX_NO_CLOSEFROM === "1" ? null : bind("posix_spawn_file_actions_addclosefrom_np", [T.ptr, T.i32], true),
    attrInit: bind("posix_spawnattr_init", [T.ptr])!,
    attrDestroy: bind("posix_spawnattr_destroy", [T.ptr])!,
    attrFlags: bind("posix_spawnattr_setflags", [T.ptr, T.i16])!,
    attrSigmask: bind("posix_spawnattr_setsigmask", [T.ptr, T.ptr])!,
    attrSigdefault: bind("posix_spawnattr_setsigdefault", [T.ptr, T.ptr])!,
  };
}

// glibc's flag values (spawn.h).
const SETSIGDEF = 0x04;
const SETSIGMASK = 0x08;
const SETSID = 0x80;

// Every signal back to its default disposition (an ignored SIGPIPE would otherwise be inherited),
// glibc's own 32 and 33 included: left out, its child sets them to SIG_IGN, which exec keeps.
// SIGKILL and SIGSTOP cannot be changed.
const ALL_SIGNALS = sigset(Array.from({ length: 64 }, (_, i) => i + 1).filter((s) => s !== 9 && s !== 19));
const NO_SIGNALS = sigset([]);

// Opaque glibc structures (80 and 336 bytes on 64-bit, with room to spare) and the pid out
// parameter: initialised and destroyed on every call, allocated once (one call at a time).
const fa = new BigUint64Array(32);
const attr = new BigUint64Array(64);
const pid = new Int32Array(1);

export interface SpawnOptions {
  /** `from` becomes fd `to` in the child; applied in order. */
  dups: readonly (readonly [from: number, to: number])[];
  /**
   * Every fd of the child that is not a `to` of `dups` is closed: by range where libc can,
   * else each of these (the caller's open fds; close-on-exec ones may be left out).
   */
  openFds: readonly number[];
  /** Start a new session (setsid) in the child. */
  setsid: boolean;
}

/** Whether the file actions can close fds by range (else `openFds` must list them). */
export const canCloseFrom = (): boolean => (fns ??= load()).faClosefrom !== null;

/**
 * posix_spawn of `path` with `args`; the child starts with default signal dispositions, an
 * empty signal mask and only the fds named in `dups`. Returns the pid, or the errno of the
 * failed exec (ENOENT, EACCES, ENOEXEC, ...) as a negative number.
 */
export function posixSpawn(path: string, args: PackedArgs, opts: SpawnOptions): number {
  const f = (fns ??= load());
  f.faInit(fa);
  f.attrInit(attr);
  try {
    const kept = new Set<number>();
    for (const [from, to] of opts.dups) {
      check(f.faDup2(fa, from, to), "posix_spawn_file_actions_adddup2");
      kept.add(to);
    }
    const top = Math.max(2, ...kept);
    const closeFrom = f.faClosefrom;
    for (const fd of closeFrom ? range(0, top) : opts.openFds) {
      if (!kept.has(fd) && (closeFrom === null || fd <= top)) check(f.faClose(fa, fd), "posix_spawn_file_actions_addclose");
    }
    if (closeFrom) check(closeFrom(fa, top + 1), "posix_spawn_file_actions_addclosefrom_np");
    check(f.attrFlags(attr, SETSIGDEF | SETSIGMASK | (opts.setsid ? SETSID : 0)), "posix_spawnattr_setflags");
    check(f.attrSigdefault(attr, ALL_SIGNALS), "posix_spawnattr_setsigdefault");
    check(f.attrSigmask(attr, NO_SIGNALS), "posix_spawnattr_setsigmask");
    const p = Buffer.from(path + "\0");
    const err = f.spawn(pid, p, fa, attr, args.argv, args.envp);
    return err === 0 ? pid[0]! : -err;
  } finally {
    f.faDestroy(fa);
    f.attrDestroy(attr);
  }
}

function* range(from: number, to: number): Generator<number> {
  for (let i = from; i <= to; i++) yield i;
}

/** posix_spawn's helpers return an errno value instead of setting errno. */
function check(ret: number, call: string): void {
  if (ret !== 0) throw new SysError(call, ret);
}
