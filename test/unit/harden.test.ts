import { describe, expect, test } from "bun:test";
import { HARDEN_FILTER_FILE, hardenFilterSource } from "../../scripts/gen-harden-filter.ts";
import { readFileSync } from "node:fs";
import {
  CLONE_NEW_FLAGS, DISABLE_USERNS_RULES, disableUsernsRules, hardenRules, hardenTable, TIOCLINUX, TIOCSTI,
} from "../../src/plan/harden.ts";
import { compileBpf, compileFilter, decodeFilter, libseccomp, SECCOMP_RET, type SeccompRule } from "../../src/sys/seccomp.ts";
import { AUDIT_ARCH, hostArch, SYSCALLS, type Arch } from "../../src/sys/numbers.ts";
import { CLONE } from "../../src/sys/flags.ts";
import { Errno } from "../../src/sys/errno.ts";
import { runBpf } from "../support/bpf.ts";
import type { BpfInsn } from "../../src/sys/bpf.ts";

const ALLOW = SECCOMP_RET.ALLOW;
const EPERM = (SECCOMP_RET.ERRNO | Errno.EPERM) >>> 0;
const ENOSYS = (SECCOMP_RET.ERRNO | Errno.ENOSYS) >>> 0;
const SIGCHLD = 17n;
const x86 = SYSCALLS.x86_64 as Record<string, number>;

/** Runs the compiled harden filter on one call. */
function verdict(prog: readonly BpfInsn[], arch: Arch, name: string, args: bigint[] = []): number {
  const nr = (SYSCALLS[arch] as Record<string, number>)[name];
  if (nr === undefined) throw new Error(`${name} has no number on ${arch}`);
  return runBpf(prog, { nr, arch: AUDIT_ARCH[arch], args });
}

describe("the hardened table (hardenTable())", () => {
  const names = new Set<string>(hardenTable().map((e) => e.syscall));

  test("every name is a known syscall on x86_64, every entry has a reason", () => {
    for (const e of [...hardenTable(), ...DISABLE_USERNS_RULES]) {
      expect([e.syscall, Object.hasOwn(x86, e.syscall)]).toEqual([e.syscall, true]);
      expect(e.reason.length).toBeGreaterThan(10);
    }
  });

  test("refuses everything the policy lists", () => {
    const listed = [
      "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "process_madvise",
      "io_uring_setup", "io_uring_enter", "io_uring_register", "bpf", "perf_event_open", "userfaultfd",
      "keyctl", "add_key", "request_key", "kexec_load", "kexec_file_load", "init_module", "finit_module",
      "delete_module", "create_module", "get_kernel_syms", "query_module", "open_by_handle_at", "name_to_handle_at",
      "personality", "ioctl", "mount", "umount2", "move_mount", "open_tree", "open_tree_attr", "fsopen", "fsconfig",
      "fsmount", "fspick", "mount_setattr", "pivot_root", "unshare", "setns", "clone", "clone3",
      "acct", "swapon", "swapoff", "reboot", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "quotactl",
      "quotactl_fd", "iopl", "ioperm", "uselib", "ustat", "sysfs", "_sysctl", "lookup_dcookie", "kcmp", "syslog",
      "vhangup", "nfsservctl", "fanotify_init",
    ];
    expect([...names].sort()).toEqual([...listed].sort());
  });

  test("docs/threat-model.md's table lists every refused call with its reason", () => {
    const doc = readFileSync(new URL("../../docs/threat-model.md", import.meta.url), "utf8");
    for (const e of hardenTable()) {
      const row = doc.split("\n").find((l) => l.startsWith("| `") && l.includes(`\`${e.syscall}\``) && l.includes(e.reason));
      expect([e.syscall, e.reason, row !== undefined]).toEqual([e.syscall, e.reason, true]);
    }
  });

  test("leaves alone what a normal build needs", () => {
    for (const n of ["get_mempolicy", "mbind", "set_mempolicy", "move_pages", "prctl", "chroot", "fork", "vfork", "execve", "read", "openat", "seccomp", "landlock_create_ruleset", "capset", "sethostname"]) {
      expect([n, names.has(n)]).toEqual([n, false]);
    }
  });

  test("EPERM everywhere except clone3, which is ENOSYS", () => {
    for (const e of hardenTable()) expect([e.syscall, e.errno]).toEqual([e.syscall, e.syscall === "clone3" ? Errno.ENOSYS : Errno.EPERM]);
  });

  test("only personality, ioctl and clone carry conditions", () => {
    expect(hardenTable().filter((e) => e.cases).map((e) => e.syscall).sort()).toEqual(["clone", "ioctl", "ioctl", "personality"]);
  });

  test("the clone mask: every CLONE_NEW* flag clone() can take, not CLONE_NEWTIME (0x80, the exit-signal byte)", () => {
    const mask = CLONE_NEW_FLAGS.reduce((a, f) => a | f, 0);
    expect(mask).toBe(0x7e020000);
    expect(mask & 0xff).toBe(0);
    expect(CLONE_NEW_FLAGS as readonly number[]).not.toContain(CLONE.NEWTIME);
    const clone = hardenTable().find((e) => e.syscall === "clone")!;
    expect(clone.cases!.map((c) => c.map((x) => ({ ...x })))).toEqual(
      CLONE_NEW_FLAGS.map((f) => [{ arg: 0, op: "masked-eq", mask: BigInt(f), value: BigInt(f) }]),
    );
  });

  test("ioctl requests compare the low 32 bits only", () => {
    const ioctl = hardenTable().filter((e) => e.syscall === "ioctl").flatMap((e) => e.cases!);
    expect(ioctl).toEqual([
      [{ arg: 1, op: "masked-eq", mask: 0xffffffffn, value: BigInt(TIOCSTI) }],
      [{ arg: 1, op: "masked-eq", mask: 0xffffffffn, value: BigInt(TIOCLINUX) }],
    ]);
    expect([TIOCSTI, TIOCLINUX]).toEqual([0x5412, 0x541c]);
  });

  test("hardenRules: one rule per case, fresh objects each call", () => {
    const rules = hardenRules();
    const cases = hardenTable().reduce((n, e) => n + (e.cases?.length ?? 1), 0);
    expect(rules.length).toBe(cases);
    expect(rules.filter((r) => r.syscall === "personality").length).toBe(32);
    rules[0]!.errno = 99;
    rules.find((r) => r.when)!.when![0]!.value = 1234n;
    expect(hardenRules()).not.toEqual(rules);
  });
});

describe("hardenRules compiled", () => {
  for (const arch of ["x86_64", "aarch64"] as Arch[]) {
    describe(arch, () => {
      const prog = compileBpf(hardenRules(), arch);
      const table = SYSCALLS[arch] as Record<string, number>;

      test("every unconditional entry is refused with its errno; names the architecture lacks are skipped", () => {
        for (const e of hardenTable()) {
          if (e.cases || !Object.hasOwn(table, e.syscall)) continue;
          expect([e.syscall, verdict(prog, arch, e.syscall, [0n, 1n])]).toEqual([e.syscall, e.errno === Errno.ENOSYS ? ENOSYS : EPERM]);
        }
        expect(prog.length).toBeLessThan(4096);
      });

      test("ordinary calls are allowed", () => {
        for (const n of ["read", "write", "openat", "execve", "prctl", "chroot", "statx", "socket", "memfd_create", "seccomp"]) {
          expect([n, verdict(prog, arch, n, [0x10000000n, 0x5412n])]).toEqual([n, ALLOW]);
        }
      });

      test("personality: 0 and 0xffffffff allowed (whatever the high word holds), anything else refused", () => {
        for (const v of [0n, 0xffffffffn, 0xffff_ffff_ffff_ffffn, 0x1_0000_0000n]) expect([v, verdict(prog, arch, "personality", [v])]).toEqual([v, ALLOW]);
        for (const v of [8n, 1n, 0x20000n, 0x0040000n, 0x80000000n, 0x7fffffffn, 0xfffffffen, 0x1_0000_0008n, 0xffff_ffff_7fff_ffffn]) {
          expect([v, verdict(prog, arch, "personality", [v])]).toEqual([v, EPERM]);
        }
        // every single-bit and all-but-one-bit value of the low word
        for (let i = 0n; i < 32n; i++) {
          expect(verdict(prog, arch, "personality", [1n << i])).toBe(EPERM);
          expect(verdict(prog, arch, "personality", [0xffffffffn ^ (1n << i)])).toBe(EPERM);
        }
        let seed = 12345;
        for (let n = 0; n < 2000; n++) {
          seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
          const v = (BigInt(seed) << 16n) ^ BigInt(n);
          const low = v & 0xffffffffn;
          expect([v, verdict(prog, arch, "personality", [v])]).toEqual([v, low === 0n || low === 0xffffffffn ? ALLOW : EPERM]);
        }
      });

      test("ioctl: TIOCSTI and TIOCLINUX refused, also with high bits set; other requests allowed", () => {
        for (const req of [0x5412n, 0x541cn, 0x1_0000_5412n, 0xffff_ffff_0000_541cn]) expect(verdict(prog, arch, "ioctl", [0n, req])).toBe(EPERM);
        for (const req of [0x5413n, 0x5411n, 0x541bn, 0x5401n, 0x1_0000_5401n, 0x5412_0000n]) expect(verdict(prog, arch, "ioctl", [0n, req])).toBe(ALLOW);
        expect(verdict(prog, arch, "ioctl", [0x5412n, 0x5401n])).toBe(ALLOW); // fd number equal to TIOCSTI
      });

      test("clone: refused with any CLONE_NEW* flag, allowed without; clone3 ENOSYS; unshare and setns refused", () => {
        for (const f of CLONE_NEW_FLAGS) {
          expect(verdict(prog, arch, "clone", [BigInt(f) | SIGCHLD])).toBe(EPERM);
          expect(verdict(prog, arch, "clone", [BigInt(f) | BigInt(CLONE.VM | CLONE.FS | CLONE.FILES)])).toBe(EPERM);
        }
        const thread = BigInt(CLONE.VM | CLONE.FS | CLONE.FILES | CLONE.SIGHAND | CLONE.THREAD | CLONE.SYSVSEM);
        for (const flags of [SIGCHLD, thread, 0x80n /* exit signal 128, not NEWTIME */, BigInt(CLONE.VM) | SIGCHLD, 0n]) {
          expect([flags, verdict(prog, arch, "clone", [flags])]).toEqual([flags, ALLOW]);
        }
        expect(verdict(prog, arch, "clone3", [0n, 88n])).toBe(ENOSYS);
        expect(verdict(prog, arch, "unshare", [0n])).toBe(EPERM);
        expect(verdict(prog, arch, "unshare", [BigInt(CLONE.FILES)])).toBe(EPERM);
        expect(verdict(prog, arch, "setns", [3n, 0n])).toBe(EPERM);
      });
    });
  }

  test("aarch64 lacks the x86-only calls; they are left out, not refused by number", () => {
    const missing = hardenTable().map((e): string => e.syscall).filter((n) => !Object.hasOwn(SYSCALLS.aarch64, n));
    expect(missing.sort()).toEqual(["_sysctl", "create_module", "get_kernel_syms", "ioperm", "iopl", "query_module", "uselib", "ustat", "sysfs"].sort());
  });
});

describe("disableUsernsRules", () => {
  for (const arch of ["x86_64", "aarch64"] as Arch[]) {
    test(`no new user namespaces, everything else allowed [${arch}]`, () => {
      const prog = compileBpf(disableUsernsRules(), arch);
      const NEWUSER = BigInt(CLONE.NEWUSER);
      expect(verdict(prog, arch, "unshare", [NEWUSER])).toBe(EPERM);
      expect(verdict(prog, arch, "unshare", [NEWUSER | BigInt(CLONE.NEWNS)])).toBe(EPERM);
      expect(verdict(prog, arch, "unshare", [BigInt(CLONE.NEWNS)])).toBe(ALLOW);
      expect(verdict(prog, arch, "unshare", [BigInt(CLONE.NEWNET | CLONE.NEWPID)])).toBe(ALLOW);
      expect(verdict(prog, arch, "clone", [NEWUSER | SIGCHLD])).toBe(EPERM);
      expect(verdict(prog, arch, "clone", [BigInt(CLONE.NEWPID) | SIGCHLD])).toBe(ALLOW);
      expect(verdict(prog, arch, "clone", [SIGCHLD])).toBe(ALLOW);
      expect(verdict(prog, arch, "clone3", [0n])).toBe(ENOSYS);
      expect(verdict(prog, arch, "setns", [3n, NEWUSER])).toBe(ALLOW);
      expect(verdict(prog, arch, "mount", [0n])).toBe(ALLOW);
    });
  }
});

describe("libseccomp and our BPF agree on the harden rules", () => {
  const host = hostArch();
  const usable = host !== null && libseccomp() !== null;

  /** Calls worth asking about: every refused one, neighbours, and arguments near each condition. */
  function inputs(arch: Arch, rules: SeccompRule[]): { nr: number; arch: number; args: bigint[] }[] {
    const table = SYSCALLS[arch] as Record<string, number>;
    const nrs = new Set<number>([...Object.values(table), ...Array.from({ length: 470 }, (_, i) => i)]);
    const values = [0n, 1n, 17n, 0xffffffffn, 0xffff_ffff_ffff_ffffn, 0x1_0000_0000n];
    for (const r of rules) for (const c of r.when ?? []) for (const d of [0n, 1n, 0x1_0000_0000n, 0x80n]) values.push(c.value ^ d, c.value | d);
    const out: { nr: number; arch: number; args: bigint[] }[] = [];
    for (const nr of nrs) for (const v of values) out.push({ nr, arch: AUDIT_ARCH[arch], args: [v, v, 0n, 0n, 0n, 0n] });
    return out;
  }

  for (const [label, rulesOf] of [["hardenRules", hardenRules], ["disableUsernsRules", disableUsernsRules]] as const) {
    test.skipIf(!usable)(`${label}: the same action for every input`, () => {
      const rules = rulesOf();
      const c = compileFilter(rules);
      expect(c.via).toBe("libseccomp");
      const theirs = decodeFilter(c.bytes);
      const ours = compileBpf(rules, host!);
      let refused = 0;
      for (const d of inputs(host!, rules)) {
        const [a, b] = [runBpf(theirs, d), runBpf(ours, d)];
        if (a !== b) throw new Error(`nr ${d.nr} args ${d.args.map((x) => x.toString(16))}: libseccomp 0x${a.toString(16)}, ours 0x${b.toString(16)}`);
        if (a !== ALLOW) refused++;
      }
      expect(refused).toBeGreaterThan(40); // the comparison is not vacuous
      // a foreign architecture is killed by both
      const foreign = { nr: 0, arch: 0x40000003 };
      expect([runBpf(theirs, foreign), runBpf(ours, foreign)]).toEqual([SECCOMP_RET.KILL_PROCESS, SECCOMP_RET.KILL_PROCESS]);
    });
  }
});

test("the precompiled hardened filter (src/plan/harden-filter.ts) is what scripts/gen-harden-filter.ts writes from today's rules", () => {
  expect(readFileSync(HARDEN_FILTER_FILE, "utf8")).toBe(hardenFilterSource());
});
