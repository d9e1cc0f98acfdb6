// Supervising one child: forward the signals a terminal or a build tool sends, reap, and end
// the way the child did (killed by the same signal, or with its exit code: exitLike). PID 1 of a sandbox's PID
// namespace does this for the command (reaping orphans too); the process outside that
// namespace does it for PID 1, so signals sent from the host reach the command.
import { closeAllExcept, closeQuiet } from "../sys/fd.ts";
import { exit, getpgid, getpid, kill, setDumpable, waitpid, WNOHANG, exitCodeOf, wifsignaled, wtermsig } from "../sys/process.ts";
import { defaultAction, readSignal, SI_KERNEL, SIG, signalfd, sigprocmask, SIG_BLOCK, SIG_UNBLOCK, type SignalInfo } from "../sys/signals.ts";
import { libc } from "../sys/libc.ts";
import { Errno } from "../sys/errno.ts";
import { SysError } from "../sys/error.ts";

export const FORWARDED_SIGNALS = [SIG.TERM, SIG.INT, SIG.HUP, SIG.QUIT, SIG.USR1, SIG.USR2, SIG.WINCH];

/**
 * Blocks the forwarded signals and SIGCHLD. Call before forking the child, so a child that exits
 * at once is not missed; the child resets its mask before exec.
 */
export function blockSupervisedSignals(): void {
  sigprocmask(SIG_BLOCK, [...FORWARDED_SIGNALS, SIG.CHLD]);
}

export interface SuperviseOptions {
  /** PID 1: also reap every other process that ends up as our child. */
  reapAll: boolean;
  /** fds to keep open while supervising (everything else, stdio included, is closed). */
  keep?: number[];
  /**
   * PID 1 of a PID namespace cannot die by a signal of its own: it writes the child's wait
   * status here (4 bytes) for the relay outside, which can (see exitLike).
   */
  reportFd?: number;
}

/** Never returns: ends the way `child` ended once it has (see exitLike). */
export function supervise(child: number, opts: SuperviseOptions): never {
  const keep = [...(opts.keep ?? []), ...(opts.reportFd === undefined ? [] : [opts.reportFd])];
  const status = superviseUntilExit(child, { ...opts, keep });
  if (opts.reportFd !== undefined) reportStatus(opts.reportFd, status);
  exitLike(status);
}

/** PID 1's last word to its relay: the wait status of the command. */
export function reportStatus(fd: number, status: number): void {
  const b = Buffer.alloc(4);
  b.writeInt32LE(status);
  libc.write(fd, b, 4);
}

/** The status PID 1 reported on `fd` (it has exited: the bytes are there or never come), or null. */
export function reportedStatus(fd: number): number | null {
  const b = Buffer.alloc(4);
  const n = Number(libc.read(fd, b, 4));
  closeQuiet(fd);
  return n === 4 ? b.readInt32LE() : null;
}

/**
 * Ends this process the way its child ended, so whoever waits for us sees what Bun.spawn would
 * have shown for the command: killed by the same signal (raised on ourselves with its default
 * action; not dumpable, so no core of ours), or the same exit code. PID 1 of a PID namespace
 * ignores its own signals and falls through to 128+signal: it reports the status instead.
 */
export function exitLike(status: number): never {
  if (wifsignaled(status)) {
    const sig = wtermsig(status);
    setDumpable(false);
    defaultAction(sig);
    sigprocmask(SIG_UNBLOCK, [sig]);
    try {
      kill(getpid(), sig);
    } catch {
      // fall through to the exit code
    }
  }
  exit(exitCodeOf(status));
}

/** Forwards signals to `child` and reaps until it has ended; returns its wait status. */
export function superviseUntilExit(child: number, opts: SuperviseOptions): number {
  const sfd = signalfd([...FORWARDED_SIGNALS, SIG.CHLD]);
  const keep = opts.keep ?? [];
  closeAllExcept([sfd, ...keep], 3);
  for (const fd of [0, 1, 2]) if (!keep.includes(fd)) closeQuiet(fd);
  for (;;) {
    // Reap first: the child may have ended before the signalfd existed.
    for (;;) {
      let r;
      try {
        r = waitpid(opts.reapAll ? -1 : child, WNOHANG);
      } catch (e) {
        if (e instanceof SysError && e.errno === Errno.ECHILD) {
          closeQuiet(sfd);
          return 1 << 8;
        }
        throw e;
      }
      if (r.pid === 0) break;
      if (r.pid === child) {
        closeQuiet(sfd);
        return r.status;
      }
    }
    const sig = readSignal(sfd);
    if (sig.signo !== SIG.CHLD && !fromTerminalToo(sig, child)) {
      try {
        kill(child, sig.signo);
      } catch {
        // already gone: the next SIGCHLD ends the loop
      }
    }
  }
}

/**
 * A signal the terminal sent (^C, a window resize) went to its whole foreground process group:
 * when the child is in our group it got the signal itself, and forwarding would deliver it twice.
 */
export function fromTerminalToo(sig: SignalInfo, child: number): boolean {
  if (sig.code !== SI_KERNEL) return false;
  try {
    return getpgid(child) === getpgid(0);
  } catch {
    return false;
  }
}

/** PID 1 of a PID namespace: kills every other process in it and reaps them. */
export function killTheRest(): void {
  try {
    kill(-1, SIG.KILL);
  } catch {
    // nobody left
  }
  for (;;) {
    try {
      waitpid(-1);
    } catch {
      return; // ECHILD: all reaped
    }
  }
}

/**
 * A process of ours that outlives the setup: not dumpable, so a command running as the same user
 * cannot ptrace it or reach what it holds through /proc/PID/fd, root or cwd.
 */
export function supervisor(run: () => never): never {
  // BUN_SANDBOX_TEST_DUMPABLE=1 leaves them dumpable: only the escape tests' controls set it.
  if (process.env.BUN_SANDBOX_TEST_DUMPABLE !== "1") setDumpable(false);
  return run();
}
