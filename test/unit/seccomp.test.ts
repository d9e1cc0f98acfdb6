import { describe, expect, test } from "bun:test";
import {
  buildSuppressFilter, CHOWN_SYSCALLS, encodeFilter, resolveSyscalls, SECCOMP_RET, SYNC_SYSCALLS, type BpfInsn,
} from "../../src/sys/seccomp.ts";
import { AUDIT_ARCH, SYSCALLS, type Arch } from "../../src/sys/numbers.ts";
import { SysError } from "../../src/sys/error.ts";

// ---- a tiny classic-BPF interpreter over struct seccomp_data { u32 nr; u32 arch; ... } -----------

const BPF_LD_W_ABS = 0x20;
const BPF_JEQ_K = 0x15;
const BPF_JGE_K = 0x35;
const BPF_RET_K = 0x06;

/** Runs `prog` (as decoded from its byte encoding) on seccomp_data for (nr, arch). */
function runBpf(prog: readonly BpfInsn[], nr: number, arch: number): number {
  const data = new DataView(new ArrayBuffer(64));
  data.setUint32(0, nr >>> 0, true);
  data.setUint32(4, arch >>> 0, true);
  let acc = 0;
  let pc = 0;
  for (let steps = 0; steps < 10_000; steps++) {
    const ins = prog[pc];
    if (!ins) throw new Error(`pc ${pc} ran off the end of the program`);
    switch (ins.code) {
      case BPF_LD_W_ABS:
        acc = data.getUint32(ins.k, true);
        pc++;
        break;
      case BPF_JEQ_K:
        pc += 1 + (acc >>> 0 === ins.k >>> 0 ? ins.jt : ins.jf);
        break;
      case BPF_JGE_K:
        pc += 1 + (acc >>> 0 >= ins.k >>> 0 ? ins.jt : ins.jf);
        break;
      case BPF_RET_K:
        return ins.k >>> 0;
      default:
        throw new Error(`unsupported opcode 0x${ins.code.toString(16)} at ${pc}`);
    }
  }
  throw new Error("program did not terminate");
}

/** Decodes struct sock_filter[] bytes back into instructions (checks encodeFilter's layout). */
function decode(bytes: Uint8Array): BpfInsn[] {
  expect(bytes.length % 8).toBe(0);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: BpfInsn[] = [];
  for (let o = 0; o < bytes.length; o += 8) {
    out.push({ code: dv.getUint16(o, true), jt: dv.getUint8(o + 2), jf: dv.getUint8(o + 3), k: dv.getUint32(o + 4, true) });
  }
  return out;
}

const ARCHES: Arch[] = ["x86_64", "aarch64"];

describe("resolveSyscalls", () => {
  test("chown family", () => {
    expect(resolveSyscalls(CHOWN_SYSCALLS, "x86_64")).toEqual([92, 93, 260, 94]);
    // aarch64 only has fchown and fchownat; the 32-bit and legacy names are left out
    expect(resolveSyscalls(CHOWN_SYSCALLS, "aarch64")).toEqual([55, 54]);
  });

  test("sync family", () => {
    expect(resolveSyscalls(SYNC_SYSCALLS, "x86_64")).toEqual([162, 306, 74, 75, 26, 277]);
    expect(resolveSyscalls(SYNC_SYSCALLS, "aarch64")).toEqual([81, 267, 82, 83, 227, 84]);
  });

  test("names are those mkosi-sandbox suppresses", () => {
    expect([...CHOWN_SYSCALLS].sort()).toEqual(["chown", "chown32", "fchown", "fchown32", "fchownat", "lchown", "lchown32"]);
    expect([...SYNC_SYSCALLS].sort()).toEqual(["fdatasync", "fsync", "msync", "sync", "sync_file_range", "sync_file_range2", "syncfs"]);
  });

  test("duplicates collapse, unknown names are dropped", () => {
    expect(resolveSyscalls(["sync", "sync", "nonexistent", "fsync"], "x86_64")).toEqual([162, 74]);
    expect(resolveSyscalls([], "aarch64")).toEqual([]);
  });

  // names is string[]: a name that is an Object.prototype member must not resolve to a function
  test("Object.prototype member names are not resolved", () => {
    expect(resolveSyscalls(["chown", "constructor", "toString"], "x86_64")).toEqual([92]);
  });
});

describe("buildSuppressFilter + encodeFilter", () => {
  for (const arch of ARCHES) {
    describe(arch, () => {
      const nrs = resolveSyscalls([...CHOWN_SYSCALLS, ...SYNC_SYSCALLS], arch);
      const prog = decode(encodeFilter(buildSuppressFilter(nrs, arch)));
      const native = AUDIT_ARCH[arch];
      const table = SYSCALLS[arch] as Record<string, number>;

      test("only uses LD W ABS, JEQ K, JGE K and RET K", () => {
        for (const ins of prog) expect([BPF_LD_W_ABS, BPF_JEQ_K, BPF_JGE_K, BPF_RET_K]).toContain(ins.code);
        expect(prog[prog.length - 1]!.code).toBe(BPF_RET_K);
      });

      test("every listed number returns ERRNO|0", () => {
        expect(nrs.length).toBeGreaterThan(0);
        for (const nr of nrs) expect(runBpf(prog, nr, native)).toBe((SECCOMP_RET.ERRNO | 0) >>> 0);
        expect(SECCOMP_RET.ERRNO).toBe(0x00050000);
      });

      test("other syscalls are allowed", () => {
        for (const name of ["read", "write", "close", "getpid", "mount", "unshare", "openat2", "clone3"]) {
          expect([name, runBpf(prog, table[name]!, native)]).toEqual([name, SECCOMP_RET.ALLOW]);
        }
        // openat (not in the tables): 257 on x86_64, 56 on aarch64
        expect(runBpf(prog, arch === "x86_64" ? 257 : 56, native)).toBe(SECCOMP_RET.ALLOW);
        const listed = new Set(nrs);
        for (let nr = 0; nr < 500; nr++) {
          const expected = listed.has(nr) ? SECCOMP_RET.ERRNO : SECCOMP_RET.ALLOW;
          if (runBpf(prog, nr, native) !== expected) throw new Error(`nr ${nr}: expected 0x${expected.toString(16)}`);
        }
      });

      test("a foreign architecture is killed", () => {
        for (const other of [0, 0x40000003 /* i386 */, 0x40000028 /* arm */, arch === "x86_64" ? AUDIT_ARCH.aarch64 : AUDIT_ARCH.x86_64]) {
          expect(runBpf(prog, nrs[0]!, other)).toBe(SECCOMP_RET.KILL_PROCESS);
          expect(runBpf(prog, table.read!, other)).toBe(SECCOMP_RET.KILL_PROCESS);
        }
        expect(SECCOMP_RET.KILL_PROCESS).toBe(0x80000000);
      });
    });
  }

  test("x86_64: x32 numbers (nr | 0x40000000) are killed", () => {
    const nrs = resolveSyscalls(CHOWN_SYSCALLS, "x86_64");
    const prog = buildSuppressFilter(nrs, "x86_64");
    for (const nr of [0, 1, 92, 93, 257, 260]) {
      expect(runBpf(prog, (nr | 0x40000000) >>> 0, AUDIT_ARCH.x86_64)).toBe(SECCOMP_RET.KILL_PROCESS);
    }
    expect(runBpf(prog, 0x3fffffff, AUDIT_ARCH.x86_64)).toBe(SECCOMP_RET.ALLOW);
  });

  test("aarch64 has no x32 check: high numbers are allowed", () => {
    const prog = buildSuppressFilter(resolveSyscalls(CHOWN_SYSCALLS, "aarch64"), "aarch64");
    expect(runBpf(prog, 0x40000000 | 55, AUDIT_ARCH.aarch64)).toBe(SECCOMP_RET.ALLOW);
    expect(prog.length).toBe(4 + 2 + 2);
  });

  test("exact program for x86_64 with two numbers", () => {
    expect(buildSuppressFilter([92, 93], "x86_64")).toEqual([
      { code: 0x20, jt: 0, jf: 0, k: 4 },
      { code: 0x15, jt: 1, jf: 0, k: 0xc000003e },
      { code: 0x06, jt: 0, jf: 0, k: 0x80000000 },
      { code: 0x20, jt: 0, jf: 0, k: 0 },
      { code: 0x35, jt: 0, jf: 1, k: 0x40000000 },
      { code: 0x06, jt: 0, jf: 0, k: 0x80000000 },
      { code: 0x15, jt: 2, jf: 0, k: 92 },
      { code: 0x15, jt: 1, jf: 0, k: 93 },
      { code: 0x06, jt: 0, jf: 0, k: 0x7fff0000 },
      { code: 0x06, jt: 0, jf: 0, k: 0x00050000 },
    ]);
  });

  test("an empty list allows everything of the native arch", () => {
    const prog = buildSuppressFilter([], "aarch64");
    expect(runBpf(prog, 97, AUDIT_ARCH.aarch64)).toBe(SECCOMP_RET.ALLOW);
    expect(runBpf(prog, 97, AUDIT_ARCH.x86_64)).toBe(SECCOMP_RET.KILL_PROCESS);
  });

  test("200 numbers fit the 8-bit jumps, 201 are refused", () => {
    const many = Array.from({ length: 200 }, (_, i) => 1000 + i);
    const prog = buildSuppressFilter(many, "x86_64");
    expect(runBpf(prog, 1000, AUDIT_ARCH.x86_64)).toBe(SECCOMP_RET.ERRNO);
    expect(runBpf(prog, 1199, AUDIT_ARCH.x86_64)).toBe(SECCOMP_RET.ERRNO);
    expect(runBpf(prog, 1200, AUDIT_ARCH.x86_64)).toBe(SECCOMP_RET.ALLOW);
    expect(() => buildSuppressFilter([...many, 2000], "x86_64")).toThrow(SysError);
  });

  test("an unknown architecture is refused", () => {
    expect(() => buildSuppressFilter([1], "mips" as Arch)).toThrow(SysError);
  });

  test("encodeFilter byte layout: 8 bytes per instruction, little endian", () => {
    const bytes = encodeFilter([
      { code: 0x0020, jt: 0, jf: 0, k: 4 },
      { code: 0x15, jt: 1, jf: 2, k: 0xc000003e },
      { code: 0x06, jt: 0, jf: 0, k: 0x7fff0000 },
    ]);
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(bytes.length).toBe(24);
    expect([...bytes]).toEqual([
      0x20, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00,
      0x15, 0x00, 0x01, 0x02, 0x3e, 0x00, 0x00, 0xc0,
      0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x7f,
    ]);
    expect(encodeFilter([]).length).toBe(0);
  });
});
