// The pivot_root dance: a private tmpfs workspace becomes the root with the host's root under
// /oldroot as the source of binds; the new root is built in /newroot, then becomes the root
// itself and the workspace (with the old root) is detached, so neither is visible inside.
import { exists, mkdir, stat } from "../sys/fs.ts";
import { mount, pivotRoot, umount2 } from "../sys/mount.ts";
import { chdir, chroot } from "../sys/process.ts";
import { MS, UMOUNT } from "../sys/flags.ts";
import { SysError } from "../sys/error.ts";

const CANDIDATES = ["/tmp", "/run", "/var/tmp", "/mnt"];

export interface Workspace {
  oldroot: string;
  newroot: string;
  scratch: string;
}

function pickMountPoint(): string {
  for (const c of CANDIDATES) {
    if (stat(c)?.isDirectory()) return c;
  }
  throw new Error(`no directory to hold the setup workspace (tried ${CANDIDATES.join(", ")}); create /tmp`);
}

/**
 * pivot_root(".", putOld); false where the kernel refuses it (EINVAL where / is not a mount
 * point, as in an initramfs; the fallback then says what else is wrong) or
 * BUN_SANDBOX_NO_PIVOT_ROOT=1 plays that.
 */
function tryPivot(putOld: string): boolean {
  if (process.env.BUN_SANDBOX_NO_PIVOT_ROOT === "1") return false;
  try {
    pivotRoot(".", putOld);
    return true;
  } catch (e) {
    if (e instanceof SysError) return false;
    throw e;
  }
}

export function enterWorkspace(): Workspace {
  const at = pickMountPoint();
  mount("tmpfs", at, "tmpfs", MS.NOSUID | MS.NODEV, "mode=0755");
  chdir(at);
  mkdir("newroot", 0o755);
  mkdir("oldroot", 0o755);
  mkdir("scratch", 0o700);
  mount("newroot", "newroot", null, MS.BIND | MS.REC);
  if (!tryPivot("oldroot")) {
    // pivot_root refuses when / is not a mount point (an initramfs): move the workspace over
    // the root instead, keeping a recursive bind of the old root as the source of mounts.
    mount("/", "oldroot", null, MS.BIND | MS.REC);
    mount(".", "/", null, MS.MOVE);
    chroot(".");
    chdir("/");
    // The bind of the old root still shows the workspace tmpfs over its mount point.
    umount2(`/oldroot${at}`, UMOUNT.DETACH);
  }
  chdir("/");
  return { oldroot: "/oldroot", newroot: "/newroot", scratch: "/scratch" };
}

/** Makes the new root the root and detaches the workspace and the old root below it. */
export function leaveWorkspace(ws: Workspace): void {
  chdir(ws.newroot);
  if (tryPivot(".")) umount2(".", UMOUNT.DETACH);
  else {
    // Refused here too (an initramfs): the old root's bind goes first (the new root's binds hold
    // what they need), then the new root moves over the workspace, whose empty tmpfs stays below.
    umount2(ws.oldroot, UMOUNT.DETACH);
    mount(".", "/", null, MS.MOVE);
    chroot(".");
  }
  // A fresh peer group: mounts made inside propagate inside, never back to the host.
  mount(null, ".", null, MS.SHARED | MS.REC);
  chdir("/");
}

export function procAvailable(ws: Workspace): boolean {
  return exists(`${ws.oldroot}/proc/self/fd`);
}
