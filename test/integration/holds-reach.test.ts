// Nothing of ours is in the command's reach, and no sandbox reaches another. The attack fixture,
// as the sandboxed command, scans every /proc/N it can see and tries to use the root, working
// directory and fds of each process outside its own tree (the supervisors: the --output-dir
// collector, PID 1 and the relay of a PID namespace, the namespace worker, the stage server); and
// tries setns, ptrace, /proc/PID/root and /proc/PID/mem on another sandbox of the same kind (the
// same warm worker), as root and as the test user. Controls: the same attempts reach a process
// of the command's own, and with the protections off (unsealed, supervisors left dumpable) the
// supervisor.
import { afterAll, describe, expect, test } from "bun:test";
import { spawn } from "bun";
import { asWho, BIN, BUN, envFor, ROOT, run, tempDir, WHO, type Who } from "../support/run.ts";
import { ATTACK_ENV, attackArgv, removeAttacksBundle } from "../support/attacks.ts";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

afterAll(() => removeAttacksBundle());

const SETENV = Object.entries(ATTACK_ENV).flatMap(([k, v]) => ["--setenv", k, v]);
const DUMPABLE = { BUN_SANDBOX_TEST_DUMPABLE: "1" };

function lastJson(stdout: string, stderr: string): Json {
  try {
    return JSON.parse(stdout.trim().split("\n").pop() ?? "");
  } catch {
    throw new Error(`no JSON: ${stdout}\n${stderr}`);
  }
}

/** The fixture's line from a library sandbox (escape-lib.ts). */
function lib(who: Who, mode: "run" | "cross", spec: Json, env: Record<string, string | undefined> = {}): Json {
  const r = run(who, [BUN, `${ROOT}/test/fixtures/escape-lib.ts`, mode, JSON.stringify({ ...spec, env: ATTACK_ENV })], { env });
  const o = lastJson(r.stdout, r.stderr);
  if (o.error) throw new Error(`library sandbox: ${o.error}\n${o.stderr}`);
  return { ...lastJson(o.stdout, o.stderr), target: o.target };
}

/** A CLI sandbox running the process scan, with an --output-dir collector as its parent. */
function cliScan(who: Who, flags: string[], env: Record<string, string> = {}): Json {
  const t = tempDir(who, "bsb-reach-", "/var/tmp");
  try {
    const r = run(who, [BIN, ...flags, "--read-only-dir", "/", "--output-dir", `${t.path}/out`, ...SETENV, "--", ...attackArgv("procscan")], { env });
    return lastJson(r.stdout, r.stderr);
  } finally {
    t.cleanup();
  }
}

const byParent = (o: Json) => o.reached.filter((r: Json) => r.pid === o.parent);

describe.each(WHO)("as %s", (who) => {
  const sealFlag = who === "root" ? ["--seal"] : [];
  const openFlag = who === "root" ? [] : ["--no-seal"];

  test("CLI --output-dir: the collector holds a host directory fd, out of reach; every layer alone holds", () => {
    const sealed = cliScan(who, sealFlag);
    expect(sealed.seen).toBeGreaterThan(0);
    expect(sealed.reached).toEqual([]);
    // The seal alone (supervisor left dumpable) and, for the user, non-dumpable alone (unsealed).
    expect(cliScan(who, sealFlag, DUMPABLE).reached).toEqual([]);
    if (who === "user") expect(cliScan(who, openFlag).reached).toEqual([]);
  });

  test("CLI control: unsealed with a dumpable collector, the scan reaches it and its host fds", () => {
    const open = cliScan(who, openFlag, DUMPABLE);
    const parent = byParent(open);
    expect(parent.length).toBeGreaterThan(0);
    expect(parent.some((r: Json) => r.what.startsWith("fd ") && r.target.startsWith("/var/tmp/bsb-reach-"))).toBe(true);
  });

  test("library: from a worker sandbox and a forked one with a PID namespace, no process of ours is reachable", () => {
    const worker = lib(who, "run", { argv: attackArgv("procscan") });
    expect(worker.seen).toBeGreaterThan(0);
    expect(worker.reached).toEqual([]);
    const forked = lib(who, "run", { pid: true, argv: attackArgv("procscan") });
    expect(forked.reached).toEqual([]);
    // PID 1 left dumpable: the seal alone still holds.
    expect(lib(who, "run", { pid: true, argv: attackArgv("procscan") }, DUMPABLE).reached).toEqual([]);
  });

  test("library control: unsealed with a dumpable PID 1, the scan reaches its parent", () => {
    const open = lib(who, "run", { pid: true, unsealed: true, argv: attackArgv("procscan") }, DUMPABLE);
    expect(byParent(open).length).toBeGreaterThan(0);
  });

  for (const forked of [false, true]) {
    test(`two library sandboxes (${forked ? "forked" : "one warm worker"}): no setns, ptrace or /proc reach from one into the other`, () => {
      const o = lib(who, "cross", { argv: attackArgv("cross") }, forked ? { BUN_SANDBOX_NO_WORKER: "1" } : { BUN_SANDBOX_NO_WORKER: undefined });
      for (const [k, v] of Object.entries(o.other)) expect([k, v]).not.toEqual([k, "ok"]);
      // Control: the same attempts on a child of the attacker's own.
      expect({ mnt: o.ownChild.setns_mnt, ptrace: o.ownChild.ptrace, root: o.ownChild.root, mem: o.ownChild.mem })
        .toEqual({ mnt: "ok", ptrace: "ok", root: "ok", mem: "ok" });
    });
  }

  test("two CLI sandboxes: no setns, ptrace or /proc reach from one into the other", async () => {
    const b = spawn([...asWho(who), BIN, ...sealFlag, "--ro-bind", "/", "/", "--", "sleep", "1000"], { env: envFor(who), stdout: "ignore", stderr: "ignore" });
    try {
      await Bun.sleep(200);
      const r = run(who, [BIN, ...sealFlag, "--ro-bind", "/", "/", "--tmpfs", "/tmp", "--proc", "/proc", ...SETENV, "--", ...attackArgv("cross", String(b.pid))]);
      const o = lastJson(r.stdout, r.stderr);
      for (const [k, v] of Object.entries(o.other)) expect([k, v]).not.toEqual([k, "ok"]);
      expect({ ptrace: o.ownChild.ptrace, root: o.ownChild.root }).toEqual({ ptrace: "ok", root: "ok" });
    } finally {
      b.kill("SIGKILL");
      await b.exited;
    }
  });
});
