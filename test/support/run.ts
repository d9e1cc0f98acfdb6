// Running the CLI and single-threaded probes in child processes, as root and as the
// unprivileged test user, with the fallback switches when the suite runs in that variant.
import { spawnSync } from "bun";
import { chmodSync, existsSync, lchownSync, lstatSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { ensureTestUser, type TestUser } from "./user.ts";

export const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
export const BIN = `${ROOT}/bin/sandbox.cjs`;
export const BUN_DIR = `${ROOT}/node_modules/.bin`;
export const BUN = `${BUN_DIR}/bun`;

export const IS_ROOT = process.getuid?.() === 0;
const user: TestUser | null = IS_ROOT ? ensureTestUser() : null;

export type Who = "root" | "user";
/** Identities every kernel-facing test runs as. */
export const WHO: Who[] = IS_ROOT ? ["root", "user"] : ["user"];

export const FALLBACKS = process.env.BUN_SANDBOX_TEST_FALLBACKS === "1";
export const FALLBACK_ENV: Record<string, string> = FALLBACKS
  ? {
      BUN_SANDBOX_FORCE_SYSCALL: "1", BUN_SANDBOX_NO_LIBSECCOMP: "1", BUN_SANDBOX_NO_LIBKEYUTILS: "1",
      BUN_SANDBOX_NO_MOUNT_SETATTR: "1", BUN_SANDBOX_NO_OPENAT2: "1",
    }
  : {};

export const SINGLE_THREAD_ENV = {
  BUN_JSC_useConcurrentJIT: "0", BUN_JSC_useConcurrentGC: "0", BUN_JSC_numberOfGCMarkers: "1",
  MIMALLOC_PURGE_DELAY: "-1", BUN_JSC_useWarmUpMarkedBlocks: "0",
};

export function ids(who: Who): { uid: number; gid: number; name: string } {
  if (who === "root" || !user) return { uid: process.getuid!(), gid: process.getgid!(), name: IS_ROOT ? "root" : (process.env.USER ?? "") };
  return { uid: user.uid, gid: user.gid, name: user.name };
}

export interface RunResult {
  code: number;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  /** Replace the environment entirely (PATH to bun is still added). */
  cleanEnv?: boolean;
  cwd?: string;
  stdin?: string;
  timeout?: number;
}

function baseEnv(opts: RunOptions): Record<string, string> {
  const out: Record<string, string> = {};
  const src = opts.cleanEnv ? {} : process.env;
  for (const [k, v] of Object.entries(src)) if (v !== undefined) out[k] = v;
  for (const [k, v] of Object.entries({ ...FALLBACK_ENV, ...(opts.env ?? {}) })) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  out.PATH = `${BUN_DIR}:${out.PATH ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}`;
  return out;
}

/** argv prefix that runs a command as `who`. */
export function asWho(who: Who): string[] {
  if (who === "root" || !user) return [];
  return ["setpriv", `--reuid=${user.uid}`, `--regid=${user.gid}`, "--clear-groups", "--"];
}

/** The environment `run` gives a process it starts as `who` (for tests that spawn asynchronously). */
export function envFor(who: Who, opts: RunOptions = {}): Record<string, string> {
  const env = baseEnv(opts);
  if (who === "user" && user) {
    env.HOME = `/home/${user.name}`;
    env.USER = user.name;
  }
  return env;
}

export function run(who: Who, argv: string[], opts: RunOptions = {}): RunResult {
  const env = envFor(who, opts);
  const r = spawnSync([...asWho(who), ...argv], {
    env, cwd: opts.cwd ?? "/", stdin: opts.stdin === undefined ? "ignore" : Buffer.from(opts.stdin),
    stdout: "pipe", stderr: "pipe", timeout: opts.timeout ?? 30_000,
  });
  return { code: r.exitCode ?? -1, signal: r.signalCode == null ? null : String(r.signalCode), stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** Runs `sandbox ARGS...` as `who`. */
export function sandbox(who: Who, args: string[], opts: RunOptions = {}): RunResult {
  return run(who, [BIN, ...args], opts);
}

export interface TempDir {
  path: string;
  /** Gives everything created in it so far to the owner (fixtures are written by the test, as root). */
  own(): void;
  cleanup(): void;
}

/**
 * A temporary directory owned by `owner`; removed by cleanup(). In /tmp by default; `base`
 * /var/tmp for one a sandbox with its own /tmp must see.
 */
export function tempDir(owner: Who = "root", prefix = "bsb-test-", base = "/tmp"): TempDir {
  const path = mkdtempSync(`${base}/${prefix}`);
  chmodSync(path, 0o755);
  const o = ids(owner);
  const own = () => {
    if (!IS_ROOT) return;
    const walk = (p: string) => {
      lchownSync(p, o.uid, o.gid);
      if (lstatSync(p).isDirectory()) for (const e of readdirSync(p)) walk(`${p}/${e}`);
    };
    walk(path);
  };
  own();
  // Repeated: another process may still be removing entries (a worker removing its stubs after
  // the sandbox ended), and rmSync gives up on the directory at the first entry that vanished.
  const cleanup = () => {
    for (let i = 0; i < 20 && existsSync(path); i++) rmSync(path, { recursive: true, force: true });
  };
  return { path, own, cleanup };
}

/** The host's mount table, for "nothing left behind" checks. */
export function hostMounts(): string {
  return spawnSync(["cat", "/proc/self/mountinfo"]).stdout.toString().split("\n").map((l) => l.split(" ").slice(4, 5).join(" ")).sort().join("\n");
}
