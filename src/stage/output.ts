// --output-dir: after the command has ended, the files it created or changed in overlay
// directories (the overlays' upper directories in the sandbox's tmpfs) are copied to the output
// directory under their paths in the sandbox. This runs after pivot_root, in the sandbox's mount
// namespace, so everything goes through two fds opened before: the writes tmpfs and the output
// directory (opened on the host), with *at() calls that never follow a symlink.
//
// Copied: regular files (contents and permission bits, without setuid/setgid) and symlinks;
// directories only as the parents of those. Not copied: whiteouts (deletions), other special
// files, empty directories.
import { fchmod, mkdirAt, openAt, readdirFd, readlinkAt, statAtFd, symlinkAt, tryOpenAt, unlinkAt } from "../sys/fs.ts";
import { closeQuiet, read, writeAll } from "../sys/fd.ts";
import { O } from "../sys/flags.ts";
import { SysError } from "../sys/error.ts";
import { Errno } from "../sys/errno.ts";
import { splitPath } from "../plan/paths.ts";
import type { DirModesOverlay } from "./ops/dirmodes.ts";

export interface CopyReport {
  files: number;
  symlinks: number;
  /** Deleted files and directories (overlay whiteouts): not represented in the output. */
  whiteouts: number;
  /** Paths (in the sandbox) of entries that were not copied, with why. */
  skipped: string[];
}

/** A directory of the output, made on first use. */
interface OutDir {
  parent: OutDir | null;
  name: string;
  /** Path in the sandbox, for messages. */
  path: string;
  mode: number;
  fd: number;
  made: boolean;
}

const BUF = Buffer.allocUnsafe(1 << 20);

function child(parent: OutDir, name: string, mode: number): OutDir {
  return { parent, name, path: parent.path === "/" ? `/${name}` : `${parent.path}/${name}`, mode, fd: -1, made: false };
}

function ensure(d: OutDir): number {
  if (d.fd >= 0) return d.fd;
  const p = ensure(d.parent!);
  // Owner-writable while it is filled; the final mode is set when the directory is done.
  d.made = mkdirAt(p, d.name, (d.mode | 0o700) & 0o1777);
  const fd = tryOpenAt(p, d.name, O.RDONLY | O.DIRECTORY | O.NOFOLLOW);
  if (fd < 0) {
    const hint = -fd === Errno.ELOOP || -fd === Errno.ENOTDIR ? "exists in the output directory and is not a directory (symlinks there are not followed)" : undefined;
    throw new SysError("openat", -fd, d.path, undefined, hint);
  }
  d.fd = fd;
  return fd;
}

function finish(d: OutDir): void {
  if (d.fd < 0) return;
  if (d.made && d.parent) fchmod(d.fd, d.mode & 0o1777, d.path);
  if (d.parent) closeQuiet(d.fd);
  d.fd = -1;
}

function copyFile(srcDir: number, name: string, out: OutDir, mode: number, path: string): void {
  const src = openAt(srcDir, name, O.RDONLY | O.NOFOLLOW);
  try {
    const dir = ensure(out);
    const flags = O.WRONLY | O.CREAT | O.TRUNC | O.NOFOLLOW;
    let dst = tryOpenAt(dir, name, flags, mode);
    if (dst === -Errno.ELOOP) {
      // A symlink in the output: replace it, never write through it.
      unlinkAt(dir, name);
      dst = tryOpenAt(dir, name, flags | O.EXCL, mode);
    }
    if (dst < 0) throw new SysError("openat", -dst, path);
    try {
      for (;;) {
        const n = read(src, BUF);
        if (n === 0) break;
        writeAll(dst, BUF.subarray(0, n));
      }
      fchmod(dst, mode, path);
    } finally {
      closeQuiet(dst);
    }
  } finally {
    closeQuiet(src);
  }
}

function copySymlink(srcDir: number, name: string, out: OutDir, path: string): void {
  const target = readlinkAt(srcDir, name);
  const dir = ensure(out);
  try {
    symlinkAt(target, dir, name);
  } catch (e) {
    if (!(e instanceof SysError) || e.errno !== Errno.EEXIST) throw e;
    if (statAtFd(dir, name)?.isDirectory()) throw new SysError("symlinkat", Errno.EEXIST, path, undefined, "a directory of that name exists in the output directory");
    unlinkAt(dir, name);
    symlinkAt(target, dir, name);
  }
}

function walk(srcDir: number, out: OutDir, report: CopyReport): void {
  for (const e of readdirFd(srcDir, out.path)) {
    const path = out.path === "/" ? `/${e.name}` : `${out.path}/${e.name}`;
    if (!e.utf8) {
      report.skipped.push(`${path}: the name is not valid UTF-8`);
      continue;
    }
    const st = statAtFd(srcDir, e.name);
    if (!st) continue;
    if (st.isDirectory()) {
      const sub = openAt(srcDir, e.name, O.RDONLY | O.DIRECTORY | O.NOFOLLOW);
      const d = child(out, e.name, st.mode & 0o1777);
      try {
        walk(sub, d, report);
      } finally {
        closeQuiet(sub);
        finish(d);
      }
    } else if (st.isFile()) {
      copyFile(srcDir, e.name, out, st.mode & 0o1777, path);
      report.files++;
    } else if (st.isSymbolicLink()) {
      copySymlink(srcDir, e.name, out, path);
      report.symlinks++;
    } else if (st.isCharacterDevice() && st.rdevMajor === 0 && st.rdevMinor === 0) {
      report.whiteouts++;
    } else {
      report.skipped.push(`${path}: not a regular file, directory or symlink`);
    }
  }
}

/**
 * Makes the missing components `missing` of the output directory below `baseFd` (with `mode`,
 * not following symlinks) and returns an fd of the output directory.
 */
export function makeOutputDir(baseFd: number, missing: readonly string[], mode: number, label: string): number {
  let fd = baseFd;
  for (const name of missing) {
    mkdirAt(fd, name, mode);
    const next = tryOpenAt(fd, name, O.RDONLY | O.DIRECTORY | O.NOFOLLOW);
    if (fd !== baseFd) closeQuiet(fd);
    if (next < 0) throw new SysError("openat", -next, label, undefined, "not a directory (symlinks are not followed here)");
    fd = next;
  }
  return fd;
}

/** Copies the upper directories of `overlays` (in the tmpfs at `writesFd`) into `outFd`. */
export function copyOverlayWrites(writesFd: number, outFd: number, overlays: readonly DirModesOverlay[]): CopyReport {
  const report: CopyReport = { files: 0, symlinks: 0, whiteouts: 0, skipped: [] };
  const top: OutDir = { parent: null, name: "", path: "/", mode: 0o755, fd: outFd, made: false };
  for (const o of overlays) {
    // The overlay's mount point, below the output directory (made only when something is copied).
    const chain: OutDir[] = [];
    let d = top;
    for (const part of splitPath(o.path)) {
      d = child(d, part, 0o755);
      chain.push(d);
    }
    const upper = openAt(writesFd, o.upper, O.RDONLY | O.DIRECTORY | O.NOFOLLOW);
    try {
      walk(upper, d, report);
    } finally {
      closeQuiet(upper);
      for (const c of chain.reverse()) finish(c);
    }
  }
  return report;
}
