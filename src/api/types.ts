// Public types of the library, shaped after Bun.spawn / Bun.spawnSync.
import type { FileSink, ResourceUsage } from "bun";

/** Where a stdio stream of the sandboxed command goes: like Bun.spawn, or an fd of this process. */
export type StdioOption = "pipe" | "inherit" | "ignore" | number;

/**
 * [stdin, stdout, stderr, fd 3, fd 4, ...]: entries past stderr pass fds of this process; a
 * missing or undefined entry of the first three takes the default.
 */
export type StdioArray<In extends StdioOption = StdioOption, Out extends StdioOption = StdioOption, Err extends StdioOption = StdioOption> =
  readonly [In?, Out?, Err?, ...StdioOption[]];

/** What a subprocess's stdin is for the stdin option `X`: a FileSink when piped (as Bun.spawn's). */
export type StdinOf<X extends StdioOption> = X extends "pipe" ? FileSink : undefined;
/** What a subprocess's stdout or stderr is for the option `X`: a stream when piped (as Bun.spawn's). */
export type StreamOf<X extends StdioOption> = X extends "pipe" ? ReadableStream<Uint8Array> : undefined;
/** What spawnSync() gives for stdout or stderr with the option `X`: the bytes when piped (as Bun.spawnSync's). */
export type OutputOf<X extends StdioOption> = X extends "pipe" ? Buffer : undefined;

/**
 * Options of spawn(). Like Bun.spawn's, the type parameters are the stdin, stdout and stderr
 * options as given (inferred from the call), and decide the types of the subprocess's streams.
 */
export interface SandboxSpawnOptions<In extends StdioOption = StdioOption, Out extends StdioOption = StdioOption, Err extends StdioOption = StdioOption> {
  /** Working directory inside the sandbox (default: the builder's chdir(), else "/"). */
  cwd?: string;
  /** The command's environment before setenv/unsetenv (default: process.env). */
  env?: Record<string, string | undefined>;
  /** Default "ignore". */
  stdin?: In;
  /** Default "pipe". */
  stdout?: Out;
  /** Default "inherit". */
  stderr?: Err;
  /** [stdin, stdout, stderr, fd 3, fd 4, ...]: entries past stderr pass fds of this process; stdin, stdout and stderr override the first three. */
  stdio?: StdioArray<In, Out, Err>;
  /** Called once the sandbox has ended (like Bun.spawn's onExit). */
  onExit?(proc: SandboxSubprocess<In, Out, Err>, exitCode: number | null, signalCode: NodeJS.Signals | null, error?: Error): void;
  /** Aborting kills the sandbox with killSignal. */
  signal?: AbortSignal;
  /** Milliseconds after which the sandbox is killed with killSignal. */
  timeout?: number;
  /** Signal for timeout and abort (default SIGTERM). */
  killSignal?: NodeJS.Signals | number;
}

/** Options of spawnSync(); `Out` and `Err`, the stdout and stderr options, decide the result's types. */
export interface SandboxSpawnSyncOptions<Out extends StdioOption = StdioOption, Err extends StdioOption = StdioOption>
  extends Omit<SandboxSpawnOptions<StdioOption, Out, Err>, "stdin" | "onExit" | "signal"> {
  /** "pipe" means empty input; a string or bytes are written to the command's stdin. Default "ignore". */
  stdin?: StdioOption | string | Uint8Array;
  /** Default "pipe". */
  stdout?: Out;
  /** Default "pipe". */
  stderr?: Err;
}

/** A running sandbox, like Bun's Subprocess: stdin, stdout and stderr are streams where piped. */
export interface SandboxSubprocess<In extends StdioOption = StdioOption, Out extends StdioOption = StdioOption, Err extends StdioOption = StdioOption> {
  /** Host pid of the top process: the command, or its supervisor outside a PID namespace (unsharePid(), or enter() into one). */
  readonly pid: number;
  readonly stdin: StdinOf<In>;
  readonly stdout: StreamOf<Out>;
  readonly stderr: StreamOf<Err>;
  /** Resolves with the exit code (128+signal when killed); rejects when setup or exec failed. */
  readonly exited: Promise<number>;
  readonly exitCode: number | null;
  readonly signalCode: NodeJS.Signals | null;
  readonly killed: boolean;
  kill(signal?: NodeJS.Signals | number): void;
  /** Bun's ResourceUsage of the sandbox once it has ended; undefined before (see docs/library.md). */
  resourceUsage(): ResourceUsage | undefined;
  /** The limit (see Sandbox.limits()) that ended the sandbox, set by the time `exited` settles; null otherwise. */
  readonly limit: "memory" | "cpu-time" | "wall-time" | "pids" | null;
}

/** What spawnSync() returns, like Bun's SyncSubprocess: stdout and stderr are Buffers where piped. */
export interface SandboxSyncResult<Out extends StdioOption = StdioOption, Err extends StdioOption = StdioOption> {
  pid: number;
  exitCode: number | null;
  signalCode: NodeJS.Signals | null;
  success: boolean;
  stdout: OutputOf<Out>;
  stderr: OutputOf<Err>;
  /** Set when setup or exec failed: the one-line cause. */
  error: SandboxError | undefined;
  exitedDueToTimeout: boolean;
  /** What the sandbox used, as Bun.spawnSync reports it; undefined when it never started. */
  resourceUsage: ResourceUsage | undefined;
  /** The limit that ended the sandbox, or null. */
  limit: "memory" | "cpu-time" | "wall-time" | "pids" | null;
}

/** What onStatus() receives; the same facts bwrap's --json-status-fd gives. */
export type SandboxStatus =
  /** `confinement`: what confines the command (with `auto`, what was chosen). */
  | { type: "started"; pid: number; namespaces: Record<string, string>; confinement: "namespaces" | "landlock" }
  | { type: "exited"; pid: number; exitCode: number | null; signalCode: NodeJS.Signals | null }
  /** A connection through the proxies of allowHosts(): where to, and whether the policy let it. */
  | { type: "network"; host: string; port: number; allowed: boolean; reason: string };

/** A sandbox that could not be set up or whose command could not be run. */
export class SandboxError extends Error {
  /** Exit status the sandbox ended with (1 setup failure, 126 not executable, 127 not found). */
  readonly exitCode: number;
  readonly errno: number | null;

  constructor(message: string, exitCode: number, errno: number | null = null) {
    super(message);
    this.name = "SandboxError";
    this.exitCode = exitCode;
    this.errno = errno;
  }
}
