// The private TMPDIR of a landlock sandbox whose /tmp (or /var/tmp) is hidden: a fresh directory
// there, mode 0700, the only place beneath it the command may use; removed once the command has
// ended. The removal goes by directory fds and never follows a symlink the command left.
import { closeQuiet } from "../sys/fd.ts";
import { O } from "../sys/flags.ts";
import { chmod, DT, mkdirAt, openAt, readdirFd, tryOpenAt, unlinkAt } from "../sys/fs.ts";
import { SysError } from "../sys/error.ts";
import { Errno } from "../sys/errno.ts";

export interface PrivateTmp {
  /** Its path, for TMPDIR and the Landlock rule. */
  path: string;
  /** O_PATH fd of the directory it was made in, so removal does not look the name up again. */
  parentFd: number;
  name: string;
}

/** mkdir of sandbox-XXXXXXXXXXXX in `dir` (0700); a name taken already is tried again. */
export function makePrivateTmp(dir: string): PrivateTmp {
  const parentFd = openAt(-100, dir, O.PATH | O.DIRECTORY);
  for (let i = 0; i < 16; i++) {
    const name = `sandbox-${Buffer.from(crypto.getRandomValues(new Uint8Array(6))).toString("hex")}`;
    if (mkdirAt(parentFd, name, 0o700)) return { path: `${dir}/${name}`, parentFd, name };
  }
  closeQuiet(parentFd);
  throw new SysError("mkdirat", Errno.EEXIST, `${dir}/sandbox-*`);
}

/** rm -r of `name` in `dirFd`: entries are opened O_NOFOLLOW, so a symlink is removed, never followed. */
export function removeTree(dirFd: number, name: string): void {
  let fd = tryOpenAt(dirFd, name, O.RDONLY | O.DIRECTORY | O.NOFOLLOW);
  if (fd === -Errno.EACCES) {
    // A directory the command made unreadable: ours (same owner), so its mode can be given back,
    // through an O_PATH fd of the entry itself (a name could be swapped for a symlink meanwhile).
    const at = tryOpenAt(dirFd, name, O.PATH | O.DIRECTORY | O.NOFOLLOW);
    if (at >= 0) {
      try {
        chmod(`/proc/self/fd/${at}`, 0o700);
      } finally {
        closeQuiet(at);
      }
      fd = tryOpenAt(dirFd, name, O.RDONLY | O.DIRECTORY | O.NOFOLLOW);
    }
  }
  if (fd >= 0) {
    try {
      for (const e of readdirFd(fd, name)) {
        if (e.type === DT.DIR) removeTree(fd, e.name);
        else unlinkOrTree(fd, e.name);
      }
    } finally {
      closeQuiet(fd);
    }
  }
  try {
    unlinkAt(dirFd, name, fd >= 0);
  } catch (e) {
    if (!(e instanceof SysError && e.errno === Errno.ENOENT)) throw e;
  }
}

/** An entry of unknown type (DT_UNKNOWN) may be a directory. */
function unlinkOrTree(dirFd: number, name: string): void {
  try {
    unlinkAt(dirFd, name);
  } catch (e) {
    if (e instanceof SysError && (e.errno === Errno.EISDIR || e.errno === Errno.EPERM)) removeTree(dirFd, name);
    else if (!(e instanceof SysError && e.errno === Errno.ENOENT)) throw e;
  }
}
