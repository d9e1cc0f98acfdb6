// spawnSync: the same launch, waited for on this thread; "pipe" output is captured in memfds, so
// a command writing more than a pipe holds never blocks on a reader that is not reading.
import { closeQuiet, open, writeAll } from "../sys/fd.ts";
import { O } from "../sys/flags.ts";
import { readFile } from "../sys/fs.ts";
import { memfdCreate } from "../sys/socket.ts";
import { pidfdOpen, pidfdSendSignal } from "../sys/process.ts";
import { signalNumber } from "../sys/signals.ts";
import { launch, StatusTracker } from "./launch.ts";
import { withFds, type StageJob } from "../stage/request.ts";
import { nullFd, stdioSlots } from "./subprocess.ts";
import { SandboxError, type OutputOf, type SandboxSpawnSyncOptions, type SandboxStatus, type SandboxSyncResult, type StdioOption } from "./types.ts";

/** `job`: a sandbox's plan, or the namespaces of a process to enter. */
export function spawnSyncJob<Out extends StdioOption, Err extends StdioOption>(
  job: StageJob, opts: SandboxSpawnSyncOptions<Out, Err>, warm: boolean, onStatus: ((s: SandboxStatus) => void) | null,
): SandboxSyncResult<Out, Err> {
  const input = opts.stdin;
  const slots = stdioSlots({ ...opts, stdin: typeof input === "string" || input instanceof Uint8Array ? "pipe" : input }, ["ignore", "pipe", "pipe"]);
  const io: number[] = [];
  const mine: number[] = [];
  const captured = new Map<number, number>();
  try {
    slots.forEach((slot: StdioOption, target) => {
      if (slot === "pipe") {
        const fd = memfdCreate(`sandbox-${target}`);
        mine.push(fd);
        if (target === 0) {
          if (typeof input === "string" || input instanceof Uint8Array) writeAll(fd, typeof input === "string" ? Buffer.from(input) : input);
          // The command reads from the start: hand over a fresh open file description.
          const reopened = open(`/proc/self/fd/${fd}`, O.RDONLY);
          mine.push(reopened);
          io.push(reopened);
        } else {
          captured.set(target, fd);
          io.push(fd);
        }
      } else if (slot === "inherit") io.push(target);
      else if (slot === "ignore") io.push(nullFd());
      else if (typeof slot === "number") io.push(slot);
      else throw new SandboxError(`stdio[${target}]: expected "pipe", "inherit", "ignore" or an fd`, 2);
    });
    const targets = slots.map((_, i) => i);
    const { pid, status, early, release } = launch(withFds(job, targets.filter((t) => t > 2)), targets, io, warm);
    let pidfd = -1;
    try {
      pidfd = pidfdOpen(pid);
      mine.push(pidfd);
    } catch {
      // already ended and reaped
    }
    const tracker = new StatusTracker(pid, onStatus);
    let timedOut = false;
    const deadline = opts.timeout && opts.timeout > 0 ? Date.now() + opts.timeout : Infinity;
    early.forEach((ev) => tracker.handle(ev));
    try {
      while (!tracker.done) {
        const left = deadline === Infinity ? -1 : Math.max(0, deadline - Date.now());
        const ev = status.nextSync(timedOut ? -1 : left);
        if (ev) tracker.handle(ev);
        else if (status.ended) break;
        else if (!timedOut) {
          timedOut = true;
          try {
            if (pidfd >= 0) pidfdSendSignal(pidfd, signalNumber(opts.killSignal ?? "SIGTERM"));
          } catch {
            // already gone
          }
        }
      }
    } finally {
      status.close();
      release();
    }
    const { exitCode, signalCode, error, usage, limit } = tracker.finish();
    // A Buffer exactly where the option was "pipe", which is what OutputOf says.
    const out = <X extends StdioOption>(t: number) => (captured.has(t) ? readFile(`/proc/self/fd/${captured.get(t)}`) : undefined) as OutputOf<X>;
    return { pid, exitCode, signalCode, success: exitCode === 0, stdout: out<Out>(1), stderr: out<Err>(2), error, exitedDueToTimeout: timedOut, resourceUsage: usage, limit };
  } finally {
    for (const fd of mine) closeQuiet(fd);
  }
}
