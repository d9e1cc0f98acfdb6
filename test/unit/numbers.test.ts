import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { AUDIT_ARCH, hostArch, SYSCALLS, syscallNumber, type SyscallName } from "../../src/sys/numbers.ts";

describe("syscall numbers", () => {
  test("x86_64 numbers of the older calls", () => {
    const x = (n: SyscallName) => syscallNumber(n, "x86_64");
    expect(x("unshare")).toBe(272);
    expect(x("mount")).toBe(165);
    expect(x("umount2")).toBe(166);
    expect(x("pivot_root")).toBe(155);
    expect(x("keyctl")).toBe(250);
    expect(x("seccomp")).toBe(317);
    expect(x("setns")).toBe(308);
    expect(x("read")).toBe(0);
    expect(x("write")).toBe(1);
    expect(x("chown")).toBe(92);
    expect(x("fchown")).toBe(93);
    expect(x("lchown")).toBe(94);
    expect(x("fchownat")).toBe(260);
    expect(x("sync")).toBe(162);
    expect(x("syncfs")).toBe(306);
    expect(x("fsync")).toBe(74);
    expect(x("fdatasync")).toBe(75);
    expect(x("msync")).toBe(26);
    expect(x("sync_file_range")).toBe(277);
  });

  test("aarch64 numbers of the older calls", () => {
    const a = (n: SyscallName) => syscallNumber(n, "aarch64");
    expect(a("unshare")).toBe(97);
    expect(a("mount")).toBe(40);
    expect(a("umount2")).toBe(39);
    expect(a("pivot_root")).toBe(41);
    expect(a("keyctl")).toBe(219);
    expect(a("seccomp")).toBe(277);
    expect(a("setns")).toBe(268);
    expect(a("read")).toBe(63);
    expect(a("write")).toBe(64);
    expect(a("fchown")).toBe(55);
    expect(a("fchownat")).toBe(54);
    expect(a("sync")).toBe(81);
    expect(a("syncfs")).toBe(267);
    expect(a("fsync")).toBe(82);
    expect(a("fdatasync")).toBe(83);
    expect(a("msync")).toBe(227);
    expect(a("sync_file_range")).toBe(84);
  });

  test("424+ calls have one number on both architectures", () => {
    const shared: [SyscallName, number][] = [
      ["pidfd_send_signal", 424], ["open_tree", 428], ["move_mount", 429], ["fsopen", 430], ["fsconfig", 431],
      ["fsmount", 432], ["fspick", 433], ["pidfd_open", 434], ["clone3", 435], ["close_range", 436],
      ["openat2", 437], ["mount_setattr", 442],
    ];
    for (const [name, nr] of shared) {
      expect([name, syscallNumber(name, "x86_64")]).toEqual([name, nr]);
      expect([name, syscallNumber(name, "aarch64")]).toEqual([name, nr]);
    }
  });

  test("aarch64 has no chown, lchown or fork", () => {
    expect(syscallNumber("chown", "aarch64")).toBeUndefined();
    expect(syscallNumber("lchown", "aarch64")).toBeUndefined();
    expect(syscallNumber("fork", "aarch64")).toBeUndefined();
    expect("chown" in SYSCALLS.aarch64).toBe(false);
    expect("lchown" in SYSCALLS.aarch64).toBe(false);
    expect(syscallNumber("fork", "x86_64")).toBe(57);
  });

  // Every entry against the kernel's own headers (linux-libc-dev, which .ci/run installs): the
  // x86_64 table from asm/unistd_64.h, the aarch64 one from asm-generic/unistd.h (the generic
  // table aarch64 uses). open_tree_attr (467) is newer than Debian 12's headers.
  test("every number matches the kernel headers", () => {
    const read = (p: string) => readFileSync(p, "utf8");
    const table = (text: string) => {
      const out = new Map<string, number>();
      for (const m of text.matchAll(/#define __NR(?:3264)?_(\w+)\s+(\d+)/g)) out.set(m[1]!, Number(m[2]));
      return out;
    };
    const headers = {
      x86_64: table(read("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")),
      aarch64: table(read("/usr/include/asm-generic/unistd.h")),
    };
    for (const arch of ["x86_64", "aarch64"] as const) {
      for (const [name, nr] of Object.entries(SYSCALLS[arch])) {
        const expected = name === "open_tree_attr" ? 467 : headers[arch].get(name);
        expect([arch, name, nr] as unknown[]).toEqual([arch, name, expected]);
      }
    }
  });

  test("unknown names give undefined", () => {
    expect(syscallNumber("no_such_call" as SyscallName, "x86_64")).toBeUndefined();
    expect(syscallNumber("chown32" as SyscallName, "x86_64")).toBeUndefined();
  });

  // The tables are plain objects, so a lookup by name also finds Object.prototype members.
  test("names inherited from Object.prototype are not syscalls", () => {
    expect(syscallNumber("toString" as SyscallName, "x86_64")).toBeUndefined();
    expect(syscallNumber("constructor" as SyscallName, "aarch64")).toBeUndefined();
  });

  test("numbers are unique within each table", () => {
    for (const arch of ["x86_64", "aarch64"] as const) {
      const values = Object.values(SYSCALLS[arch]);
      expect(new Set(values).size).toBe(values.length);
    }
  });

  test("hostArch matches process.arch", () => {
    const expected = process.arch === "x64" ? "x86_64" : process.arch === "arm64" ? "aarch64" : null;
    expect(hostArch()).toBe(expected);
  });

  test("AUDIT_ARCH values", () => {
    expect(AUDIT_ARCH.x86_64).toBe(0xc000003e);
    expect(AUDIT_ARCH.aarch64).toBe(0xc00000b7);
  });
});
