// The last steps before the command replaces us: working directory, fds, keyring, seccomp,
// suspend, then execvpe. Nothing here may leave a tool fd open in the command.
import type { Plan } from "../plan/types.ts";
import { chdir, execvpe, exit, getpid, kill, setsid, umask } from "../sys/process.ts";
import { F, fcntl } from "../sys/fd.ts";
import { resetSignalsForExec } from "../sys/signals.ts";
import { writeStatus } from "./status.ts";
import { packFds, keepOnlyFds } from "../sys/fdpack.ts";
import { joinNewSessionKeyring } from "../sys/keyring.ts";
import { loadCompiled, loadFilter, type SeccompRule } from "../sys/seccomp.ts";
import { restrictSelf } from "../sys/landlock.ts";
import { closeQuiet } from "../sys/fd.ts";
import { setNoNewPrivs } from "../sys/process.ts";
import { commandRules, hardenDomain, precompiledFilter } from "./confine.ts";
import { withRoot } from "./context.ts";
import { libc } from "../sys/libc.ts";
import { Errno, errnoMessage } from "../sys/errno.ts";
import { SetupError } from "./errors.ts";
import { flushTrace, trace } from "../sys/trace.ts";

const SIGSTOP = 19;

/** Writes a line straight to fd 2: after fds are closed Bun's own stderr may not be usable. */
export function rawStderr(line: string): void {
  const b = Buffer.from(line.endsWith("\n") ? line : line + "\n");
  libc.write(2, b, b.length);
}

export interface ExecOptions {
  /** The caller's umask, restored for the command. */
  umask: number;
  /** Suppress chown (mkosi: only when a user namespace was made or it maps a single id). */
  suppressChown: boolean;
  /** Status fd of the library (close-on-exec): an exec failure is reported there. */
  statusFd?: number | undefined;
  /** Called last before the exec (rlimits: a low RLIMIT_NOFILE would refuse our own fd moves). */
  beforeExec?: () => void;
  /** --confinement landlock: the domain to restrict with (it replaces --harden's) and seccomp rules of its own. */
  landlock?: { fd: number; extraRules: SeccompRule[] };
}

/** --harden: no_new_privs, then the Landlock domain (what this kernel lacks is a warning: less holds). */
function harden(plan: Plan): void {
  try {
    setNoNewPrivs();
    const domain = withRoot("/", (root) => hardenDomain(plan, root));
    for (const m of domain.missing) rawStderr(`sandbox: warning: --harden: ${m}; the rest applies`);
    if (domain.fd >= 0) {
      restrictSelf(domain.fd);
      closeQuiet(domain.fd);
    }
  } catch (e) {
    throw new SetupError("harden: landlock", e);
  }
}

/** --confinement landlock: no_new_privs (which Landlock needs without CAP_SYS_ADMIN), then the domain. */
function confineLandlock(fd: number): void {
  try {
    setNoNewPrivs();
    restrictSelf(fd);
    closeQuiet(fd);
  } catch (e) {
    throw new SetupError("landlock", e);
  }
}

export function execCommand(plan: Plan, opts: ExecOptions): never {
  const env = { ...plan.env };
  try {
    chdir(plan.cwd);
  } catch (e) {
    throw new SetupError(`chdir ${plan.cwd}`, e);
  }
  if (plan.newSessionKeyring) {
    try {
      joinNewSessionKeyring();
    } catch (e) {
      throw new SetupError("new session keyring", e);
    }
  }
  if (opts.landlock) confineLandlock(opts.landlock.fd);
  else if (plan.harden) harden(plan);
  const extraRules = opts.landlock?.extraRules ?? [];
  const precompiled = extraRules.length ? null : precompiledFilter(plan, opts.suppressChown);
  const rules = precompiled ? [] : [...commandRules(plan, opts.suppressChown), ...extraRules];
  try {
    // --harden set no_new_privs already, which loading a filter needs without CAP_SYS_ADMIN.
    if (precompiled) loadCompiled(precompiled);
    else if (rules.length) loadFilter(rules);
  } catch (e) {
    throw new SetupError("seccomp filter", e);
  }
  // The status fd must survive the fd clean-up but not the exec; keep it out of the packed range.
  const statusFd = opts.statusFd === undefined ? undefined : fcntl(opts.statusFd, F.DUPFD_CLOEXEC, 1000);
  const extra = statusFd === undefined ? [] : [statusFd];
  if (plan.packFds) {
    const n = packFds(plan.fds, extra);
    if (n > 0) {
      env.LISTEN_FDS = String(n);
      env.LISTEN_PID = String(getpid());
    }
  } else {
    keepOnlyFds(plan.fds, extra);
  }
  if (plan.newSession) setsid();
  umask(opts.umask);
  opts.beforeExec?.();
  resetSignalsForExec();
  trace("exec");
  flushTrace();
  if (plan.suspend) kill(getpid(), SIGSTOP);
  const err = execvpe(plan.argv[0]!, plan.argv, env);
  const code = err === Errno.ENOENT ? 127 : 126;
  const message = `${plan.argv[0]}: ${errnoMessage(err)}`;
  if (statusFd !== undefined) writeStatus(statusFd, { event: "error", message, errno: err, exitCode: code });
  else rawStderr(`sandbox: ${message}`);
  exit(code);
}
