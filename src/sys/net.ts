// Networking setup: bring the loopback interface up in a new network namespace (SIOCGIFFLAGS /
// SIOCSIFFLAGS on an AF_INET datagram socket), and listening TCP sockets on 127.0.0.1 there.
import { check, FFIType as T, lazyBind, libc } from "./libc.ts";
import { closeQuiet } from "./fd.ts";
import { SysError } from "./error.ts";
import { Errno } from "./errno.ts";

export const AF_INET = 2;
export const SOCK_DGRAM = 2;
export const SOCK_CLOEXEC = 0o2000000;
const SIOCGIFFLAGS = 0x8913;
export const SIOCSIFFLAGS = 0x8914;
export const IFF_UP = 0x1;
export const IFF_LOOPBACK = 0x8;

/** struct ifreq { char ifr_name[16]; short ifr_flags; ... } for `name` with `flags`. */
export function ifreq(name: string, flags = 0): Uint8Array {
  const ifr = new Uint8Array(40);
  ifr.set(Buffer.from(name), 0);
  new DataView(ifr.buffer).setInt16(16, flags, true);
  return ifr;
}

const SOCK_STREAM = 1;

/** A TCP socket listening on 127.0.0.1:`port` in this network namespace (close-on-exec); port 0: one the kernel picks (see boundPort). */
export function listenLoopback(port: number, backlog = 128): number {
  const fd = check(libc.socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), "socket", "AF_INET");
  try {
    // struct sockaddr_in { sa_family_t family; in_port_t port (big-endian); struct in_addr addr; char zero[8]; }
    const sa = new Uint8Array(16);
    const dv = new DataView(sa.buffer);
    dv.setUint16(0, AF_INET, true);
    dv.setUint16(2, port, false);
    sa.set([127, 0, 0, 1], 4);
    check(libc.bind(fd, sa, 16), "bind", `127.0.0.1:${port}`);
    check(libc.listen(fd, backlog), "listen", `127.0.0.1:${port}`);
    return fd;
  } catch (e) {
    closeQuiet(fd);
    throw e;
  }
}

const sysGetsockname = lazyBind("getsockname", [T.i32, T.ptr, T.ptr]);

/** The local port an AF_INET socket is bound to. */
export function boundPort(fd: number): number {
  const sa = new Uint8Array(16);
  const len = new Uint32Array([16]);
  check(sysGetsockname(fd, sa, len), "getsockname", `fd ${fd}`);
  return new DataView(sa.buffer).getUint16(2, false);
}

export function interfaceUp(name = "lo"): void {
  if (Buffer.byteLength(name) > 15) throw new SysError("interfaceUp", Errno.EINVAL, name, undefined, "interface names have at most 15 bytes");
  const fd = check(libc.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), "socket", "AF_INET");
  try {
    const ifr = ifreq(name);
    check(libc.ioctl(fd, SIOCGIFFLAGS, ifr), "ioctl(SIOCGIFFLAGS)", name);
    const dv = new DataView(ifr.buffer);
    dv.setInt16(16, dv.getInt16(16, true) | IFF_UP, true);
    check(libc.ioctl(fd, SIOCSIFFLAGS, ifr), "ioctl(SIOCSIFFLAGS)", name);
  } finally {
    closeQuiet(fd);
  }
}
