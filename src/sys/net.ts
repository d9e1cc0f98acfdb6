// The one piece of networking setup we need: bring the loopback interface up in a new
// network namespace (SIOCGIFFLAGS / SIOCSIFFLAGS on an AF_INET datagram socket).
import { check, libc } from "./libc.ts";
import { closeQuiet } from "./fd.ts";
import { SysError } from "./error.ts";
import { Errno } from "./errno.ts";

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const SIOCGIFFLAGS = 0x8913;
const SIOCSIFFLAGS = 0x8914;
const IFF_UP = 0x1;

export function interfaceUp(name = "lo"): void {
  if (Buffer.byteLength(name) > 15) throw new SysError("interfaceUp", Errno.EINVAL, name, undefined, "interface names have at most 15 bytes");
  const fd = check(libc.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), "socket", "AF_INET");
  try {
    const ifr = new Uint8Array(40); // struct ifreq: char ifr_name[16]; short ifr_flags; ...
    ifr.set(Buffer.from(name), 0);
    check(libc.ioctl(fd, SIOCGIFFLAGS, ifr), "ioctl(SIOCGIFFLAGS)", name);
    const dv = new DataView(ifr.buffer);
    dv.setInt16(16, dv.getInt16(16, true) | IFF_UP, true);
    check(libc.ioctl(fd, SIOCSIFFLAGS, ifr), "ioctl(SIOCSIFFLAGS)", name);
  } finally {
    closeQuiet(fd);
  }
}
