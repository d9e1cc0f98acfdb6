// Public types of the library, shaped after Bun.spawn / Bun.spawnSync.
import type { FileSink, ResourceUsage } from "bun";

/** Where a stdio stream of the sandboxed command goes: like Bun.spawn, or an fd of this process. */
export type StdioOption = "pipe" | "inherit" | "ignore" | number;

export interface SandboxSpawnOptions {
  /** Working directory inside the sandbox (default: the builder's chdir(), else "/"). */
  cwd?: string;
  /** The command's environment before setenv/unsetenv (default: process.env). */
  env?: Record<string, string | undefined>;
  stdin?: StdioOption;
  stdout?: StdioOption;
  stderr?: StdioOption;
  /** [stdin, stdout, stderr, fd 3, fd 4, ...]: entries past stderr pass fds of this process. */
  stdio?: StdioOption[];
  /** Called once the sandbox has ended (like Bun.spawn's onExit). */
  onExit?(proc: SandboxSubprocess, exitCode: number | null, signalCode: NodeJS.Signals | null, error?: Error): void;
  /** Aborting kills the sandbox with killSignal. */
  signal?: AbortSignal;
  /** Milliseconds after which the sandbox is killed with killSignal. */
  timeout?: number;
  /** Signal for timeout and abort (default SIGTERM). */
  killSignal?: NodeJS.Signals | number;
}

export interface SandboxSpawnSyncOptions extends Omit<SandboxSpawnOptions, "stdin" | "onExit" | "signal"> {
  /** "pipe" means empty input; a string or bytes are written to the command's stdin. */
  stdin?: StdioOption | string | Uint8Array;
}

export interface SandboxSubprocess {
  /** Host pid of the top process: the command, or its supervisor outside a PID namespace (unsharePid(), or enter() into one). */
  readonly pid: number;
  readonly stdin: FileSink | undefined;
  readonly stdout: ReadableStream<Uint8Array> | undefined;
  readonly stderr: ReadableStream<Uint8Array> | undefined;
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

export interface SandboxSyncResult {
  pid: number;
  exitCode: number | null;
  signalCode: NodeJS.Signals | null;
  success: boolean;
  stdout: Buffer | undefined;
  stderr: Buffer | undefined;
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
