// The escape suite's attack fixture (test/fixtures/attacks.ts), bundled once per test process
// into a temporary directory (not the checkout) that the test user can read, and the layout
// its mount attacks expect. Both live in /var/tmp: the sandboxes have a /tmp of their own, which
// hides a checkout under /tmp (as CI's clean clone may be), so Bun itself is linked there too.
import { spawnSync } from "bun";
import { chmodSync, copyFileSync, linkSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { BUN, ROOT, SINGLE_THREAD_ENV, tempDir, type TempDir, type Who } from "./run.ts";

let bundleDir: string | null = null;

/** Path of the bundled fixture (built on first use). */
export function attacksBundle(): string {
  if (bundleDir) return `${bundleDir}/attacks.cjs`;
  const dir = mkdtempSync("/var/tmp/bsb-attacks-");
  chmodSync(dir, 0o755);
  const r = spawnSync([BUN, "build", `${ROOT}/test/fixtures/attacks.ts`, "--target=bun", "--format=cjs", `--outfile=${dir}/attacks.cjs`], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`bundling the attack fixture failed: ${r.stderr.toString()}`);
  chmodSync(`${dir}/attacks.cjs`, 0o644);
  const bun = realpathSync(BUN);
  try {
    linkSync(bun, `${dir}/bun`);
  } catch {
    copyFileSync(bun, `${dir}/bun`); // another filesystem
  }
  bundleDir = dir;
  return `${dir}/attacks.cjs`;
}

export function removeAttacksBundle(): void {
  if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
  bundleDir = null;
}

/** argv of one attack check, run by Bun inside the sandbox. */
export function attackArgv(check: string, ...args: string[]): string[] {
  const bundle = attacksBundle();
  return [`${bundleDir}/bun`, bundle, check, ...args];
}

/** The environment the attack fixture needs (single-threaded: it unshares and setns). */
export const ATTACK_ENV: Record<string, string> = { ...SINGLE_THREAD_ENV };

export interface Layout {
  dir: TempDir;
  /** Sandbox options that cover the two hidden places (on top of --ro-bind / / and --tmpfs /tmp). */
  cover: string[];
  /** The host file behind the read-only bind, as the host sees it now. */
  hostFile(): string;
  /** Puts the host file back (after a control run changed it). */
  restore(): void;
}

/** A temporary directory owned by `who` with the layout of test/fixtures/attacks.ts mountAttacks. */
export function mountLayout(who: Who): Layout {
  const dir = tempDir(who, "bsb-escape-", "/var/tmp");
  for (const d of ["ro", "hide", "parent/child"]) mkdirSync(`${dir.path}/${d}`, { recursive: true });
  const restore = () => writeFileSync(`${dir.path}/ro/file`, "host");
  restore();
  writeFileSync(`${dir.path}/hide/secret`, "secret");
  writeFileSync(`${dir.path}/parent/child/covered`, "covered");
  dir.own();
  return {
    dir,
    cover: ["--tmpfs", `${dir.path}/hide`, "--tmpfs", `${dir.path}/parent/child`],
    hostFile: () => readFileSync(`${dir.path}/ro/file`, "utf8"),
    restore,
  };
}
