// The variables that keep Bun single-threaded, and how the CLI gets them without leaking
// them into the sandboxed command's environment.

export const SINGLE_THREAD_ENV: Readonly<Record<string, string>> = {
  BUN_JSC_useConcurrentJIT: "0",
  BUN_JSC_useConcurrentGC: "0",
  BUN_JSC_numberOfGCMarkers: "1",
  MIMALLOC_PURGE_DELAY: "-1",
  BUN_JSC_useWarmUpMarkedBlocks: "0",
};

/**
 * Bun reads bunfig.toml (its preload runs code before ours) and .env, .env.local, .env.<NODE_ENV>
 * from the current directory. These flags turn both off; the bin's shebang, our re-exec and the
 * stage server all start Bun with them, so nothing of the directory the CLI runs in is read.
 */
export const BUN_ISOLATION_FLAGS = ["--no-env-file", "--config=/dev/null"] as const;

/** Whether this Bun was started with the isolation flags (they show in process.execArgv). */
export function startedIsolated(execArgv: readonly string[]): boolean {
  return BUN_ISOLATION_FLAGS.every((f) => execArgv.includes(f));
}

/**
 * The environment this process was started with, as the kernel passed it (/proc/self/environ):
 * unlike process.env it has no variables Bun loaded from a .env file. null without /proc.
 */
export function parseEnviron(raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of raw.split("\0")) {
    const eq = entry.indexOf("=");
    if (eq > 0) out[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return out;
}

/** Set by the bin's shebang next to the five variables: they came from us, not the caller. */
export const SHEBANG_MARKER = "BUN_SANDBOX_SHEBANG";
/** Set when we re-exec ourselves: the caller's own values of the five (JSON, null = unset). */
export const SAVED_ENV = "BUN_SANDBOX_SAVED_ENV";

type Env = Record<string, string | undefined>;

export function hasSingleThreadEnv(env: Env): boolean {
  return Object.entries(SINGLE_THREAD_ENV).every(([k, v]) => env[k] === v);
}

/** Environment for the re-exec: the five variables, with the caller's values saved. */
export function reexecEnv(env: Env): Record<string, string> {
  // After a shebang start the five values are ours, not the caller's.
  const fromShebang = env[SHEBANG_MARKER] === "1";
  const saved: Record<string, string | null> = {};
  for (const k of Object.keys(SINGLE_THREAD_ENV)) saved[k] = fromShebang ? null : (env[k] ?? null);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  delete out[SHEBANG_MARKER];
  return { ...out, ...SINGLE_THREAD_ENV, [SAVED_ENV]: JSON.stringify(saved) };
}

/** The caller's environment as it was before we (shebang or re-exec) added our variables. */
export function callerEnv(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  const saved = out[SAVED_ENV];
  if (saved !== undefined) {
    delete out[SAVED_ENV];
    let prev: Record<string, string | null> = {};
    try {
      prev = JSON.parse(saved) as Record<string, string | null>;
    } catch {
      // a corrupt value: drop our variables entirely
    }
    for (const k of Object.keys(SINGLE_THREAD_ENV)) {
      const v = prev[k];
      if (typeof v === "string") out[k] = v;
      else delete out[k];
    }
  } else if (out[SHEBANG_MARKER] === "1") {
    delete out[SHEBANG_MARKER];
    for (const k of Object.keys(SINGLE_THREAD_ENV)) delete out[k];
  }
  return out;
}
