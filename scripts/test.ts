// The project's test command (`npm test`): eslint, tsc, unit tests, then the kernel-facing
// tests twice: once as they are, once with every fallback forced (raw syscalls instead of libc
// wrappers, our own BPF instead of libseccomp, raw keyctl instead of libkeyutils).
// Ends with one line "N passed, N failed" and a non-zero exit on any failure.
import { spawnSync } from "bun";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { ensureTestUser } from "../test/support/user.ts";

const root = new URL("..", import.meta.url).pathname;
const bin = `${root}node_modules/.bin`;
const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
const only = process.argv.slice(2);

let passed = 0;
let failed = 0;
let skipped = 0;
// As root (how .ci/run runs) every test can run, so a skipped one is a failure; otherwise skips
// are counted and named, e.g. the tests that need root.
const strict = process.getuid?.() === 0 || process.env.CI === "true";
const skips: string[] = [];
// Each failing test with the lines bun printed before it, repeated at the end so that the tail
// of a CI log names what failed.
const failures: string[] = [];

function collectFailures(step: string, output: string): void {
  const lines = output.split("\n");
  // bun repeats the failing tests' names after "N tests failed:": the first time is enough
  const recap = lines.findIndex((l) => /^\d+ tests? failed:$/.test(l.trim()));
  if (recap >= 0) lines.length = recap;
  let from = 0;
  lines.forEach((line, i) => {
    if (line.startsWith("(pass)") || line.startsWith("(skip)") || line.startsWith("(todo)")) from = i + 1;
    if (!line.startsWith("(fail)")) return;
    const context = lines.slice(Math.max(from, i - 12), i).filter((l) => l.trim() !== "");
    failures.push([`[${step}] ${line}`, ...context.map((l) => `    ${l}`)].join("\n"));
    from = i + 1;
  });
}

function step(name: string, cmd: string[], extraEnv: Record<string, string> = {}): void {
  if (only.length && !only.some((o) => name.includes(o))) return;
  process.stderr.write(`\n=== ${name}\n`);
  // Fixture bundles (test/support/bundle.ts) go here, outside the checkout, and go with it.
  const bundles = mkdtempSync("/var/tmp/bsb-bundles-");
  chmodSync(bundles, 0o755);
  let r;
  try {
    r = spawnSync(cmd, { cwd: root, env: { ...env, BUN_SANDBOX_TEST_BUNDLES: bundles, ...extraEnv }, stdout: "inherit", stderr: "pipe" });
  } finally {
    rmSync(bundles, { recursive: true, force: true });
  }
  const err = r.stderr.toString();
  process.stderr.write(err);
  collectFailures(name, err);
  const pass = /^\s*(\d+) pass\s*$/m.exec(err);
  const fail = /^\s*(\d+) fail\s*$/m.exec(err);
  const skip = /^\s*(\d+) skip\s*$/m.exec(err);
  if (skip) {
    skipped += Number(skip[1]);
    for (const line of err.split("\n")) if (line.startsWith("(skip)") || line.startsWith("(todo)")) skips.push(`[${name}] ${line}`);
  }
  if (pass || fail) {
    const p = Number(pass?.[1] ?? 0);
    const f = Number(fail?.[1] ?? 0);
    passed += p;
    failed += f;
    if (r.exitCode !== 0 && f === 0) {
      failed++; // crashed or found no tests
      failures.push(`[${name}] exited with ${r.exitCode ?? r.signalCode} and no failing test`);
    }
  } else if (r.exitCode === 0) {
    passed++;
  } else {
    failed++;
    failures.push(`[${name}] failed:\n${err.trim().split("\n").slice(-15).map((l) => `    ${l}`).join("\n")}`);
  }
}

const user = ensureTestUser();
process.stderr.write(`unprivileged test user: ${user ? `${user.name} (${user.uid})` : "none (not root: unprivileged variants run as the current user)"}\n`);
if (user) {
  // Every unprivileged test runs the checkout's bin and Bun as that user.
  const probe = spawnSync(["setpriv", `--reuid=${user.uid}`, `--regid=${user.gid}`, "--clear-groups", "--", `${bin}/bun`, "--version"]);
  if (probe.exitCode !== 0) {
    process.stderr.write(`the test user ${user.name} cannot run ${bin}/bun: make the checkout and its parent directories readable (chmod -R a+rX . and o+x on each parent), as .ci/run does\n`);
    process.stdout.write("0 passed, 1 failed\n");
    process.exit(1);
  }
}

step("eslint", [`${bin}/eslint`, "."]);
step("tsc", [`${bin}/tsc`, "--noEmit", "-p", "."]);
step("build", [`${bin}/bun`, "run", "build"]);
step("unit", [`${bin}/bun`, "test", "test/unit"]);
step("integration", [`${bin}/bun`, "test", "test/integration"]);
step("integration (fallbacks forced)", [`${bin}/bun`, "test", "test/integration"], { BUN_SANDBOX_TEST_FALLBACKS: "1" });
// The library's tests once more with every sandbox forked from the stage server (no namespace worker).
step("library, forked stage only", [`${bin}/bun`, "test", "test/integration/api", "test/integration/example"], { BUN_SANDBOX_NO_WORKER: "1" });

if (strict && skipped > 0) {
  failed += skipped;
  failures.push(`${skipped} skipped (a skip is a failure when run as root or under CI):`, ...skips.map((l) => `    ${l}`));
} else if (skips.length) {
  process.stdout.write(`\n=== skipped\n${skips.join("\n")}\n`);
}
if (failures.length) process.stdout.write(`\n=== what failed\n${failures.join("\n")}\n\n`);
process.stdout.write(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}\n`);
process.exit(failed === 0 ? 0 : 1);
