// Turning EPERM/ENOSYS from namespace creation into an explanation with a fix.
import { readText } from "../sys/fs.ts";
import { SysError } from "../sys/error.ts";
import { Errno } from "../sys/errno.ts";

function sysctl(path: string): string | null {
  try {
    return readText(path).trim();
  } catch {
    return null;
  }
}

export function kernelRelease(): string {
  return sysctl("/proc/sys/kernel/osrelease") ?? "unknown";
}

/** Why unprivileged user namespaces are refused here, from the sysctls that restrict them. */
export function usernsRestrictions(): string[] {
  const out: string[] = [];
  if (sysctl("/proc/sys/user/max_user_namespaces") === "0") out.push("user.max_user_namespaces is 0 (fix: sysctl -w user.max_user_namespaces=10000)");
  if (sysctl("/proc/sys/kernel/unprivileged_userns_clone") === "0") out.push("kernel.unprivileged_userns_clone is 0 (fix: sysctl -w kernel.unprivileged_userns_clone=1)");
  if (sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") === "1") {
    out.push("kernel.apparmor_restrict_unprivileged_userns is 1 (fix: sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or an AppArmor profile that allows userns for bun)");
  }
  return out;
}

/** Where namespaces are refused, the way on. */
export const LANDLOCK_HINT = "--confinement auto confines with Landlock where namespaces are refused";
/** Why a mount in a user namespace we made is refused. */
export const NO_CAPS_IN_USERNS = "the user namespace is made, but holds no capabilities (AppArmor's kernel.apparmor_restrict_unprivileged_userns=1 does this, as does a seccomp filter)";
/** Why a mount is refused to real root. */
export const NO_MOUNT_AS_ROOT = "mounting is refused even as root (a container without CAP_SYS_ADMIN, or a seccomp filter)";

/** Adds why and the way on to an EPERM of a mount in the namespaces we made. */
export function explainMountRefusal(e: unknown, userns: boolean): unknown {
  if (!(e instanceof SysError) || (e.errno !== Errno.EPERM && e.errno !== Errno.EACCES)) return e;
  return new Error(`${e.message}; ${userns ? NO_CAPS_IN_USERNS : NO_MOUNT_AS_ROOT}; ${LANDLOCK_HINT}`);
}

/** Adds the reason and the fix to EPERM/ENOSPC/ENOSYS errors of namespace creation. */
export function explainNamespaceError(e: unknown): unknown {
  if (!(e instanceof SysError)) return e;
  if (e.errno === Errno.EPERM || e.errno === Errno.EACCES || e.errno === Errno.ENOSPC) {
    const why = usernsRestrictions();
    const reason = why.length
      ? `user namespaces are restricted on this machine: ${why.join("; ")}`
      : "the kernel or a security module (seccomp, AppArmor, SELinux, a container runtime) forbids creating namespaces here; run `sandbox --doctor` for details, or run as root";
    return new Error(`${e.message}; ${reason}; ${LANDLOCK_HINT}`);
  }
  if (e.errno === Errno.ENOSYS) {
    return new Error(`${e.message}; the running kernel (${kernelRelease()}) does not implement ${e.syscall}(), or a seccomp policy of the caller blocks it`);
  }
  return e;
}
