// Supervising one child: forward the signals a terminal or a build tool sends, reap, and exit
// with the child's status (128+signal when it was killed by one). PID 1 of a sandbox's PID
// namespace does this for the command (reaping orphans too); the process outside that
// namespace does it for PID 1, so signals sent from the host reach the command.
import { closeAllExcept, closeQuiet } from "../sys/fd.ts";
import { exit, kill, waitpid, WNOHANG, exitCodeOf } from "../sys/process.ts";
import { readSignal, SIG, signalfd, sigprocmask, SIG_BLOCK } from "../sys/signals.ts";
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
  /** fds to keep open while supervising (everything else above stderr is closed). */
  keep?: number[];
}

/** Never returns: exits with `child`'s status once it has ended. */
export function supervise(child: number, opts: SuperviseOptions): never {
  const sfd = signalfd([...FORWARDED_SIGNALS, SIG.CHLD]);
  closeAllExcept([sfd, ...(opts.keep ?? [])], 3);
  for (const fd of [0, 1, 2]) closeQuiet(fd);
  for (;;) {
    // Reap first: the child may have ended before the signalfd existed.
    for (;;) {
      let r;
      try {
        r = waitpid(opts.reapAll ? -1 : child, WNOHANG);
      } catch (e) {
        if (e instanceof SysError && e.errno === Errno.ECHILD) exit(1);
        throw e;
      }
      if (r.pid === 0) break;
      if (r.pid === child) exit(exitCodeOf(r.status));
    }
    const sig = readSignal(sfd);
    if (sig !== SIG.CHLD) {
      try {
        kill(child, sig);
      } catch {
        // already gone: the next SIGCHLD ends the loop
      }
    }
  }
}
