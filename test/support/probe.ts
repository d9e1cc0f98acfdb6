// Builds test/fixtures/probe.ts into one CJS file (so it starts no pool threads; see bundle.ts)
// and runs it as root or as the unprivileged test user under the single-thread variables.
import { BUN, run, SINGLE_THREAD_ENV, type RunOptions, type Who } from "./run.ts";
import { bundle } from "./bundle.ts";

export const PROBE_SRC = "test/fixtures/probe.ts";

/** The bundled probe, built once per process. */
export function buildProbe(): string {
  return bundle(PROBE_SRC);
}

/** argv that runs one probe check (after buildProbe()). */
export function probeArgv(check: string, args: string[] = []): string[] {
  return [BUN, buildProbe(), check, ...args];
}

// What a check observed: free-form JSON, asserted field by field in the tests.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Observed = any;

export interface ProbeResult {
  /** The parsed JSON line (or {error} when the probe failed or printed no JSON). */
  out: Observed;
  code: number;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export interface ProbeOptions extends Omit<RunOptions, "env"> {
  /** argv put before the probe command (after the identity switch), e.g. a shell that opens an fd. */
  prefix?: string[];
  /** Leave out the single-thread variables (the probe starts multithreaded). */
  multithreaded?: boolean;
}

/** Parses the probe's last stdout line as JSON. */
export function parseProbe(r: { code: number; signal: string | null; stdout: string; stderr: string }): ProbeResult {
  const line = r.stdout.trim().split("\n").pop() ?? "";
  let out: Observed;
  try {
    out = JSON.parse(line);
  } catch {
    out = { error: `no JSON on stdout (exit ${r.code}, signal ${r.signal}): ${r.stdout}${r.stderr}` };
  }
  return { out, ...r };
}

/**
 * Runs `bun probe.cjs CHECK ARGS...` (the bundle) as `who`, with the single-thread variables (and
 * the fallback switches when the suite runs in that variant), and returns what it printed.
 */
export function probe(who: Who, check: string, args: string[] = [], env: Record<string, string | undefined> = {}, opts: ProbeOptions = {}): ProbeResult {
  const { prefix = [], multithreaded = false, ...runOpts } = opts;
  const threadEnv: Record<string, string | undefined> = multithreaded
    ? Object.fromEntries(Object.keys(SINGLE_THREAD_ENV).map((k) => [k, undefined]))
    : SINGLE_THREAD_ENV;
  return parseProbe(run(who, [...prefix, ...probeArgv(check, args)], { ...runOpts, env: { ...threadEnv, ...env } }));
}
