// The library (`sandbox()` from src/api) driven by a real, multithreaded Bun host process
// (test/fixtures/api-scenarios.ts), as root and as the unprivileged test user: streams and
// status fields like Bun.spawn/spawnSync, kill/timeout/abort, setup failures, the PID
// namespace's init (reaping, signal forwarding), dieWithParent, sessions, namespaces, status
// events, fd hygiene, concurrency, the warm/cold stage servers and plan round trips.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn } from "bun";
import { readFileSync } from "node:fs";
import { asWho, BUN, BUN_DIR, FALLBACK_ENV, ids, ROOT, run, WHO, type Who } from "../support/run.ts";
import { alive, killAll, pidsWith, until } from "../support/procs.ts";
import { HAVE_LXCFS, startLxcfs, type Lxcfs } from "../support/lxcfs.ts";

const FIXTURE = `${ROOT}/test/fixtures/api-scenarios.ts`;

// Scenario outcomes are parsed JSON, checked field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

interface ScenarioRun {
  out: Json;
  stderr: string;
}

const memo = new Map<string, ScenarioRun>();

/**
 * Runs one scenario as `who` (once per identity and arguments; tests share the outcome); fails
 * the test unless it printed one line of JSON and exited 0.
 */
function scenario(who: Who, name: string, ...args: string[]): ScenarioRun {
  const key = JSON.stringify([who, name, ...args]);
  const known = memo.get(key);
  if (known) return known;
  const r = run(who, [BUN, FIXTURE, name, ...args], { timeout: 45_000 });
  const lines = r.stdout.trim().split("\n");
  if (r.code !== 0 || lines.length !== 1) {
    throw new Error(`scenario ${name} as ${who}: exit ${r.code} (signal ${r.signal})\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
  const result = { out: JSON.parse(lines[0]!), stderr: r.stderr };
  memo.set(key, result);
  return result;
}

// Markers of sleeps the dieWithParent tests may leave behind when they fail; killed at the end.
const leftovers: { marker: string; server: number }[] = [];
afterAll(() => {
  for (const l of leftovers) {
    killAll(pidsWith(l.marker));
    let serverCmd = "";
    try {
      serverCmd = readFileSync(`/proc/${l.server}/cmdline`, "latin1");
    } catch {
      // gone, as it should be
    }
    if (serverCmd.includes("stage-server")) killAll([l.server]);
  }
});

/**
 * Starts the die-with-parent scenario, reads its first line (the host pid, the sleep's marker
 * and the stage server's pid), SIGKILLs the scenario process and reports which sleeps are left
 * after `waitMs` (polling: as soon as none is left when `expectGone`).
 */
/**
 * Runs the die-with-parent scenario as `who`, SIGKILLs the host (and with `withServer` its warm
 * stage server in the same instant, as `kill -9` of a process group would), then waits for the
 * sandbox to be gone (`expectGone`) or `waitMs`.
 */
async function killHost(who: Who, args: string[], expectGone: boolean, waitMs: number, withServer = false): Promise<{ info: Json; left: number[]; server: number }> {
  const env = { ...process.env, ...FALLBACK_ENV, PATH: `${BUN_DIR}:${process.env.PATH}`, ...(who === "user" ? { HOME: `/home/${ids(who).name}`, USER: ids(who).name } : {}) };
  const p = spawn([...asWho(who), BUN, FIXTURE, "die-with-parent", ...args], { env, cwd: "/", stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  let info: Json = null;
  try {
    const reader = p.stdout.getReader();
    let buf = "";
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), 20_000)));
    try {
      while (!buf.includes("\n")) {
        const chunk = await Promise.race([reader.read(), timeout]);
        if (!chunk || chunk.done) break;
        buf += new TextDecoder().decode(chunk.value);
      }
    } finally {
      clearTimeout(timer);
      reader.releaseLock();
    }
    if (!buf.includes("\n")) throw new Error(`die-with-parent ${args.join(" ")} as ${who} printed no line: ${JSON.stringify(buf)}; stderr: ${await new Response(p.stderr).text()}`);
    info = JSON.parse(buf.slice(0, buf.indexOf("\n")));
    if (info.error) throw new Error(`die-with-parent ${args.join(" ")} as ${who}: ${info.error}`);
    leftovers.push({ marker: info.marker, server: info.server });
    expect(info.pid).toBe(p.pid);
    expect(pidsWith(info.marker).length).toBeGreaterThan(0);
  } finally {
    if (withServer && info?.stageServer) process.kill(info.stageServer, "SIGKILL");
    p.kill("SIGKILL");
    await p.exited;
  }
  if (expectGone) await until(() => pidsWith(info.marker).length === 0, waitMs);
  else await Bun.sleep(waitMs);
  return { info, left: pidsWith(info.marker), server: info.server };
}

/** Kills what a dieWithParent test left and checks the stage server then goes away by itself. */
async function cleanUp(r: { info: Json; left: number[]; server: number }): Promise<boolean> {
  killAll(pidsWith(r.info.marker));
  const serverGone = await until(() => !alive(r.server), 5000);
  if (!serverGone) killAll([r.server]);
  return serverGone;
}

describe.each(WHO)("library as %s", (who) => {
  test("spawn: piped stdout/stderr, exit code and status fields, onExit arguments", () => {
    const { pipes } = scenario(who, "spawn-stdio").out;
    expect(pipes.stdout).toBe("out\n");
    expect(pipes.stderr).toBe("err\n");
    expect(pipes.resolved).toBe(3);
    expect(pipes.rejected).toBeNull();
    expect(pipes.exitCode).toBe(3);
    expect(pipes.signalCode).toBeNull();
    expect(pipes.killed).toBe(false);
    expect(pipes.stdinStream).toBe("undefined");
    expect(pipes.pidIsNumber).toBe(true);
    expect(pipes.onExit).toEqual({ sameProc: true, exitCode: 3, signalCode: null, error: null, calls: 1 });
  });

  test("spawn: stdin pipe, ignore, inherit and an extra fd in stdio[3]", () => {
    const { out, stderr } = scenario(who, "spawn-stdio");
    // write() twice then end(): the command reads all of it, then EOF
    expect(out.stdinPipe.stdout).toBe("hello world\n<eof>\n");
    expect(out.stdinPipe.exitCode).toBe(0);
    // "ignore": /dev/null (char 1:3) on stdin and stdout, and no stream on the host side
    expect(out.ignore.stdoutStream).toBe("undefined");
    expect(out.ignore.stderr).toBe("character special file 1:3\ncharacter special file 1:3\n");
    expect(out.ignore.exitCode).toBe(0);
    // "inherit": the command writes into the host's own stderr
    expect(out.inherit.fd2Inside).toBe(out.inherit.fd2Here);
    expect(out.inherit.stderrStream).toBe("undefined");
    expect(stderr).toContain(out.inherit.token);
    expect(out.inherit.exitCode).toBe(0);
    // stdio: [.., fd]: the host's open file is fd 3 in the sandbox; the host keeps its fd
    expect(out.extraFd.stdout).toBe("from fd 3\n");
    expect(out.extraFd.exitCode).toBe(0);
    expect(out.extraFd.stillOpenHere).toBe(10);
  });

  test("spawnSync: capture, stdin input, 1 MiB output, success, timeout, missing command", () => {
    const out = scenario(who, "spawn-sync").out;
    expect(out.captured).toEqual({ stdout: "out\n", stderr: "err\n", exitCode: 5, signalCode: null, success: false, error: null, exitedDueToTimeout: false, pidIsNumber: true });
    expect(out.ok).toEqual({ exitCode: 0, success: true, stdoutLength: 0 });
    expect(out.stdinString).toBe("line one\nline two\n");
    expect(out.stdinBytes).toBe("000102ff");
    expect(out.big).toEqual({ exitCode: 0, stdoutLength: 1048576, stdoutAllZero: true, stderrLength: 300000, stderrAllE: true });
    expect(out.timeout.exitedDueToTimeout).toBe(true);
    expect(out.timeout.signalCode).toBe("SIGTERM");
    expect(out.timeout.exitCode).toBeNull();
    expect(out.timeout.success).toBe(false);
    expect(out.timeout.error).toBeNull();
    expect(out.timeout.elapsed).toBeGreaterThanOrEqual(290);
    expect(out.timeout.elapsed).toBeLessThan(8000);
    expect(out.missing).toEqual({
      exitCode: 127, success: false, isSandboxError: true, errorExitCode: 127, message: "no-such-command-xyz: No such file or directory",
    });
  });

  test("kill(), timeout and AbortSignal end the command with the right signal", () => {
    const out = scenario(who, "kill").out;
    expect(out.plain).toEqual({ killedBefore: false, resolved: 143, rejected: null, exitCode: null, signalCode: "SIGTERM", killed: true });
    expect(out.sigkill).toEqual({ resolved: 137, rejected: null, exitCode: null, signalCode: "SIGKILL", killed: true });
    expect(out.timeout).toMatchObject({ resolved: 130, rejected: null, exitCode: null, signalCode: "SIGINT", killed: true });
    expect(out.timeout.elapsed).toBeGreaterThanOrEqual(290);
    expect(out.timeout.elapsed).toBeLessThan(8000);
    expect(out.timeoutDefault).toMatchObject({ resolved: 143, signalCode: "SIGTERM", killed: true });
    expect(out.abort).toMatchObject({ resolved: 137, rejected: null, exitCode: null, signalCode: "SIGKILL", killed: true });
    expect(out.abort.elapsed).toBeLessThan(5000);
    expect(out.afterExit).toEqual({ killed: false, exitCode: 0, signalCode: null });
  });

  test("errors reject `exited` with a SandboxError and the host keeps working", () => {
    const out = scenario(who, "errors").out;
    expect(out.missingCmd.rejected).toEqual({ name: "SandboxError", message: "no-such-command-xyz: No such file or directory", exitCode: 127, isSandboxError: true });
    expect(out.missingCmd.exitCode).toBe(127);
    expect(out.afterMissingCmd).toBe("still works\n");

    expect(out.missingSrc.rejected.isSandboxError).toBe(true);
    expect(out.missingSrc.rejected.exitCode).toBe(1);
    expect(out.missingSrc.rejected.message).toContain("/no/such/source-dir-xyz");
    expect(out.missingSrc.rejected.message).toContain("does not exist");
    expect(out.missingSrc.exitCode).toBe(1);
    expect(out.onExitError).toBe(`SandboxError: ${out.missingSrc.rejected.message}`);
    expect(out.afterMissingSrc).toBe("still works\n");

    // blocked on a FIFO during setup, then SIGKILLed
    expect(out.killedInSetup.stillRunningAt100ms).toBe(true);
    expect(out.killedInSetup.rejected).toEqual({ name: "SandboxError", message: "sandbox killed by SIGKILL during setup", exitCode: 137, isSandboxError: true });
    expect(out.killedInSetup.signalCode).toBe("SIGKILL");
    expect(out.afterKilled).toBe("still works\n");
    expect(out.syncTimeoutInSetup).toMatchObject({ exitedDueToTimeout: true, signalCode: "SIGTERM", exitCode: null, error: "sandbox killed by SIGTERM during setup", isSandboxError: true });
    expect(out.afterSync).toBe("still works\n");
  });

  test("unsharePid: the shell is PID 2, /proc shows only the sandbox, orphans are reaped", () => {
    const out = scenario(who, "pid-basics").out;
    expect(out.exitCode).toBe(0);
    expect(out.shellPid).toBe(2);
    expect(out.hasPid1).toBe(true);
    expect(out.procPids).toEqual([1, 2]);
    // the orphaned sleep ended and was reaped by PID 1: no zombie, nothing but 1 and 2
    expect(out.orphan.exitCode).toBe(0);
    expect(out.orphan.states.map((s: Json) => s.pid)).toEqual([1, 2]);
    expect(out.orphan.states.filter((s: Json) => s.state === "Z")).toEqual([]);
    // a background process outliving the command neither blocks nor fails the exit
    expect(out.outlive).toMatchObject({ stdout: "started\n", resolved: 0, rejected: null, exitCode: 0, signalCode: null });
    expect(out.outlive.elapsed).toBeLessThan(5000);
    // a command killed by SIGKILL is reported so, as by Bun.spawn (the init tells the relay, which dies alike)
    expect(out.selfKill).toEqual({ resolved: 137, rejected: null, exitCode: null, signalCode: "SIGKILL", killed: false });
  });

  test("unsharePid: TERM INT HUP QUIT USR1 USR2 WINCH sent with kill() reach the command", () => {
    const out = scenario(who, "pid-signals").out;
    for (const sig of ["SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH"]) {
      expect({ sig, first: out[sig].first, rest: out[sig].rest, exitCode: out[sig].exitCode, rejected: out[sig].rejected })
        .toEqual({ sig, first: "ready", rest: `got ${sig.slice(3)}`, exitCode: 0, rejected: null });
    }
  });

  test("unsharePid: kill() also ends the command's background processes", () => {
    const out = scenario(who, "pid-kill").out;
    expect(out.first).toBe("ready");
    expect(out.runningBefore).toBe(1);
    expect(out.killed).toBe(true);
    expect([out.exitCode, out.signalCode]).toEqual([null, "SIGTERM"]);
    expect(out.left).toBe(0);
  });

  describe("dieWithParent", () => {
    for (const mode of ["warm", "cold"]) {
      for (const pidns of ["nopid", "pid"]) {
        test(`${mode} server, ${pidns === "pid" ? "with" : "without"} unsharePid: the sandbox dies with the host`, async () => {
          const r = await killHost(who, [mode, pidns, "die"], true, 3000);
          const serverGone = await cleanUp(r);
          expect(r.left).toEqual([]);
          // the server exits once the host is gone and its sandboxes have ended
          expect(serverGone).toBe(true);
        });
      }
    }

    test("warm server killed with the host in the same instant: the sandbox dies too", async () => {
      const r = await killHost(who, ["warm", "nopid", "die"], true, 3000, true);
      expect(r.info.stageServer).toBeGreaterThan(0);
      await cleanUp(r);
      expect(r.left).toEqual([]);
    });

    test("the stage server killed, the host alive: dieWithParent sandboxes die, the others run on", () => {
      const out = scenario(who, "server-killed").out;
      expect(out.left).toBe(0);
      if (process.env.BUN_SANDBOX_NO_WORKER === "1") {
        // a forked sandbox is the server's child: with the server gone, nobody reports its exit
        for (const o of [out.plain, out.dies]) expect(o.rejected?.message).toBe("bun-sandbox: the stage server ended without reporting the sandbox's exit");
      } else {
        // the worker that started them outlives the server while it has sandboxes, and reports
        expect(out.dies).toMatchObject({ resolved: 137, signalCode: "SIGKILL" });
        expect(out.plain).toMatchObject({ resolved: 3, exitCode: 3 });
      }
      expect(out.after).toBe("still works\n");
      expect(out.newServer).toBe(true);
    });

    test("control: without dieWithParent the sandbox outlives the host", async () => {
      const r = await killHost(who, ["warm", "nopid", "nodie"], false, 500);
      const serverGone = await cleanUp(r);
      expect(r.left.length).toBe(1);
      expect(serverGone).toBe(true);
    });
  });

  test("newSession: the command leads its own session; without it, it does not", () => {
    const out = scenario(who, "new-session").out;
    expect(out.withSession.statPid).toBe(out.withSession.shellPid);
    expect(out.withSession.sid).toBe(out.withSession.shellPid);
    expect(out.asyncSession.sid).toBe(out.asyncSession.shellPid);
    expect(out.without.statPid).toBe(out.without.shellPid);
    expect(out.without.sid).not.toBe(out.without.shellPid);
    // like Bun.spawn: the command stays in the caller's session
    expect(out.without.sid).toBe(out.hostSid);
  });

  test("hostname() and unshareUts/unshareCgroup/unshareIpc/unshareNet make new namespaces", () => {
    const out = scenario(who, "namespaces").out;
    expect(out.hostname.exitCode).toBe(0);
    expect(out.hostname.inside).toBe("box-1");
    expect(out.hostname.hostAfter).toBe(out.hostname.hostBefore);
    expect(out.hostname.hostAfter).not.toBe("box-1");
    expect(out.hostname.utsInside).not.toBe(out.host.uts);
    // without flags only the mount namespace is new
    expect(out.plain.mnt).not.toBe(out.host.mnt);
    for (const ns of ["uts", "cgroup", "ipc", "net"]) expect(out.plain[ns]).toBe(out.host[ns]);
    // each flag: its own namespace is new, the others are the host's
    for (const ns of ["uts", "cgroup", "ipc", "net"]) {
      expect(out[ns][ns]).toMatch(new RegExp(`^${ns}:\\[\\d+\\]$`));
      expect(out[ns][ns]).not.toBe(out.host[ns]);
      for (const other of ["uts", "cgroup", "ipc", "net"].filter((o) => o !== ns)) expect(out[ns][other]).toBe(out.host[other]);
    }
  });

  test("onStatus: started (pid, namespaces) then exited", () => {
    const out = scenario(who, "on-status").out;
    expect(out.code).toBe(4);
    expect(out.events.map((e: Json) => e.type)).toEqual(["started", "exited"]);
    const [started, exited] = out.events;
    expect(started.pid).toBe(out.pid);
    expect(started.namespaces.mnt).toMatch(/^mnt:\[\d+\]$/);
    expect(started.namespaces.mnt).not.toBe(out.hostMnt);
    expect(started.namespaces.net).not.toBe(out.hostNet);
    expect(exited).toEqual({ type: "exited", pid: out.pid, exitCode: 4, signalCode: null });
    expect(out.syncEvents.map((e: Json) => e.type)).toEqual(["started", "exited"]);
    expect(out.syncEvents[0].pid).toBe(out.syncPid);
    expect(out.syncEvents[0].namespaces.mnt).not.toBe(out.hostMnt);
    expect(out.syncEvents[1]).toEqual({ type: "exited", pid: out.syncPid, exitCode: 0, signalCode: null });
  });

  test("only stdio and explicitly passed fds are open in the sandbox", () => {
    const out = scenario(who, "fds").out;
    expect(out.hostFds.length).toBeGreaterThanOrEqual(4);
    expect(out.syncFds).toEqual([0, 1, 2]);
    expect(out.asyncFds).toEqual([0, 1, 2]);
    expect(out.pidFds).toEqual([0, 1, 2]);
    expect(out.passedFds).toEqual([0, 1, 2, 3]);
    expect(out.passedContent).toBe("passed");
    expect(out.syncPassedFds).toEqual([0, 1, 2, 3]);
  });

  test("unsharePid works in a root without /proc", () => {
    expect(scenario(who, "pid-no-proc").out).toEqual({ exitCode: 0, stdout: "2\nno-proc\n", error: null });
  });

  test("writing to stdin after the command has exited is silent (EPIPE ignored, like Bun.spawn)", () => {
    const r = scenario(who, "stdin-after-exit");
    expect(r.out).toEqual({ error: null, exitCode: 0 });
    expect(r.stderr).toBe("");
  });

  test("host fds: streams read to the end, spawnSync, failures and timeouts leave none open", () => {
    const out = scenario(who, "host-fds").out;
    expect(out.consumed.after).toBe(out.consumed.before);
    // the baseline this library is measured against
    expect(out.bunSpawnUnread.after).toBe(out.bunSpawnUnread.before);
  });

  test("host fds: an unread stdout pipe (the default) is closed once the sandbox has ended and been collected", () => {
    const out = scenario(who, "host-fds").out;
    expect(out.unread.after - out.unread.before).toBe(0);
  });

  test("host fds: a \"pipe\" at stdio[3] is refused at spawn and leaves no fd behind", () => {
    const out = scenario(who, "host-fds").out;
    expect(out.extraPipe.error).toBe('SandboxError: stdio[3]: "pipe" is for stdin, stdout and stderr; pass an fd you opened (e.g. one end of a pipe) instead');
    expect(out.extraPipe.after - out.extraPipe.before).toBe(0);
  });

  test("50 sandboxes at once all report their own output and status", () => {
    const out = scenario(who, "concurrency", "50").out;
    expect(out.wrong).toEqual([]);
    expect(out.correct).toBe(50);
    expect(out.distinctPids).toBe(50);
  });

  test("warm: false and BUN_SANDBOX_WARM=0 run cold; a killed warm server is replaced", () => {
    const out = scenario(who, "warm-cold").out;
    expect(out.coldSync).toMatchObject({ oneshot: true, stageServer: true });
    expect(out.coldAsync).toMatchObject({ oneshot: true, stageServer: true, code: 0 });
    expect(out.coldAsync.server).not.toBe(out.coldSync.server);
    expect(out.warmPidAfterCold).toBeNull();
    expect(out.envCold).toMatchObject({ oneshot: true, stageServer: true });
    expect(out.warmPidWithEnv).toBeNull();
    expect(out.warm1).toMatchObject({ oneshot: false, stageServer: true });
    expect(out.warm1.server).toBe(out.warmPid1);
    expect(out.warm2.server).toBe(out.warmPid1);
    expect(out.afterKillSync.exitCode).toBe(0);
    expect(out.afterKillSync.error).toBeNull();
    expect(out.afterKillSync.stageServer).toBe(true);
    expect(out.afterKillSync.server).not.toBe(out.warmPid1);
    expect(out.oldServerAlive).toBe(false);
    expect(out.afterKillAsync).toMatchObject({ oneshot: false, stageServer: true, code: 0 });
    expect(out.warmPid2).toBe(out.afterKillAsync.server);
    expect(out.warmPid2).not.toBe(out.warmPid1);
  });

  test("a namespace worker runs plain plans: a fresh mount namespace each time; host mounts made later are seen", () => {
    const out = scenario(who, "worker").out;
    if (out.noWorker) {
      expect(out.first.parent).toBe(out.server);
    } else {
      // the command's parent is a worker the warm server forked
      expect(out.first.parent).not.toBe(out.server);
      expect(out.first.grandparent).toBe(out.server);
      expect(out.second.parent).toBe(out.first.parent);
      // other namespaces and a seccomp filter come with each command's chain: the same worker
      for (const other of [out.netWorker, out.syncWorker]) expect(other.parent).toBe(out.first.parent);
      // the worker is in another user namespace than any command, and not dumpable: no command
      // reaches its root through /proc, real root's neither
      expect(out.parentRoot).toBe("denied");
    }
    // a fresh mount namespace per sandbox: nothing of the first one's /tmp in the next
    expect(out.first.mnt).not.toBe(out.hostMnt);
    expect(out.secondSawMark).toBe("none");
    expect(out.signals).toBe("SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000");
    // a plan with fd packing is forked from the server itself
    expect(out.forked.parent).toBe(out.server);
    if (who === "root") expect(out.hostMount).toBe("fresh\ntmpfs");
  });

  test("fromPlan(toPlan()) runs the same sandbox", () => {
    const out = scenario(who, "plan-roundtrip").out;
    const expected = "x1|y 2|unset|/usr|rt-host|2|written\n";
    expect(out.original).toEqual({ stdout: expected, exitCode: 0 });
    expect(out.roundTrip).toEqual({ stdout: expected, exitCode: 0 });
    expect(out.roundTripAsync).toBe(expected);
    expect(out.planEqual).toBe(true);
  });
});

// A real FUSE filesystem: lxcfs, mounted by root.
describe.skipIf(!HAVE_LXCFS)("library with a FUSE source", () => {
  let lxcfs: Lxcfs | undefined;
  let dir = "";

  beforeAll(async () => {
    lxcfs = await startLxcfs();
    dir = lxcfs.dir;
  });

  afterAll(() => lxcfs?.stop());

  test.each(WHO)("as %s: a plan with a source on FUSE, directly or through a symlink, is forked (spawn() must not wait on a lookup there); the bind works", (who) => {
    const out = scenario(who, "fuse-source", dir).out;
    if (process.env.BUN_SANDBOX_NO_WORKER !== "1") expect(out.plain).not.toBe(out.server);
    expect(out.fuse).toBe(out.server);
    expect(out.fuseMeminfo).toBe(readFileSync(`${dir}/proc/meminfo`, "utf8").split("\n")[0]);
    // reached through a symlink: recognised all the same
    expect(out.viaLink).toBe(out.server);
    expect(out.viaLinkMeminfo).toBe(out.fuseMeminfo);
  });
});
