// The example build pipeline (examples/build.ts) runs for real, as root and unprivileged: it
// succeeds on the fixture project and names the failing step when a test is broken.
import { describe, expect, test } from "bun:test";
import { cpSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { BUN, ROOT, run, tempDir, WHO } from "../support/run.ts";

describe.each(WHO)("examples/build.ts as %s", (who) => {
  test("builds, tests and packages the fixture project, each step sandboxed", () => {
    const out = tempDir(who);
    try {
      const r = run(who, [BUN, `${ROOT}/examples/build.ts`, `${ROOT}/examples/project`, out.path], { timeout: 60_000 });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const lines = r.stdout.trim().split("\n");
      expect(lines.map((l) => l.replace(/ \(\d+ ms\)$/, ""))).toEqual([
        "ok   compile", "ok   unit tests", "ok   smoke run", "ok   no network in the sandbox", "ok   package", expect.stringMatching(/^built /),
      ]);
      expect(existsSync(`${out.path}/dist/main.js`)).toBe(true);
      expect(existsSync(`${out.path}/app.tgz`)).toBe(true);
    } finally {
      out.cleanup();
    }
  });

  test("a failing step stops the build with its name and output", () => {
    const work = tempDir(who);
    try {
      cpSync(`${ROOT}/examples/project`, `${work.path}/project`, { recursive: true });
      const f = `${work.path}/project/src/math.ts`;
      writeFileSync(f, readFileSync(f, "utf8").replace("return a + b;", "return a - b;"));
      work.own();
      const r = run(who, [BUN, `${ROOT}/examples/build.ts`, `${work.path}/project`, `${work.path}/out`], { timeout: 60_000 });
      expect(r.code).toBe(1);
      expect(r.stdout.trim()).toMatch(/^ok {3}compile \(\d+ ms\)$/);
      expect(r.stderr).toStartWith('step "unit tests" failed (exit 1)\n');
      expect(r.stderr).toContain("--- stderr");
      expect(r.stderr).toContain("(fail) add");
      expect(existsSync(`${work.path}/out/app.tgz`)).toBe(false);
    } finally {
      work.cleanup();
    }
  });
});
