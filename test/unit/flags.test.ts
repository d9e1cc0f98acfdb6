import { describe, expect, test } from "bun:test";
import {
  AT, CLONE, FlagParseError, MOUNT_ATTR, MOVE_MOUNT, MS, OPEN_TREE, UMOUNT,
  formatMountAttr, formatMountOptions, formatMoveMountFlags, formatNamespaces, formatOpenTreeFlags,
  formatUmountFlags, parseMountAttr, parseMountOptions, parseMountOptionsDetailed, parseMoveMountFlags,
  parseNamespaces, parseOpenTreeFlags, parseUmountFlags,
} from "../../src/sys/flags.ts";
import { thrown } from "../support/errors.ts";
import { prng as rng } from "../support/prng.ts";



const ALL_WORDS = [
  "defaults", "ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec", "sync", "async", "remount",
  "mand", "nomand", "dirsync", "nodirsync", "nosymfollow", "symfollow", "noatime", "atime", "nodiratime",
  "diratime", "bind", "rbind", "move", "rec", "silent", "loud", "acl", "noacl", "unbindable", "runbindable",
  "private", "rprivate", "slave", "rslave", "shared", "rshared", "relatime", "norelatime", "strictatime",
  "nostrictatime", "lazytime", "nolazytime",
];

describe("parseMountOptions / formatMountOptions", () => {
  test("ro,nosuid,nodev,rbind,rprivate gives the exact MS bits", () => {
    const flags = parseMountOptions("ro,nosuid,nodev,rbind,rprivate");
    expect(flags).toBe(MS.RDONLY | MS.NOSUID | MS.NODEV | MS.BIND | MS.REC | MS.PRIVATE);
    expect(flags).toBe(0x1 | 0x2 | 0x4 | 0x1000 | 0x4000 | 0x40000);
    expect(formatMountOptions(flags)).toBe("ro,nosuid,nodev,rbind,rprivate");
  });

  test("canonical printing order regardless of input order", () => {
    expect(formatMountOptions(parseMountOptions("rprivate,rbind,nodev,nosuid,ro"))).toBe("ro,nosuid,nodev,rbind,rprivate");
    expect(formatMountOptions(parseMountOptions("noexec,remount,bind,ro"))).toBe("remount,ro,noexec,bind");
    expect(formatMountOptions(parseMountOptions("lazytime,relatime,nodiratime"))).toBe("nodiratime,relatime,lazytime");
  });

  test("single words", () => {
    expect(parseMountOptions("bind")).toBe(MS.BIND);
    expect(parseMountOptions("rbind")).toBe(MS.BIND | MS.REC);
    expect(parseMountOptions("move")).toBe(MS.MOVE);
    expect(parseMountOptions("rslave")).toBe(MS.SLAVE | MS.REC);
    expect(parseMountOptions("rshared")).toBe(MS.SHARED | MS.REC);
    expect(parseMountOptions("runbindable")).toBe(MS.UNBINDABLE | MS.REC);
    expect(parseMountOptions("strictatime")).toBe(MS.STRICTATIME);
    expect(parseMountOptions("silent")).toBe(MS.SILENT);
    expect(parseMountOptions("acl")).toBe(MS.POSIXACL);
    expect(parseMountOptions("nosymfollow")).toBe(MS.NOSYMFOLLOW);
  });

  test("empty, defaults and rw are zero and print as rw", () => {
    expect(parseMountOptions("")).toBe(0);
    expect(parseMountOptions("defaults")).toBe(0);
    expect(parseMountOptions("rw")).toBe(0);
    expect(formatMountOptions(0)).toBe("rw");
  });

  test("spaces and empty words are ignored", () => {
    expect(parseMountOptions(" ro , ,nosuid,, ")).toBe(MS.RDONLY | MS.NOSUID);
  });

  test("rec with a propagation word or bind is folded in; rec alone is printed", () => {
    expect(formatMountOptions(MS.REC)).toBe("rec");
    expect(formatMountOptions(MS.REC | MS.SHARED)).toBe("rshared");
    expect(formatMountOptions(MS.REC | MS.MOVE)).toBe("move,rec");
    expect(formatMountOptions(MS.BIND | MS.REC | MS.SLAVE)).toBe("rbind,rslave");
  });

  test("unknown bits are printed in hex", () => {
    expect(formatMountOptions(MS.RDONLY | 0x40000000)).toBe("ro,0x40000000");
  });

  test("no-prefixed negations and rw/exec/atime fill `clear`", () => {
    expect(parseMountOptionsDetailed("suid")).toEqual({ set: 0, clear: MS.NOSUID });
    expect(parseMountOptionsDetailed("rw")).toEqual({ set: 0, clear: MS.RDONLY });
    expect(parseMountOptionsDetailed("exec")).toEqual({ set: 0, clear: MS.NOEXEC });
    expect(parseMountOptionsDetailed("atime")).toEqual({ set: 0, clear: MS.NOATIME });
    expect(parseMountOptionsDetailed("norelatime")).toEqual({ set: 0, clear: MS.RELATIME });
    expect(parseMountOptionsDetailed("dev")).toEqual({ set: 0, clear: MS.NODEV });
    expect(parseMountOptionsDetailed("async")).toEqual({ set: 0, clear: MS.SYNCHRONOUS });
    expect(parseMountOptionsDetailed("nostrictatime,nolazytime,loud,noacl")).toEqual({
      set: 0, clear: MS.STRICTATIME | MS.LAZYTIME | MS.SILENT | MS.POSIXACL,
    });
    expect(parseMountOptionsDetailed("ro,suid,nodev,exec")).toEqual({
      set: MS.RDONLY | MS.NODEV, clear: MS.NOSUID | MS.NOEXEC,
    });
  });

  test("unknown words throw FlagParseError naming the word", () => {
    const e = thrown(() => parseMountOptions("ro,bogus,nosuid"));
    expect(e).toBeInstanceOf(FlagParseError);
    expect(e.name).toBe("FlagParseError");
    expect(e.message).toContain('"bogus"');
    expect(e.message).toContain("ro,bogus,nosuid");
    expect(() => parseMountOptions("RO")).toThrow(FlagParseError);
    expect(() => parseMountOptions("norbind")).toThrow(FlagParseError);
  });

  test.each([
    ["ro,rw", ["ro", "rw"]],
    ["rw,ro", ["rw", "ro"]],
    ["nosuid,suid", ["nosuid", "suid"]],
    ["exec,noexec", ["exec", "noexec"]],
    ["relatime,norelatime", ["relatime", "norelatime"]],
    ["noatime,atime", ["noatime", "atime"]],
  ])("set/clear conflict %p throws and names both words", (opts, words) => {
    const e = thrown(() => parseMountOptionsDetailed(opts));
    expect(e).toBeInstanceOf(FlagParseError);
    for (const w of words) expect(e.message).toContain(`"${w}"`);
  });

  test.each([
    ["private,shared", ["private", "shared"], "propagation"],
    ["rslave,unbindable", ["rslave", "unbindable"], "propagation"],
    ["bind,move", ["bind", "move"], "operation"],
    ["rbind,move", ["rbind", "move"], "operation"],
    ["noatime,strictatime", ["noatime", "strictatime"], "access-time"],
    ["relatime,noatime", ["relatime", "noatime"], "access-time"],
  ])("exclusive group conflict %p throws naming the words", (opts, words, group) => {
    const e = thrown(() => parseMountOptions(opts));
    expect(e).toBeInstanceOf(FlagParseError);
    for (const w of words) expect(e.message).toContain(w);
    expect(e.message).toContain(group);
  });

  test("repeating a word or combining bind and rbind is not a conflict", () => {
    expect(parseMountOptions("ro,ro")).toBe(MS.RDONLY);
    expect(parseMountOptions("bind,rbind")).toBe(MS.BIND | MS.REC);
    expect(parseMountOptions("private,rprivate")).toBe(MS.PRIVATE | MS.REC);
  });

  test("round trip: format(parse(s)) is a fixed point for many random strings", () => {
    const rand = rng(12345);
    let accepted = 0;
    for (let n = 0; n < 3000; n++) {
      const count = 1 + Math.floor(rand() * 6);
      const words = Array.from({ length: count }, () => ALL_WORDS[Math.floor(rand() * ALL_WORDS.length)]!);
      const s = words.join(",");
      let bits: number;
      try {
        bits = parseMountOptions(s);
      } catch (e) {
        expect(e).toBeInstanceOf(FlagParseError);
        continue;
      }
      accepted++;
      const printed = formatMountOptions(bits);
      expect(parseMountOptions(printed)).toBe(bits);
      expect(formatMountOptions(parseMountOptions(printed))).toBe(printed);
    }
    expect(accepted).toBeGreaterThan(500);
  });

  test("round trip for every single word", () => {
    for (const w of ALL_WORDS) {
      const bits = parseMountOptions(w);
      expect(parseMountOptions(formatMountOptions(bits))).toBe(bits);
    }
  });
});

describe("parseMountAttr / formatMountAttr", () => {
  test("known words", () => {
    expect(parseMountAttr("ro,nosuid")).toBe(MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID);
    expect(parseMountAttr("ro,nosuid,nodev,noexec")).toBe(0xf);
    expect(parseMountAttr("noatime")).toBe(0x10);
    expect(parseMountAttr("strictatime")).toBe(0x20);
    expect(parseMountAttr("nodiratime,idmap,nosymfollow")).toBe(0x80 | 0x100000 | 0x200000);
    expect(parseMountAttr("rw,relatime,")).toBe(0);
    expect(formatMountAttr(0)).toBe("rw");
    expect(formatMountAttr(MOUNT_ATTR.RDONLY | MOUNT_ATTR.NODEV | MOUNT_ATTR.NOATIME)).toBe("ro,nodev,noatime");
  });

  test("unknown and conflicting attributes throw", () => {
    const e = thrown(() => parseMountAttr("ro,bind"));
    expect(e).toBeInstanceOf(FlagParseError);
    expect(e.message).toContain('"bind"');
    const c = thrown(() => parseMountAttr("noatime,strictatime"));
    expect(c).toBeInstanceOf(FlagParseError);
    expect(c.message).toContain("noatime,strictatime");
  });

  test("round trips over every valid combination", () => {
    const words = ["ro", "nosuid", "nodev", "noexec", "nodiratime", "idmap", "nosymfollow"];
    for (let mask = 0; mask < 1 << words.length; mask++) {
      for (const atime of ["", "noatime", "strictatime", "relatime"]) {
        const chosen = words.filter((_, i) => mask & (1 << i));
        if (atime) chosen.push(atime);
        const bits = parseMountAttr(chosen.join(","));
        const printed = formatMountAttr(bits);
        expect(parseMountAttr(printed)).toBe(bits);
        expect(formatMountAttr(parseMountAttr(printed))).toBe(printed);
      }
    }
  });
});

describe("namespaces", () => {
  test("format", () => {
    expect(formatNamespaces(CLONE.NEWUSER | CLONE.NEWNS | CLONE.NEWPID)).toBe("user|mnt|pid");
    expect(formatNamespaces(CLONE.NEWNET | CLONE.NEWIPC | CLONE.NEWUTS | CLONE.NEWCGROUP | CLONE.NEWTIME)).toBe("net|ipc|uts|cgroup|time");
    expect(formatNamespaces(CLONE.NEWNS | CLONE.VM)).toBe("mnt|0x100");
  });

  test("parse with , or | separators", () => {
    expect(parseNamespaces("user,mnt")).toBe(CLONE.NEWUSER | CLONE.NEWNS);
    expect(parseNamespaces("user|mnt")).toBe(CLONE.NEWUSER | CLONE.NEWNS);
    expect(parseNamespaces(" pid | net,ipc ")).toBe(CLONE.NEWPID | CLONE.NEWNET | CLONE.NEWIPC);
    expect(parseNamespaces("")).toBe(0);
  });

  test("unknown names throw FlagParseError naming them", () => {
    const e = thrown(() => parseNamespaces("user|network"));
    expect(e).toBeInstanceOf(FlagParseError);
    expect(e.message).toContain('"network"');
    expect(() => parseNamespaces("newns")).toThrow(FlagParseError);
  });

  test("round trip of every non-empty subset", () => {
    const bits = [CLONE.NEWUSER, CLONE.NEWNS, CLONE.NEWPID, CLONE.NEWNET, CLONE.NEWIPC, CLONE.NEWUTS, CLONE.NEWCGROUP, CLONE.NEWTIME];
    for (let mask = 1; mask < 1 << bits.length; mask++) {
      const flags = bits.reduce((acc, b, i) => (mask & (1 << i) ? acc | b : acc), 0);
      expect(parseNamespaces(formatNamespaces(flags))).toBe(flags);
    }
  });
});

describe("open_tree / move_mount / umount flags", () => {
  const tables: [string, number[], (f: number) => string, (t: string) => number][] = [
    ["open_tree", [OPEN_TREE.CLONE, OPEN_TREE.CLOEXEC, AT.SYMLINK_NOFOLLOW, AT.NO_AUTOMOUNT, AT.EMPTY_PATH, AT.RECURSIVE], formatOpenTreeFlags, parseOpenTreeFlags],
    ["move_mount", Object.values(MOVE_MOUNT), formatMoveMountFlags, parseMoveMountFlags],
    ["umount", Object.values(UMOUNT), formatUmountFlags, parseUmountFlags],
  ];

  test("format of known values", () => {
    expect(formatOpenTreeFlags(OPEN_TREE.CLONE | OPEN_TREE.CLOEXEC | AT.RECURSIVE)).toBe("clone|cloexec|recursive");
    expect(formatOpenTreeFlags(OPEN_TREE.CLONE | AT.NO_AUTOMOUNT | AT.RECURSIVE | AT.SYMLINK_NOFOLLOW)).toBe("clone|symlink_nofollow|no_automount|recursive");
    expect(formatMoveMountFlags(MOVE_MOUNT.F_EMPTY_PATH)).toBe("f_empty_path");
    expect(formatMoveMountFlags(MOVE_MOUNT.F_EMPTY_PATH | MOVE_MOUNT.BENEATH)).toBe("f_empty_path|beneath");
    expect(formatUmountFlags(UMOUNT.DETACH)).toBe("detach");
    expect(formatUmountFlags(UMOUNT.DETACH | UMOUNT.NOFOLLOW)).toBe("detach|nofollow");
    expect(formatUmountFlags(UMOUNT.DETACH | 0x100)).toBe("detach|0x100");
    expect(parseUmountFlags("detach,nofollow")).toBe(0xa);
    expect(parseOpenTreeFlags("clone|cloexec")).toBe(0x1 | 0o2000000);
    expect(parseMoveMountFlags("t_symlinks|set_group")).toBe(0x110);
  });

  test("unknown words throw", () => {
    expect(() => parseOpenTreeFlags("clone|bogus")).toThrow(FlagParseError);
    expect(() => parseMoveMountFlags("f_empty")).toThrow(/"f_empty"/);
    expect(() => parseUmountFlags("lazy")).toThrow(/umount flag "lazy"/);
  });

  for (const [name, bits, format, parse] of tables) {
    test(`${name}: every non-empty subset round trips`, () => {
      for (let mask = 1; mask < 1 << bits.length; mask++) {
        const flags = bits.reduce((acc, b, i) => (mask & (1 << i) ? acc | b : acc), 0);
        const printed = format(flags);
        expect(parse(printed)).toBe(flags);
        expect(format(parse(printed))).toBe(printed);
      }
    });
  }

  // format(0) prints "0", which none of the parsers accepts.
  for (const [name, , format, parse] of tables) {
    test(`${name}: zero round trips (format(0) is parseable)`, () => {
      expect(format(0)).toBe("0");
      expect(parse(format(0))).toBe(0);
    });
  }
  test("namespaces: zero round trips (formatNamespaces(0) is parseable)", () => {
    expect(formatNamespaces(0)).toBe("0");
    expect(parseNamespaces(formatNamespaces(0))).toBe(0);
  });
});
