// The one piece of networking setup we need: bring the loopback interface up in a new
// network namespace (SIOCGIFFLAGS / SIOCSIFFLAGS on an AF_INET datagram socket).
import { check, libc } from "./libc.ts";
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
