// The three simulated refusals of namespaces (test/support/refusals.ts) are real: a probe under
// each fails the way such a host fails it, while the same probe without the refusal succeeds;
// the command runs as the asked identity and sees the checkout.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, readlinkSync } from "node:fs";
import { hostMounts, ids, IS_ROOT, ROOT, run, SINGLE_THREAD_ENV, tempDir, WHO, type RunResult, type TempDir, type Who } from "../support/run.ts";
import { REFUSALS, runRefused, type Refusal } from "../support/refusals.ts";
import { parseProbe, probe, probeArgv, type Observed } from "../support/probe.ts";

const EPERM = 1;
const ENOSPC = 28;
const ENOSYS = 38;
const CAP_SYS_ADMIN = 21n;
const MAX_USERNS = "/proc/sys/user/max_user_namespaces";

/** The probe under the refusal and, as the control, without it. */
function both(refusal: Refusal, who: Who, argv: string[]): { refused: RunResult; control: RunResult } {
  return { refused: runRefused(refusal, who, argv), control: run(who, argv) };
}

/** What the command saw: its ids, user namespace, some /proc/self/status fields (in file order) and a checkout file. */
const STATUS_FIELDS = ["CapEff", "NoNewPrivs", "Seccomp"];
const SEEN = `id -u; id -g; readlink /proc/self/ns/user; grep -E '^(${STATUS_FIELDS.join("|")}):' /proc/self/status; cat ${ROOT}/package.json`;

function parseSeen(r: RunResult) {
  const [uid, gid, userns, ...rest] = r.stdout.split("\n");
  const f = Object.fromEntries(rest.slice(0, STATUS_FIELDS.length).map((l) => l.split(/:\s*/)));
  return { code: r.code, uid: Number(uid), gid: Number(gid), userns, seccomp: f.Seccomp, nnp: f.NoNewPrivs, capEff: BigInt(`0x${f.CapEff ?? "0"}`), file: rest.slice(STATUS_FIELDS.length).join("\n") };
}

const ownStatus = (name: string) => readFileSync("/proc/self/status", "latin1").split("\n").find((l) => l.startsWith(`${name}:`))?.split(/\s+/)[1];

/** The per-attempt errnos of the probe's syscall attempts (0: the call worked). */
function attempts(refusal: Refusal | null, who: Who, dir: string): Record<string, number> {
  const r = refusal === null
    ? probe(who, "seccomp-policy", [dir, "none"])
    : parseProbe(runRefused(refusal, who, probeArgv("seccomp-policy", [dir, "none"]), { env: SINGLE_THREAD_ENV }));
  const out = r.out as Observed;
  if (!out.results) throw new Error(`probe failed: ${JSON.stringify(out)} ${r.stderr}`);
  return out.results as Record<string, number>;
}

let dir: TempDir;
beforeAll(() => {
  dir = tempDir("root", "bsb-refusals-");
});
afterAll(() => dir.cleanup());

describe.each(REFUSALS)("%s", (refusal) => {
  describe.each(WHO)("as %s", (who) => {
    test("the command runs as who, sees the checkout, and only the refusal differs from a plain run", () => {
      const seen = parseSeen(runRefused(refusal, who, ["sh", "-c", SEEN]));
      const control = parseSeen(run(who, ["sh", "-c", SEEN]));
      const hostUserns = readlinkSync("/proc/self/ns/user");
      expect(seen).toMatchObject({ code: 0, uid: ids(who).uid, gid: ids(who).gid, file: readFileSync(`${ROOT}/package.json`, "utf8") });
      expect(control).toMatchObject({ code: 0, uid: ids(who).uid, seccomp: ownStatus("Seccomp"), userns: hostUserns });
      // no-room: a user namespace of its own and no filter; the others: a filter in the host's user namespace.
      expect(seen.userns === hostUserns).toBe(refusal !== "no-room");
      expect(seen.seccomp).toBe(refusal === "no-room" ? ownStatus("Seccomp") : "2");
      // As on the hosts simulated: root keeps CAP_SYS_ADMIN (in U1 for no-room), the user has none.
      expect((seen.capEff >> CAP_SYS_ADMIN) & 1n).toBe(who === "root" ? 1n : 0n);
      if (who === "user") expect(seen.capEff).toBe(0n);
      if (IS_ROOT) expect(seen.nnp).toBe("0");
    });
  });
});

describe.each(WHO)("unshare(1) as %s", (who) => {
  test.each([["no-room", "No space left on device"], ["docker", "Operation not permitted"]] as const)(
    "under %s creating a user namespace fails with %s; without the refusal it works",
    (refusal, error) => {
      const { refused, control } = both(refusal, who, ["unshare", "--user", "true"]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`unshare failed: ${error}`);
      expect(control.code).toBe(0);
    },
  );
});

describe.each(WHO)("no-room, as %s", (who) => {
  test("raw unshare and clone with CLONE_NEWUSER fail with ENOSPC, fork and clone3 work", () => {
    const seen = attempts("no-room", who, dir.path);
    const control = attempts(null, who, dir.path);
    expect(seen).toMatchObject({ unshareUser: ENOSPC, cloneUser: ENOSPC, fork: 0, clonePlain: 0, clone3: 0 });
    expect(control).toMatchObject({ unshareUser: 0, cloneUser: 0 });
  });

  test("only U1's copy of the sysctl is 0: the host's value is unchanged", () => {
    const before = readFileSync(MAX_USERNS, "latin1").trim();
    const { refused, control } = both("no-room", who, ["cat", MAX_USERNS]);
    expect(refused.stdout.trim()).toBe("0");
    expect(control.stdout.trim()).toBe(before);
    expect(before).not.toBe("0");
    expect(readFileSync(MAX_USERNS, "latin1").trim()).toBe(before);
  });

  if (who === "root") {
    test("root still makes a mount namespace (it holds U1's capabilities)", () => {
      const { refused, control } = both("no-room", who, ["unshare", "--mount", "true"]);
      expect(refused).toMatchObject({ code: 0, stderr: "" });
      expect(control.code).toBe(0);
    });
  } else {
    test("the user cannot raise U1's limit again", () => {
      const r = runRefused("no-room", who, ["sh", "-c", `echo 10 > ${MAX_USERNS}`]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("Permission denied");
      expect(runRefused("no-room", who, ["cat", MAX_USERNS]).stdout.trim()).toBe("0");
    });
  }
});

describe.each(WHO)("apparmor, as %s", (who) => {
  test("a user namespace is made, but the first mount in it fails with EPERM", () => {
    const made = both("apparmor", who, ["unshare", "--user", "--map-root-user", "true"]);
    expect(made.refused).toMatchObject({ code: 0, stderr: "" });
    // unshare --mount makes / private first: a mount(2) call.
    const { refused, control } = both("apparmor", who, ["unshare", "--user", "--map-root-user", "--mount", "true"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("cannot change root filesystem propagation: Operation not permitted");
    expect(control).toMatchObject({ code: 0, stderr: "" });
  });

  test("mounting a tmpfs in the new namespaces fails; without the refusal it works; nothing reaches the host", () => {
    const before = hostMounts();
    const mountIt = ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "unchanged",
      "sh", "-c", `mount -t tmpfs none ${dir.path} && grep -c ' ${dir.path} ' /proc/self/mountinfo`];
    const { refused, control } = both("apparmor", who, mountIt);
    expect(refused.code).toBe(32); // mount(8): mount failure
    expect(refused.stderr).toContain(`mount: ${dir.path}: permission denied`);
    expect(control).toMatchObject({ code: 0, stdout: "1\n" });
    expect(hostMounts()).toBe(before);
  });

  test("raw unshare, clone with CLONE_NEWUSER and clone3 still work", () => {
    expect(attempts("apparmor", who, dir.path)).toMatchObject({ unshareUser: 0, cloneUser: 0, fork: 0, clonePlain: 0, clone3: 0 });
  });
});

describe.each(WHO)("docker, as %s", (who) => {
  test("namespace flags fail in unshare, clone (EPERM) and clone3 (ENOSYS); fork and plain clone work", () => {
    const seen = attempts("docker", who, dir.path);
    const control = attempts(null, who, dir.path);
    expect(seen).toMatchObject({ unshareUser: EPERM, unshareMount: EPERM, cloneUser: EPERM, clone3: ENOSYS, fork: 0, clonePlain: 0 });
    expect(control).toMatchObject({ unshareUser: 0, cloneUser: 0, clone3: 0 });
    if (who === "root") {
      expect({ unshareMount: control.unshareMount, setns: control.setnsOwnUts }).toEqual({ unshareMount: 0, setns: 0 });
      expect(seen.setnsOwnUts).toBe(EPERM);
    }
  });

  test("a shell forks, and a multithreaded Bun starts (libc falls back from clone3 to clone)", () => {
    const forked = both("docker", who, ["sh", "-c", "true & wait"]);
    expect([forked.refused.code, forked.control.code]).toEqual([0, 0]);
    const unset = Object.keys(SINGLE_THREAD_ENV).flatMap((k) => ["-u", k]);
    const threads = "Bun.sleepSync(50); console.log(/Threads:\\s*(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1])";
    const { refused, control } = both("docker", who, ["env", ...unset, "bun", "-e", threads]);
    for (const r of [refused, control]) {
      expect(r.code).toBe(0);
      expect(Number(r.stdout)).toBeGreaterThan(1);
    }
  });
});
