import { describe, expect, test } from "bun:test";
import { BUN_ISOLATION_FLAGS, callerEnv, hasSingleThreadEnv, parseEnviron, reexecEnv, SAVED_ENV, SHEBANG_MARKER, SINGLE_THREAD_ENV, startedIsolated } from "../../src/cli/env.ts";

const OURS = {
  BUN_JSC_useConcurrentJIT: "0",
  BUN_JSC_useConcurrentGC: "0",
  BUN_JSC_numberOfGCMarkers: "1",
  MIMALLOC_PURGE_DELAY: "-1",
  BUN_JSC_useWarmUpMarkedBlocks: "0",
};

describe("single-thread environment", () => {
  test("the five variables and the marker names", () => {
    expect(SINGLE_THREAD_ENV).toEqual(OURS);
    expect(SHEBANG_MARKER).toBe("BUN_SANDBOX_SHEBANG");
    expect(SAVED_ENV).toBe("BUN_SANDBOX_SAVED_ENV");
  });

  test("hasSingleThreadEnv", () => {
    expect(hasSingleThreadEnv({ ...OURS, PATH: "/bin" })).toBe(true);
    expect(hasSingleThreadEnv({})).toBe(false);
    const { MIMALLOC_PURGE_DELAY: _omit, ...four } = OURS;
    expect(hasSingleThreadEnv(four)).toBe(false);
    expect(hasSingleThreadEnv({ ...OURS, BUN_JSC_useConcurrentGC: "1" })).toBe(false);
    expect(hasSingleThreadEnv({ ...OURS, BUN_JSC_numberOfGCMarkers: undefined })).toBe(false);
  });

  test("reexecEnv adds the five and saves the caller's values (null for unset)", () => {
    const out = reexecEnv({ PATH: "/bin", BUN_JSC_useConcurrentJIT: "1", MIMALLOC_PURGE_DELAY: "10", SKIP: undefined });
    expect(hasSingleThreadEnv(out)).toBe(true);
    expect(out.PATH).toBe("/bin");
    expect("SKIP" in out).toBe(false);
    expect(JSON.parse(out[SAVED_ENV]!)).toEqual({
      BUN_JSC_useConcurrentJIT: "1",
      BUN_JSC_useConcurrentGC: null,
      BUN_JSC_numberOfGCMarkers: null,
      MIMALLOC_PURGE_DELAY: "10",
      BUN_JSC_useWarmUpMarkedBlocks: null,
    });
    expect(Object.keys(out).sort()).toEqual(["PATH", SAVED_ENV, ...Object.keys(OURS)].sort());
  });

  test("reexecEnv drops the shebang marker", () => {
    const out = reexecEnv({ PATH: "/bin", [SHEBANG_MARKER]: "1" });
    expect(SHEBANG_MARKER in out).toBe(false);
  });

  test("callerEnv(reexecEnv(e)) gives e back", () => {
    const envs: Record<string, string>[] = [
      {},
      { PATH: "/bin", HOME: "/root" },
      { PATH: "/bin", BUN_JSC_useConcurrentJIT: "1" },
      { ...OURS, X: "y" },
      { BUN_JSC_useConcurrentGC: "", MIMALLOC_PURGE_DELAY: "0", BUN_JSC_useWarmUpMarkedBlocks: "1", Z: "=" },
    ];
    for (const e of envs) expect(callerEnv(reexecEnv(e))).toEqual(e);
  });

  test("callerEnv restores saved values and deletes ours", () => {
    const env = {
      ...OURS, PATH: "/bin",
      [SAVED_ENV]: JSON.stringify({ BUN_JSC_useConcurrentJIT: "7", BUN_JSC_useConcurrentGC: null }),
    };
    expect(callerEnv(env)).toEqual({ PATH: "/bin", BUN_JSC_useConcurrentJIT: "7" });
  });

  test("a corrupt saved value drops our variables", () => {
    expect(callerEnv({ ...OURS, PATH: "/bin", [SAVED_ENV]: "{not json" })).toEqual({ PATH: "/bin" });
  });

  test("with the shebang marker the five variables and the marker are removed", () => {
    expect(callerEnv({ ...OURS, [SHEBANG_MARKER]: "1", PATH: "/bin", HOME: "/h" })).toEqual({ PATH: "/bin", HOME: "/h" });
  });

  test("without marker or saved values the caller's values are left alone", () => {
    const env = { ...OURS, PATH: "/bin" };
    expect(callerEnv(env)).toEqual(env);
    expect(callerEnv({ PATH: "/bin", BUN_JSC_useConcurrentJIT: "1" })).toEqual({ PATH: "/bin", BUN_JSC_useConcurrentJIT: "1" });
    // a marker with another value is not ours
    expect(callerEnv({ ...OURS, [SHEBANG_MARKER]: "0" })).toEqual({ ...OURS, [SHEBANG_MARKER]: "0" });
  });

  test("undefined entries are dropped and the input is not modified", () => {
    const env = { A: "1", B: undefined, [SHEBANG_MARKER]: "1", ...OURS };
    const copy = { ...env };
    expect(callerEnv(env)).toEqual({ A: "1" });
    expect(env).toEqual(copy);
  });

  // Started by the shebang (marker + five variables) and then re-executed (e.g. because
  // threadCount() was not 1): the five values came from the shebang, not from the caller, so
  // the command must not see them.
  test("shebang start followed by a re-exec does not leak the five variables", () => {
    const started = { ...OURS, [SHEBANG_MARKER]: "1", PATH: "/bin" };
    expect(callerEnv(reexecEnv(started))).toEqual({ PATH: "/bin" });
  });
});

describe("isolation from the current directory", () => {
  test("both flags must be there", () => {
    expect(BUN_ISOLATION_FLAGS).toEqual(["--no-env-file", "--config=/dev/null"]);
    expect(startedIsolated(["--no-env-file", "--config=/dev/null"])).toBe(true);
    expect(startedIsolated(["--config=/dev/null", "--smol", "--no-env-file"])).toBe(true);
    expect(startedIsolated(["--no-env-file"])).toBe(false);
    expect(startedIsolated(["--config=./bunfig.toml", "--no-env-file"])).toBe(false);
    expect(startedIsolated([])).toBe(false);
  });

  test("parseEnviron splits /proc/self/environ's NUL-separated entries at the first =", () => {
    expect(parseEnviron("A=1\0B=x=y\0EMPTY=\0\0NOEQ\0=bad\0")).toEqual({ A: "1", B: "x=y", EMPTY: "" });
    expect(parseEnviron("")).toEqual({});
  });
});
