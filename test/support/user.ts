// The unprivileged user kernel-facing tests run as. Created (when we are root) if missing.
import { spawnSync } from "bun";

export const TEST_USER = process.env.BUN_SANDBOX_TEST_USER ?? "sbtest";

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
}

function lookup(name: string): TestUser | null {
  const r = spawnSync(["id", "-u", name]);
  if (r.exitCode !== 0) return null;
  const g = spawnSync(["id", "-g", name]);
  return { name, uid: Number(r.stdout.toString().trim()), gid: Number(g.stdout.toString().trim()) };
}

/** The test user, creating it when running as root; null when not root (tests then run as ourselves). */
export function ensureTestUser(): TestUser | null {
  if (process.getuid?.() !== 0) return null;
  const found = lookup(TEST_USER);
  if (found) return found;
  const r = spawnSync(["useradd", "--create-home", "--shell", "/bin/sh", TEST_USER], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`cannot create test user ${TEST_USER}: ${r.stderr.toString().trim()}`);
  return lookup(TEST_USER);
}
