import { describe, expect, test } from "bun:test";
import {
  describeAbi, describeMissing, fsRightsForAbi, LANDLOCK_ACCESS_FS as FS, LANDLOCK_ACCESS_NET as NET, LANDLOCK_ALL,
  LANDLOCK_FILE_RIGHTS, LANDLOCK_SCOPE as SCOPE, netPortBytes, netRightsForAbi, pathBeneathBytes, rightsForParent,
  rulesetAttrBytes, rulesetAttrSize, rulesetForAbi, scopesForAbi, unavailableReason,
} from "../../src/sys/landlock.ts";
import { Errno } from "../../src/sys/errno.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("Landlock constants", () => {
  test("the 16 filesystem rights carry the kernel's bit numbers", () => {
    expect(Object.entries(FS).map(([k, v]) => [k, v.toString(2).length - 1])).toEqual([
      ["EXECUTE", 0], ["WRITE_FILE", 1], ["READ_FILE", 2], ["READ_DIR", 3], ["REMOVE_DIR", 4], ["REMOVE_FILE", 5],
      ["MAKE_CHAR", 6], ["MAKE_DIR", 7], ["MAKE_REG", 8], ["MAKE_SOCK", 9], ["MAKE_FIFO", 10], ["MAKE_BLOCK", 11],
      ["MAKE_SYM", 12], ["REFER", 13], ["TRUNCATE", 14], ["IOCTL_DEV", 15],
    ]);
    expect(NET).toEqual({ BIND_TCP: 1n, CONNECT_TCP: 2n });
    expect(SCOPE).toEqual({ ABSTRACT_UNIX_SOCKET: 1n, SIGNAL: 2n });
    expect(LANDLOCK_ALL).toEqual({ fs: 0xffffn, net: 3n, scoped: 3n });
    expect(LANDLOCK_FILE_RIGHTS).toBe(FS.EXECUTE | FS.WRITE_FILE | FS.READ_FILE | FS.TRUNCATE | FS.IOCTL_DEV);
  });
});

describe("rights per ABI", () => {
  test("each ABI adds what its Linux release added", () => {
    const table = [0, 1, 2, 3, 4, 5, 6, 7, 8].map((abi) => [abi, fsRightsForAbi(abi), netRightsForAbi(abi), scopesForAbi(abi)]);
    expect(table).toEqual([
      [0, 0n, 0n, 0n],
      [1, 0x1fffn, 0n, 0n],
      [2, 0x3fffn, 0n, 0n],
      [3, 0x7fffn, 0n, 0n],
      [4, 0x7fffn, 3n, 0n],
      [5, 0xffffn, 3n, 0n],
      [6, 0xffffn, 3n, 3n],
      [7, 0xffffn, 3n, 3n],
      [8, 0xffffn, 3n, 3n],
    ]);
    expect(fsRightsForAbi(1) & FS.REFER).toBe(0n);
    expect(fsRightsForAbi(2) & FS.REFER).toBe(FS.REFER);
    expect(fsRightsForAbi(4) & FS.IOCTL_DEV).toBe(0n);
  });

  test("describeAbi lists what a ruleset can handle", () => {
    expect(describeAbi(0)).toBe("nothing");
    expect(describeAbi(1)).toBe("file access");
    expect(describeAbi(4)).toBe("file access, REFER, TRUNCATE, TCP bind, TCP connect");
    expect(describeAbi(7)).toBe("file access, REFER, TRUNCATE, TCP bind, TCP connect, IOCTL_DEV, abstract unix socket scoping, signal scoping");
  });
});

describe("describeMissing", () => {
  test("one line per wanted feature the ABI lacks, with the ABI and Linux version that brought it", () => {
    expect(describeMissing(4, { scoped: SCOPE.SIGNAL })).toEqual(["signal scoping needs Landlock ABI 6 (Linux 6.12); this kernel has ABI 4"]);
    expect(describeMissing(1, { fs: LANDLOCK_ALL.fs, net: NET.CONNECT_TCP, scoped: LANDLOCK_ALL.scoped })).toEqual([
      "linking and renaming across directories (REFER) needs Landlock ABI 2 (Linux 5.19); this kernel has ABI 1",
      "truncation control (TRUNCATE) needs Landlock ABI 3 (Linux 6.2); this kernel has ABI 1",
      "TCP connect control (CONNECT_TCP) needs Landlock ABI 4 (Linux 6.7); this kernel has ABI 1",
      "device ioctl control (IOCTL_DEV) needs Landlock ABI 5 (Linux 6.10); this kernel has ABI 1",
      "abstract unix socket scoping needs Landlock ABI 6 (Linux 6.12); this kernel has ABI 1",
      "signal scoping needs Landlock ABI 6 (Linux 6.12); this kernel has ABI 1",
    ]);
    expect(describeMissing(3, { net: NET.BIND_TCP })).toEqual(["TCP bind control (BIND_TCP) needs Landlock ABI 4 (Linux 6.7); this kernel has ABI 3"]);
  });

  test("nothing missing: no lines", () => {
    expect(describeMissing(7, { fs: LANDLOCK_ALL.fs, net: LANDLOCK_ALL.net, scoped: LANDLOCK_ALL.scoped })).toEqual([]);
    expect(describeMissing(1, { fs: FS.READ_FILE | FS.MAKE_SYM })).toEqual([]);
    expect(describeMissing(0, {})).toEqual([]);
  });

  test("ABI 0: one line that Landlock is unavailable, and why", () => {
    const wanted = { fs: FS.READ_FILE, scoped: SCOPE.SIGNAL };
    expect(describeMissing(0, wanted)).toEqual(["Landlock is unavailable on this kernel"]);
    expect(describeMissing({ abi: 0, reason: unavailableReason(Errno.ENOSYS) }, wanted)).toEqual([
      "Landlock is unavailable: the kernel was built without Landlock (CONFIG_SECURITY_LANDLOCK) or is older than Linux 5.13 (ENOSYS)",
    ]);
    expect(describeMissing({ abi: 0, reason: unavailableReason(Errno.EOPNOTSUPP) }, wanted)).toEqual([
      "Landlock is unavailable: Landlock is disabled at boot: the kernel's lsm= list lacks landlock (EOPNOTSUPP)",
    ]);
    expect(unavailableReason(Errno.EPERM)).toBe("asking the kernel for its Landlock ABI failed with EPERM");
  });

  test("bits no ABI knows are named", () => {
    expect(describeMissing(7, { fs: 1n << 20n, scoped: 4n })).toEqual([
      "filesystem rights 0x100000 are in no Landlock ABI this code knows",
      "scopes 0x4 are in no Landlock ABI this code knows",
    ]);
  });
});

describe("struct encodings", () => {
  test("landlock_ruleset_attr: 8 bytes for ABI 1-3, 16 for 4-5, 24 from 6", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map(rulesetAttrSize)).toEqual([8, 8, 8, 16, 16, 24, 24, 24]);
    const req = { handledFs: 0x0102030405060708n, handledNet: 3n, scoped: 2n };
    // masked to the ABI: of handledFs only the low bits that are rights survive (0x0708)
    expect(hex(rulesetAttrBytes(req, 3))).toBe("0807000000000000");
    expect(hex(rulesetAttrBytes(req, 4))).toBe("0807000000000000" + "0300000000000000");
    expect(hex(rulesetAttrBytes(req, 7))).toBe("0807000000000000" + "0300000000000000" + "0200000000000000");
    expect(hex(rulesetAttrBytes({ handledFs: FS.IOCTL_DEV | FS.EXECUTE }, 6))).toBe("0180000000000000" + "00".repeat(16));
  });

  test("landlock_path_beneath_attr is packed: u64 then s32, 12 bytes", () => {
    const b = pathBeneathBytes(FS.READ_FILE | FS.READ_DIR | FS.EXECUTE | (1n << 40n), 7);
    expect(b.length).toBe(12);
    expect(hex(b)).toBe("0d00000000010000" + "07000000");
    expect(hex(pathBeneathBytes(0xffffn, -1))).toBe("ffff000000000000" + "ffffffff");
  });

  test("landlock_net_port_attr: u64 allowed, u64 port, 16 bytes", () => {
    expect(hex(netPortBytes(NET.CONNECT_TCP, 8080))).toBe("0200000000000000" + "901f000000000000");
  });
});

describe("masking", () => {
  test("a request for everything becomes what the ABI has", () => {
    const all = { handledFs: LANDLOCK_ALL.fs, handledNet: LANDLOCK_ALL.net, scoped: LANDLOCK_ALL.scoped };
    expect(rulesetForAbi(all, 1)).toEqual({ handledFs: 0x1fffn, handledNet: 0n, scoped: 0n });
    expect(rulesetForAbi(all, 3)).toEqual({ handledFs: 0x7fffn, handledNet: 0n, scoped: 0n });
    expect(rulesetForAbi(all, 5)).toEqual({ handledFs: 0xffffn, handledNet: 3n, scoped: 0n });
    expect(rulesetForAbi(all, 7)).toEqual({ handledFs: 0xffffn, handledNet: 3n, scoped: 3n });
    expect(rulesetForAbi({ handledFs: 1n << 30n }, 7)).toEqual({ handledFs: 0n, handledNet: 0n, scoped: 0n });
    expect(rulesetForAbi({}, 7)).toEqual({ handledFs: 0n, handledNet: 0n, scoped: 0n });
  });

  test("a rule on a non-directory keeps only the file rights", () => {
    expect(rightsForParent(LANDLOCK_ALL.fs, true)).toBe(0xffffn);
    expect(rightsForParent(LANDLOCK_ALL.fs, false)).toBe(FS.EXECUTE | FS.WRITE_FILE | FS.READ_FILE | FS.TRUNCATE | FS.IOCTL_DEV);
    expect(rightsForParent(FS.READ_DIR | FS.MAKE_REG | FS.REFER, false)).toBe(0n);
  });
});
