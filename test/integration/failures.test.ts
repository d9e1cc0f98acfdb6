// Failing like a tool, not a script: where sandbox or the library cannot work, or meets an error
// it did not expect, the user gets one line saying what is wrong (and an exit status), never a
// stack trace; --debug shows the trace of an unexpected error.
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { BIN, BUN, ROOT, run, sandbox, tempDir, WHO, type RunResult } from "../support/run.ts";

const RO = ["--ro-bind", "/", "/"];
/** Test-only: the path the C library is opened from, here one that does not exist (as on musl). */
const NO_LIBC = { BUN_SANDBOX_TEST_LIBC: "/nonexistent/libc.so.6" };

/** The one line `r` printed on stderr (fails when it printed more, or a trace). */
function oneLine(r: RunResult): string {
  expect(r.stderr).not.toContain("    at ");
  const lines = r.stderr.split("\n");
  expect({ lines: lines.length, last: lines.at(-1), stderr: r.stderr }).toEqual({ lines: 2, last: "", stderr: r.stderr });
  return lines[0]!;
}

describe.each(WHO)("as %s", (who) => {
  test("without the C library (musl, Alpine) the CLI says so in one line and exits 1", () => {
    const r = sandbox(who, [...RO, "true"], { env: NO_LIBC });
    expect(oneLine(r)).toMatch(/^sandbox: cannot open the C library \/nonexistent\/libc\.so\.6 \(.*No such file or directory\); glibc is needed/);
    expect([r.code, r.stdout]).toEqual([1, ""]);
  });

  test("without the C library a program importing the library gets one line and exit 1", () => {
    const t = tempDir(who);
    try {
      writeFileSync(`${t.path}/use.ts`, `import { sandbox } from "${ROOT}/src/api/index.ts";\nconsole.log(typeof sandbox);\n`);
      t.own();
      const r = run(who, [BUN, `${t.path}/use.ts`], { env: NO_LIBC });
      expect(oneLine(r)).toMatch(/^bun-sandbox: cannot open the C library \/nonexistent\/libc\.so\.6 \(.*\); glibc is needed/);
      expect([r.code, r.stdout]).toEqual([1, ""]);
      // and it imports as usual with the C library there
      const ok = run(who, [BUN, `${t.path}/use.ts`]);
      expect([ok.code, ok.stdout, ok.stderr]).toEqual([0, "function\n", ""]);
    } finally {
      t.cleanup();
    }
  });

  test("without /proc (Bun cannot start there) one line names /proc, exit 1", () => {
    const r = sandbox(who, [...RO, "--tmpfs", "/proc", BIN, ...RO, "true"]);
    expect(oneLine(r)).toMatch(/^sandbox: \/proc is not mounted/);
    expect([r.code, r.stdout]).toEqual([1, ""]);
  });

  test("without bun on PATH the bin says so in one line, exit 127", () => {
    const r = run(who, ["env", "-i", "PATH=/nonexistent-bsb", BIN, ...RO, "true"]);
    expect(oneLine(r)).toBe("sandbox: bun is not on PATH; install it (npm install bun) and run sandbox through npx or bunx, or put bun on PATH");
    expect([r.code, r.stdout]).toEqual([127, ""]);
  });

  // A real unexpected error: the current directory was removed, so Bun's process.cwd() throws
  // where the command line is read. (Should it ever get a message of its own, take another.)
  // Started with bun rather than through the bin's shell, which would first complain in a line
  // of its own that it cannot tell the current directory.
  test("an unexpected error is one line saying so, the trace only with --debug", () => {
    const t = tempDir(who);
    try {
      const inGone = (args: string[]) => run(who, ["sh", "-c", 'mkdir "$0/gone" && cd "$0/gone" && rmdir "$0/gone" && exec "$@"', t.path, BUN, BIN, ...args]);
      const r = inGone([...RO, "true"]);
      expect(oneLine(r)).toMatch(/^sandbox: internal error: .*process\.cwd.*; rerun with --debug for the trace$/);
      expect([r.code, r.stdout]).toEqual([1, ""]);
      const debug = inGone(["--debug", ...RO, "true"]);
      expect(debug.code).toBe(1);
      const [first, ...trace] = debug.stderr.trimEnd().split("\n");
      expect(first).toMatch(/^sandbox: internal error: .*process\.cwd/);
      expect(trace.some((l) => l.startsWith("    at "))).toBe(true);
    } finally {
      t.cleanup();
    }
  });
});
