// The library's enter(pid).spawn/spawnSync, as root and as the unprivileged test user, against a
// library sandbox with a PID namespace and a hostname (test/fixtures/enter-target.ts): what the
// command observes, exit codes, kill(), timeout, onExit, onStatus, options and errors. The
// commands run from test/fixtures/api-enter.ts (a Bun process of the identity under test).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { BUN, ids, IS_ROOT, ROOT, run, type Who, WHO } from "../support/run.ts";
import { cliTarget, libTarget, missingPid, nsLinks, parseNs, type Target } from "../support/enter.ts";

interface Sync {
  exitCode: number | null;
  signalCode: string | null;
  success: boolean;
  stdout: string | null;
  stderr: string | null;
  error: { message: string; exitCode: number; errno: number | null } | null;
  timedOut: boolean;
}

type SyncKey = "observe" | "exit7" | "notFound" | "timeoutSync" | "subset" | "subsetArray" | "cwd" | "cwdSpawn" | "env" | "envSpawn" | "envDefault" | "fds" | "missingSync";

type Results = Record<SyncKey, Sync> & {
  statuses: { type: string; pid: number; namespaces?: Record<string, string>; exitCode?: number | null }[];
  kill: { first: string; code: number; exitCode: number | null; signalCode: string | null; killed: boolean; onExit: { exitCode: number | null; signalCode: string | null; error: string | null } };
  timeout: { code: number; exitCode: number | null; ms: number };
  missingAsync: { resolved?: number; rejected?: string };
  badName: { planError: boolean; message: string } | null;
  badPid: { planError: boolean; message: string } | null;
  foreign: Sync[];
};

const envLines = (s: Sync) => (s.stdout ?? "").split("\n").filter((l) => l !== "");

describe.each(WHO)("as %s", (who: Who) => {
  let target: Target;
  let foreign: Target | null = null;
  let r: Results;
  const missing = missingPid();

  beforeAll(async () => {
    target = await libTarget(who);
    if (IS_ROOT && who === "user") {
      // A sandbox root made whose command runs as the test user: readable, not enterable.
      const u = ids("user");
      foreign = await cliTarget("root", ["--ro-bind", "/", "/", "--unshare-ipc", "--unshare-net"], ["setpriv", `--reuid=${u.uid}`, `--regid=${u.gid}`, "--clear-groups", "--", "sleep", "60"]);
    }
    const subset = who === "root" ? "uts,net" : "user,uts,net";
    const args = [String(target.pid), String(missing), subset, ...(foreign ? [String(foreign.pid), "1"] : [])];
    const res = run(who, [BUN, `${ROOT}/test/fixtures/api-enter.ts`, ...args], { timeout: 40_000 });
    if (res.code !== 0 || res.stderr !== "") throw new Error(`api-enter fixture failed (${res.code}): ${res.stderr}`);
    r = JSON.parse(res.stdout) as Results;
  }, 50_000);

  afterAll(async () => {
    await Promise.all([target?.stop(), foreign?.stop()]);
  });

  test("the command has the target's namespaces, root, hostname, /proc and working directory; $$ is not 1", () => {
    const o = r.observe;
    expect(o.error).toBeNull();
    expect(o.stderr).toBe("");
    expect(o.exitCode).toBe(0);
    expect(parseNs(o.stdout!)).toEqual(nsLinks(target.pid));
    expect(o.stdout).toContain("host inner\n");
    expect(o.stdout).toContain("marker\n");
    expect(o.stdout).toContain("cwd /tmp/work\n");
    const m = /^pid (\d+) (\d+)$/m.exec(o.stdout!)!;
    expect(Number(m[1])).toBeGreaterThan(1);
    expect(m[2]).toBe(m[1]);
  });

  test("onStatus: started with the command's namespaces, then exited", () => {
    const [started, exited] = r.statuses;
    expect(started!.type).toBe("started");
    const links = nsLinks(target.pid);
    for (const ns of ["user", "mnt", "pid", "net", "ipc", "uts", "cgroup"]) expect(started!.namespaces![ns]).toBe(links[ns]!);
    expect(exited).toMatchObject({ type: "exited", pid: started!.pid, exitCode: 0 });
  });

  test("exit status is the command's; 127 with the reason when it is not found", () => {
    expect(r.exit7).toMatchObject({ exitCode: 7, success: false, error: null });
    expect(r.notFound.exitCode).toBe(127);
    expect(r.notFound.error).toEqual({ message: "no-such-command-xyz: No such file or directory", exitCode: 127, errno: 2 });
  });

  test("kill() reaches the command through the process outside the PID namespace; onExit sees the status", () => {
    expect(r.kill.first).toBe("ready\n");
    expect(r.kill).toMatchObject({ code: 42, exitCode: 42, signalCode: null, killed: true });
    expect(r.kill.onExit).toEqual({ exitCode: 42, signalCode: null, error: null });
  });

  test("timeout kills the command (spawn and spawnSync)", () => {
    expect(r.timeout.code).toBe(128 + 15);
    expect(r.timeout.ms).toBeLessThan(10_000);
    expect(r.timeoutSync.timedOut).toBe(true);
    expect([r.timeoutSync.exitCode, r.timeoutSync.signalCode]).toEqual([null, "SIGTERM"]);
  });

  test("namespaces: only those are entered (string or array)", () => {
    const got = parseNs(r.subset.stdout!);
    const t = nsLinks(target.pid);
    // The fixture runs as `who` in the host's namespaces, like this test's process.
    const host = nsLinks("self");
    expect(r.subset.exitCode).toBe(0);
    expect(got.uts).toBe(t.uts!);
    expect(got.net).toBe(t.net!);
    expect(got.mnt).toBe(host.mnt!);
    expect(got.pid).toBe(host.pid!);
    expect(got.ipc).toBe(host.ipc!);
    expect(got.user).toBe(who === "root" ? host.user! : t.user!);
    expect(r.subset.stdout).toEndWith("inner\n");
    expect(r.subsetArray.stdout).toBe("inner\n");
  });

  test("cwd and env: enter()'s options, overridden by the spawn's; never the stage's own variables", () => {
    expect(r.cwd.stdout).toBe("/tmp\n");
    expect(r.cwdSpawn.stdout).toBe("/\n");
    expect(envLines(r.env).filter((l) => !l.startsWith("PWD="))).toEqual(["ENTER_VAR=from-enter", "PATH=/usr/bin:/bin"]);
    expect(envLines(r.envSpawn).filter((l) => !l.startsWith("PWD="))).toEqual(["OTHER=1"]);
    const dflt = envLines(r.envDefault);
    expect(dflt.some((l) => l.startsWith("PATH="))).toBe(true);
    expect(dflt.filter((l) => /^(BUN_JSC_|MIMALLOC_)/.test(l))).toEqual([]);
  });

  test("only stdio and the fds passed in stdio reach the command", () => {
    expect(r.fds.exitCode).toBe(0);
    expect(envLines(r.fds)).toEqual(["fd 0", "fd 1", "fd 2", "fd 3"]);
  });

  test("a pid that does not exist: spawnSync reports it, spawn's exited rejects, exit 1", () => {
    expect(r.missingSync.exitCode).toBe(1);
    expect(r.missingSync.error).toEqual({ message: `enter ${missing}: No such process (ESRCH)`, exitCode: 1, errno: 3 });
    expect(r.missingAsync).toEqual({ rejected: `enter ${missing}: No such process (ESRCH)` });
  });

  test("an invalid namespace name or pid throws a PlanError at enter()", () => {
    expect(r.badName).toEqual({ planError: true, message: 'enter().namespaces: unknown namespace "bogus" (known: user, mnt, pid, net, ipc, uts, cgroup, time)' });
    expect(r.badPid?.planError).toBe(true);
    expect(r.badPid?.message).toContain("invalid process id 0");
  });

  if (IS_ROOT && who === "user") test("the test user cannot enter a sandbox root made (EPERM) nor a process of root's (EACCES)", () => {
    const [rootBox, init] = r.foreign;
    expect(rootBox!.exitCode).toBe(1);
    expect(rootBox!.error).toEqual({ message: `enter ${foreign!.pid}: setns(ipc): Operation not permitted (EPERM)`, exitCode: 1, errno: 1 });
    expect(init!.exitCode).toBe(1);
    expect(init!.error?.message).toStartWith("enter 1: cannot read /proc/1/ns: Permission denied (EACCES); ");
    expect(init!.error?.errno).toBe(13);
  });
});
