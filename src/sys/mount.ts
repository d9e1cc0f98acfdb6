// Mount syscalls: the classic API, the new fd-based API (open_tree, move_mount, mount_setattr,
// fsopen/fsconfig/fsmount, fspick) and statfs.
import { check, cstr, cstrOrNull, FFIType as T, lazyBind, libc } from "./libc.ts";
import { AT, FSCONFIG, MOVE_MOUNT, O } from "./flags.ts";

export function mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null = null): void {
  const r = libc.mount(cstrOrNull(source), cstr(target), cstrOrNull(fstype), flags, cstrOrNull(data));
  check(r, "mount", source ?? fstype ?? "none", target);
}

export function umount2(target: string, flags = 0): void {
  check(libc.umount2(cstr(target), flags), "umount2", target);
}

export function pivotRoot(newRoot: string, putOld: string): void {
  check(libc.pivot_root(cstr(newRoot), cstr(putOld)), "pivot_root", newRoot, putOld);
}

const sysOpenTree = lazyBind("open_tree", [T.i32, T.ptr, T.u32]);
const sysMoveMount = lazyBind("move_mount", [T.i32, T.ptr, T.i32, T.ptr, T.u32]);
const sysMountSetattr = lazyBind("mount_setattr", [T.i32, T.ptr, T.u32, T.ptr, T.u64]);
const sysFsopen = lazyBind("fsopen", [T.ptr, T.u32]);
const sysFsconfig = lazyBind("fsconfig", [T.i32, T.u32, T.ptr, T.ptr, T.i32]);
const sysFsmount = lazyBind("fsmount", [T.i32, T.u32, T.u32]);
const sysFspick = lazyBind("fspick", [T.i32, T.ptr, T.u32]);

/** Which path each new-API call takes ("libc" wrapper, raw "syscall", or "missing"). */
export const newMountApiBindings = {
  open_tree: sysOpenTree, move_mount: sysMoveMount, mount_setattr: sysMountSetattr,
  fsopen: sysFsopen, fsconfig: sysFsconfig, fsmount: sysFsmount, fspick: sysFspick,
};

const EMPTY = Buffer.from([0]);

/** open_tree(dirfd, path, flags): an fd for a mount tree, detached clone with OPEN_TREE_CLONE. */
export function openTree(path: string, flags: number, dirfd: number = AT.FDCWD): number {
  return check(sysOpenTree(dirfd, cstr(path), flags), "open_tree", path);
}

/** Attaches the mount `fromFd` (a detached tree or fsmount result) at `to`. */
export function moveMountFd(fromFd: number, to: string, flags = 0, toDirfd: number = AT.FDCWD, label?: string): void {
  const r = sysMoveMount(fromFd, EMPTY, toDirfd, cstr(to), flags | MOVE_MOUNT.F_EMPTY_PATH);
  check(r, "move_mount", label ?? `fd ${fromFd}`, to);
}

/** move_mount between two paths. */
export function moveMount(from: string, to: string, flags = 0, fromDirfd: number = AT.FDCWD, toDirfd: number = AT.FDCWD): void {
  check(sysMoveMount(fromDirfd, cstr(from), toDirfd, cstr(to), flags), "move_mount", from, to);
}

export interface MountAttr {
  set?: number;
  clear?: number;
  propagation?: number;
  usernsFd?: number;
}

/** mount_setattr on an fd (AT_EMPTY_PATH) or a path; AT_RECURSIVE in flags applies it to the whole tree. */
export function mountSetattr(target: number | string, flags: number, attr: MountAttr, label?: string): void {
  const a = new BigUint64Array(4); // struct mount_attr, MOUNT_ATTR_SIZE_VER0 = 32 bytes
  a[0] = BigInt(attr.set ?? 0);
  a[1] = BigInt(attr.clear ?? 0);
  a[2] = BigInt(attr.propagation ?? 0);
  a[3] = BigInt(attr.usernsFd ?? 0);
  const r = typeof target === "number" ? sysMountSetattr(target, EMPTY, flags | AT.EMPTY_PATH, a, 32) : sysMountSetattr(AT.FDCWD, cstr(target), flags, a, 32);
  check(r, "mount_setattr", label ?? String(target));
}

export function fsopen(fstype: string, flags = 1 /* FSOPEN_CLOEXEC */): number {
  return check(sysFsopen(cstr(fstype), flags), "fsopen", fstype);
}

/** fsconfig(FSCONFIG_SET_STRING) / (FSCONFIG_SET_FLAG when value is null). */
export function fsconfigSet(fsfd: number, key: string, value: string | null, label = key): void {
  const r = value === null ? sysFsconfig(fsfd, FSCONFIG.SET_FLAG, cstr(key), null, 0) : sysFsconfig(fsfd, FSCONFIG.SET_STRING, cstr(key), cstr(value), 0);
  check(r, "fsconfig", value === null ? label : `${label}=${value}`);
}

export function fsconfigCmd(fsfd: number, cmd: number, label = "create"): void {
  check(sysFsconfig(fsfd, cmd, null, null, 0), "fsconfig", label);
}

export function fsmount(fsfd: number, flags = 1 /* FSMOUNT_CLOEXEC */, attrs = 0): number {
  return check(sysFsmount(fsfd, flags, attrs), "fsmount");
}

export function fspick(path: string, flags: number, dirfd: number = AT.FDCWD): number {
  return check(sysFspick(dirfd, cstr(path), flags), "fspick", path);
}

/** struct statfs (120 bytes): f_type, f_bsize, 5 counts, f_fsid, f_namelen, f_frsize, f_flags, spare. */
const statfsInfo = (buf: BigInt64Array) => ({ type: Number(BigInt.asUintN(32, buf[0]!)), flags: Number(buf[10]!) });

/** f_type of the filesystem holding `path` (TMPFS_MAGIC, OVERLAYFS_SUPER_MAGIC, ...). */
export function statfsType(path: string): number {
  const buf = new BigInt64Array(15);
  check(libc.statfs(cstr(path), buf), "statfs", path);
  return statfsInfo(buf).type;
}

/** ST_RDONLY in statfs's f_flags: the mount is read-only. */
export const ST_RDONLY = 1;

/** f_type of the filesystem holding what `fd` names (an O_PATH fd will do), and its mount's f_flags. */
export function fstatfs(fd: number, label = `fd ${fd}`): { type: number; flags: number } {
  const buf = new BigInt64Array(15);
  check(libc.fstatfs(fd, buf), "fstatfs", label);
  return statfsInfo(buf);
}

export const FS_MAGIC = {
  TMPFS: 0x01021994, OVERLAYFS: 0x794c7630, PROC: 0x9fa0, BTRFS: 0x9123683e, EXT4: 0xef53,
  SYSFS: 0x62656572, DEVPTS: 0x1cd1, CGROUP2: 0x63677270, XFS: 0x58465342, NFS: 0x6969,
} as const;

export { O };
