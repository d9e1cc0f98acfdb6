// What confines the command beyond its namespaces: its capability sets (mkosi-sandbox's kept set,
// --cap-add/--cap-drop, none with --harden), its seccomp filter (chown/sync suppression,
// --disable-userns, --harden's list) and, with --harden, a Landlock domain: read and execute
// everywhere, every right only beneath the places the plan made writable, and signals and
// abstract unix sockets scoped to the sandbox. Shared by the forked stage and the namespace worker.
import type { Plan } from "../plan/types.ts";
import { applyCapChanges } from "../plan/caps.ts";
import { disableUsernsRules, hardenRules, writablePlaces } from "../plan/harden.ts";
import { HARDEN_FILTER } from "../plan/harden-filter.ts";
import { hostArch } from "../sys/numbers.ts";
import { CAP, capget, lastCap } from "../sys/caps.ts";
import { CHOWN_SYSCALLS, RULE_ERRNO, SYNC_SYSCALLS, type SeccompRule } from "../sys/seccomp.ts";
import {
  addPathRule, createRuleset, describeMissing, landlockStatus, LANDLOCK_ACCESS_FS, LANDLOCK_ALL, LANDLOCK_SCOPE,
} from "../sys/landlock.ts";
import { closeQuiet } from "../sys/fd.ts";
import { openIn } from "./dest.ts";
import { readText } from "../sys/fs.ts";

/**
 * Capabilities kept (and raised to ambient so child processes keep them) inside a user
 * namespace we made; every other one is dropped from the bounding set. The same set as
 * mkosi-sandbox: what file ownership, mounting, chroot and ptrace-based tools need.
 */
export const KEPT_CAPS = [
  CAP.CHOWN, CAP.DAC_OVERRIDE, CAP.DAC_READ_SEARCH, CAP.FOWNER, CAP.FSETID, CAP.SETGID, CAP.SETUID,
  CAP.SETPCAP, CAP.SYS_CHROOT, CAP.SYS_PTRACE, CAP.SYS_ADMIN, CAP.SYS_RESOURCE, CAP.SETFCAP,
];
/** Added when the sandbox has its own network namespace. */
export const KEPT_NET_CAPS = [CAP.NET_BIND_SERVICE, CAP.NET_ADMIN];

/**
 * The capabilities the command ends with, or null to leave them as they are (real root with no
 * --cap-add/--cap-drop): mkosi-sandbox's kept set in a user namespace (with the network ones when
 * it has a network namespace), every one this process has as real root; then the changes; none
 * at all with --harden.
 */
export function commandCaps(plan: Plan, userns: boolean, netns: boolean): number[] | null {
  if (plan.harden) return [];
  if (userns) return applyCapChanges(netns ? [...KEPT_CAPS, ...KEPT_NET_CAPS] : KEPT_CAPS, plan.capChanges, lastCap());
  if (plan.capChanges.length === 0) return null;
  const have = capget().permitted;
  const held = Array.from({ length: lastCap() + 1 }, (_, c) => c).filter((c) => have & (1n << BigInt(c)));
  return applyCapChanges(held, plan.capChanges, lastCap());
}

/**
 * The hardened filter as compiled at build time (src/plan/harden-filter.ts), when it is all the
 * command's filter holds: no suppressed calls beside it. null: compile the rules instead.
 */
export function precompiledFilter(plan: Plan, suppressChown: boolean): Uint8Array | null {
  const arch = hostArch();
  if (!plan.harden || suppressChown || plan.suppressSync || arch === null) return null;
  return Buffer.from(HARDEN_FILTER[arch], "base64");
}

/** The rules of the command's seccomp filter (empty: none is loaded). */
export function commandRules(plan: Plan, suppressChown: boolean): SeccompRule[] {
  const zero = (names: readonly string[]) => names.map((syscall) => ({ syscall, errno: RULE_ERRNO.RETURN_ZERO }));
  return [
    ...(suppressChown ? zero(CHOWN_SYSCALLS) : []),
    ...(plan.suppressSync ? zero(SYNC_SYSCALLS) : []),
    ...(plan.harden ? hardenRules() : plan.disableUserns ? disableUsernsRules() : []),
  ];
}

// IOCTL_DEV is not handled: an ioctl is no write, and a terminal opened later needs them.
const HANDLED_FS = LANDLOCK_ALL.fs & ~LANDLOCK_ACCESS_FS.IOCTL_DEV;
const READ = LANDLOCK_ACCESS_FS.READ_FILE | LANDLOCK_ACCESS_FS.READ_DIR | LANDLOCK_ACCESS_FS.EXECUTE;
const SCOPES = LANDLOCK_SCOPE.ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE.SIGNAL;

export interface HardenDomain {
  /** The ruleset fd to restrict with (close-on-exec), or -1 without Landlock. */
  fd: number;
  /** What this kernel lacks (for --debug and the doctor). */
  missing: string[];
}

/**
 * --harden's Landlock ruleset, its paths opened from `rootFd` (the sandbox's root as the command
 * will have it). Rules are on inodes, so the fds may come from a copy of the mount namespace.
 */
export function hardenDomain(plan: Plan, rootFd: number): HardenDomain {
  const status = landlockStatus();
  const missing = describeMissing(status, { fs: HANDLED_FS, scoped: SCOPES });
  if (status.abi < 1) return { fd: -1, missing };
  const fd = createRuleset({ handledFs: HANDLED_FS, scoped: SCOPES });
  try {
    allow(fd, rootFd, "/", READ);
    for (const place of writablePlaces(plan)) allow(fd, rootFd, place, HANDLED_FS);
  } catch (e) {
    closeQuiet(fd);
    throw e;
  }
  return { fd, missing };
}

/** A rule for what `path` names (skipped when it is missing: nothing to allow there). */
function allow(ruleset: number, rootFd: number, path: string, rights: bigint): void {
  const at = openIn(rootFd, path);
  if (at === null) return;
  try {
    addPathRule(ruleset, at, rights, path);
  } finally {
    closeQuiet(at);
  }
}

/** mkosi's rule: chown is suppressed only when a user namespace was made or this one maps a single id. */
export function chownSuppressed(plan: Plan, userns: boolean): boolean {
  return plan.suppressChown && (userns || userNamespaceHasSingleId());
}

function userNamespaceHasSingleId(): boolean {
  try {
    const lines = readText("/proc/self/uid_map").trim().split("\n");
    return lines.length === 1 && lines[0]!.trim().split(/\s+/)[2] === "1";
  } catch {
    return false;
  }
}
