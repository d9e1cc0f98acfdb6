// Starting one sandbox through a stage server and reading its status events.
import { closeQuiet, pipe2 } from "../sys/fd.ts";
import { libc, errno } from "../sys/libc.ts";
import { poll, POLLIN } from "../sys/socket.ts";
import { Errno } from "../sys/errno.ts";
import { MAX_STATUS_LINE, malformedMessage, parseStatusLine, type ReadStatus } from "./status.ts";
import type { StageJob } from "../stage/request.ts";
import { coldServer, shutdownWarmServer, warmServer } from "./server.ts";
import { SandboxError, type SandboxStatus } from "./types.ts";
import { exitCodeOf, wifsignaled, wtermsig } from "../sys/process.ts";
import { signalName } from "../sys/signals.ts";

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
  /** Call when the sandbox has ended: releases a one-shot server. */
  release(): void;
  /** Events that arrived before "spawned" (a fast sandbox may report first). */
  early: ReadStatus[];
}

// A warm server answers within a millisecond; a cold one needs a Bun start.
const SPAWN_TIMEOUT_MS = 30_000;

function tryLaunch(job: StageJob, targets: number[], io: number[], warm: boolean): Launched | null {
  const server = warm ? warmServer() : coldServer();
  if (!server) return null;
  const [statusRead, statusWrite] = pipe2();
  const status = new StatusReader(statusRead);
  try {
    server.send({ ...job, targets }, [statusWrite, ...io]);
  } catch {
    status.close();
    if (warm) shutdownWarmServer();
    else server.close();
    return null;
  } finally {
    closeQuiet(statusWrite);
  }
  const early: ReadStatus[] = [];
  for (;;) {
    const ev = status.nextSync(SPAWN_TIMEOUT_MS);
    if (ev === null) {
      // The server died before forking (or never answered): nothing was started.
      status.close();
      if (warm) shutdownWarmServer();
      else server.close();
      return null;
    }
    if (ev.event === "spawned") return { pid: ev.pid, status, early, release: () => (warm ? undefined : server.close()) };
    early.push(ev);
  }
}

/**
 * Hands the job (a plan, or namespaces to enter) and the command's fds (`io[i]` becomes fd
 * `targets[i]` in the command) to the warm server, or to a cold one when the warm one is
 * disabled or unavailable.
 */
export function launch(job: StageJob, targets: number[], io: number[], preferWarm: boolean): Launched {
  const launched = (preferWarm ? tryLaunch(job, targets, io, true) : null) ?? tryLaunch(job, targets, io, false);
  if (!launched) throw new SandboxError("bun-sandbox: the stage server could not be started (is dist/stage-server.cjs built? run `npm run build`)", 1);
  return launched;
}

export interface Outcome {
  exitCode: number | null;
  signalCode: NodeJS.Signals | null;
  /** Shell-style status: the exit code, 128+signal, or 1 when no exit was reported. */
  code: number;
  /** Why the sandbox did not run its command to the end, when it did not. */
  error: SandboxError | undefined;
}

/** What the status events of one sandbox amount to; shared by spawn and spawnSync. */
export class StatusTracker {
  ready = false;
  error: SandboxError | undefined;
  waitStatus: number | null = null;
  /** Set by the first malformed line: from then on the stream is not trusted for the error. */
  private malformed = false;

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
      this.onStatus?.({ type: "started", pid: this.pid, namespaces: ev.namespaces });
    } else if (ev.event === "error") {
      if (!this.malformed) this.error = new SandboxError(ev.message, ev.exitCode, ev.errno);
    } else if (ev.event === "exit") {
      this.waitStatus = ev.status;
    } else if (ev.event === "malformed" && !this.malformed) {
      this.malformed = true;
      this.error = new SandboxError(malformedMessage(ev.detail), 1);
    }
  }

  /** The outcome once the events have ended (reports "exited" to onStatus). */
  finish(): Outcome {
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
    return { exitCode, signalCode, code: status === null ? 1 : exitCodeOf(status), error };
  }
}
