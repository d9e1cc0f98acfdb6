// Starting one sandbox through a stage server and reading its status events.
//
// One request's trouble stays that request's: a bad fd of the caller, a server that refuses the
// request, a setup slower than the spawn timeout and garbage on the status pipe each fail that
// spawn only. A server that looks dead or stuck is retired (see server.ts), never closed under
// the sandboxes it still runs.
import { closeQuiet, isCloexec, pipe2 } from "../sys/fd.ts";
import { libc, errno } from "../sys/libc.ts";
import { poll, POLLIN } from "../sys/socket.ts";
import { Errno, errnoName } from "../sys/errno.ts";
import { SysError } from "../sys/error.ts";
import { readlinkOrNull } from "../sys/fs.ts";
import type { StageJob } from "../stage/request.ts";
import { coldServer, lastStartFailure, retireServer, warmServer } from "./server.ts";
import { MAX_STATUS_LINE, malformedMessage, parseStatusLine, type ReadStatus } from "./status.ts";
import { SandboxError, type SandboxStatus } from "./types.ts";
import { removeStubs, type Stub } from "../stage/stubs.ts";
import { exitCodeOf, pidfdOpen, pidfdSendSignal, wifsignaled, wtermsig, type RawUsage } from "../sys/process.ts";
import type { ResourceUsage } from "bun";
import type { LimitName } from "../plan/limits.ts";
import { SIG, signalName } from "../sys/signals.ts";

/** Line reader over the per-sandbox status pipe: blocking (poll) or async (Bun's reader). */
export class StatusReader {
  private pending = "";
  private eof = false;
  /** Dropping the rest of a line that was too long. */
  private skipping = false;

  constructor(readonly fd: number) {}

  private take(): ReadStatus | null {
    for (;;) {
      const nl = this.pending.indexOf("\n");
      if (nl < 0) {
        if (this.pending.length <= MAX_STATUS_LINE) return null;
        this.pending = "";
        if (this.skipping) return null;
        this.skipping = true;
        return { event: "malformed", detail: `a line longer than ${MAX_STATUS_LINE} characters` };
      }
      const line = this.pending.slice(0, nl);
      this.pending = this.pending.slice(nl + 1);
      if (this.skipping) this.skipping = false;
      else return parseStatusLine(line);
    }
  }

  /** End of stream: a last line without its newline is still looked at (it is malformed). */
  private end(): void {
    this.eof = true;
    if (this.pending !== "" && !this.skipping) this.pending += "\n";
    else this.pending = "";
  }

  /** Next event, waiting up to `timeoutMs` (-1: forever); null at end of stream or timeout. */
  nextSync(timeoutMs = -1): ReadStatus | null {
    const deadline = timeoutMs < 0 ? Infinity : Date.now() + timeoutMs;
    const buf = Buffer.allocUnsafe(4096);
    for (;;) {
      const ev = this.take();
      if (ev || this.eof) return ev;
      const left = deadline === Infinity ? -1 : Math.max(0, deadline - Date.now());
      if (poll([{ fd: this.fd, events: POLLIN, revents: 0 }], left) === 0) return null;
      const n = Number(libc.read(this.fd, buf, buf.length));
      if (n < 0) {
        if (errno() === Errno.EINTR) continue;
        this.end();
      } else if (n === 0) {
        this.end();
      } else {
        this.pending += buf.toString("utf8", 0, n);
      }
    }
  }

  get ended(): boolean {
    return this.eof && this.pending.indexOf("\n") < 0;
  }

  /** The remaining events, read without blocking the event loop. */
  async *events(): AsyncGenerator<ReadStatus> {
    for (let ev = this.take(); ev; ev = this.take()) yield ev;
    if (this.eof) return;
    const decoder = new TextDecoder();
    try {
      for await (const chunk of Bun.file(this.fd).stream()) {
        this.pending += decoder.decode(chunk, { stream: true });
        for (let ev = this.take(); ev; ev = this.take()) yield ev;
      }
    } catch {
      // a read error ends the stream like EOF
    }
    this.end();
    for (let ev = this.take(); ev; ev = this.take()) yield ev;
  }

  close(): void {
    closeQuiet(this.fd);
  }
}

export interface Launched {
  pid: number;
  status: StatusReader;
  /** Call when the sandbox has ended: releases the server (see StageServer.release). */
  release(): void;
  /** Events that arrived before "spawned" (a fast sandbox may report first). */
  early: ReadStatus[];
}

/**
 * How long spawn() waits for the server to start a sandbox: a warm server answers within a
 * millisecond and a cold one needs a Bun start, but a namespace worker reports the pid only once
 * it has built the root (BUN_SANDBOX_SPAWN_TIMEOUT_MS changes it).
 */
function spawnTimeoutMs(): number {
  const ms = Number(process.env.BUN_SANDBOX_SPAWN_TIMEOUT_MS);
  return Number.isFinite(ms) && ms > 0 ? ms : 30_000;
}

/** sendmsg errors that mean the server's end is gone. */
const SERVER_GONE: ReadonlySet<number> = new Set([Errno.EPIPE, Errno.ECONNRESET, Errno.ECONNREFUSED, Errno.ENOTCONN]);

const fdError = (target: number, why: string, err: number, fix: string) =>
  new SandboxError(`bun-sandbox: stdio[${target}]: ${why} (${errnoName(err)}); ${fix}`, 2, err);

/** The first fd of the caller that is not open, as the error of this spawn; null when all are. */
function closedFdError(io: readonly number[], targets: readonly number[]): SandboxError | null {
  const i = io.findIndex((fd) => isCloexec(fd) === null);
  if (i < 0) return null;
  return fdError(targets[i]!, `fd ${io[i]} is not open in this process`, Errno.EBADF, 'pass an fd that stays open until spawn() returns, or "ignore"');
}

/**
 * What a failed send means. null: the server is gone (the caller tries another). A SandboxError:
 * this request cannot be sent (an fd the kernel refuses to pass, too many fds in flight, no
 * memory), so this spawn fails and the server goes on serving the others.
 */
function sendFailure(e: unknown, io: readonly number[], targets: readonly number[]): SandboxError | null {
  if (!(e instanceof SysError)) throw e;
  if (SERVER_GONE.has(e.errno)) return null;
  const closed = closedFdError(io, targets);
  if (closed) return closed;
  const ring = io.findIndex((fd) => readlinkOrNull(`/proc/self/fd/${fd}`) === "anon_inode:[io_uring]");
  if (e.errno === Errno.EINVAL && ring >= 0) {
    return fdError(targets[ring]!, `fd ${io[ring]} is an io_uring instance, which the kernel does not pass to another process`, e.errno, "share the ring another way");
  }
  // EBADF with every fd of the caller open: our own socket is gone.
  if (e.errno === Errno.EBADF || e.errno === Errno.ENOTSOCK) return null;
  return new SandboxError(`bun-sandbox: the request could not be handed to the stage server: ${e.message}`, 1, e.errno);
}

/** How a request fared up to its "spawned" event. */
type Waited =
  | { kind: "spawned"; pid: number; early: ReadStatus[] }
  /** The server answered without starting anything (it refused the request, or could not fork). */
  | { kind: "refused"; error: SandboxError }
  /** The status pipe closed first: the server died (error null: before it looked at the request). */
  | { kind: "lost"; error: SandboxError | null }
  | { kind: "timeout" };

/** The error the events before a start amount to, or `fallback`. */
function notStarted(early: readonly ReadStatus[], fallback: string): SandboxError {
  for (const ev of early) {
    if (ev.event === "malformed") return new SandboxError(malformedMessage(ev.detail), 1);
    if (ev.event === "error") return new SandboxError(ev.message, ev.exitCode, ev.errno);
  }
  return new SandboxError(fallback, 1);
}

function awaitSpawned(status: StatusReader, timeoutMs: number): Waited {
  const early: ReadStatus[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ev = status.nextSync(Math.max(0, deadline - Date.now()));
    if (ev === null) {
      if (!status.ended) return { kind: "timeout" };
      return { kind: "lost", error: early.length ? notStarted(early, "bun-sandbox: the stage server ended before it reported the sandbox's pid") : null };
    }
    if (ev.event === "spawned") return { kind: "spawned", pid: ev.pid, early };
    early.push(ev);
    if (ev.event === "exit") return { kind: "refused", error: notStarted(early, "bun-sandbox: the stage server did not start the sandbox") };
  }
}

/** Timed-out requests still watched for a late start, and late starts killed (for tests). */
export const lateStarts = { watching: 0, killed: 0 };

/** After a timeout: a sandbox that starts after all is killed (nobody holds it); then releases the server. */
function killLateStart(status: StatusReader, release: () => void): void {
  lateStarts.watching++;
  void (async () => {
    try {
      for await (const ev of status.events()) {
        if (ev.event === "spawned") {
          try {
            const pidfd = pidfdOpen(ev.pid);
            pidfdSendSignal(pidfd, SIG.KILL);
            closeQuiet(pidfd);
            lateStarts.killed++;
          } catch {
            // ended already
          }
        }
        if (ev.event === "exit") break;
      }
    } finally {
      status.close();
      release();
      lateStarts.watching--;
    }
  })();
}

function tryLaunch(job: StageJob, targets: number[], io: number[], warm: boolean): Launched | null {
  const server = warm ? warmServer() : coldServer();
  if (!server) return null;
  server.acquire();
  let status: StatusReader | null = null;
  try {
    const [statusRead, statusWrite] = pipe2();
    status = new StatusReader(statusRead);
    try {
      server.send({ ...job, targets }, [statusWrite, ...io]);
    } catch (e) {
      const error = sendFailure(e, io, targets);
      if (error) throw error;
      retireServer(server);
      return null;
    } finally {
      closeQuiet(statusWrite);
    }
    const timeoutMs = spawnTimeoutMs();
    const waited = awaitSpawned(status, timeoutMs);
    if (waited.kind === "spawned") {
      const launched = { pid: waited.pid, status, early: waited.early, release: () => server.release() };
      status = null;
      return launched;
    }
    if (waited.kind === "refused") throw waited.error;
    // Dead or stuck: new requests go to a fresh server; this one keeps running its sandboxes.
    retireServer(server);
    if (waited.kind === "lost") {
      if (waited.error) throw waited.error;
      return null;
    }
    killLateStart(status, () => server.release());
    status = null;
    throw new SandboxError(
      `bun-sandbox: the stage server did not start the sandbox within ${timeoutMs / 1000} s (a setup step blocked, or the server is stuck); ` +
        "it is killed if it starts later (BUN_SANDBOX_SPAWN_TIMEOUT_MS sets the limit)",
      1,
    );
  } finally {
    if (status) {
      status.close();
      server.release();
    }
  }
}

/**
 * Hands the job (a plan, or namespaces to enter) and the command's fds (`io[i]` becomes fd
 * `targets[i]` in the command) to the warm server, or to a cold one when the warm one is
 * disabled or unavailable. Throws a SandboxError when this request cannot be started.
 */
export function launch(job: StageJob, targets: number[], io: number[], preferWarm: boolean): Launched {
  // Checked before any server is involved; a send failure is looked at again (see sendFailure).
  const closed = closedFdError(io, targets);
  if (closed) throw closed;
  const launched = (preferWarm ? tryLaunch(job, targets, io, true) : null) ?? tryLaunch(job, targets, io, false);
  if (!launched) {
    const why = lastStartFailure() || "is dist/stage-server.cjs built? run `npm run build`";
    throw new SandboxError(`bun-sandbox: the stage server could not be started (${why})`, 1);
  }
  return launched;
}

export interface Outcome {
  exitCode: number | null;
  signalCode: NodeJS.Signals | null;
  /** Shell-style status: the exit code, 128+signal, or 1 when no exit was reported. */
  code: number;
  /** Why the sandbox did not run its command to the end, when it did not. */
  error: SandboxError | undefined;
  /** What the sandbox used, as Bun.spawn reports it; undefined when no usage was reported. */
  usage: ResourceUsage | undefined;
  /** The limit that ended the sandbox, or null. */
  limit: LimitName | null;
}

/** Bun's ResourceUsage from a struct rusage (maxrss is KiB in the kernel, bytes in Bun). */
export function resourceUsageOf(u: RawUsage): ResourceUsage {
  const user = BigInt(u.utime);
  const system = BigInt(u.stime);
  return {
    contextSwitches: { voluntary: u.nvcsw, involuntary: u.nivcsw },
    cpuTime: { user, system, total: user + system },
    maxRSS: u.maxrss * 1024,
    messages: { sent: u.msgsnd, received: u.msgrcv },
    ops: { in: u.inblock, out: u.oublock },
    shmSize: u.ixrss,
    signalCount: u.nsignals,
    swapCount: u.nswap,
  };
}

/** What the status events of one sandbox amount to; shared by spawn and spawnSync. */
export class StatusTracker {
  ready = false;
  error: SandboxError | undefined;
  waitStatus: number | null = null;
  private usage: RawUsage | undefined;
  private limit: LimitName | null = null;
  /** Set by the first malformed line: from then on the stream is not trusted for the error. */
  private malformed = false;
  /** Mount points the setup made on the host, removed once the sandbox has ended. */
  private readonly stubs: Stub[] = [];

  constructor(
    private readonly pid: number,
    private readonly onStatus: ((s: SandboxStatus) => void) | null,
  ) {}

  get done(): boolean {
    return this.waitStatus !== null;
  }

  handle(ev: ReadStatus): void {
    if (ev.event === "ready") {
      if (this.ready) return;
      this.ready = true;
      this.onStatus?.({ type: "started", pid: this.pid, namespaces: ev.namespaces, confinement: ev.confinement });
    } else if (ev.event === "error") {
      if (!this.malformed) this.error = new SandboxError(ev.message, ev.exitCode, ev.errno);
    } else if (ev.event === "exit") {
      this.waitStatus = ev.status;
      this.usage = ev.usage;
    } else if (ev.event === "network") {
      this.onStatus?.({ type: "network", host: ev.host, port: ev.port, allowed: ev.allowed, reason: ev.reason });
    } else if (ev.event === "limit") {
      this.limit ??= ev.limit;
    } else if (ev.event === "stubs") {
      this.stubs.push(...ev.stubs);
    } else if (ev.event === "malformed" && !this.malformed) {
      this.malformed = true;
      this.error = new SandboxError(malformedMessage(ev.detail), 1);
    }
  }

  /** The outcome once the events have ended (reports "exited" to onStatus). */
  finish(): Outcome {
    // Only now: the command may still have used them (a bind's mount point) until it ended.
    if (this.stubs.length) removeStubs(this.stubs.splice(0));
    const status = this.waitStatus;
    let exitCode: number | null = null;
    let signalCode: NodeJS.Signals | null = null;
    let error = this.error;
    if (status === null) {
      error ??= new SandboxError("bun-sandbox: the stage server ended without reporting the sandbox's exit", 1);
      exitCode = 1;
    } else if (wifsignaled(status)) {
      signalCode = signalName(wtermsig(status)) as NodeJS.Signals;
      if (!this.ready && !error) error = new SandboxError(`sandbox killed by ${signalCode} during setup`, exitCodeOf(status));
    } else {
      exitCode = exitCodeOf(status);
    }
    this.onStatus?.({ type: "exited", pid: this.pid, exitCode, signalCode });
    const usage = this.usage ? resourceUsageOf(this.usage) : undefined;
    return { exitCode, signalCode, code: status === null ? 1 : exitCodeOf(status), error, usage, limit: this.limit };
  }
}
