// Synchronous file operations straight over libc. The stage and the CLI use these instead of
// node:fs, whose first require costs ~2.5 ms of Bun start-up (measured); errors are SysErrors
// like every other call of this layer.
import { check, cstr, errno, FFIType as T, lazyBind, libc } from "./libc.ts";
import { Errno } from "./errno.ts";
import { SysError } from "./error.ts";
import { AT, O } from "./flags.ts";

const sysStatx = lazyBind("statx", [T.i32, T.ptr, T.i32, T.u32, T.ptr]);
const sysGetdents64 = lazyBind("getdents64", [T.i32, T.ptr, T.u64], { long: true });
const sysReadlink = lazyBind("readlinkat", [T.i32, T.ptr, T.ptr, T.u64], { long: true });
const sysMkdirat = lazyBind("mkdirat", [T.i32, T.ptr, T.u32]);
const sysSymlinkat = lazyBind("symlinkat", [T.ptr, T.i32, T.ptr]);
const sysUnlinkat = lazyBind("unlinkat", [T.i32, T.ptr, T.i32]);
const sysFchmodat = lazyBind("fchmodat", [T.i32, T.ptr, T.u32, T.i32]);
const sysFchmod = lazyBind("fchmod", [T.i32, T.u32]);
const sysFchownat = lazyBind("fchownat", [T.i32, T.ptr, T.u32, T.u32, T.i32]);
const sysOpenat = lazyBind("openat", [T.i32, T.ptr, T.i32, T.u32]);
// The raw syscall has no flags argument; the libc wrapper's flags are passed as 0.
const sysFaccessat = lazyBind("faccessat", [T.i32, T.ptr, T.i32, T.i32]);

export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const S_IFCHR = 0o020000;

/** The parts of struct statx we use (its layout is the same on every architecture). */
export class FileStat {
  constructor(
    readonly mode: number,
    readonly uid: number,
    readonly gid: number,
    readonly size: number,
    readonly rdevMajor = 0,
    readonly rdevMinor = 0,
    /** Inode number and device (major:minor): which file this is. */
    readonly ino = 0,
    readonly dev = "",
  ) {}
  isDirectory(): boolean {
    return (this.mode & S_IFMT) === S_IFDIR;
  }
  isFile(): boolean {
    return (this.mode & S_IFMT) === S_IFREG;
  }
  isSymbolicLink(): boolean {
    return (this.mode & S_IFMT) === S_IFLNK;
  }
  isCharacterDevice(): boolean {
    return (this.mode & S_IFMT) === S_IFCHR;
  }
}

const STATX_BASIC_STATS = 0x7ff;
const statxBuf = new Uint8Array(256);
const statxView = new DataView(statxBuf.buffer);

function statAt(path: string, flags: number, dirfd: number = AT.FDCWD): FileStat | number {
  const r = sysStatx(dirfd, cstr(path), flags, STATX_BASIC_STATS, statxBuf);
  if (r < 0) return errno();
  return new FileStat(
    statxView.getUint16(28, true), statxView.getUint32(20, true), statxView.getUint32(24, true), Number(statxView.getBigUint64(40, true)),
    statxView.getUint32(128, true), statxView.getUint32(132, true),
    Number(statxView.getBigUint64(32, true)), `${statxView.getUint32(136, true)}:${statxView.getUint32(140, true)}`,
  );
}

const STATX_MNT_ID = 0x1000;

/**
 * The id (as in /proc/self/mountinfo) of the mount `path` is on, the topmost one when mounts
 * are stacked; -1 when the path cannot be reached; null when the kernel does not say (before 5.8).
 */
export function mountIdOf(path: string): number | null {
  const r = sysStatx(AT.FDCWD, cstr(path), AT.SYMLINK_NOFOLLOW | AT.NO_AUTOMOUNT, STATX_MNT_ID, statxBuf);
  if (r < 0) return -1;
  if (!(statxView.getUint32(0, true) & STATX_MNT_ID)) return null;
  return Number(statxView.getBigUint64(144, true));
}

/** The mount id of what `fd` refers to (see mountIdOf). */
export function mountIdOfFd(fd: number): number | null {
  const r = sysStatx(fd, cstr(""), AT.EMPTY_PATH | AT.SYMLINK_NOFOLLOW, STATX_MNT_ID, statxBuf);
  if (r < 0) return -1;
  if (!(statxView.getUint32(0, true) & STATX_MNT_ID)) return null;
  return Number(statxView.getBigUint64(144, true));
}

/** stat(2), following symlinks; null when the path does not exist (or cannot be reached). */
export function stat(path: string): FileStat | null {
  const r = statAt(path, 0);
  return typeof r === "number" ? null : r;
}

/** lstat(2); null when missing. */
export function lstat(path: string): FileStat | null {
  const r = statAt(path, AT.SYMLINK_NOFOLLOW);
  return typeof r === "number" ? null : r;
}

/** stat that throws the SysError instead of returning null. */
export function statOrThrow(path: string, follow = true): FileStat {
  const r = statAt(path, follow ? 0 : AT.SYMLINK_NOFOLLOW);
  if (typeof r === "number") throw new SysError(follow ? "stat" : "lstat", r, path);
  return r;
}

/** fstat(2) as statx(fd, "", AT_EMPTY_PATH); works on O_PATH fds too. */
export function fstat(fd: number, label = `fd ${fd}`): FileStat {
  const r = statAt("", AT.EMPTY_PATH | AT.SYMLINK_NOFOLLOW, fd);
  if (typeof r === "number") throw new SysError("fstat", r, label);
  return r;
}

export function exists(path: string): boolean {
  return stat(path) !== null;
}

export function readFile(path: string): Buffer {
  const fd = check(libc.open(cstr(path), O.RDONLY | O.CLOEXEC, 0), "open", path);
  try {
    return readToEnd(fd, path);
  } finally {
    libc.close(fd);
  }
}

const pollFd = new Int32Array(2); // struct pollfd { int fd; short events; short revents; }

/**
 * Reads an open fd (file, pipe or socket) until end of file. A non-blocking fd is waited for
 * with poll(). `limit` bytes at most: more is an EFBIG SysError.
 */
export function readToEnd(fd: number, label = `fd ${fd}`, limit = Infinity): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const buf = Buffer.allocUnsafe(total < 65536 ? 65536 : total);
    const n = Number(libc.read(fd, buf, buf.length));
    if (n < 0) {
      const e = errno();
      if (e === Errno.EINTR) continue;
      if (e === Errno.EAGAIN) {
        pollFd[0] = fd;
        pollFd[1] = 1; // POLLIN
        libc.poll(pollFd, 1, -1);
        continue;
      }
      throw new SysError("read", e, label);
    }
    if (n === 0) break;
    chunks.push(buf.subarray(0, n));
    total += n;
    if (total > limit) throw new SysError("read", Errno.EFBIG, label, undefined, `more than ${limit} bytes`);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

export function readText(path: string): string {
  return readFile(path).toString("latin1");
}

export interface WriteOptions {
  mode?: number;
  /** O_EXCL: fail when the file exists. */
  exclusive?: boolean;
}

/** Creates or truncates `path` and writes `data` (one write for small data, as /proc files need). */
export function writeFile(path: string, data: string | Uint8Array, opts: WriteOptions = {}): void {
  const flags = O.WRONLY | O.CREAT | O.TRUNC | O.CLOEXEC | (opts.exclusive ? O.EXCL : 0);
  const fd = check(libc.open(cstr(path), flags, opts.mode ?? 0o644), "open", path);
  try {
    const bytes = typeof data === "string" ? Buffer.from(data) : data;
    let off = 0;
    while (off < bytes.length) {
      const n = Number(libc.write(fd, bytes.subarray(off), bytes.length - off));
      if (n < 0) {
        const e = errno();
        if (e === Errno.EINTR) continue;
        throw new SysError("write", e, path);
      }
      off += n;
    }
  } finally {
    libc.close(fd);
  }
}

/** Writes to an existing file without creating or truncating it (for /proc and /sys knobs). */
export function writeExisting(path: string, data: string): void {
  const fd = check(libc.open(cstr(path), O.WRONLY | O.CLOEXEC, 0), "open", path);
  try {
    const b = Buffer.from(data);
    const n = Number(libc.write(fd, b, b.length));
    if (n < 0) throw new SysError("write", errno(), path);
  } finally {
    libc.close(fd);
  }
}

/** Creates an empty file (O_EXCL) to serve as a mount point. */
export function createFile(path: string, mode = 0o644): void {
  const fd = check(libc.open(cstr(path), O.WRONLY | O.CREAT | O.EXCL | O.CLOEXEC, mode), "open", path);
  libc.close(fd);
}

export function mkdir(path: string, mode = 0o755): void {
  check(sysMkdirat(AT.FDCWD, cstr(path), mode), "mkdir", path);
}

/** mkdir that reports EEXIST as false instead of throwing. */
export function mkdirIfMissing(path: string, mode = 0o755): boolean {
  const r = sysMkdirat(AT.FDCWD, cstr(path), mode);
  if (r < 0) {
    const e = errno();
    if (e === Errno.EEXIST) return false;
    throw new SysError("mkdir", e, path);
  }
  return true;
}

export function symlink(target: string, path: string): void {
  check(sysSymlinkat(cstr(target), AT.FDCWD, cstr(path)), "symlink", path, target);
}

export function unlink(path: string): void {
  check(sysUnlinkat(AT.FDCWD, cstr(path), 0), "unlink", path);
}

export function rmdir(path: string): void {
  check(sysUnlinkat(AT.FDCWD, cstr(path), AT.REMOVEDIR), "rmdir", path);
}

export function chmod(path: string, mode: number): void {
  check(sysFchmodat(AT.FDCWD, cstr(path), mode, 0), "chmod", path);
}

const linkBuf = Buffer.alloc(4096);

export function readlink(path: string): string {
  const n = check(sysReadlink(AT.FDCWD, cstr(path), linkBuf, linkBuf.length), "readlink", path);
  return linkBuf.toString("utf8", 0, n);
}

/** readlink that returns null on any error. */
export function readlinkOrNull(path: string): string | null {
  const n = sysReadlink(AT.FDCWD, cstr(path), linkBuf, linkBuf.length);
  return n < 0 ? null : linkBuf.toString("utf8", 0, n);
}

/** Entry names of a directory (without "." and ".."), via getdents64. */
export function readdir(path: string): string[] {
  const fd = check(libc.open(cstr(path), O.RDONLY | O.DIRECTORY | O.CLOEXEC, 0), "open", path);
  const names: string[] = [];
  try {
    const buf = Buffer.allocUnsafe(32768);
    for (;;) {
      const n = sysGetdents64(fd, buf, buf.length);
      if (n < 0) throw new SysError("getdents64", errno(), path);
      if (n === 0) break;
      // struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
      for (let off = 0; off < n; ) {
        const reclen = buf.readUInt16LE(off + 16);
        const end = buf.indexOf(0, off + 19);
        const name = buf.toString("utf8", off + 19, end);
        if (name !== "." && name !== "..") names.push(name);
        off += reclen;
      }
    }
  } finally {
    libc.close(fd);
  }
  return names;
}

// ---- relative to a directory fd -----------------------------------------------------------
// For work that must not depend on the process's root or mount namespace (the output-dir copy
// runs after pivot_root, through fds opened before it). "" with AT_EMPTY_PATH means the fd itself.

/** openat(2); close-on-exec always. */
export function openAt(dirfd: number, path: string, flags: number, mode = 0): number {
  return check(sysOpenat(dirfd, cstr(path), flags | O.CLOEXEC, mode), "openat", path);
}

/** openat returning -errno instead of throwing. */
export function tryOpenAt(dirfd: number, path: string, flags: number, mode = 0): number {
  const r = sysOpenat(dirfd, cstr(path), flags | O.CLOEXEC, mode);
  return r < 0 ? -errno() : r;
}

/** statx relative to `dirfd`; null when missing. */
export function statAtFd(dirfd: number, path: string, follow = false): FileStat | null {
  const r = statAt(path, follow ? 0 : AT.SYMLINK_NOFOLLOW, dirfd);
  return typeof r === "number" ? null : r;
}

/** mkdirat; false when it exists already. */
export function mkdirAt(dirfd: number, path: string, mode = 0o755): boolean {
  const r = sysMkdirat(dirfd, cstr(path), mode);
  if (r < 0) {
    const e = errno();
    if (e === Errno.EEXIST) return false;
    throw new SysError("mkdirat", e, path);
  }
  return true;
}

export function readlinkAt(dirfd: number, path: string): string {
  const n = check(sysReadlink(dirfd, cstr(path), linkBuf, linkBuf.length), "readlinkat", path);
  return linkBuf.toString("utf8", 0, n);
}

export function symlinkAt(target: string, dirfd: number, path: string): void {
  check(sysSymlinkat(cstr(target), dirfd, cstr(path)), "symlinkat", path, target);
}

/** unlinkat; `dir` removes a directory. */
export function unlinkAt(dirfd: number, path: string, dir = false): void {
  check(sysUnlinkat(dirfd, cstr(path), dir ? AT.REMOVEDIR : 0), "unlinkat", path);
}

export function fchmod(fd: number, mode: number, label = `fd ${fd}`): void {
  check(sysFchmod(fd, mode), "fchmod", label);
}

/** lchown(2): changes the owner of `path` itself (a symlink is not followed). */
export function lchown(path: string, uid: number, gid: number): void {
  check(sysFchownat(AT.FDCWD, cstr(path), uid, gid, AT.SYMLINK_NOFOLLOW), "lchown", path);
}

export const R_OK = 4;
export const W_OK = 2;
export const X_OK = 1;

/** access(2) with the real ids: whether the caller may read/write/search `path`. */
export function access(path: string, mode: number): boolean {
  return sysFaccessat(AT.FDCWD, cstr(path), mode, 0) === 0;
}

/** One directory entry: name and d_type (DT_* below). */
export interface DirEntry {
  name: string;
  type: number;
  /** false when the name is not valid UTF-8 (it cannot be passed back to a call then). */
  utf8: boolean;
}

export const DT = { UNKNOWN: 0, FIFO: 1, CHR: 2, DIR: 4, BLK: 6, REG: 8, LNK: 10, SOCK: 12 } as const;

/** Entries of the directory open at `fd` (without "." and ".."), with their d_type. */
export function readdirFd(fd: number, label = `fd ${fd}`): DirEntry[] {
  const out: DirEntry[] = [];
  const buf = Buffer.allocUnsafe(32768);
  for (;;) {
    const n = sysGetdents64(fd, buf, buf.length);
    if (n < 0) throw new SysError("getdents64", errno(), label);
    if (n === 0) break;
    for (let off = 0; off < n; ) {
      const reclen = buf.readUInt16LE(off + 16);
      const type = buf[off + 18]!;
      const end = buf.indexOf(0, off + 19);
      const raw = buf.subarray(off + 19, end);
      const name = raw.toString("utf8");
      if (name !== "." && name !== "..") out.push({ name, type, utf8: Buffer.from(name).equals(raw) });
      off += reclen;
    }
  }
  return out;
}

export const fsBindings = { statx: sysStatx, getdents64: sysGetdents64, openat: sysOpenat, faccessat: sysFaccessat };
