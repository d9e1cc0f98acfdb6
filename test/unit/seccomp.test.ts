import { describe, expect, test } from "bun:test";
import {
  buildSuppressFilter, CHOWN_SYSCALLS, compileBpf, compileFilter, encodeFilter, libseccomp, resolveSyscalls, RULE_ERRNO,
  SECCOMP_RET, SYNC_SYSCALLS, type ArgCondition, type BpfInsn, type SeccompRule,
} from "../../src/sys/seccomp.ts";
import { BPF, BpfAssembler } from "../../src/sys/bpf.ts";
import { AUDIT_ARCH, hostArch, SYSCALLS, type Arch } from "../../src/sys/numbers.ts";
import { SysError } from "../../src/sys/error.ts";
import { Errno } from "../../src/sys/errno.ts";
import { runBpf, type SeccompData } from "../support/bpf.ts";
import { prng } from "../support/prng.ts";

const BPF_LD_W_ABS = 0x20;
const BPF_JEQ_K = 0x15;
const BPF_JGE_K = 0x35;
const BPF_RET_K = 0x06;
const BPF_JA = 0x05;

/** Runs `prog` on seccomp_data for (nr, arch, args). */
const runProg = (prog: readonly BpfInsn[], nr: number, arch: number, args: bigint[] = []): number => runBpf(prog, { nr, arch, args });

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
        for (const nr of nrs) expect(runProg(prog, nr, native)).toBe((SECCOMP_RET.ERRNO | 0) >>> 0);
        expect(SECCOMP_RET.ERRNO).toBe(0x00050000);
      });

      test("other syscalls are allowed", () => {
        for (const name of ["read", "write", "close", "getpid", "mount", "unshare", "openat2", "clone3"]) {
          expect([name, runProg(prog, table[name]!, native)]).toEqual([name, SECCOMP_RET.ALLOW]);
        }
        // openat (not in the tables): 257 on x86_64, 56 on aarch64
        expect(runProg(prog, arch === "x86_64" ? 257 : 56, native)).toBe(SECCOMP_RET.ALLOW);
        const listed = new Set(nrs);
        for (let nr = 0; nr < 500; nr++) {
          const expected = listed.has(nr) ? SECCOMP_RET.ERRNO : SECCOMP_RET.ALLOW;
          if (runProg(prog, nr, native) !== expected) throw new Error(`nr ${nr}: expected 0x${expected.toString(16)}`);
        }
      });

      test("a foreign architecture is killed", () => {
        for (const other of [0, 0x40000003 /* i386 */, 0x40000028 /* arm */, arch === "x86_64" ? AUDIT_ARCH.aarch64 : AUDIT_ARCH.x86_64]) {
          expect(runProg(prog, nrs[0]!, other)).toBe(SECCOMP_RET.KILL_PROCESS);
          expect(runProg(prog, table.read!, other)).toBe(SECCOMP_RET.KILL_PROCESS);
        }
        expect(SECCOMP_RET.KILL_PROCESS).toBe(0x80000000);
      });
    });
  }

  test("x86_64: x32 numbers (nr | 0x40000000) are killed", () => {
    const nrs = resolveSyscalls(CHOWN_SYSCALLS, "x86_64");
    const prog = buildSuppressFilter(nrs, "x86_64");
    for (const nr of [0, 1, 92, 93, 257, 260]) {
      expect(runProg(prog, (nr | 0x40000000) >>> 0, AUDIT_ARCH.x86_64)).toBe(SECCOMP_RET.KILL_PROCESS);
    }
    expect(runProg(prog, 0x3fffffff, AUDIT_ARCH.x86_64)).toBe(SECCOMP_RET.ALLOW);
  });

  test("aarch64 has no x32 check: high numbers are allowed", () => {
    const prog = buildSuppressFilter(resolveSyscalls(CHOWN_SYSCALLS, "aarch64"), "aarch64");
    expect(runProg(prog, 0x40000000 | 55, AUDIT_ARCH.aarch64)).toBe(SECCOMP_RET.ALLOW);
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
    expect(runProg(prog, 97, AUDIT_ARCH.aarch64)).toBe(SECCOMP_RET.ALLOW);
    expect(runProg(prog, 97, AUDIT_ARCH.x86_64)).toBe(SECCOMP_RET.KILL_PROCESS);
  });

  test("200 numbers fit the 8-bit jumps; 300 need BPF_JA, and work", () => {
    const many = Array.from({ length: 200 }, (_, i) => 1000 + i);
    const prog = buildSuppressFilter(many, "x86_64");
    expect(prog.some((i) => i.code === BPF_JA)).toBe(false);
    expect(runProg(prog, 1000, AUDIT_ARCH.x86_64)).toBe(SECCOMP_RET.ERRNO);
    expect(runProg(prog, 1199, AUDIT_ARCH.x86_64)).toBe(SECCOMP_RET.ERRNO);
    expect(runProg(prog, 1200, AUDIT_ARCH.x86_64)).toBe(SECCOMP_RET.ALLOW);
    const more = [...many, ...Array.from({ length: 100 }, (_, i) => 2000 + i)];
    const long = buildSuppressFilter(more, "x86_64");
    expect(long.some((i) => i.code === BPF_JA)).toBe(true);
    for (const nr of more) expect(runProg(long, nr, AUDIT_ARCH.x86_64)).toBe(SECCOMP_RET.ERRNO);
    expect(runProg(long, 1200, AUDIT_ARCH.x86_64)).toBe(SECCOMP_RET.ALLOW);
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

// ---- rules with argument conditions ---------------------------------------------------------------

const KILL = SECCOMP_RET.KILL_PROCESS;
const ALLOW = SECCOMP_RET.ALLOW;
const err = (e: number): number => (SECCOMP_RET.ERRNO | e) >>> 0;
const nrOf = (name: string, arch: Arch): number => (SYSCALLS[arch] as Record<string, number>)[name]!;

/** What a filter of `rules` must answer, computed straight from the rules' meaning. */
function reference(rules: readonly SeccompRule[], arch: Arch, d: SeccompData): number {
  if (d.arch >>> 0 !== AUDIT_ARCH[arch]) return KILL;
  if (arch === "x86_64" && d.nr >>> 0 >= 0x40000000) return KILL;
  for (const r of rules) {
    if ((SYSCALLS[arch] as Record<string, number>)[r.syscall] !== d.nr) continue;
    const holds = (c: ArgCondition): boolean => {
      const v = d.args?.[c.arg] ?? 0n;
      if (c.op === "eq") return v === c.value;
      if (c.op === "ne") return v !== c.value;
      return (v & c.mask!) === c.value;
    };
    if ((r.when ?? []).every(holds)) return err(r.errno);
  }
  return ALLOW;
}


// Values that make conditions match often, with the high word set and clear.
const POOL = [0n, 1n, 0x5412n, 0x1_0000_5412n, 0xffff_ffffn, 0x1_0000_0000n, 0xffff_ffff_ffff_ffffn, 0x1000_0000n, 0x8000_0000_0000_0000n];
const MASKS = [0xffff_ffffn, 0xffff_ffff_0000_0000n, 1n, 0x1000_0000n, 0xffff_ffff_ffff_ffffn, 0x0000_ffff_0000_ff00n];
const NAMES = ["read", "ioctl", "personality", "clone", "unshare", "mount", "ptrace"];

function randomRules(rand: () => number, count: number, oneErrnoPerSyscall = false): SeccompRule[] {
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const randomValue = (): bigint => (rand() < 0.7 ? pick(POOL) : BigInt(Math.floor(rand() * 2 ** 32)) << BigInt(Math.floor(rand() * 33)));
  const errnoFor = (name: string): number => (oneErrnoPerSyscall ? NAMES.indexOf(name) + 1 : Math.floor(rand() * 40));
  return Array.from({ length: count }, () => {
    const syscall = pick(NAMES);
    const used = new Set<number>();
    const when: ArgCondition[] = [];
    for (let n = Math.floor(rand() * 4); n > 0; n--) {
      const arg = Math.floor(rand() * 6) as ArgCondition["arg"];
      if (oneErrnoPerSyscall && used.has(arg)) continue; // libseccomp compares an argument once per rule
      used.add(arg);
      const op = pick(["eq", "ne", "masked-eq"] as const);
      if (op === "masked-eq") {
        const mask = pick(MASKS);
        when.push({ arg, op, mask, value: randomValue() & mask });
      } else {
        when.push({ arg, op, value: randomValue() });
      }
    }
    return rand() < 0.2 ? { syscall, errno: errnoFor(syscall) } : { syscall, errno: errnoFor(syscall), when };
  });
}

function randomData(rand: () => number, arch: Arch, rules: readonly SeccompRule[]): SeccompData {
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  // Arguments near the rules' own values: equal, one bit off in either word, or from the pool.
  const values = rules.flatMap((r) => (r.when ?? []).map((c) => c.value));
  const near = (): bigint => {
    const v = values.length && rand() < 0.6 ? pick(values) : pick(POOL);
    const r = rand();
    if (r < 0.5) return v;
    return v ^ (1n << BigInt(Math.floor(rand() * 64)));
  };
  const nr = rand() < 0.9 ? nrOf(pick(NAMES), arch) : Math.floor(rand() * 500);
  return { nr, arch: AUDIT_ARCH[arch], args: Array.from({ length: 6 }, near) };
}

const EXAMPLE: SeccompRule[] = [
  { syscall: "ioctl", errno: Errno.EPERM, when: [{ arg: 1, op: "masked-eq", mask: 0xffffffffn, value: 0x5412n }] },
  { syscall: "ioctl", errno: Errno.EPERM, when: [{ arg: 1, op: "masked-eq", mask: 0xffffffffn, value: 0x541cn }] },
  { syscall: "mount", errno: Errno.EACCES, when: [{ arg: 3, op: "eq", value: 0x1_0000_0020n }, { arg: 4, op: "ne", value: 0n }] },
  { syscall: "unshare", errno: Errno.EPERM, when: [{ arg: 0, op: "masked-eq", mask: 0x10000000n, value: 0x10000000n }] },
  { syscall: "clone3", errno: RULE_ERRNO.ENOSYS },
  { syscall: "fsync", errno: RULE_ERRNO.RETURN_ZERO },
];

describe("compileBpf: rules with argument conditions", () => {
  for (const arch of ARCHES) {
    describe(arch, () => {
      const prog = decode(encodeFilter(compileBpf(EXAMPLE, arch)));
      const native = AUDIT_ARCH[arch];
      const run = (name: string, args: bigint[] = []) => runProg(prog, nrOf(name, arch), native, args);

      test("masked-eq on the low word: matches whatever the high word holds", () => {
        expect(run("ioctl", [3n, 0x5412n])).toBe(err(Errno.EPERM));
        expect(run("ioctl", [3n, 0x1_0000_5412n])).toBe(err(Errno.EPERM));
        expect(run("ioctl", [3n, 0xffff_ffff_0000_541cn])).toBe(err(Errno.EPERM));
        expect(run("ioctl", [3n, 0x5413n])).toBe(ALLOW);
        expect(run("ioctl", [3n, 0x1_0000_5413n])).toBe(ALLOW);
        expect(run("ioctl", [0x5412n, 0x5411n])).toBe(ALLOW); // another argument holds the value
        expect(run("read", [3n, 0x5412n])).toBe(ALLOW);
      });

      test("eq compares both words; ne holds when either word differs; conditions of a rule are ANDed", () => {
        expect(run("mount", [0n, 0n, 0n, 0x1_0000_0020n, 1n])).toBe(err(Errno.EACCES));
        expect(run("mount", [0n, 0n, 0n, 0x1_0000_0020n, 0x1_0000_0000n])).toBe(err(Errno.EACCES)); // ne: high word differs
        expect(run("mount", [0n, 0n, 0n, 0x1_0000_0020n, 0n])).toBe(ALLOW); // ne fails
        expect(run("mount", [0n, 0n, 0n, 0x20n, 1n])).toBe(ALLOW); // eq: high word differs
        expect(run("mount", [0n, 0n, 0n, 0x2_0000_0020n, 1n])).toBe(ALLOW);
        expect(run("mount", [0n, 0n, 0n, 0x1_0000_0021n, 1n])).toBe(ALLOW); // eq: low word differs
      });

      test("a single flag bit: set with others, or absent", () => {
        expect(run("unshare", [0x10000000n])).toBe(err(Errno.EPERM));
        expect(run("unshare", [0x10020000n])).toBe(err(Errno.EPERM));
        expect(run("unshare", [0x20000n])).toBe(ALLOW);
        expect(run("unshare", [0xefff_ffffn])).toBe(ALLOW);
      });

      test("unconditional rules: ENOSYS and errno 0", () => {
        expect(run("clone3", [0xffn])).toBe(err(38));
        expect(run("fsync", [1n])).toBe(err(0));
        expect(RULE_ERRNO.ENOSYS).toBe(38);
      });

      test("another architecture is killed, whatever the syscall and arguments", () => {
        const other = arch === "x86_64" ? AUDIT_ARCH.aarch64 : AUDIT_ARCH.x86_64;
        for (const args of [[], [3n, 0x5412n]]) {
          expect(runProg(prog, nrOf("ioctl", arch), other, args)).toBe(KILL);
          expect(runProg(prog, nrOf("read", arch), 0x40000003, args)).toBe(KILL);
        }
      });

      test("random rule sets agree with the reference, argument by argument", () => {
        const rand = prng(arch === "x86_64" ? 1 : 2);
        for (let set = 0; set < 150; set++) {
          const rules = randomRules(rand, 1 + Math.floor(rand() * 12));
          const p = compileBpf(rules, arch);
          for (let i = 0; i < 150; i++) {
            const d = randomData(rand, arch, rules);
            const got = runBpf(p, d);
            if (got !== reference(rules, arch, d)) throw new Error(`set ${set}: ${JSON.stringify(rules, big)} on ${JSON.stringify(d, big)}: got 0x${got.toString(16)}`);
          }
        }
      });
    });
  }

  test("x86_64: an x32 syscall number is killed even when it carries matching arguments", () => {
    const prog = compileBpf(EXAMPLE, "x86_64");
    expect(runProg(prog, (16 | 0x40000000) >>> 0, AUDIT_ARCH.x86_64, [3n, 0x5412n])).toBe(KILL);
    expect(runProg(prog, 0x40000000 + 514, AUDIT_ARCH.x86_64, [3n, 0x5412n])).toBe(KILL); // x32 ioctl
    expect(runProg(prog, 0xffffffff, AUDIT_ARCH.x86_64)).toBe(KILL);
  });

  test("a long rule list: one syscall with 120 conditional rules, 300 unconditional ones, through BPF_JA", () => {
    const rules: SeccompRule[] = [
      ...Array.from({ length: 120 }, (_, i): SeccompRule => ({ syscall: "ioctl", errno: 1 + (i % 50), when: [{ arg: 1, op: "eq", value: BigInt(0x1000 + i) }] })),
      ...Object.keys(SYSCALLS.x86_64).filter((n) => n !== "ioctl").map((syscall, i): SeccompRule => ({ syscall, errno: i % 3 })),
    ];
    const many = Array.from({ length: 300 }, (_, i) => 1000 + i);
    const prog = compileBpf(rules, "x86_64");
    expect(prog.some((i) => i.code === BPF_JA)).toBe(true);
    for (let i = 0; i < 120; i++) expect(runProg(prog, 16, AUDIT_ARCH.x86_64, [0n, BigInt(0x1000 + i)])).toBe(err(1 + (i % 50)));
    expect(runProg(prog, 16, AUDIT_ARCH.x86_64, [0n, 0x1000n + 120n])).toBe(ALLOW);
    for (let nr = 0; nr < 600; nr++) {
      const d = { nr, arch: AUDIT_ARCH.x86_64, args: [0n, 0x1010n] };
      expect([nr, runBpf(prog, d)]).toEqual([nr, reference(rules, "x86_64", d)]);
    }
    const suppress = buildSuppressFilter(many, "x86_64");
    const jumps = suppress.filter((i) => i.code === BPF_JA);
    expect(jumps.length).toBeGreaterThan(0);
    for (const nr of many) expect(runProg(suppress, nr, AUDIT_ARCH.x86_64)).toBe(err(0));
    expect(runProg(suppress, 999, AUDIT_ARCH.x86_64)).toBe(ALLOW);
    // conditional jumps are short, and BPF_JA reaches past 255
    for (const ins of [...prog, ...suppress]) if (ins.code !== BPF_JA) expect(Math.max(ins.jt, ins.jf)).toBeLessThanOrEqual(255);
    expect(Math.max(...jumps.map((i) => i.k))).toBeGreaterThan(255);
  });

  test("a program beyond the kernel's 4096 instructions is refused with E2BIG", () => {
    const nrs = Array.from({ length: 5000 }, (_, i) => 1000 + i);
    expect(() => buildSuppressFilter(nrs, "x86_64")).toThrow(SysError);
    try {
      buildSuppressFilter(nrs, "x86_64");
    } catch (e) {
      expect((e as SysError).code).toBe("E2BIG");
    }
  });

  test("names the architecture lacks are skipped; unknown names too", () => {
    const rules: SeccompRule[] = [{ syscall: "iopl", errno: 1 }, { syscall: "no_such_call", errno: 1 }, { syscall: "ptrace", errno: 1 }];
    const arm = compileBpf(rules, "aarch64");
    expect(arm.filter((i) => i.code === BPF_JEQ_K).map((i) => i.k)).toEqual([AUDIT_ARCH.aarch64, 117]);
    const x86 = compileBpf(rules, "x86_64");
    expect(runProg(x86, 172, AUDIT_ARCH.x86_64)).toBe(err(1)); // iopl
  });

  test("malformed rules are refused with EINVAL, naming the syscall", () => {
    const bad: SeccompRule[] = [
      { syscall: "ioctl", errno: 1, when: [{ arg: 1, op: "masked-eq", value: 1n }] }, // no mask
      { syscall: "ioctl", errno: 1, when: [{ arg: 1, op: "masked-eq", mask: 0xffn, value: 0x100n }] }, // value outside mask
      { syscall: "ioctl", errno: 1, when: [{ arg: 1, op: "eq", mask: 0xffn, value: 1n }] },
      { syscall: "ioctl", errno: 1, when: [{ arg: 6 as 0, op: "eq", value: 1n }] },
      { syscall: "ioctl", errno: 1, when: [{ arg: 0, op: "lt" as "eq", value: 1n }] },
      { syscall: "ioctl", errno: 1, when: [{ arg: 0, op: "eq", value: 1n << 64n }] },
      { syscall: "ioctl", errno: 1, when: [{ arg: 0, op: "eq", value: -1n }] },
      { syscall: "ioctl", errno: 1, when: [{ arg: 0, op: "eq", value: 1 as unknown as bigint }] },
      { syscall: "ioctl", errno: 4096 },
      { syscall: "ioctl", errno: -1 },
      { syscall: "", errno: 1 },
    ];
    for (const rule of bad) {
      let caught: unknown;
      try {
        compileBpf([rule], "x86_64");
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(SysError);
      expect([JSON.stringify(rule, big), (caught as SysError).code, (caught as SysError).syscall]).toEqual([JSON.stringify(rule, big), "EINVAL", "compileFilter"]);
    }
    expect(() => compileFilter(bad.slice(0, 1))).toThrow(SysError);
  });
});

const big = (_k: string, v: unknown) => (typeof v === "bigint" ? `0x${v.toString(16)}` : v);

describe("compileFilter", () => {
  const host = hostArch()!;
  const other: Arch = host === "x86_64" ? "aarch64" : "x86_64";
  const lib = libseccomp();

  test("for another architecture: our BPF, the same bytes as compileBpf", () => {
    const c = compileFilter(EXAMPLE, other);
    expect(c.via).toBe("bpf");
    expect(decode(c.bytes)).toEqual(compileBpf(EXAMPLE, other));
  });

  test("a rule comparing one argument twice goes to our BPF (libseccomp refuses it)", () => {
    const rules: SeccompRule[] = [{ syscall: "personality", errno: 1, when: [{ arg: 0, op: "ne", value: 0n }, { arg: 0, op: "ne", value: 0xffffffffn }] }];
    const c = compileFilter(rules);
    expect(c.via).toBe("bpf");
    const p = decode(c.bytes);
    const nr = nrOf("personality", host);
    expect(runProg(p, nr, AUDIT_ARCH[host], [0n])).toBe(ALLOW);
    expect(runProg(p, nr, AUDIT_ARCH[host], [0xffffffffn])).toBe(ALLOW);
    expect(runProg(p, nr, AUDIT_ARCH[host], [8n])).toBe(err(1));
  });

  test.skipIf(lib === null)("through libseccomp: a self-contained program that agrees with the reference", () => {
    const c = compileFilter(EXAMPLE);
    expect(c.via).toBe("libseccomp");
    const p = decode(c.bytes);
    expect(p[p.length - 1]!.code).toBe(BPF_RET_K);
    const rand = prng(7);
    for (let set = 0; set < 60; set++) {
      const rules = set === 0 ? EXAMPLE : randomRules(rand, 1 + Math.floor(rand() * 10), true);
      const prog = decode(compileFilter(rules).bytes);
      const ours = compileBpf(rules, host);
      for (let i = 0; i < 200; i++) {
        const d = randomData(rand, host, rules);
        const want = reference(rules, host, d);
        const got = [runBpf(prog, d), runBpf(ours, d)];
        if (got[0] !== want || got[1] !== want) throw new Error(`set ${set}: ${JSON.stringify(rules, big)} on ${JSON.stringify(d, big)}: got ${got.map((g) => g.toString(16))}, want ${want.toString(16)}`);
      }
    }
  });

  test.skipIf(lib === null || host !== "x86_64")("x86_64, known difference: libseccomp lets syscall number -1 through, ours kills it", () => {
    const d = { nr: 0xffffffff, arch: AUDIT_ARCH.x86_64 };
    expect(runBpf(decode(compileFilter(EXAMPLE).bytes), d)).toBe(ALLOW);
    expect(runBpf(compileBpf(EXAMPLE, "x86_64"), d)).toBe(KILL);
    // every other number at or above the x32 bit is killed by both
    for (const nr of [0x40000000, 0x40000010, 0x7fffffff, 0xfffffffe]) {
      expect(runBpf(decode(compileFilter(EXAMPLE).bytes), { nr, arch: AUDIT_ARCH.x86_64 })).toBe(KILL);
      expect(runBpf(compileBpf(EXAMPLE, "x86_64"), { nr, arch: AUDIT_ARCH.x86_64 })).toBe(KILL);
    }
  });
});

describe("BpfAssembler", () => {
  test("a label left unplaced, or placed twice, is an error", () => {
    const a = new BpfAssembler();
    const l = a.label();
    a.jump(BPF.JEQ_K, 1, l, "next");
    a.emit(BPF.RET_K, 0);
    expect(() => a.assemble()).toThrow("not placed");
    a.place(l);
    expect(() => a.place(l)).toThrow("twice");
  });

  test("a backward jump is an error", () => {
    const a = new BpfAssembler();
    const top = a.label();
    a.place(top);
    a.emit(BPF.LD_W_ABS, 0);
    a.ja(top);
    expect(() => a.assemble()).toThrow("backwards");
  });

  test("both branches out of reach get a BPF_JA each", () => {
    const a = new BpfAssembler();
    const [t, f] = [a.label(), a.label()];
    a.emit(BPF.LD_W_ABS, 0);
    a.jump(BPF.JEQ_K, 7, t, f);
    for (let i = 0; i < 300; i++) a.emit(BPF.RET_K, i);
    a.place(t);
    a.emit(BPF.RET_K, 1000);
    a.place(f);
    a.emit(BPF.RET_K, 2000);
    const prog = a.assemble();
    expect(prog.slice(1, 4).map((i) => i.code)).toEqual([BPF.JEQ_K, BPF.JA, BPF.JA]);
    expect(runBpf(prog, { nr: 7, arch: 0 })).toBe(1000);
    expect(runBpf(prog, { nr: 8, arch: 0 })).toBe(2000);
  });
});
