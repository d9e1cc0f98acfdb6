// Resolving paths inside a root directory without ever leaving it: absolute symlink targets
// and ".." are clamped to the root, like openat2(RESOLVE_IN_ROOT). Missing trailing components
// are kept as written so callers can create them.
import { readlinkOrNull } from "../sys/fs.ts";
import { tryOpenat2, closeQuiet } from "../sys/fd.ts";
import { O, RESOLVE } from "../sys/flags.ts";
import { Errno } from "../sys/errno.ts";
import { SysError } from "../sys/error.ts";
import { joinPath, splitPath } from "../plan/paths.ts";

const MAX_SYMLINKS = 40;

/** Component walk with readlink; works on any kernel. Returns the path inside `root`. */
export function walkInRoot(root: string, path: string): string {
  return walkPath(root, path, readlinkOrNull)!;
}

/**
 * The component walk behind walkInRoot, with the filesystem passed in: `readLink(hostPath)` gives
 * a symlink's target, or null for anything else (missing components are kept as written).
 * Absolute targets and ".." are clamped to `root`. `mayLookUp(hostPath)` is asked before each
 * lookup; false ends the walk with null, that path unread.
 */
export function walkPath(
  root: string, path: string, readLink: (hostPath: string) => string | null, mayLookUp: (hostPath: string) => boolean = () => true,
): string | null {
  const cur: string[] = [];
  const todo = path.split("/").reverse();
  let links = 0;
  while (todo.length > 0) {
    const c = todo.pop()!;
    if (c === "" || c === ".") continue;
    if (c === "..") {
      cur.pop();
      continue;
    }
    const host = joinPath(root, ...cur, c);
    if (!mayLookUp(host)) return null;
    const target = readLink(host);
    if (target === null) {
      cur.push(c);
      continue;
    }
    if (++links > MAX_SYMLINKS) throw new SysError("resolve", Errno.ELOOP, path);
    if (target.startsWith("/")) cur.length = 0;
    todo.push(...target.split("/").reverse());
  }
  return "/" + cur.join("/");
}

let openat2Works: boolean | undefined;

/**
 * Same result as walkInRoot, in one openat2(RESOLVE_IN_ROOT) call when the whole path exists
 * (the common case); the kernel's answer is read back through `procFd` (a /proc/self/fd dir).
 */
export function resolveInRoot(root: string, path: string, procFd: string): string {
  if (openat2Works !== false && process.env.BUN_SANDBOX_NO_OPENAT2 !== "1") {
    const rootFd = tryOpenat2(-100, root, O.PATH | O.DIRECTORY, 0);
    if (rootFd === -Errno.ENOSYS) openat2Works = false;
    else if (rootFd >= 0) {
      try {
        const rel = splitPath(path).join("/") || ".";
        const fd = tryOpenat2(rootFd, rel, O.PATH, RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS);
        if (fd >= 0) {
          try {
            openat2Works = true;
            const real = readlinkOrNull(`${procFd}/${fd}`) ?? "";
            const prefix = root === "/" ? "" : root.replace(/\/+$/, "");
            if (real === prefix) return "/";
            if (real.startsWith(prefix + "/")) return real.slice(prefix.length);
          } finally {
            closeQuiet(fd);
          }
        }
      } finally {
        closeQuiet(rootFd);
      }
    }
  }
  return walkInRoot(root, path);
}
