// Robustness of the library's host side (test/fixtures/api-robust.ts, run as root and as the
// unprivileged test user): one request's trouble fails that request only, shutdown() lets
// running sandboxes finish, the stage server's warm-up works on a host without /opt, and garbage
// on a status pipe is an error of that sandbox. Every scenario's control closes the servers'
// sockets (what the host used to do) and shows that kills the dieWithParent bystanders.
import { describe, expect, test } from "bun:test";
import { BIN, BUN, ROOT, run, WHO, type Who } from "../support/run.ts";

const FIXTURE = `${ROOT}/test/fixtures/api-robust.ts`;
const FORKED_ONLY = process.env.BUN_SANDBOX_NO_WORKER === "1";

// Scenario outcomes are parsed JSON, checked field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

function scenario(who: Who, name: string, prefix: string[] = []): Json {
  const r = run(who, [...prefix, BUN, FIXTURE, name], { timeout: 60_000 });
  const lines = r.stdout.trim().split("\n");
  if (r.code !== 0 || lines.length !== 1) {
    throw new Error(`scenario ${name} as ${who}: exit ${r.code} (signal ${r.signal})\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
  return JSON.parse(lines[0]!);
}

/** The control: both bystanders were killed by the socket close (SIGKILL), none is left. */
function expectControlKilled(control: Json): void {
  expect(control).toEqual({ ended: ["SIGKILL", "SIGKILL"], left: 0 });
}

describe.each(WHO)("library robustness as %s", (who) => {
  test("a bad fd in stdio fails that spawn with a SandboxError naming it; the server and other sandboxes are untouched", () => {
    const out = scenario(who, "bad-fd");
    const fix = 'pass an fd that stays open until spawn() returns, or "ignore"';
    expect(out.attempts.closed.threw).toEqual({ name: "SandboxError", isSandboxError: true, message: `bun-sandbox: stdio[3]: fd 777 is not open in this process (EBADF); ${fix}` });
    expect(out.attempts.neverOpen.threw).toEqual({ name: "SandboxError", isSandboxError: true, message: `bun-sandbox: stdio[1]: fd 54321 is not open in this process (EBADF); ${fix}` });
    if (out.ring) {
      // open, but refused by the kernel's sendmsg: told apart from a dead server
      for (const [a, slot] of [[out.attempts.ring, 3], [out.attempts.ringSync, 0]] as const) {
        expect(a.threw.isSandboxError).toBe(true);
        expect(a.threw.message).toMatch(new RegExp(`^bun-sandbox: stdio\\[${slot}\\]: fd \\d+ is an io_uring instance, which the kernel does not pass to another process \\(EINVAL\\)`));
      }
    }
    expect(out.after).toEqual({ bystanders: [1, 1], sameServer: true, serverAlive: true, stillWorks: "still works\n" });
    expectControlKilled(out.control);
  }, 70_000);

  test("a sandbox slow to start (its worker or the server stuck) fails that spawn after the timeout; the others run on; a late start is killed", () => {
    const out = scenario(who, "slow-start");
    const timedOut = /^bun-sandbox: the stage server did not start the sandbox within 1\.5 s .*BUN_SANDBOX_SPAWN_TIMEOUT_MS/;
    const cases = FORKED_ONLY ? [out.serverStuck] : [out.workerStuck, out.serverStuck];
    if (FORKED_ONLY) expect(out.workerStuck).toBeNull();
    for (const c of cases) {
      expect(c.tried.threw.isSandboxError).toBe(true);
      expect(c.tried.threw.message).toMatch(timedOut);
      expect(c.during).toEqual([1, 1]);
      // once it could go on, the late request started and was killed: nothing of it is left
      expect(c.settled).toBe(true);
      expect(c.lateLeft).toBe(0);
      expect(c.after).toEqual([1, 1]);
      expect(c.stillWorks).toBe("still works\n");
    }
    expect(out.lateKilled).toBe(cases.length);
    // the server the bystanders run in was only retired: it stays while they run
    expect(out.firstServerAlive).toBe(true);
    expectControlKilled(out.control);
  }, 70_000);

  test("shutdown() lets running sandboxes end with their own status; the next spawn starts a fresh server", () => {
    const out = scenario(who, "shutdown");
    expect(out.pidAfterShutdown).toBeNull();
    expect(out.next).toEqual({ stdout: "next\n", exitCode: 0 });
    expect(out.freshServer).toBe(true);
    expect(out.oldServerAliveMeanwhile).toBe(true);
    expect(out.ended.viaWorker).toEqual({ resolved: 7, rejected: null, exitCode: 7, signalCode: null });
    expect(out.ended.forked).toEqual({ resolved: 5, rejected: null, exitCode: 5, signalCode: null });
    // and it exits once they have
    expect(out.oldServerGone).toBe(true);
    expectControlKilled(out.control);
  }, 70_000);

  test("the stage server's warm-up works on a host without /opt", () => {
    // A root with /usr, /etc and the checkout but no /opt, made by the CLI.
    const root = [
      BIN, "--tmpfs", "/", "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc", "--ro-bind", ROOT, ROOT,
      "--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
      "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--chdir", "/",
    ];
    const out = scenario(who, "no-opt", root);
    expect(out.optExists).toBe(false);
    // the control: the warm-up's former sample plan fails right here
    expect(out.oldSample).toBe("overlay /usr (lower=/usr:/opt, upper=tmpfs): lower directory /opt does not exist; create it first");
    expect(out.direct).toBeNull();
    // the server ran its warm-up to the end (it replaced its pool) and still serves
    expect(out.full).toBe(true);
    expect(out.replaced).toBe(true);
    expect(out.serverAlive).toBe(true);
    expect(out.sameServer).toBe(true);
    expect(out.first.error).toBeNull();
    expect(out.second).toEqual({ stdout: "second\n", error: null });
  }, 70_000);

  test("garbage on a sandbox's status pipe: a SandboxError about the status, the exit still collected", () => {
    const out = scenario(who, "malformed-status");
    const details = [
      'not JSON: "not json"',
      'not an object: "[1,2]"',
      'unknown event: "{\\"event\\":\\"bogus\\"}"',
      '"exit" event without a valid wait status: "{\\"event\\":\\"exit\\"}"',
      '"spawned" event without a valid pid: "{\\"event\\":\\"spawned\\",\\"pid\\":\\"x\\"}"',
    ];
    expect(out.results.map((r: Json) => r.rejected)).toEqual(details.map((d) => ({
      name: "SandboxError", message: `bun-sandbox: malformed status from the stage server: ${d}`, exitCode: 1, isSandboxError: true,
    })));
    for (const r of out.results) expect([r.exitCode, r.signalCode]).toEqual([4, null]);
    expect(out.after).toEqual({ exitCode: 3, error: null });
  }, 70_000);

  test("a command killed by a real-time signal: exited resolves with 128+N", () => {
    expect(scenario(who, "rt-signal")).toEqual({ resolved: 168, rejected: null, exitCode: null, signalCode: "SIG40" });
  }, 70_000);
});
