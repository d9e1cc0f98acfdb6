// --harden: the kernel's host-wide tunables read-only. A command without capabilities may still
// write what its uid owns, and as real root (kuid 0, with or without the identity-mapped seal)
// that is /proc/sys, /proc/sysrq-trigger and most of sysfs: one write reboots or retunes the
// host. Docker makes the same paths read-only; here each is a read-only bind of itself, made
// before the pivot so the command (no capabilities, no mount calls) cannot lift it.
import { FS_MAGIC, fstatfs, ST_RDONLY } from "../sys/mount.ts";
import { readText } from "../sys/fs.ts";
import { joinPath } from "../plan/paths.ts";
import { using, withRoot, type StageContext } from "./context.ts";
import { openIn } from "./dest.ts";
import { bindTree, parseMountinfo, type MountInfoEntry } from "./mounts.ts";

/** Sandbox paths made read-only when they are a procfs or sysfs (a tmpfs there is left alone). */
export const KERNEL_TUNABLES = ["/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs", "/sys"] as const;

const KERNEL_FS: readonly number[] = [FS_MAGIC.PROC, FS_MAGIC.SYSFS];

export function lockKernelTunables(ctx: StageContext): void {
  // Read once, when a tunable is first found on a read-only mount.
  let mounts: MountInfoEntry[] | null = null;
  const mountsNow = () => (mounts ??= parseMountinfo(readText(ctx.mountinfo)));
  withRoot(ctx.newroot, (root) => {
    for (const path of KERNEL_TUNABLES) {
      // Not followed: a symlink planted there is no tunable, and the kernel's own are no symlinks.
      const fd = openIn(root, path, false);
      if (fd !== null) using(fd, () => lockTunable(ctx, fd, path, mountsNow));
    }
  });
}

function lockTunable(ctx: StageContext, fd: number, path: string, mounts: () => MountInfoEntry[]): void {
  const fs = fstatfs(fd, path);
  if (!KERNEL_FS.includes(fs.type)) return;
  // Under a read-only bind of / (the usual case) there is nothing to do, unless something
  // writable is mounted below.
  if (fs.flags & ST_RDONLY && !writableBelow(mounts(), joinPath(ctx.newroot, path))) return;
  bindTree(fd, fd, { readonly: true, procFd: ctx.procFd, mountinfo: ctx.mountinfo, label: path });
  ctx.debug(`harden: ${path} read-only`);
}

/** Whether a mount at or below `real` (as this process sees it) is writable. */
function writableBelow(mounts: readonly MountInfoEntry[], real: string): boolean {
  return mounts.some((m) => (m.mountPoint === real || m.mountPoint.startsWith(`${real}/`)) && !m.options.split(",").includes("ro"));
}
