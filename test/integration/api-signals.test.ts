// A sandbox ended by a signal is reported as Bun.spawn reports a process ended by one
// (exitCode null, signalCode set), whichever process of ours waits for the command; a command
// that exits 143 by itself is still exit code 143 (control).
import { describe, expect, test } from "bun:test";
import { BUN, ROOT, run, tempDir, WHO } from "../support/run.ts";

describe.each(WHO)("as %s", (who) => {
  test("kill(), timeout, AbortSignal and spawnSync's timeout: plain, PID namespace, output directory, landlock TMPDIR, enter()", () => {
    const t = tempDir(who);
    try {
      const r = run(who, [BUN, `${ROOT}/test/fixtures/api-signals.ts`, `${t.path}/out`], { timeout: 60_000 });
      expect(r.stderr).toBe("");
      const o = JSON.parse(r.stdout);
      expect(Object.keys(o)).toEqual(["plain", "pidns", "output", "landlockTmp", "enterPid"]);
      for (const kind of Object.keys(o)) {
        expect({ kind, ...o[kind] }).toEqual({
          kind, kill: [null, "SIGTERM", 143], timeout: [null, "SIGTERM", 143], abort: [null, "SIGINT", 130],
          sync: [null, "SIGKILL", true], exit143: [143, null, false],
        });
      }
    } finally {
      t.cleanup();
    }
  }, 60_000);
});
