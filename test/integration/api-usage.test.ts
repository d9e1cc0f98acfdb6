// resourceUsage() of a sandbox, as Bun.spawn reports it, on every path, as root and as the
// unprivileged user: CPU time of a 0.3 s busy loop and the peak RSS of a 100 MiB allocation,
// within a stated tolerance. The figures include the stage's own setup in the process that
// becomes the command (a few ms of CPU; maxRSS is the peak over every image the process ran,
// the forked stage's tens of MiB before exec included, and over every process it waited for).
import { describe, expect, test } from "bun:test";
import { BUN, ROOT, run, WHO } from "../support/run.ts";

/** Tolerances: CPU 0.3 s -20 ms / +200 ms (setup, a loaded 2-core machine); RSS 100 MiB -0 / +100 MiB (Bun itself). */
const CPU_MS = [280, 500];
const RSS_MIB = [100, 200];

describe.each(WHO)("as %s", (who) => {
  test("CPU time of a 0.3 s busy loop and max RSS of a 100 MiB allocation: worker, forked, PID namespace, landlock; spawn and spawnSync", () => {
    const r = run(who, [BUN, `${ROOT}/test/fixtures/api-usage.ts`, BUN], { timeout: 60_000 });
    expect(r.stderr).toBe("");
    const o = JSON.parse(r.stdout);
    expect(Object.keys(o)).toEqual(["worker", "forked", "pidns", "landlock"]);
    for (const [path, u] of Object.entries(o) as [string, Record<string, unknown>][]) {
      expect({ path, before: u.before, sumsUp: u.sumsUp, exits: u.exits }).toEqual({ path, before: true, sumsUp: true, exits: [0, 0, 0, 0] });
      for (const k of ["cpuMs", "syncCpuMs"]) {
        expect({ path, k, ok: (u[k] as number) >= CPU_MS[0]! && (u[k] as number) <= CPU_MS[1]!, v: u[k] }).toMatchObject({ path, k, ok: true });
      }
      for (const k of ["maxRssMiB", "syncMaxRssMiB"]) {
        expect({ path, k, ok: (u[k] as number) >= RSS_MIB[0]! && (u[k] as number) <= RSS_MIB[1]!, v: u[k] }).toMatchObject({ path, k, ok: true });
      }
    }
  }, 60_000);
});
