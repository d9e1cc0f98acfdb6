// The seal: once the root is built, the process that will exec the command moves into a second
// user namespace, with a new mount namespace copied from the built one. The kernel locks every
// mount of a copy owned by a different user namespace (MNT_LOCKED, and the ro/nosuid/nodev/
// noexec/atime flags), and copies the command makes later keep the locks: it can no longer
// remount, unmount, move or non-recursively bind what the sandbox made, even with every
// capability in its own namespace. The first namespace maps ids one to one and the mapping the
// command is meant to have moves into the second, so /proc/self/uid_map reads the same.
//
// The network, UTS and cgroup namespaces are made here too, owned by the command's user
// namespace, so its capabilities still act on them (binding a low port, setting the hostname).
import { CLONE } from "../sys/flags.ts";
import { openAt, readlinkAt } from "../sys/fs.ts";
import { closeQuiet, write } from "../sys/fd.ts";
import { sethostname, unshare } from "../sys/process.ts";
import { explainNamespaceError } from "./explain.ts";
import { fstatfs, mount, ST_RDONLY } from "../sys/mount.ts";
import { Errno } from "../sys/errno.ts";
import { MS, O } from "../sys/flags.ts";
import { interfaceUp } from "../sys/net.ts";
import { keepCapabilities, restoreCapabilities, snapshotCapabilities } from "../sys/caps.ts";
import { startChain, SyscallChain, type ChainHandle } from "../sys/syscallchain.ts";
import type { IdMaps } from "./identity.ts";
import { SetupError } from "./errors.ts";

/** What the sealing process needs, beyond its plan. */
export interface SealSpec {
  /** The command's id maps, as seen from the first namespace. */
  maps: IdMaps;
  /** Whether this process can write them itself (one id, its own): else a helper in the first namespace does. */
  selfWritable: boolean;
  /** CLONE_NEW* namespaces made with the seal (network, UTS, cgroup). */
  namespaces: number;
  hostname: string | null;
  /** Capabilities the command keeps, or null for the ones this process has now (real root). */
  caps: readonly number[] | null;
  /** A /proc directory of the host (fd), opened before the pivot: the new root may have none. */
  procFd: number;
}

/** Namespaces that belong with the command's user namespace when the sandbox is sealed. */
export const SEAL_NAMESPACES = CLONE.NEWNET | CLONE.NEWUTS | CLONE.NEWCGROUP;

/** Why maps cannot be written on a read-only /proc, and the fix (the kernel says only EROFS). */
export const READ_ONLY_PROC =
  "/proc is read-only here, and a user namespace's maps are written through it; a sandbox inside another one needs a writable /proc there (give the outer sandbox --proc /proc)";

/** Throws the READ_ONLY_PROC error for `step` when the procfs behind `procFd` is mounted read-only. */
export function requireWritableProc(procFd: number, step: string): void {
  if (fstatfs(procFd, "/proc").flags & ST_RDONLY) throw new SetupError(step, READ_ONLY_PROC, Errno.EROFS);
}

/** Moves this process into the sealed namespaces; see the file comment. */
export function sealInPlace(spec: SealSpec): void {
  const flags = CLONE.NEWUSER | CLONE.NEWNS | spec.namespaces;
  // A new user namespace grants every capability in it; the command keeps the sets it would have had.
  // Taken before the helper starts: the helper's step failures show in errno, which it shares
  // with us, so until its release we make no call that may fail, and allocate as little as we
  // can (the VM's own calls during a collection may fail and set errno: in a root without /proc
  // that made a sound helper look failed).
  const before = spec.caps ? null : snapshotCapabilities();
  const self = spec.selfWritable ? "" : readlinkAt(spec.procFd, "self");
  // A helper cloned now stays in the first namespace, where it may write a map of many ids.
  // Our pid as the host's /proc knows it (in a PID namespace getpid() gives the inner one).
  const helper = spec.selfWritable ? null : mapWriter(spec.procFd, self, spec.maps);
  try {
    unshare(flags);
  } catch (e) {
    helper?.abort();
    throw new SetupError("seal: unshare(user|mnt)", explainNamespaceError(e));
  }
  try {
    if (helper) helper.release();
    else writeMaps(spec.procFd, "self", spec.maps);
  } catch (e) {
    // A map writer's failed open shows only as a bad fd in its next step: say why.
    requireWritableProc(spec.procFd, "seal: write the command's uid/gid maps");
    throw new SetupError("seal: write the command's uid/gid maps", e);
  }
  try {
    // The copy's mounts are slaves of the first namespace's: a peer group of their own instead,
    // so mounts made inside propagate inside as before.
    mount(null, "/", null, MS.PRIVATE | MS.REC);
    mount(null, "/", null, MS.SHARED | MS.REC);
    if (spec.namespaces & CLONE.NEWNET) interfaceUp("lo");
    if (spec.hostname !== null) sethostname(spec.hostname);
    if (spec.caps) keepCapabilities(spec.caps);
    else restoreCapabilities(before!);
  } catch (e) {
    throw new SetupError("seal", e);
  }
}

/** Writes setgroups (when asked), uid_map and gid_map of `pid` ("self" or a number) under procFd. */
export function writeMaps(procFd: number, pid: string, maps: IdMaps): void {
  const put = (file: string, text: string) => {
    const fd = openAt(procFd, `${pid}/${file}`, O.WRONLY);
    try {
      write(fd, Buffer.from(text));
    } finally {
      closeQuiet(fd);
    }
  };
  if (maps.setgroups) put("setgroups", maps.setgroups);
  put("uid_map", maps.uid);
  put("gid_map", maps.gid);
}

/**
 * A CLONE_VM child left in this user namespace (with its capabilities there) that writes the
 * maps of `pid` once released: the kernel lets only a writer in the parent namespace with
 * CAP_SETUID there write a map of more than its own id.
 */
function mapWriter(procFd: number, pid: string, maps: IdMaps): ChainHandle {
  // Steps cannot see results, so each file is opened as fd 0 of the helper's own fd table: made
  // free first (dup3 over it, then close, both succeed whether or not 0 was open).
  const then = new SyscallChain().call("dup3", procFd, 0, 0).call("close", 0);
  const put = (file: string, text: string) => {
    then.call("openat", procFd, Buffer.from(`${pid}/${file}\0`), O.WRONLY, 0);
    then.call("write", 0, Buffer.from(text), Buffer.byteLength(text)).call("close", 0);
  };
  if (maps.setgroups) put("setgroups", maps.setgroups);
  put("uid_map", maps.uid);
  put("gid_map", maps.gid);
  return startChain({ flags: 0, setup: new SyscallChain(), then });
}

/** The namespace ids of a process ("self", or a pid), read through the host's /proc (fd). */
export function namespaceIdsAt(procFd: number, pid: number | "self" = "self"): Record<string, string> {
  const out: Record<string, string> = {};
  for (const ns of ["user", "mnt", "pid", "net", "ipc", "uts", "cgroup"]) {
    try {
      out[ns] = readlinkAt(procFd, `${pid}/ns/${ns === "pid" ? "pid_for_children" : ns}`);
    } catch {
      // a kernel without that namespace
    }
  }
  return out;
}
