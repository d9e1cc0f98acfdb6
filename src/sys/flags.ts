// Flag values from the kernel headers, with parsers and printers for the ones people write
// by hand: mount options ("ro,nosuid,rbind,rprivate"), mount attributes, namespace sets.

export const MS = {
  RDONLY: 0x1, NOSUID: 0x2, NODEV: 0x4, NOEXEC: 0x8, SYNCHRONOUS: 0x10, REMOUNT: 0x20,
  MANDLOCK: 0x40, DIRSYNC: 0x80, NOSYMFOLLOW: 0x100, NOATIME: 0x400, NODIRATIME: 0x800,
  BIND: 0x1000, MOVE: 0x2000, REC: 0x4000, SILENT: 0x8000, POSIXACL: 0x10000,
  UNBINDABLE: 0x20000, PRIVATE: 0x40000, SLAVE: 0x80000, SHARED: 0x100000, RELATIME: 0x200000,
  STRICTATIME: 0x1000000, LAZYTIME: 0x2000000,
} as const;

export const CLONE = {
  NEWTIME: 0x80, VM: 0x100, FS: 0x200, FILES: 0x400, SIGHAND: 0x800, PIDFD: 0x1000,
  PARENT: 0x8000, THREAD: 0x10000, NEWNS: 0x20000, SYSVSEM: 0x40000, CLEAR_SIGHAND: 0x100000000,
  INTO_CGROUP: 0x200000000, NEWCGROUP: 0x2000000, NEWUTS: 0x4000000, NEWIPC: 0x8000000,
  NEWUSER: 0x10000000, NEWPID: 0x20000000, NEWNET: 0x40000000,
} as const;

export const MOUNT_ATTR = {
  RDONLY: 0x1, NOSUID: 0x2, NODEV: 0x4, NOEXEC: 0x8, RELATIME: 0x0, NOATIME: 0x10,
  STRICTATIME: 0x20, _ATIME: 0x70, NODIRATIME: 0x80, IDMAP: 0x100000, NOSYMFOLLOW: 0x200000,
} as const;

export const AT = {
  FDCWD: -100, SYMLINK_NOFOLLOW: 0x100, REMOVEDIR: 0x200, SYMLINK_FOLLOW: 0x400,
  NO_AUTOMOUNT: 0x800, EMPTY_PATH: 0x1000, RECURSIVE: 0x8000,
} as const;

// aarch64 keeps 32-bit ARM's values for O_DIRECTORY and O_NOFOLLOW (arch/arm64/include/uapi/asm/fcntl.h).
const ARM64 = process.arch === "arm64";

export const O = {
  RDONLY: 0, WRONLY: 1, RDWR: 2, CREAT: 0o100, EXCL: 0o200, NOCTTY: 0o400, TRUNC: 0o1000,
  APPEND: 0o2000, NONBLOCK: 0o4000, DIRECTORY: ARM64 ? 0o40000 : 0o200000, NOFOLLOW: ARM64 ? 0o100000 : 0o400000,
  CLOEXEC: 0o2000000, PATH: 0o10000000,
} as const;

export const OPEN_TREE = { CLONE: 0x1, CLOEXEC: O.CLOEXEC } as const;

export const MOVE_MOUNT = {
  F_SYMLINKS: 0x1, F_AUTOMOUNTS: 0x2, F_EMPTY_PATH: 0x4, T_SYMLINKS: 0x10, T_AUTOMOUNTS: 0x20,
  T_EMPTY_PATH: 0x40, SET_GROUP: 0x100, BENEATH: 0x200,
} as const;

export const UMOUNT = { FORCE: 0x1, DETACH: 0x2, EXPIRE: 0x4, NOFOLLOW: 0x8 } as const;

export const FSOPEN = { CLOEXEC: 0x1 } as const;
export const FSMOUNT = { CLOEXEC: 0x1 } as const;
export const FSPICK = { CLOEXEC: 0x1, SYMLINK_NOFOLLOW: 0x2, NO_AUTOMOUNT: 0x4, EMPTY_PATH: 0x8 } as const;
export const FSCONFIG = {
  SET_FLAG: 0, SET_STRING: 1, SET_BINARY: 2, SET_PATH: 3, SET_PATH_EMPTY: 4, SET_FD: 5,
  CMD_CREATE: 6, CMD_RECONFIGURE: 7, CMD_CREATE_EXCL: 8,
} as const;

export const RESOLVE = {
  NO_XDEV: 0x1, NO_MAGICLINKS: 0x2, NO_SYMLINKS: 0x4, BENEATH: 0x8, IN_ROOT: 0x10, CACHED: 0x20,
} as const;

/** Error for option strings we cannot parse; message names the bad word and what to do. */
export class FlagParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FlagParseError";
  }
}

// ---- mount option strings ----------------------------------------------------------------

interface MountWord {
  set: number;
  clear: number;
}

// Each word either sets or clears bits; "no" forms are the negations mount(8) accepts.
const MOUNT_WORDS: Record<string, MountWord> = {
  defaults: { set: 0, clear: 0 },
  ro: { set: MS.RDONLY, clear: 0 }, rw: { set: 0, clear: MS.RDONLY },
  nosuid: { set: MS.NOSUID, clear: 0 }, suid: { set: 0, clear: MS.NOSUID },
  nodev: { set: MS.NODEV, clear: 0 }, dev: { set: 0, clear: MS.NODEV },
  noexec: { set: MS.NOEXEC, clear: 0 }, exec: { set: 0, clear: MS.NOEXEC },
  sync: { set: MS.SYNCHRONOUS, clear: 0 }, async: { set: 0, clear: MS.SYNCHRONOUS },
  remount: { set: MS.REMOUNT, clear: 0 },
  mand: { set: MS.MANDLOCK, clear: 0 }, nomand: { set: 0, clear: MS.MANDLOCK },
  dirsync: { set: MS.DIRSYNC, clear: 0 }, nodirsync: { set: 0, clear: MS.DIRSYNC },
  nosymfollow: { set: MS.NOSYMFOLLOW, clear: 0 }, symfollow: { set: 0, clear: MS.NOSYMFOLLOW },
  noatime: { set: MS.NOATIME, clear: 0 }, atime: { set: 0, clear: MS.NOATIME },
  nodiratime: { set: MS.NODIRATIME, clear: 0 }, diratime: { set: 0, clear: MS.NODIRATIME },
  bind: { set: MS.BIND, clear: 0 }, rbind: { set: MS.BIND | MS.REC, clear: 0 },
  move: { set: MS.MOVE, clear: 0 }, rec: { set: MS.REC, clear: 0 },
  silent: { set: MS.SILENT, clear: 0 }, loud: { set: 0, clear: MS.SILENT },
  acl: { set: MS.POSIXACL, clear: 0 }, noacl: { set: 0, clear: MS.POSIXACL },
  unbindable: { set: MS.UNBINDABLE, clear: 0 }, runbindable: { set: MS.UNBINDABLE | MS.REC, clear: 0 },
  private: { set: MS.PRIVATE, clear: 0 }, rprivate: { set: MS.PRIVATE | MS.REC, clear: 0 },
  slave: { set: MS.SLAVE, clear: 0 }, rslave: { set: MS.SLAVE | MS.REC, clear: 0 },
  shared: { set: MS.SHARED, clear: 0 }, rshared: { set: MS.SHARED | MS.REC, clear: 0 },
  relatime: { set: MS.RELATIME, clear: 0 }, norelatime: { set: 0, clear: MS.RELATIME },
  strictatime: { set: MS.STRICTATIME, clear: 0 }, nostrictatime: { set: 0, clear: MS.STRICTATIME },
  lazytime: { set: MS.LAZYTIME, clear: 0 }, nolazytime: { set: 0, clear: MS.LAZYTIME },
};

// Groups of bits of which at most one may be set at a time.
const EXCLUSIVE: [number, string][] = [
  [MS.PRIVATE | MS.SLAVE | MS.SHARED | MS.UNBINDABLE, "propagation (private, slave, shared, unbindable)"],
  [MS.BIND | MS.MOVE, "operation (bind, move)"],
  [MS.NOATIME | MS.RELATIME | MS.STRICTATIME, "access-time (noatime, relatime, strictatime)"],
];

// Printing order: what the flag does to the mount first, then how it is applied.
const MOUNT_PRINT: [string, number][] = [
  ["remount", MS.REMOUNT], ["ro", MS.RDONLY], ["nosuid", MS.NOSUID], ["nodev", MS.NODEV],
  ["noexec", MS.NOEXEC], ["sync", MS.SYNCHRONOUS], ["mand", MS.MANDLOCK], ["dirsync", MS.DIRSYNC],
  ["nosymfollow", MS.NOSYMFOLLOW], ["noatime", MS.NOATIME], ["nodiratime", MS.NODIRATIME],
  ["relatime", MS.RELATIME], ["strictatime", MS.STRICTATIME], ["lazytime", MS.LAZYTIME],
  ["silent", MS.SILENT], ["acl", MS.POSIXACL],
];

export interface ParsedMountOptions {
  /** Bits to set (the `mountflags` argument of mount(2)). */
  set: number;
  /** Bits the string explicitly negated ("rw", "suid", ...): used when remounting. */
  clear: number;
}

/** Parses "ro,nosuid,nodev,rbind,rprivate" into mount(2) flags; rejects unknown and conflicting words. */
export function parseMountOptionsDetailed(options: string): ParsedMountOptions {
  let set = 0;
  let clear = 0;
  const seenBy = new Map<number, string>();
  for (const raw of options.split(",")) {
    const word = raw.trim();
    if (word === "") continue;
    const spec = MOUNT_WORDS[word];
    if (!spec) throw new FlagParseError(`unknown mount option "${word}" in "${options}" (known: ${Object.keys(MOUNT_WORDS).join(", ")})`);
    const conflict = (spec.set & clear) | (spec.clear & set);
    if (conflict) {
      const bit = conflict & -conflict;
      throw new FlagParseError(`conflicting mount options "${seenBy.get(bit)}" and "${word}" in "${options}": keep one`);
    }
    for (let bits = spec.set | spec.clear; bits; bits &= bits - 1) seenBy.set(bits & -bits, word);
    set |= spec.set;
    clear |= spec.clear;
  }
  for (const [mask, what] of EXCLUSIVE) {
    const bits = set & mask;
    if (bits & (bits - 1)) throw new FlagParseError(`conflicting ${what} mount options in "${options}": choose one`);
  }
  return { set, clear };
}

/** mount(2) flags of an option string. */
export function parseMountOptions(options: string): number {
  return parseMountOptionsDetailed(options).set;
}

/** Canonical option string for mount(2) flags: `formatMountOptions(parseMountOptions(s))` is stable. */
export function formatMountOptions(flags: number): string {
  const words: string[] = [];
  for (const [name, bit] of MOUNT_PRINT) if (flags & bit) words.push(name);
  const rec = (flags & MS.REC) !== 0;
  let usedRec = false;
  if (flags & MS.BIND) { words.push(rec ? "rbind" : "bind"); usedRec ||= rec; }
  if (flags & MS.MOVE) words.push("move");
  for (const [name, bit] of [["private", MS.PRIVATE], ["slave", MS.SLAVE], ["shared", MS.SHARED], ["unbindable", MS.UNBINDABLE]] as const) {
    if (flags & bit) { words.push(rec ? `r${name}` : name); usedRec ||= rec; }
  }
  if (rec && !usedRec) words.push("rec");
  const known = Object.values(MS).reduce((a, b) => a | b, 0);
  const unknown = flags & ~known;
  if (unknown) words.push(`0x${unknown.toString(16)}`);
  return words.length ? words.join(",") : "rw";
}

// ---- mount attributes (mount_setattr) -------------------------------------------------------

const ATTR_WORDS: [string, number][] = [
  ["ro", MOUNT_ATTR.RDONLY], ["nosuid", MOUNT_ATTR.NOSUID], ["nodev", MOUNT_ATTR.NODEV],
  ["noexec", MOUNT_ATTR.NOEXEC], ["noatime", MOUNT_ATTR.NOATIME], ["strictatime", MOUNT_ATTR.STRICTATIME],
  ["nodiratime", MOUNT_ATTR.NODIRATIME], ["idmap", MOUNT_ATTR.IDMAP], ["nosymfollow", MOUNT_ATTR.NOSYMFOLLOW],
];

/** Parses "ro,nosuid" into MOUNT_ATTR_* bits. */
export function parseMountAttr(options: string): number {
  let bits = 0;
  for (const raw of options.split(",")) {
    const word = raw.trim();
    if (word === "" || word === "rw" || word === "relatime") continue;
    const hit = ATTR_WORDS.find(([n]) => n === word);
    if (!hit) throw new FlagParseError(`unknown mount attribute "${word}" (known: rw, relatime, ${ATTR_WORDS.map(([n]) => n).join(", ")})`);
    if ((hit[1] & MOUNT_ATTR._ATIME) && (bits & MOUNT_ATTR._ATIME) && (bits & MOUNT_ATTR._ATIME) !== hit[1]) {
      throw new FlagParseError(`conflicting access-time attributes in "${options}": choose one`);
    }
    bits |= hit[1];
  }
  return bits;
}

export function formatMountAttr(bits: number): string {
  const words = ATTR_WORDS.filter(([, b]) => (b & MOUNT_ATTR._ATIME ? (bits & MOUNT_ATTR._ATIME) === b : (bits & b) === b)).map(([n]) => n);
  return words.length ? words.join(",") : "rw";
}

// ---- generic bit sets --------------------------------------------------------------------------

function formatBits(value: number, table: readonly (readonly [string, number])[], sep: string): string {
  const words: string[] = [];
  let rest = value;
  for (const [name, bit] of table) {
    if ((value & bit) === bit && bit !== 0) {
      words.push(name);
      rest &= ~bit;
    }
  }
  if (rest) words.push(`0x${rest.toString(16)}`);
  return words.join(sep) || "0";
}

function parseBits(text: string, table: readonly (readonly [string, number])[], what: string): number {
  let bits = 0;
  for (const raw of text.split(/[|,]/)) {
    const word = raw.trim();
    if (word === "") continue;
    const hit = table.find(([n]) => n === word);
    if (hit) bits |= hit[1];
    else if (/^(0|0x[0-9a-f]+)$/i.test(word)) bits |= Number(word); // what formatBits prints for unnamed bits
    else throw new FlagParseError(`unknown ${what} "${word}" (known: ${table.map(([n]) => n).join(", ")})`);
  }
  return bits;
}

export const NAMESPACES = [
  ["user", CLONE.NEWUSER], ["mnt", CLONE.NEWNS], ["pid", CLONE.NEWPID], ["net", CLONE.NEWNET],
  ["ipc", CLONE.NEWIPC], ["uts", CLONE.NEWUTS], ["cgroup", CLONE.NEWCGROUP], ["time", CLONE.NEWTIME],
] as const;

export type NamespaceName = (typeof NAMESPACES)[number][0];

/** "user|mnt|pid" for CLONE_NEWUSER|CLONE_NEWNS|CLONE_NEWPID. */
export function formatNamespaces(flags: number): string {
  return formatBits(flags, NAMESPACES, "|");
}

/** Parses "user|mnt" or "user,mnt" into CLONE_NEW* bits. */
export function parseNamespaces(text: string): number {
  return parseBits(text, NAMESPACES, "namespace");
}

const OPEN_TREE_WORDS = [
  ["clone", OPEN_TREE.CLONE], ["cloexec", OPEN_TREE.CLOEXEC], ["symlink_nofollow", AT.SYMLINK_NOFOLLOW],
  ["no_automount", AT.NO_AUTOMOUNT], ["empty_path", AT.EMPTY_PATH], ["recursive", AT.RECURSIVE],
] as const;
export const formatOpenTreeFlags = (f: number) => formatBits(f, OPEN_TREE_WORDS, "|");
export const parseOpenTreeFlags = (t: string) => parseBits(t, OPEN_TREE_WORDS, "open_tree flag");

const MOVE_MOUNT_WORDS = [
  ["f_symlinks", MOVE_MOUNT.F_SYMLINKS], ["f_automounts", MOVE_MOUNT.F_AUTOMOUNTS], ["f_empty_path", MOVE_MOUNT.F_EMPTY_PATH],
  ["t_symlinks", MOVE_MOUNT.T_SYMLINKS], ["t_automounts", MOVE_MOUNT.T_AUTOMOUNTS], ["t_empty_path", MOVE_MOUNT.T_EMPTY_PATH],
  ["set_group", MOVE_MOUNT.SET_GROUP], ["beneath", MOVE_MOUNT.BENEATH],
] as const;
export const formatMoveMountFlags = (f: number) => formatBits(f, MOVE_MOUNT_WORDS, "|");
export const parseMoveMountFlags = (t: string) => parseBits(t, MOVE_MOUNT_WORDS, "move_mount flag");

const UMOUNT_WORDS = [["force", UMOUNT.FORCE], ["detach", UMOUNT.DETACH], ["expire", UMOUNT.EXPIRE], ["nofollow", UMOUNT.NOFOLLOW]] as const;
export const formatUmountFlags = (f: number) => formatBits(f, UMOUNT_WORDS, "|");
export const parseUmountFlags = (t: string) => parseBits(t, UMOUNT_WORDS, "umount flag");
