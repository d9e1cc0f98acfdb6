// Bundles a test fixture into one CJS file (an ESM import of a local file would start Bun's pool
// threads, and a fixture that unshares or forks must stay single-threaded). The bundles go to a
// directory outside the checkout, readable by the test user: BUN_SANDBOX_TEST_BUNDLES, which
// scripts/test.ts makes and removes around each run, or else one of this process under /var/tmp,
// removed after the test file that first built one (bun test runs no "exit" handlers).
import { spawnSync } from "bun";
import { afterAll } from "bun:test";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { BUN, ROOT } from "./run.ts";

let dir: string | null = null;
const built = new Map<string, string>();

// Registered when this module loads, that is in the test file that imports it (bun test runs
// no process "exit" handlers).
afterAll(() => {
  if (dir && dir !== process.env.BUN_SANDBOX_TEST_BUNDLES) rmSync(dir, { recursive: true, force: true });
  dir = null;
  built.clear();
});

function bundleDir(): string {
  if (dir) return dir;
  const given = process.env.BUN_SANDBOX_TEST_BUNDLES;
  if (given) return (dir = given);
  const d = mkdtempSync("/var/tmp/bsb-fixtures-");
  chmodSync(d, 0o755);
  dir = d;
  return d;
}

/** The path of `src` (relative to the checkout) bundled; built once per process. */
export function bundle(src: string): string {
  const have = built.get(src);
  if (have) return have;
  const out = `${bundleDir()}/${src.replace(/^.*\//, "").replace(/\.ts$/, ".cjs")}`;
  const r = spawnSync([BUN, "build", src, "--target=bun", "--format=cjs", `--outfile=${out}`], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`bun build ${src} failed (${r.exitCode}):\n${r.stdout.toString()}${r.stderr.toString()}`);
  chmodSync(out, 0o644);
  built.set(src, out);
  return out;
}
