// Unix socket plumbing for handing fds between processes (SCM_RIGHTS), poll(2), memfds.
import { ptr } from "bun:ffi";
import { check, cstr, errno, FFIType as T, lazyBind, libc } from "./libc.ts";
import { Errno } from "./errno.ts";
import { SysError } from "./error.ts";

export const AF_UNIX = 1;
export const SOCK_STREAM = 1;
export const SOCK_SEQPACKET = 5;
export const SOCK_CLOEXEC = 0o2000000;
export const SOCK_NONBLOCK = 0o4000;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
export const MSG_CMSG_CLOEXEC = 0x40000000;
export const MSG_DONTWAIT = 0x40;
export const MSG_NOSIGNAL = 0x4000;

export function socketpair(type = SOCK_SEQPACKET | SOCK_CLOEXEC): [number, number] {
  const fds = new Int32Array(2);
  check(libc.socketpair(AF_UNIX, type, 0, fds), "socketpair");
  return [fds[0]!, fds[1]!];
}

const MAX_FDS = 253; // SCM_MAX_FD

function cmsgSpace(nfds: number): number {
  return 16 + ((nfds * 4 + 7) & ~7);
}

/** sendmsg of one message with `fds` attached; the whole message is sent or an error thrown. */
export function sendWithFds(sock: number, data: Uint8Array, fds: readonly number[], flags = MSG_NOSIGNAL): void {
  if (fds.length > MAX_FDS) throw new SysError("sendmsg", Errno.EINVAL, undefined, undefined, `at most ${MAX_FDS} fds per message`);
  const iov = new BigUint64Array([BigInt(ptr(data)), BigInt(data.length)]);
  const control = new Uint8Array(fds.length ? cmsgSpace(fds.length) : 8);
  if (fds.length) {
    const dv = new DataView(control.buffer);
    dv.setBigUint64(0, BigInt(16 + fds.length * 4), true); // cmsg_len = CMSG_LEN(n * sizeof(int))
    dv.setInt32(8, SOL_SOCKET, true);
    dv.setInt32(12, SCM_RIGHTS, true);
    fds.forEach((fd, i) => dv.setInt32(16 + i * 4, fd, true));
  }
  const msg = new BigUint64Array(7); // struct msghdr
  msg[2] = BigInt(ptr(iov));
  msg[3] = 1n;
  if (fds.length) {
    msg[4] = BigInt(ptr(control));
    msg[5] = BigInt(control.length);
  }
  for (;;) {
    const n = Number(libc.sendmsg(sock, msg, flags));
    if (n < 0) {
      const e = errno();
      if (e === Errno.EINTR) continue;
      throw new SysError("sendmsg", e, `fd ${sock}`);
    }
    if (n !== data.length) throw new SysError("sendmsg", Errno.EMSGSIZE, `fd ${sock}`);
    keep(data, iov, control);
    return;
  }
}

/** Keeps buffers whose addresses were handed to the kernel reachable until after the call. */
function keep(..._bufs: unknown[]): void {}

export interface Received {
  data: Buffer;
  fds: number[];
}

let recvBuffer = Buffer.alloc(0);
const recvControl = new Uint8Array(cmsgSpace(MAX_FDS));

/** recvmsg of one message (fds arrive close-on-exec); null at end of stream. */
export function recvWithFds(sock: number, maxBytes = 1 << 20, flags = 0): Received | null {
  // One receive buffer, reused: a long-lived server receives thousands of requests, and a fresh
  // buffer each time would churn its heap (its RSS crept up by megabytes). The result is a copy.
  if (recvBuffer.length < maxBytes) recvBuffer = Buffer.allocUnsafe(maxBytes);
  const data = recvBuffer.subarray(0, maxBytes);
  const iov = new BigUint64Array([BigInt(ptr(data)), BigInt(data.length)]);
  const control = recvControl;
  const msg = new BigUint64Array(7);
  msg[2] = BigInt(ptr(iov));
  msg[3] = 1n;
  msg[4] = BigInt(ptr(control));
  msg[5] = BigInt(control.length);
  let n: number;
  for (;;) {
    n = Number(libc.recvmsg(sock, msg, flags | MSG_CMSG_CLOEXEC));
    if (n >= 0) break;
    const e = errno();
    if (e !== Errno.EINTR) throw new SysError("recvmsg", e, `fd ${sock}`);
  }
  keep(iov);
  const fds: number[] = [];
  const controllen = Number(msg[5]!);
  const dv = new DataView(control.buffer);
  for (let off = 0; off + 16 <= controllen; ) {
    const len = Number(dv.getBigUint64(off, true));
    if (len < 16) break;
    if (dv.getInt32(off + 8, true) === SOL_SOCKET && dv.getInt32(off + 12, true) === SCM_RIGHTS) {
      for (let i = 16; i + 4 <= len; i += 4) fds.push(dv.getInt32(off + i, true));
    }
    off += (len + 7) & ~7;
  }
  if (n === 0 && fds.length === 0) return null;
  return { data: Buffer.from(data.subarray(0, n)), fds };
}

export const SHUT_WR = 1;

/** shutdown(2): with SHUT_WR the peer reads end-of-stream once it has read what was sent. */
export function shutdown(sock: number, how: number): void {
  check(libc.shutdown(sock, how), "shutdown", `fd ${sock}`);
}

export const POLLIN = 0x1;
export const POLLPRI = 0x2;
export const POLLOUT = 0x4;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
export const POLLNVAL = 0x20;

export interface PollFd {
  fd: number;
  events: number;
  revents: number;
}

/** poll(2); fills in revents; returns the number ready (0 on timeout). */
export function poll(fds: PollFd[], timeoutMs = -1): number {
  const arr = new Int32Array(fds.length * 2); // struct pollfd { int fd; short events; short revents; }
  const half = new Int16Array(arr.buffer);
  fds.forEach((p, i) => {
    arr[i * 2] = p.fd;
    half[i * 4 + 2] = p.events;
  });
  for (;;) {
    const r = libc.poll(arr, fds.length, timeoutMs);
    if (r < 0) {
      const e = errno();
      if (e === Errno.EINTR) continue;
      throw new SysError("poll", e);
    }
    fds.forEach((p, i) => (p.revents = half[i * 4 + 3]!));
    return r;
  }
}

const sysMemfd = lazyBind("memfd_create", [T.ptr, T.u32]);
export const MFD_CLOEXEC = 1;

/** An anonymous in-memory file (for captured output and prepared input). */
export function memfdCreate(name: string, flags = MFD_CLOEXEC): number {
  return check(sysMemfd(cstr(name), flags), "memfd_create", name);
}

export function setpgid(pid: number, pgid: number): void {
  check(libc.setpgid(pid, pgid), "setpgid", String(pid));
}
