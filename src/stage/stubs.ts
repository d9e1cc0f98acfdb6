// Mount-point stubs on the host. A mount needs something to cover: when its destination does not
// exist, the setup makes it (an empty directory or file) and, inside a writable bind of a host
// directory, that stub is made on the host. The stage notes each such stub (its host path and
// inode) and reports them; the library removes them once the sandbox has ended, if they are
// still the same empty directory or empty file. The CLI execs in place and cannot.
import { closeQuiet, open } from "../sys/fd.ts";
import { mountIdOfFd, openAt, readlink, statAtFd, unlinkAt } from "../sys/fs.ts";
import { O } from "../sys/flags.ts";
import { joinPath, parentOf, baseName } from "../plan/paths.ts";
import { walk } from "./dest.ts";

/** One stub made on the host. */
export interface Stub {
  path: string;
  dir: boolean;
  ino: number;
  dev: string;
}

/** A writable bind of a host directory: its mount id, its source, and where it is in the workspace. */
interface HostBind {
  mountId: number;
  src: string;
  at: string;
}

const binds: HostBind[] = [];
const stubs: Stub[] = [];

/** Forgets what an earlier sandbox of this process (a namespace worker's) noted. */
export function resetStubs(): void {
  binds.length = 0;
  stubs.length = 0;
}

/** Notes a writable bind of host directory `src`, now mounted where `fd` (its root) is; `procFd` names fds. */
export function noteHostBind(src: string, fd: number, procFd: string): void {
  const mountId = mountIdOfFd(fd);
  if (mountId === null || mountId < 0) return;
  binds.push({ mountId, src, at: readlink(`${procFd}/${fd}`) });
}

/** Notes `name`, just made in directory `dir` for a mount, when `dir` lies in a writable host bind. */
export function noteStub(dir: number, name: string, procFd: string): void {
  if (binds.length === 0) return;
  const mountId = mountIdOfFd(dir);
  const bind = binds.findLast((b) => b.mountId === mountId);
  const st = bind ? statAtFd(dir, name, false) : null;
  if (!bind || !st) return;
  const where = readlink(`${procFd}/${dir}`);
  if (where !== bind.at && !where.startsWith(`${bind.at}/`)) return;
  stubs.push({ path: joinPath(bind.src, where.slice(bind.at.length), name), dir: st.isDirectory(), ino: st.ino, dev: st.dev });
}

/** The stubs noted so far (and forgets them). */
export function takeStubs(): Stub[] {
  return stubs.splice(0);
}

/**
 * Removes the stubs that are still what was made: the same inode, an empty directory or an empty
 * file. Each is reached from "/" one component at a time refusing symlinks, and removed relative
 * to its directory's fd, so a rename or symlink swap meanwhile cannot make this remove anything
 * else. The deepest go first; anything else that went wrong leaves a stub, never more.
 */
export function removeStubs(list: readonly Stub[]): number {
  let removed = 0;
  for (const s of [...list].sort((a, b) => b.path.length - a.path.length)) {
    try {
      if (removeOne(s)) removed++;
    } catch {
      // moved, replaced or filled meanwhile: left as it is
    }
  }
  return removed;
}

function removeOne(s: Stub): boolean {
  const root = open("/", O.PATH | O.DIRECTORY);
  try {
    const p = walk(root, parentOf(s.path), { follow: false, create: null, noSymlinks: true });
    if (!p) return false;
    try {
      const dir = p.name === "" ? p.dir : openAt(p.dir, p.name, O.PATH | O.DIRECTORY | O.NOFOLLOW);
      try {
        const st = statAtFd(dir, baseName(s.path), false);
        if (!st || st.ino !== s.ino || st.dev !== s.dev || st.isDirectory() !== s.dir) return false;
        if (!s.dir && (!st.isFile() || st.size !== 0)) return false;
        // An emptied directory only: rmdir refuses one with entries (ENOTEMPTY).
        unlinkAt(dir, baseName(s.path), s.dir);
        return true;
      } finally {
        if (dir !== p.dir) closeQuiet(dir);
      }
    } finally {
      closeQuiet(p.dir);
    }
  } finally {
    closeQuiet(root);
  }
}
