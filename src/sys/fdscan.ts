// Which fds are open, and which of them Bun opened for itself at startup.
import { readdir, readlinkOrNull, readText } from "./fs.ts";

export interface OpenFd {
  fd: number;
  target: string;
}

/** Open fds of this process with their /proc/self/fd targets (the listing's own fd excluded). */
export function listOpenFds(): OpenFd[] {
  const out: OpenFd[] = [];
  for (const name of readdir("/proc/self/fd")) {
    // null for the directory fd used by readdir itself, already closed
    const target = readlinkOrNull(`/proc/self/fd/${name}`);
    if (target !== null) out.push({ fd: Number(name), target });
  }
  return out.sort((a, b) => a.fd - b.fd);
}

/**
 * Bun creates an epoll fd and an eventfd registered in it before any JavaScript runs. Those
 * are recognised by the epoll's fdinfo listing the eventfd ("tfd: N").
 */
export function bunInternalFds(fds: readonly OpenFd[]): Set<number> {
  const internal = new Set<number>();
  for (const { fd, target } of fds) {
    if (target !== "anon_inode:[eventpoll]") continue;
    let info: string;
    try {
      info = readText(`/proc/self/fdinfo/${fd}`);
    } catch {
      continue;
    }
    const watched = [...info.matchAll(/tfd:\s+(\d+)/g)].map((m) => Number(m[1]));
    const own = watched.filter((t) => fds.some((f) => f.fd === t && f.target === "anon_inode:[eventfd]"));
    if (own.length > 0) {
      internal.add(fd);
      for (const t of own) internal.add(t);
    }
  }
  return internal;
}

/** fds above stderr that the caller passed to this process (everything but Bun's own). */
export function inheritedFds(): number[] {
  const fds = listOpenFds();
  const internal = bunInternalFds(fds);
  return fds.map((f) => f.fd).filter((fd) => fd > 2 && !internal.has(fd));
}
