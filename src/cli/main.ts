// The `sandbox` command: main() runs it and ends the process. Loaded and run by its entry point,
// src/cli/entry.ts, which turns what main() throws (an error it does not expect) into one line.
import { readFile, readlinkOrNull, readToEnd } from "../sys/fs.ts";
import { MAX_FILE_BYTES } from "../plan/ops/file.ts";
import { inheritedFds } from "../sys/fdscan.ts";
import { setCloexec } from "../sys/fd.ts";
import { execvpe, exit, threadCount } from "../sys/process.ts";
import { libc } from "../sys/libc.ts";
import { errnoMessage } from "../sys/errno.ts";
import { validatePlan } from "../plan/validate.ts";
import { PlanError } from "../plan/errors.ts";
import { runStage } from "../stage/run.ts";
import { runEnter } from "../stage/enter.ts";
import { dirOnHost } from "../stage/ops/dirmodes.ts";
import { parseArgs, UsageError } from "./args.ts";
import { helpText } from "./help.ts";
import { BUN_ISOLATION_FLAGS, callerEnv, hasSingleThreadEnv, parseEnviron, reexecEnv, SAVED_ENV, startedIsolated } from "./env.ts";
import { runDoctor } from "./doctor.ts";
import { VERSION } from "./version.ts";
import { writeOut } from "./output.ts";
import { trace } from "../sys/trace.ts";

function fail(message: string, code: number): never {
  writeOut(2, `sandbox: ${message}\n`);
  exit(code);
}

/** The environment the kernel gave this process: process.env may hold variables Bun read from a .env file. */
function startEnvironment(): Record<string, string | undefined> {
  try {
    return parseEnviron(readFile("/proc/self/environ").toString("latin1"));
  } catch {
    return process.env;
  }
}

/**
 * Starts this program again with the single-thread variables and Bun's isolation flags, in the
 * environment it was started with; inherited fds stay open.
 */
function reexec(fds: readonly number[]): never {
  for (const fd of fds) setCloexec(fd, false);
  const env = reexecEnv(startEnvironment());
  const err = execvpe(process.execPath, [process.execPath, ...BUN_ISOLATION_FLAGS, ...process.argv.slice(1)], env);
  fail(`cannot re-execute ${process.execPath} single-threaded: ${errnoMessage(err)}`, 1);
}

function stderrTerminal(): string | null {
  if (libc.isatty(2) !== 1) return null;
  const t = readlinkOrNull("/proc/self/fd/2");
  return t?.startsWith("/") ? t : null;
}

export function main(argv: readonly string[]): never {
  trace("main");
  const fds = inheritedFds();
  trace("inherited fds");
  if (!hasSingleThreadEnv(process.env) || threadCount() !== 1 || !startedIsolated(process.execArgv)) {
    if (process.env[SAVED_ENV] !== undefined) {
      fail(`still ${threadCount()} threads after re-executing with the single-thread variables; this Bun (${Bun.version}) starts threads we cannot turn off`, 1);
    }
    reexec(fds);
  }
  trace("thread check");
  let parsed;
  try {
    const readFd = (fd: number) => readToEnd(fd, `fd ${fd}`, MAX_FILE_BYTES);
    parsed = parseArgs({ argv, env: callerEnv(process.env), cwd: process.cwd(), tty: stderrTerminal(), fds, readFd, hostHas: dirOnHost });
  } catch (e) {
    if (e instanceof UsageError) fail(e.message, 2);
    throw e;
  }
  switch (parsed.kind) {
    case "help":
      writeOut(1, helpText() + "\n");
      exit(0);
    // falls through (process.exit does not return)
    case "version":
      writeOut(1, VERSION + "\n");
      exit(0);
    // falls through
    case "doctor":
      exit(runDoctor(parsed.json));
    // falls through
    case "enter":
      trace("parsed");
      try {
        runEnter(parsed.spec);
      } catch (e) {
        fail(e instanceof Error ? e.message : String(e), 1);
      }
    // falls through (runEnter does not return)
    case "run":
      trace("parsed");
      try {
        validatePlan(parsed.plan);
      } catch (e) {
        if (e instanceof PlanError) fail(e.message, 2);
        throw e;
      }
      try {
        runStage(parsed.plan);
      } catch (e) {
        fail(e instanceof Error ? e.message : String(e), 1);
      }
  }
}
