// --harden: the kernel's host-wide tunables read-only. A command without capabilities may still
// write what its uid owns, and as real root (kuid 0, with or without the identity-mapped seal)
// that is /proc/sys, /proc/sysrq-trigger and most of sysfs: one write reboots or retunes the
// host. Docker makes the same paths read-only; here each is a read-only bind of itself, made
// before the pivot so the command (no capabilities, no mount calls) cannot lift it.
import { FS_MAGIC, fstatfsType } from "../sys/mount.ts";
import { openInRoot, using, type StageContext } from "./context.ts";
import { bindTree } from "./mounts.ts";

/** Sandbox paths made read-only when they are a procfs or sysfs (a tmpfs there is left alone). */
export const KERNEL_TUNABLES = ["/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs", "/sys"] as const;

const KERNEL_FS: readonly number[] = [FS_MAGIC.PROC, FS_MAGIC.SYSFS];

export function lockKernelTunables(ctx: StageContext): void {
  for (const path of KERNEL_TUNABLES) {
    // Not followed: a symlink planted there is no tunable, and the kernel's own are no symlinks.
    const fd = openInRoot(ctx.newroot, path, false);
    if (fd === null) continue;
    using(fd, () => {
      if (!KERNEL_FS.includes(fstatfsType(fd, path))) return;
      bindTree(fd, fd, { readonly: true, procFd: ctx.procFd, mountinfo: ctx.mountinfo, label: path });
      ctx.debug(`harden: ${path} read-only`);
    });
  }
}
