// File descriptors: open/openat2, pipes, dup, fcntl, close_range, eventfd, inode flags.
import { check, cstr, errno, FFIType as T, lazyBind, libc } from "./libc.ts";
import { Errno } from "./errno.ts";
import { SysError } from "./error.ts";
import { O } from "./flags.ts";

export function open(path: string, flags: number, mode = 0): number {
  return check(libc.open(cstr(path), flags | O.CLOEXEC, mode), "open", path);
}

/** open() returning -1 instead of throwing. */
export function tryOpen(path: string, flags: number, mode = 0): number {
  return libc.open(cstr(path), flags | O.CLOEXEC, mode);
}

export function close(fd: number): void {
  check(libc.close(fd), "close", `fd ${fd}`);
}

/** close() that ignores EBADF, for cleanup paths. */
export function closeQuiet(fd: number): void {
  libc.close(fd);
}

export function write(fd: number, data: Uint8Array): number {
  for (;;) {
    const r = Number(libc.write(fd, data, data.length));
    if (r < 0 && errno() === Errno.EINTR) continue;
    return check(r, "write", `fd ${fd}`);
  }
}

export function writeAll(fd: number, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) off += write(fd, data.subarray(off));
}

export function read(fd: number, buf: Uint8Array): number {
  for (;;) {
    const r = Number(libc.read(fd, buf, buf.length));
    if (r < 0 && errno() === Errno.EINTR) continue;
    return check(r, "read", `fd ${fd}`);
  }
}

export function pipe2(flags: number = O.CLOEXEC): [number, number] {
  const fds = new Int32Array(2);
  check(libc.pipe2(fds, flags), "pipe2");
  return [fds[0]!, fds[1]!];
}

export function dup3(oldfd: number, newfd: number, flags = 0): number {
  return check(libc.dup3(oldfd, newfd, flags), "dup3", `fd ${oldfd}`, `fd ${newfd}`);
}

export const F = { DUPFD: 0, GETFD: 1, SETFD: 2, GETFL: 3, SETFL: 4, DUPFD_CLOEXEC: 1030 } as const;
export const FD_CLOEXEC = 1;

export function fcntl(fd: number, cmd: number, arg = 0): number {
  return check(libc.fcntl(fd, cmd, arg), "fcntl", `fd ${fd}`);
}

/** FD_CLOEXEC state of an fd, or null when the fd is not open. */
export function isCloexec(fd: number): boolean | null {
  const r = libc.fcntl(fd, F.GETFD, 0);
  if (r < 0) return null;
  return (r & FD_CLOEXEC) !== 0;
}

export function setCloexec(fd: number, on: boolean): void {
  const cur = fcntl(fd, F.GETFD);
  fcntl(fd, F.SETFD, on ? cur | FD_CLOEXEC : cur & ~FD_CLOEXEC);
}

const sysCloseRange = lazyBind("close_range", [T.u32, T.u32, T.u32]);
export const CLOSE_RANGE = { UNSHARE: 2, CLOEXEC: 4 } as const;

export function closeRange(first: number, last: number, flags = 0): void {
  check(sysCloseRange(first, last >>> 0, flags), "close_range", `${first}..${last >>> 0}`);
}

/** Closes every fd >= `from` except those in `keep`, with as few close_range calls as needed. */
export function closeAllExcept(keep: Iterable<number>, from = 3): void {
  const sorted = [...new Set(keep)].filter((fd) => fd >= from).sort((a, b) => a - b);
  let start = from;
  for (const fd of sorted) {
    if (fd > start) closeRange(start, fd - 1);
    start = fd + 1;
  }
  closeRange(start, 0xffffffff);
}

const sysOpenat2 = lazyBind("openat2", [T.i32, T.ptr, T.ptr, T.u64]);

/** openat2(2) with `struct open_how`; `resolve` takes RESOLVE_* bits. */
export function openat2(dirfd: number, path: string, flags: number, resolve: number, mode = 0): number {
  const how = new BigUint64Array([BigInt(flags | O.CLOEXEC), BigInt(mode), BigInt(resolve)]);
  return check(sysOpenat2(dirfd, cstr(path), how, 24), "openat2", path);
}

/** openat2 returning -errno instead of throwing (for probing paths). */
export function tryOpenat2(dirfd: number, path: string, flags: number, resolve: number): number {
  const how = new BigUint64Array([BigInt(flags | O.CLOEXEC), 0n, BigInt(resolve)]);
  const r = sysOpenat2(dirfd, cstr(path), how, 24);
  return r < 0 ? -errno() : r;
}

export const fdBindings = { close_range: sysCloseRange, openat2: sysOpenat2 };


// ---- ioctl: inode flags (chattr/lsattr) ----------------------------------------------------------

export const FS_IOC_GETFLAGS = 0x80086601;
export const FS_IOC_SETFLAGS = 0x40086602;
export const FS_FL = { IMMUTABLE: 0x10, APPEND: 0x20, NODUMP: 0x40, NOATIME: 0x80, NOCOW: 0x800000 } as const;

export function getInodeFlags(fd: number, label = `fd ${fd}`): number {
  const v = new Int32Array(1);
  check(libc.ioctl(fd, FS_IOC_GETFLAGS, v), "ioctl(FS_IOC_GETFLAGS)", label);
  return v[0]!;
}

export function setInodeFlags(fd: number, flags: number, label = `fd ${fd}`): void {
  const v = new Int32Array([flags]);
  check(libc.ioctl(fd, FS_IOC_SETFLAGS, v), "ioctl(FS_IOC_SETFLAGS)", label);
}

// ---- eventfd ---------------------------------------------------------------------------------------

export const EFD = { SEMAPHORE: 1, CLOEXEC: O.CLOEXEC, NONBLOCK: O.NONBLOCK } as const;

export function eventfd(initval = 0, flags: number = EFD.CLOEXEC): number {
  return check(libc.eventfd(initval, flags), "eventfd");
}

export function eventfdWrite(fd: number, value: bigint = 1n): void {
  const v = new BigUint64Array([value]);
  if (write(fd, new Uint8Array(v.buffer)) !== 8) throw new SysError("eventfd_write", Errno.EIO, `fd ${fd}`);
}

/** Blocking read of the counter (for the single-threaded stage). */
export function eventfdRead(fd: number): bigint {
  const v = new BigUint64Array(1);
  if (read(fd, new Uint8Array(v.buffer)) !== 8) throw new SysError("eventfd_read", Errno.EIO, `fd ${fd}`);
  return v[0]!;
}

/**
 * Read of the counter that does not block the event loop: the read runs on Bun's I/O pool.
 * Only for multithreaded hosts; the single-threaded stage must use eventfdRead.
 */
export function eventfdReadAsync(fd: number): Promise<bigint> {
  return new Promise((resolve, reject) => {
    const b = Buffer.alloc(8);
    // Required here, not at the top: node:fs is slow to load and the stage never needs it.
    const { read: readCallback } = require("node:fs") as typeof import("node:fs");
    readCallback(fd, b, 0, 8, null, (err, n) => {
      if (err) reject(err);
      else if (n !== 8) reject(new SysError("eventfd_read", Errno.EIO, `fd ${fd}`));
      else resolve(b.readBigUInt64LE(0));
    });
  });
}
