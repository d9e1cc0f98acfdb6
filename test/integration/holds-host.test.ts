// The host unchanged for real: the library removes, once a sandbox has ended, the mount points
// its setup made inside a writable host bind (directories and files), as long as they are still
// what was made (an empty directory or file of the same inode); the CLI, which execs in place,
// leaves them (documented). Worker and forked paths, root and user.
import { describe, expect, test } from "bun:test";
import { BIN, BUN, ROOT, run, tempDir, WHO } from "../support/run.ts";

const MADE = ["/a/", "/a/b/", "/a/b/c/", "/etcbind/", "/kept/", "/kept/t/", "/placed"];

describe.each(WHO)("as %s", (who) => {
  for (const forked of [false, true]) {
    test(`library (${forked ? "forked" : "worker"}): the stubs are made for the mounts and removed after; a filled one stays`, () => {
      const t = tempDir(who, "bsb-stubs-", "/var/tmp");
      try {
        const r = run(who, [BUN, `${ROOT}/test/fixtures/stubs.ts`, t.path], { env: forked ? { BUN_SANDBOX_NO_WORKER: "1" } : {} });
        const o = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}");
        expect(o.code).toBe(0);
        expect(o.before).toEqual([]);
        expect(o.during).toEqual(MADE);
        expect(o.after).toEqual(["/kept/", "/kept/mine"]);
      } finally {
        t.cleanup();
      }
    });
  }

  test("CLI: execs in place, so the stubs stay (the README says so)", () => {
    const t = tempDir(who, "bsb-stubs-", "/var/tmp");
    try {
      const r = run(who, [BIN, "--ro-bind", "/", "/", "--bind", t.path, t.path, "--tmpfs", `${t.path}/a/b`, "true"]);
      expect(r.code).toBe(0);
      expect(run(who, ["find", t.path, "-mindepth", "1"]).stdout.trim().split("\n").sort()).toEqual([`${t.path}/a`, `${t.path}/a/b`]);
    } finally {
      t.cleanup();
    }
  });
});
