// Hardened mode (--harden, .harden()), as the command sees it: all five capability sets empty,
// no_new_privs, the seccomp filter refusing what src/plan/harden.ts lists (raw calls, each of
// which otherwise works or fails differently), Landlock keeping signals and abstract unix
// sockets inside the sandbox, the kernel's tunables read-only, and writes still working where the
// plan made a writable place.
// CLI and library (worker and forked), root and user; the same attempts without --harden are the
// control. Both seccomp compilers: the suite's fallback run forces our own BPF. Also
// --disable-userns, and --cap-add/--cap-drop as bubblewrap takes them.
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { UnixSocketListener } from "bun";
import { asWho, BIN, BUN, envFor, ROOT, run, WHO, type Who } from "../support/run.ts";
import { ATTACK_ENV, attackArgv, removeAttacksBundle } from "../support/attacks.ts";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const SETENV = Object.entries(ATTACK_ENV).flatMap(([k, v]) => ["--setenv", k, v]);
const NAME = `bsb-harden-${process.pid}`;
let listener: UnixSocketListener<undefined>;

beforeAll(() => {
  listener = Bun.listen({ unix: `\0${NAME}`, socket: { data() {}, open(s) { s.end(); } } });
});
afterAll(() => {
  listener.stop(true);
  removeAttacksBundle();
});

const last = (stdout: string, stderr: string): Json => {
  try {
    return JSON.parse(stdout.trim().split("\n").pop() ?? "");
  } catch {
    throw new Error(`no JSON: ${stdout}\n${stderr}`);
  }
};

/** The signal's target: a process of the same user outside the sandbox (same uid: allowed unless scoped). */
function sleeper(who: Who): { pid: number; [Symbol.dispose](): void } {
  const p = Bun.spawn([...asWho(who), "sleep", "60"], { env: envFor(who), stdout: "ignore", stderr: "ignore" });
  return { pid: p.pid, [Symbol.dispose]: () => p.kill(9) };
}

function cli(who: Who, flags: string[]): Json {
  using target = sleeper(who);
  const r = run(who, [BIN, ...flags, "--ro-bind", "/", "/", "--tmpfs", "/tmp", "--dev", "/dev", "--proc", "/proc", ...SETENV, "--", ...attackArgv("harden", String(target.pid), NAME)]);
  return last(r.stdout, r.stderr);
}

/** The library sandbox's output (of the attack check, or of `plain` argv as given). */
function libRun(who: Who, spec: { harden: boolean; pid?: boolean; argv?: string[] }, forked: boolean): { stdout: string; stderr: string; stageServer: number } {
  const full = { argv: spec.argv ?? attackArgv("harden"), plain: spec.argv !== undefined, harden: spec.harden, pid: spec.pid ?? false, env: ATTACK_ENV };
  const r = run(who, [BUN, `${ROOT}/test/fixtures/escape-harden.ts`, JSON.stringify(full)], { env: forked ? { BUN_SANDBOX_NO_WORKER: "1" } : {} });
  const o = last(r.stdout, r.stderr);
  if (o.error) throw new Error(`library sandbox: ${o.error}\n${o.stderr}`);
  return o;
}

function lib(who: Who, harden: boolean, forked: boolean, pid = false): Json {
  const o = libRun(who, { harden, pid }, forked);
  const out = last(o.stdout, o.stderr);
  // The path taken: a forked stage execs the command, so its parent is the stage server; a
  // namespace worker's command is the worker's child. (With a PID namespace the parent is PID 1.)
  if (!pid) expect([forked ? "forked" : "worker", out.ppid === o.stageServer]).toEqual([forked ? "forked" : "worker", forked]);
  return out;
}

const REFUSED = ["ptraceTraceme", "ioUring", "bpf", "keyctl", "personality", "mount", "perf", "userfaultfd", "setns", "unshareUser"];

/** The /proc tunables this kernel has (without CONFIG_MAGIC_SYSRQ there is no sysrq-trigger). */
const TUNABLES = ["/proc/sys", "/proc/sysrq-trigger"].filter((p) => existsSync(p));

/** `signal`: EPERM from Landlock's scoping (ABI 6), or ESRCH where a PID namespace hides the target. */

function expectHardened(o: Json, who: Who, signal = "EPERM"): void {
  for (const k of REFUSED) expect([k, o[k]]).toEqual([k, "EPERM"]);
  expect({ clone3: o.clone3, query: o.personalityQuery, tiocsti: o.tiocsti }).toEqual({ clone3: "ENOSYS", query: "ok", tiocsti: "EPERM" });
  expect({ signal: o.signal, abstract: o.abstract }).toEqual({ signal, abstract: "EPERM" });
  // The kernel's tunables are read-only: root's command (kuid 0) meets that; the user's, its own EACCES first.
  expect({ sysctl: o.sysctl, ro: o.roTunables }).toEqual({ sysctl: who === "root" ? "EROFS" : "EACCES", ro: TUNABLES });
}

/** The control: without --harden none of these is the filter's EPERM (or the scoping's). */
function expectOpen(o: Json, who: Who): void {
  // Real root's command writes host sysctls through a writable /proc; the user's, only the kernel stops.
  expect({ sysctl: o.sysctl, ro: o.roTunables }).toEqual({ sysctl: who === "root" ? "ok" : "EACCES", ro: [] });
  expect({ ptrace: o.ptraceTraceme, keyctl: o.keyctl, personality: o.personality, unshareUser: o.unshareUser, signal: o.signal, abstract: o.abstract })
    .toEqual({ ptrace: "ok", keyctl: "ok", personality: "ok", unshareUser: "ok", signal: "ok", abstract: "ok" });
  expect({ clone3: o.clone3, bpf: o.bpf, setns: o.setns, perf: o.perf, tiocsti: o.tiocsti })
    .toEqual({ clone3: "EINVAL", bpf: "EINVAL", setns: "EBADF", perf: "EFAULT", tiocsti: "ENOTTY" });
}

const STATUS = ["sh", "-c", "grep -E '^(Cap|NoNewPrivs|Seccomp:)' /proc/self/status; touch /tmp/w && echo wrote"];
const HARDENED_STATUS = "CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000000\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\nwrote";

describe.each(WHO)("as %s", (who) => {
  test("CLI --harden: no capabilities, no_new_privs, a filter; writes work in the sandbox's tmpfs", () => {
    const r = run(who, [BIN, "--harden", "--ro-bind", "/", "/", "--tmpfs", "/tmp", ...STATUS]);
    expect(r.stdout.trim()).toBe(HARDENED_STATUS);
    expect(r.code).toBe(0);
  });

  test("CLI --harden: every refused call is EPERM (clone3 ENOSYS); signals and abstract sockets stay inside", () => {
    expectHardened(cli(who, ["--harden"]), who);
  });

  test("CLI --harden: files are written only where the plan made a writable place; control without it", () => {
    const root = ["--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64"];
    const show = ["sh", "-c", "for f in /data/x /tmp/x /newfile; do touch $f 2>/dev/null && echo $f; done"];
    const places = (...flags: string[]) => run(who, [BIN, ...flags, ...root, "--dev", "/dev", "--dir", "/data", "--tmpfs", "/tmp", ...show]).stdout.trim();
    expect(places("--harden")).toBe("/data/x\n/tmp/x");
    expect(places()).toBe("/data/x\n/tmp/x\n/newfile");
  });

  test("CLI --harden: a writable bind below /sys is made read-only too; control without it", () => {
    const show = ["sh", "-c", "grep ' /sys/kernel ' /proc/self/mountinfo | cut -d' ' -f6 | cut -d, -f1"];
    const flags = (...f: string[]) => run(who, [BIN, ...f, "--ro-bind", "/", "/", "--bind", "/sys/kernel", "/sys/kernel", ...show]).stdout.trim().split("\n").pop();
    expect([flags("--harden"), flags()]).toEqual(["ro", "rw"]);
  });

  test("CLI --harden on a kernel with less Landlock (forced): a one-line warning, the filter still applies, the scoping does not", () => {
    const r = run(who, [BIN, "--harden", "--ro-bind", "/", "/", "grep", "^Seccomp:", "/proc/self/status"], { env: { BUN_SANDBOX_LANDLOCK_ABI: "5" } });
    expect([r.code, r.stdout.trim()]).toEqual([0, "Seccomp:\t2"]);
    expect(r.stderr.trim().split("\n")).toEqual([
      "sandbox: warning: --harden: abstract unix socket scoping needs Landlock ABI 6 (Linux 6.12); this kernel has ABI 5; the rest applies",
      "sandbox: warning: --harden: signal scoping needs Landlock ABI 6 (Linux 6.12); this kernel has ABI 5; the rest applies",
    ]);
  });

  test("CLI control: without --harden the same calls work or fail otherwise", () => {
    expectOpen(cli(who, who === "root" ? ["--seal"] : []), who);
  });

  for (const forked of [false, true]) {
    test(`library .harden() (${forked ? "forked" : "worker"}): the same, and the status lines`, () => {
      expect(libRun(who, { harden: true, argv: STATUS }, forked).stdout.trim()).toBe(HARDENED_STATUS);
      expectHardened(lib(who, true, forked), who);
      expectOpen(lib(who, false, forked), who);
    });
  }

  test("library .harden() with a PID namespace: the same", () => {
    expectHardened(lib(who, true, true, true), who, "ESRCH");
  });

  test("--disable-userns: no user namespace, the rest allowed; control without it", () => {
    const show = ["sh", "-c", "unshare -U true && echo made || echo refused; unshare -m true 2>/dev/null; true"];
    expect(run(who, [BIN, "--disable-userns", "--ro-bind", "/", "/", ...show]).stdout.trim()).toBe("refused");
    expect(run(who, [BIN, ...(who === "root" ? ["--seal"] : []), "--ro-bind", "/", "/", ...show]).stdout.trim()).toBe("made");
  });

  test("--cap-drop/--cap-add in order, with or without CAP_, any case, and ALL", () => {
    const eff = (...flags: string[]) => run(who, [BIN, ...flags, "--ro-bind", "/", "/", "grep", "^CapEff", "/proc/self/status"]).stdout.trim();
    expect(eff("--cap-drop", "ALL", "--cap-add", "cap_net_bind_service")).toBe("CapEff:\t0000000000000400");
    expect(eff("--cap-drop", "ALL")).toBe("CapEff:\t0000000000000000");
    expect(eff("--cap-add", "NET_RAW", "--cap-drop", "all")).toBe("CapEff:\t0000000000000000");
    const bad = run(who, [BIN, "--cap-add", "CAP_BOGUS", "--ro-bind", "/", "/", "true"]);
    expect([bad.code, bad.stderr.trim()]).toEqual([2, 'sandbox: --cap-add: unknown capability "CAP_BOGUS"; give a name like CAP_SYS_ADMIN or sys_admin, or ALL']);
    const widen = run(who, [BIN, "--harden", "--cap-add", "sys_admin", "--ro-bind", "/", "/", "true"]);
    expect(widen.code).toBe(2);
    expect(widen.stderr.trim()).toBe("sandbox: --cap-add cannot widen --harden, which gives the command no capabilities; drop one of them");
  });
});
