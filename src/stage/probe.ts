// Whether namespaces work here for a plan, tried for real in a forked child: the namespaces the
// plan makes, its id maps, then a mount. The last step is what tells AppArmor's restriction of
// unprivileged user namespaces (Ubuntu 23.10+): the namespace is made, but has no capabilities.
import type { Plan } from "../plan/types.ts";
import { CLONE, MS, formatNamespaces } from "../sys/flags.ts";
import { closeQuiet, pipe2 } from "../sys/fd.ts";
import { readToEnd } from "../sys/fs.ts";
import { libc } from "../sys/libc.ts";
import { mount } from "../sys/mount.ts";
import { exit, fork, getgid, getuid, unshare, waitpid } from "../sys/process.ts";
import { SysError } from "../sys/error.ts";
import { Errno, errnoName } from "../sys/errno.ts";
import { identityOf, mapSelf } from "./identity.ts";
import { namespaceFlags } from "./namespaces.ts";
import { NO_CAPS_IN_USERNS, NO_MOUNT_AS_ROOT, usernsRestrictions } from "./explain.ts";

/** The namespaces a plan's setup makes (the seal's user namespace included). */
export function probeFlags(plan: Plan): { flags: number; userns: boolean } {
  const userns = identityOf(plan.becomeRoot) !== "host";
  const sealed = plan.seal ?? userns;
  const flags = namespaceFlags(plan, userns || sealed) | (sealed ? CLONE.NEWUSER : 0);
  return { flags, userns: (flags & CLONE.NEWUSER) !== 0 };
}

const errText = (e: unknown) => (e instanceof SysError ? errnoName(e.errno) : e instanceof Error ? e.message : String(e));

/** Why a step failed, in words; the known restrictions of this machine are named. */
function explainStep(step: "unshare" | "maps" | "mount", flags: number, e: unknown): string {
  const known = usernsRestrictions();
  const because = known.length ? `: ${known.join("; ")}` : "";
  const err = errText(e);
  if (step === "unshare") {
    const who = e instanceof SysError && e.errno === Errno.ENOSPC ? " (no room: user.max_user_namespaces is used up in this or a parent namespace)" : " (a seccomp filter or container runtime refuses it)";
    return `unshare(${formatNamespaces(flags)}) fails with ${err}${because || who}`;
  }
  if (step === "maps") return `writing the new user namespace's id maps fails with ${err}${because}`;
  if (!(flags & CLONE.NEWUSER)) return `mount fails with ${err}: ${NO_MOUNT_AS_ROOT}`;
  return `a mount fails with ${err}: ${because ? `the user namespace holds no capabilities${because}` : NO_CAPS_IN_USERNS}`;
}

/** In the child: each step in turn; the reason of the first that fails, or "". */
function tryNamespaces(flags: number, userns: boolean): string {
  let step: "unshare" | "maps" | "mount" = "unshare";
  // Read before unshare: in a user namespace without maps every id reads as the overflow id.
  const uid = getuid();
  const gid = getgid();
  try {
    unshare(flags);
    step = "maps";
    if (userns) mapSelf(false, uid, gid);
    step = "mount";
    mount(null, "/", null, MS.SLAVE | MS.REC);
    mount("sandbox-probe", "/", "tmpfs", MS.NOSUID | MS.NODEV, "size=4k");
    return "";
  } catch (e) {
    return explainStep(step, flags, e);
  }
}

/** null when the plan's namespaces work here; else why not, in one line. */
export function probeNamespaces(plan: Plan): string | null {
  const { flags, userns } = probeFlags(plan);
  const [r, w] = pipe2();
  const pid = fork();
  if (pid === 0) {
    closeQuiet(r);
    const why = Buffer.from(tryNamespaces(flags, userns));
    libc.write(w, why, why.length);
    exit(why.length ? 1 : 0);
  }
  closeQuiet(w);
  let why: string;
  try {
    why = readToEnd(r, "probe").toString();
  } finally {
    closeQuiet(r);
    waitpid(pid);
  }
  return why === "" ? null : why;
}
