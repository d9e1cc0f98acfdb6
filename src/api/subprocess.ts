// A running sandbox, shaped like Bun's Subprocess.
import type { FileSink, ResourceUsage } from "bun";
import type { LimitName } from "../plan/limits.ts";
import { closeQuiet, open, pipe2 } from "../sys/fd.ts";
import { O } from "../sys/flags.ts";
import { signalNumber } from "../sys/signals.ts";
import { pidfdOpen, pidfdSendSignal } from "../sys/process.ts";
import { launch, StatusTracker, type Launched } from "./launch.ts";
import { withFds, type StageJob } from "../stage/request.ts";
import { SandboxError, type SandboxSpawnOptions, type SandboxStatus, type SandboxSubprocess, type StdinOf, type StdioArray, type StdioOption, type StreamOf } from "./types.ts";

let devNull = -1;
/** One /dev/null fd for every "ignore" (the server gets its own copy per request). */
export function nullFd(): number {
  if (devNull < 0) devNull = open("/dev/null", O.RDWR);
  return devNull;
}

export interface IoSetup {
  /** fds to hand over, in the order of `targets`. */
  io: number[];
  targets: number[];
  /** Host ends of "pipe" streams, by sandbox fd. */
  hostEnds: Map<number, number>;
  /** Child ends to close once the server has its copies. */
  childEnds: number[];
}

/** Turns Bun-style stdio options into fds to hand to the sandbox. */
export function setupIo(slots: StdioOption[], pipeFor: (target: number) => "read" | "write"): IoSetup {
  const out: IoSetup = { io: [], targets: [], hostEnds: new Map(), childEnds: [] };
  try {
    slots.forEach((slot, target) => {
      if (slot === "pipe") {
        if (target > 2) throw new SandboxError(`stdio[${target}]: "pipe" is for stdin, stdout and stderr; pass an fd you opened (e.g. one end of a pipe) instead`, 2);
        const [r, w] = pipe2();
        const childEnd = pipeFor(target) === "read" ? r : w;
        out.hostEnds.set(target, childEnd === r ? w : r);
        out.childEnds.push(childEnd);
        out.io.push(childEnd);
      } else if (slot === "inherit") {
        out.io.push(target);
      } else if (slot === "ignore") {
        out.io.push(nullFd());
      } else if (typeof slot === "number" && Number.isInteger(slot) && slot >= 0) {
        out.io.push(slot);
      } else {
        throw new SandboxError(`stdio[${target}]: expected "pipe", "inherit", "ignore" or an fd, got ${JSON.stringify(slot)}`, 2);
      }
      out.targets.push(target);
    });
  } catch (e) {
    for (const fd of [...out.childEnds, ...out.hostEnds.values()]) closeQuiet(fd);
    throw e;
  }
  return out;
}

export function stdioSlots(opts: { stdin?: unknown; stdout?: StdioOption; stderr?: StdioOption; stdio?: StdioArray }, dflt: [StdioOption, StdioOption, StdioOption]): StdioOption[] {
  // Undefined entries past stderr are left for setupIo to refuse.
  const slots = [...(opts.stdio ?? dflt)] as StdioOption[];
  for (let i = 0; i < 3; i++) slots[i] ??= dflt[i]!;
  if (opts.stdin !== undefined) slots[0] = opts.stdin as StdioOption;
  if (opts.stdout !== undefined) slots[1] = opts.stdout;
  if (opts.stderr !== undefined) slots[2] = opts.stderr;
  return slots;
}

/**
 * A readable stream over a pipe's read end. It reads eagerly, like Bun.spawn's stdout, so the fd
 * is closed at end of output even when nobody reads the stream (the data waits in the stream).
 */
function readableFromFd(fd: number): ReadableStream<Uint8Array> {
  const reader = Bun.file(fd).stream().getReader();
  let open = true;
  const close = () => {
    if (open) closeQuiet(fd);
    open = false;
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      void (async () => {
        try {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            controller.enqueue(value);
          }
          controller.close();
        } catch (e) {
          if (open) controller.error(e);
        } finally {
          close();
        }
      })();
    },
    async cancel(reason) {
      close();
      await reader.cancel(reason).catch(() => {});
    },
  });
}

const isEpipe = (e: unknown) => (e as { code?: string } | null)?.code === "EPIPE";

/** Runs a sink call, treating a closed reader (EPIPE) as Bun.spawn's stdin does: silently. */
function ignoreEpipe<T>(call: () => T | Promise<T>, dflt: T): T | Promise<T> {
  try {
    const r = call();
    return r instanceof Promise ? r.catch((e: unknown) => (isEpipe(e) ? dflt : Promise.reject(e))) : r;
  } catch (e) {
    if (isEpipe(e)) return dflt;
    throw e;
  }
}

/** A FileSink over a pipe's write end; end() also closes the fd so the command sees EOF. */
function sinkFromFd(fd: number): FileSink {
  const sink = Bun.file(fd).writer();
  let closed = false;
  const close = () => {
    if (!closed) closeQuiet(fd);
    closed = true;
  };
  const wrapper: Pick<FileSink, "write" | "flush" | "end" | "start" | "ref" | "unref"> = {
    write: (chunk) => ignoreEpipe(() => sink.write(chunk), 0),
    flush: () => ignoreEpipe(() => sink.flush(), 0),
    end: (error?: Error) => {
      const r = ignoreEpipe(() => sink.end(error), 0);
      if (r instanceof Promise) return r.finally(close);
      close();
      return r;
    },
    start: (options) => sink.start(options),
    ref: () => sink.ref(),
    unref: () => sink.unref(),
  };
  return wrapper as FileSink;
}

export class SandboxProcess<In extends StdioOption, Out extends StdioOption, Err extends StdioOption> implements SandboxSubprocess<In, Out, Err> {
  readonly pid: number;
  readonly stdin: StdinOf<In>;
  readonly stdout: StreamOf<Out>;
  readonly stderr: StreamOf<Err>;
  readonly exited: Promise<number>;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  killed = false;
  private usage: ResourceUsage | undefined;
  /** The limit that ended the sandbox (set by the time exited settles), or null. */
  limit: LimitName | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Signals go through a pidfd: the pid itself may be reused once the server has reaped it. */
  private pidfd = -1;

  /** `job`: a sandbox's plan, or the namespaces of a process to enter. */
  constructor(job: StageJob, opts: SandboxSpawnOptions<In, Out, Err>, warm: boolean, onStatus: ((s: SandboxStatus) => void) | null) {
    const slots = stdioSlots(opts, ["ignore", "pipe", "inherit"]);
    const io = setupIo(slots, (t) => (t === 0 ? "read" : "write"));
    let launched;
    try {
      launched = launch(withFds(job, io.targets.filter((t) => t > 2)), io.targets, io.io, warm);
    } catch (e) {
      for (const fd of io.hostEnds.values()) closeQuiet(fd);
      throw e;
    } finally {
      for (const fd of io.childEnds) closeQuiet(fd);
    }
    this.pid = launched.pid;
    try {
      this.pidfd = pidfdOpen(this.pid);
    } catch {
      // already ended and reaped: nothing left to signal
    }
    const hostIn = io.hostEnds.get(0);
    const hostOut = io.hostEnds.get(1);
    const hostErr = io.hostEnds.get(2);
    // A sink or stream exactly where the option was "pipe", which is what StdinOf and StreamOf say.
    this.stdin = (hostIn === undefined ? undefined : sinkFromFd(hostIn)) as StdinOf<In>;
    this.stdout = (hostOut === undefined ? undefined : readableFromFd(hostOut)) as StreamOf<Out>;
    this.stderr = (hostErr === undefined ? undefined : readableFromFd(hostErr)) as StreamOf<Err>;
    const killSignal = opts.killSignal ?? "SIGTERM";
    if (opts.timeout !== undefined && opts.timeout > 0) this.timer = setTimeout(() => this.kill(killSignal), opts.timeout);
    if (opts.signal) {
      if (opts.signal.aborted) this.kill(killSignal);
      else opts.signal.addEventListener("abort", () => this.kill(killSignal), { once: true });
    }

    this.exited = this.follow(launched, opts, onStatus);
    // A caller that never awaits `exited` must not crash the host with an unhandled rejection.
    this.exited.catch(() => {});
  }

  /** Reads the status events until the exit; resolves with the exit code or rejects with the cause. */
  private async follow(launched: Launched, opts: SandboxSpawnOptions<In, Out, Err>, onStatus: ((s: SandboxStatus) => void) | null): Promise<number> {
    const tracker = new StatusTracker(this.pid, onStatus);
    try {
      for (const ev of launched.early) tracker.handle(ev);
      for await (const ev of launched.status.events()) {
        tracker.handle(ev);
        if (tracker.done) break;
      }
    } finally {
      launched.status.close();
      launched.release();
      if (this.timer) clearTimeout(this.timer);
      if (this.pidfd >= 0) closeQuiet(this.pidfd);
      this.pidfd = -1;
    }
    const out = tracker.finish();
    this.usage = out.usage;
    this.limit = out.limit;
    this.exitCode = out.exitCode;
    this.signalCode = out.signalCode;
    opts.onExit?.(this, this.exitCode, this.signalCode, out.error);
    if (out.error) throw out.error;
    // From the wait status: a signal without a name (a real-time one) has a number all the same.
    return out.code;
  }

  /**
   * What the sandbox used once it has ended (undefined before), as Bun.spawn's resourceUsage():
   * the top process and every process it waited for; with unsharePid(), every process in it.
   */
  resourceUsage(): ResourceUsage | undefined {
    return this.usage;
  }

  kill(signal: NodeJS.Signals | number = "SIGTERM"): void {
    if (this.pidfd < 0) return;
    this.killed = true;
    try {
      pidfdSendSignal(this.pidfd, signalNumber(signal));
    } catch {
      // already gone
    }
  }
}
