// `sandbox --enter PID`: a command run in the namespaces of a running sandbox (one started by
// the CLI, one by the library with a PID namespace and a hostname) sees what the sandbox sees,
// as root and as the unprivileged test user; exit statuses, signal forwarding, namespace
// subsets, usage errors and refusals across users.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { spawn, type Subprocess } from "bun";
import { asWho, BIN, envFor, ids, IS_ROOT, run, sandbox, WHO } from "../support/run.ts";
import { cliTarget, libTarget, missingPid, nsLinks, NS_SCRIPT, parseNs, type Target } from "../support/enter.ts";

const CLI_SANDBOX = ["--ro-bind", "/", "/", "--unshare-ipc", "--unshare-net", "--tmpfs", "/tmp", "--write", "marker", "/tmp/marker"];
const FD_LIST = `for f in /proc/self/fd/*; do [ -e "$f" ] && echo "fd \${f##*/}"; done; true`;
// The shell's own pid as the /proc it sees reports it (read by the shell itself, no subprocess).
const PROC_SELF = `read -r procpid rest < /proc/self/stat; echo "pid $$ $procpid"`;

describe.each(WHO)("as %s", (who) => {
  let cli: Target;
  let lib: Target;

  beforeAll(async () => {
    [cli, lib] = await Promise.all([cliTarget(who, CLI_SANDBOX), libTarget(who)]);
  }, 30_000);

  afterAll(async () => {
    await Promise.all([cli?.stop(), lib?.stop()]);
  });

  test("a CLI sandbox: the command has the target's namespaces and root, sees /tmp/marker", () => {
    const r = sandbox(who, ["--enter", String(cli.pid), "--", "sh", "-c", `${NS_SCRIPT}; cat /tmp/marker; echo; pwd; ${PROC_SELF}`]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(parseNs(r.stdout)).toEqual(nsLinks(cli.pid));
    const lines = r.stdout.split("\n");
    expect(lines).toContain("marker");
    expect(lines).toContain("/");
    // No PID namespace: /proc is the host's, where the command finds itself.
    const m = /^pid (\d+) (\d+)$/m.exec(r.stdout)!;
    expect(m[1]).toBe(m[2]);
    // The target's namespaces differ from the caller's where the sandbox unshared them.
    const host = nsLinks("self");
    expect(nsLinks(cli.pid).mnt).not.toBe(host.mnt);
    expect(nsLinks(cli.pid).net).not.toBe(host.net);
    expect(nsLinks(cli.pid).user === host.user).toBe(who === "root");
  });

  test("without a PID or time namespace the command replaces the CLI (same pid)", async () => {
    const p = spawn([...asWho(who), BIN, "--enter", String(cli.pid), "--", "sh", "-c", "echo $$"], { env: envFor(who), stdout: "pipe", stderr: "pipe" });
    const out = await new Response(p.stdout).text();
    expect(await p.exited).toBe(0);
    expect(Number(out.trim())).toBe(p.pid);
  });

  test("a library sandbox with a PID namespace: $$ is not 1, pid namespace, /proc, hostname and cwd are the target's", () => {
    const r = sandbox(who, ["--enter", String(lib.pid), "--", "sh", "-c", `${NS_SCRIPT}; echo "host $(hostname)"; cat /tmp/marker; echo "cwd $(pwd)"; ${PROC_SELF}`]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(parseNs(r.stdout)).toEqual(nsLinks(lib.pid));
    // Those were entered for real: the target's differ from the caller's.
    const host = nsLinks("self");
    for (const ns of ["mnt", "pid", "net", "ipc", "uts", "cgroup"]) expect(nsLinks(lib.pid)[ns]).not.toBe(host[ns]!);
    expect(r.stdout).toContain("host inner\n");
    expect(r.stdout).toContain("marker\n");
    // The target's working directory is the default.
    expect(r.stdout).toContain("cwd /tmp/work\n");
    const m = /^pid (\d+) (\d+)$/m.exec(r.stdout)!;
    expect(Number(m[1])).toBeGreaterThan(1);
    // The sandbox mounted a /proc of its PID namespace: the command finds itself there by its pid in that namespace.
    expect(m[2]).toBe(m[1]);
  });

  test("--chdir sets the working directory inside the target's root; a missing one is a setup error", () => {
    expect(sandbox(who, ["--enter", String(lib.pid), "--chdir", "/tmp", "pwd"]).stdout).toBe("/tmp\n");
    const bad = sandbox(who, ["--enter", String(lib.pid), "--chdir", "/no/such/dir", "pwd"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(`sandbox: enter ${lib.pid}: chdir /no/such/dir: No such file or directory (ENOENT)\n`);
  });

  test("exit status is the command's; 127 not found, 126 not executable", () => {
    expect(sandbox(who, ["--enter", String(cli.pid), "sh", "-c", "exit 7"]).code).toBe(7);
    expect(sandbox(who, ["--enter", String(lib.pid), "sh", "-c", "exit 9"]).code).toBe(9);
    const missing = sandbox(who, ["--enter", String(lib.pid), "no-such-command-xyz"]);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toBe("sandbox: no-such-command-xyz: No such file or directory\n");
    expect(sandbox(who, ["--enter", String(cli.pid), "/tmp/marker"]).code).toBe(126);
  });

  test("signals sent to the process outside the PID namespace are forwarded; its status is the command's", async () => {
    const p = spawn([...asWho(who), BIN, "--enter", String(lib.pid), "--", "sh", "-c", "trap 'exit 42' TERM; echo ready; while :; do sleep 0.05; done"], {
      env: envFor(who), stdout: "pipe", stderr: "pipe",
    });
    const reader = p.stdout.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toBe("ready\n");
    p.kill("SIGTERM");
    expect(await p.exited).toBe(42);
    reader.releaseLock();
    expect(await new Response(p.stderr).text()).toBe("");
  });

  test("--namespaces enters only those", () => {
    // Unprivileged, the sandbox's namespaces are reachable only through its user namespace.
    const subset = who === "root" ? "uts,net" : "user,uts,net";
    const r = sandbox(who, ["--enter", String(lib.pid), "--namespaces", subset, "--", "sh", "-c", `${NS_SCRIPT}; hostname`]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const target = nsLinks(lib.pid);
    const host = nsLinks("self");
    const got = parseNs(r.stdout);
    expect(got.uts).toBe(target.uts!);
    expect(got.net).toBe(target.net!);
    expect(got.mnt).toBe(host.mnt!);
    expect(got.pid).toBe(host.pid!);
    expect(got.ipc).toBe(host.ipc!);
    expect(got.user).toBe(who === "root" ? host.user! : target.user!);
    expect(r.stdout).toEndWith("inner\n");
  });

  test("environment: the caller's, none of the CLI's own variables; only stdio reaches the command", () => {
    const r = run(who, ["sh", "-c", `exec 5</etc/hostname; exec ${BIN} --enter ${cli.pid} sh -c 'env; ${FD_LIST}'`], { env: { ENTER_TEST: "yes" } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("ENTER_TEST=yes\n");
    expect(r.stdout).not.toContain("BUN_JSC_");
    expect(r.stdout).not.toContain("MIMALLOC_");
    expect(r.stdout).not.toContain("BUN_SANDBOX_SHEBANG");
    expect(r.stdout).not.toContain("BUN_SANDBOX_SAVED_ENV");
    const fds = r.stdout.split("\n").filter((l) => l.startsWith("fd ")).map((l) => Number(l.slice(3)));
    expect(fds).toEqual([0, 1, 2]);
  });

  test("an invalid namespace name is a usage error (exit 2, one line)", () => {
    const r = sandbox(who, ["--enter", String(cli.pid), "--namespaces", "net,bogus", "true"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('sandbox: --namespaces: unknown namespace "bogus" (known: user, mnt, pid, net, ipc, uts, cgroup, time)\n');
    expect(sandbox(who, ["--enter", "12ab", "true"]).code).toBe(2);
    expect(sandbox(who, ["--enter", String(cli.pid), "--tmpfs", "/tmp", "true"]).code).toBe(2);
  });

  test("a pid that does not exist: one line, exit 1", () => {
    const pid = missingPid();
    const r = sandbox(who, ["--enter", String(pid), "true"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`sandbox: enter ${pid}: No such process (ESRCH)\n`);
  });
});

describe.if(IS_ROOT)("across users", () => {
  const user = ids("user");
  let rootBox: Target;
  let userBox: Target;
  let rootSleep: Subprocess;

  beforeAll(async () => {
    [rootBox, userBox] = await Promise.all([
      // A sandbox root made, whose command runs as the test user: the user can read its
      // namespace links but owns none of them.
      cliTarget("root", ["--ro-bind", "/", "/", "--unshare-ipc", "--unshare-net"], ["setpriv", `--reuid=${user.uid}`, `--regid=${user.gid}`, "--clear-groups", "--", "sleep", "60"]),
      cliTarget("user", CLI_SANDBOX),
    ]);
    // A plain process of root's.
    rootSleep = spawn(["sleep", "60"], { stdout: "ignore", stderr: "ignore" });
  }, 30_000);

  afterAll(async () => {
    rootSleep?.kill("SIGKILL");
    await Promise.all([rootBox?.stop(), userBox?.stop(), rootSleep?.exited]);
  });

  test("the test user entering a sandbox root made: per-namespace EPERM, exit 1", () => {
    const r = sandbox("user", ["--enter", String(rootBox.pid), "true"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`sandbox: enter ${rootBox.pid}: setns(ipc): Operation not permitted (EPERM)\n`);
    const mnt = sandbox("user", ["--enter", String(rootBox.pid), "--namespaces", "mnt", "true"]);
    expect(mnt.stderr).toBe(`sandbox: enter ${rootBox.pid}: setns(mnt): Operation not permitted (EPERM)\n`);
  });

  test("the test user and a process of root's: not accessible, one line, exit 1", () => {
    const pid = rootSleep.pid;
    const r = sandbox("user", ["--enter", String(pid), "true"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toStartWith(`sandbox: enter ${pid}: cannot read /proc/${pid}/ns: Permission denied (EACCES); `);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });

  test("unprivileged: entering its own sandbox's user namespace is what makes the others enterable", () => {
    const r = sandbox("user", ["--enter", String(userBox.pid), "--namespaces", "mnt", "true"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`sandbox: enter ${userBox.pid}: setns(mnt): Operation not permitted (EPERM); its user namespace owns it: enter that too (add user to the namespace list)\n`);
  });

  test("root entering the test user's sandbox: user namespace last, the command takes the target's ids", () => {
    const r = sandbox("root", ["--enter", String(userBox.pid), "--", "sh", "-c", `${NS_SCRIPT}; id -u; id -g; id -G; cat /tmp/marker`]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(parseNs(r.stdout)).toEqual(nsLinks(userBox.pid));
    const tail = r.stdout.trim().split("\n").slice(-4);
    expect(tail).toEqual([String(user.uid), String(user.gid), String(user.gid), "marker"]);
  });
});

// A time namespace applies to children only, like a PID namespace: --enter forks for it. The
// target is made with util-linux unshare(1), its boot-time clock a day ahead of the host's.
describe.each(WHO)("a time namespace, as %s", (who) => {
  const DAY = 86400;
  let holder: Subprocess | undefined;
  let target = 0;

  beforeAll(async () => {
    const userns = who === "user" ? ["--user", "--map-current-user"] : [];
    holder = spawn([...asWho(who), "unshare", ...userns, "--time", "--boottime", String(DAY), "--fork", "sleep", "60"], {
      env: envFor(who), stdin: "ignore", stdout: "ignore", stderr: "inherit",
    });
    // unshare forks: the sleep is its child, in the new time namespace
    const end = Date.now() + 10_000;
    while (target === 0 && Date.now() < end) {
      const children = readFileSync(`/proc/${holder.pid}/task/${holder.pid}/children`, "utf8").trim();
      if (children) target = Number(children.split(" ")[0]);
      else await Bun.sleep(10);
    }
    if (target === 0) throw new Error("unshare --time did not start its child");
  });

  afterAll(async () => {
    holder?.kill("SIGKILL");
    if (target) process.kill(target, "SIGKILL");
    await holder?.exited;
  });

  test("the command has the target's time namespace: the boot-time clock is a day ahead", () => {
    const hostUptime = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
    const namespaces = who === "user" ? "user,time" : "time";
    const r = sandbox(who, ["--enter", String(target), "--namespaces", namespaces, "--", "sh", "-c", "readlink /proc/self/ns/time; cat /proc/uptime"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const [ns, uptime] = r.stdout.trim().split("\n");
    expect(ns).toBe(nsLinks(target).time);
    expect(ns).not.toBe(nsLinks("self").time);
    expect(Number(uptime!.split(" ")[0])).toBeGreaterThan(hostUptime + DAY - 60);
  });
});
