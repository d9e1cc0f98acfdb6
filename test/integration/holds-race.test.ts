// Setup works on fds, not names: while sandboxes are set up with operations below a writable
// bind (a write, a directory, a tmpfs, a symlink, a chmod), a racing process on the host keeps
// swapping the directory they go into for a symlink to a host directory it wants them to land
// in (by its host path, and by its path under the workspace's /oldroot, which a setup that
// re-walks names would reach). Over many runs nothing appears in that directory and its mode is
// unchanged; a setup may fail, and some do, which shows the race was hit. Control: a writer
// that goes by name, racing the same way, does land there. CLI and library, root and user.
import { describe, expect, test } from "bun:test";
import { spawn, type Subprocess } from "bun";
import { mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { alive, childrenOf, killAll, until } from "../support/procs.ts";
import { asWho, BIN, BUN, envFor, ROOT, run, tempDir, WHO, type TempDir, type Who } from "../support/run.ts";

const RUNS = 60;

/** T: the writable bind's source (T/sub the raced directory); H: where the racer points. */
function layout(who: Who): { t: TempDir; h: TempDir } {
  const t = tempDir(who, "bsb-race-src-", "/var/tmp");
  const h = tempDir(who, "bsb-race-host-", "/var/tmp");
  mkdirSync(`${t.path}/sub`);
  writeFileSync(`${h.path}/keep`, "");
  t.own();
  h.own();
  return { t, h };
}

/**
 * Swaps T/sub for a symlink to H (by its host path, or by /oldroot + it) and back, until killed;
 * one byte appended to T.count per round (its size is read: a rewritten number can be caught empty).
 */
function racer(who: Who, t: string, h: string): Subprocess {
  const script = `cd ${t}; while :; do mv sub sub.real 2>/dev/null; ln -s ${h} sub; rm -f sub; ln -s /oldroot${h} sub; rm -f sub; mv sub.real sub 2>/dev/null; printf . >> ${t}.count; done`;
  return spawn([...asWho(who), "sh", "-c", script], { env: envFor(who), stdout: "ignore", stderr: "ignore" });
}


/** Kills the racer and waits until none of its processes is left, so the cleanup is not raced. */
async function stopRacer(r: Subprocess): Promise<void> {
  // Stopped first, so it starts no child between the listing and the kill.
  r.kill("SIGSTOP");
  // Its mv/ln/rm go on running when the shell is killed.
  const children = childrenOf(r.pid);
  r.kill("SIGKILL");
  await r.exited;
  killAll(children);
  await until(() => !children.some(alive), 1000);
}

const OPS = (d: string) => [
  "--write", "data", `${d}/sub/x/file`, "--dir", `${d}/sub/dir`, "--tmpfs", `${d}/sub/t`, "--symlink", "target", `${d}/sub/link`, "--chmod", "0700", `${d}/sub`,
];

function untouched(h: string): void {
  expect(readdirSync(h)).toEqual(["keep"]);
  expect(statSync(h).mode & 0o777).toBe(0o755);
}

async function raced(who: Who, runOne: (t: string) => number): Promise<{ failed: number; swaps: number }> {
  const { t, h } = layout(who);
  const r = racer(who, t.path, h.path);
  try {
    let failed = 0;
    for (let i = 0; i < RUNS; i++) if (runOne(t.path) !== 0) failed++;
    const swaps = Bun.file(`${t.path}.count`).size;
    untouched(h.path);
    return { failed, swaps };
  } finally {
    await stopRacer(r);
    t.cleanup();
    h.cleanup();
    run("root", ["rm", "-f", `${t.path}.count`]);
  }
}

describe.each(WHO)("as %s", (who) => {
  test(`CLI: ${RUNS} setups raced by a symlink swap leave the host directory untouched`, async () => {
    // The bind goes where the directory is on the host (the read-only root has no room for a new one).
    const { failed, swaps } = await raced(who, (t) => run(who, [BIN, "--ro-bind", "/", "/", "--bind", t, t, ...OPS(t), "true"]).code);
    expect(swaps).toBeGreaterThan(RUNS);
    // Some setups met the symlink (and failed, safely), some ran through: the race was hit both ways.
    expect(failed).toBeGreaterThan(0);
    expect(failed).toBeLessThan(RUNS);
  }, 60_000);

  test(`library (worker and forked): ${RUNS} raced setups leave the host directory untouched`, async () => {
    for (const forked of [false, true]) {
      const { t, h } = layout(who);
      const r = racer(who, t.path, h.path);
      try {
        const out = run(who, [BUN, `${ROOT}/test/fixtures/escape-race.ts`, t.path, String(RUNS)], { env: forked ? { BUN_SANDBOX_NO_WORKER: "1" } : {}, timeout: 60_000 });
        const o = JSON.parse(out.stdout.trim().split("\n").pop() ?? "{}");
        expect([forked, o.runs]).toEqual([forked, RUNS]);
        expect(o.failed).toBeGreaterThan(0);
        expect(o.failed).toBeLessThan(RUNS);
        untouched(h.path);
      } finally {
        await stopRacer(r);
        t.cleanup();
        h.cleanup();
        run("root", ["rm", "-f", `${t.path}.count`]);
      }
    }
  }, 90_000);

  test("control: a writer that goes by name, racing the same way, lands in the host directory", async () => {
    const { t, h } = layout(who);
    const r = racer(who, t.path, h.path);
    try {
      const writer = `for i in $(seq 2000); do echo x > ${t.path}/sub/escaped 2>/dev/null; done; true`;
      run(who, ["sh", "-c", writer], { timeout: 60_000 });
      expect(readdirSync(h.path)).toContain("escaped");
    } finally {
      await stopRacer(r);
      t.cleanup();
      h.cleanup();
      run("root", ["rm", "-f", `${t.path}.count`]);
    }
  }, 60_000);
});
