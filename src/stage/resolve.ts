// Resolving paths inside a root directory without ever leaving it: absolute symlink targets
// and ".." are clamped to the root, like openat2(RESOLVE_IN_ROOT). Missing trailing components
// are kept as written so callers can create them.
import { lstat, mkdirIfMissing, readlink, readlinkOrNull } from "../sys/fs.ts";
import { tryOpenat2, closeQuiet } from "../sys/fd.ts";
import { O, RESOLVE } from "../sys/flags.ts";
import { Errno } from "../sys/errno.ts";
import { SysError } from "../sys/error.ts";
import { joinPath, splitPath } from "../plan/paths.ts";

const MAX_SYMLINKS = 40;

/** Component walk with lstat/readlink; works on any kernel. Returns the path inside `root`. */
export function walkInRoot(root: string, path: string): string {
  const cur: string[] = [];
  let todo = path.split("/").filter((c) => c !== "" && c !== ".");
  let links = 0;
  // cur[0..checked) exists and holds no symlink; anything after it is missing (kept as written).
  let checked = 0;
  while (todo.length > 0) {
    const c = todo.shift()!;
    if (c === "..") {
      cur.pop();
      checked = Math.min(checked, cur.length);
      continue;
    }
    if (checked < cur.length) {
      cur.push(c);
      continue;
    }
    const host = joinPath(root, ...cur, c);
    const st = lstat(host);
    if (!st) {
      cur.push(c);
      continue;
    }
    if (!st.isSymbolicLink()) {
      cur.push(c);
      checked = cur.length;
      continue;
    }
    if (++links > MAX_SYMLINKS) throw new SysError("resolve", Errno.ELOOP, path);
    const target = readlink(host);
    if (target.startsWith("/")) cur.length = 0;
    todo = [...target.split("/").filter((x) => x !== "" && x !== "."), ...todo];
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

/** mkdir -p of `path` (inside `root`, already resolved), new directories get `mode`. */
export function makeDirs(root: string, resolved: string, mode = 0o755): void {
  const parts = splitPath(resolved);
  for (let i = 1; i <= parts.length; i++) {
    mkdirIfMissing(joinPath(root, ...parts.slice(0, i)), mode);
  }
}
