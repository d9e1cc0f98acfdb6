// `sandbox --doctor`: what this machine allows, found by reading the knobs and by trying each
// thing in a forked child (so this process stays untouched).
import { mkdir, readText, writeExisting } from "../sys/fs.ts";
import { hostArch } from "../sys/numbers.ts";
import { CLONE, MS, AT, OPEN_TREE } from "../sys/flags.ts";
import { exit, fork, getgid, getuid, threadCount, unshare, waitpid, wexitstatus, wifexited } from "../sys/process.ts";
import { mount, openTree, newMountApiBindings } from "../sys/mount.ts";
import { libseccomp } from "../sys/seccomp.ts";
import { libkeyutils } from "../sys/keyring.ts";
import { pidfdBindings, clone3Binding } from "../sys/process.ts";
import { fdBindings } from "../sys/fd.ts";
import { seccompBinding } from "../sys/seccomp.ts";
import { keyctlBinding } from "../sys/keyring.ts";
import { describeAbi, landlockStatus, type LandlockStatus } from "../sys/landlock.ts";
import { SysError } from "../sys/error.ts";
import { errnoName } from "../sys/errno.ts";
import { kernelRelease, usernsRestrictions } from "../stage/explain.ts";
import { overlayOptions } from "../plan/ops/overlay.ts";
import { emptyPlan } from "../plan/types.ts";
import { BASE_NEED, landlockShortfall } from "../plan/landlock.ts";
import { probeNamespaces } from "../stage/probe.ts";
import { writeOut } from "./output.ts";

function readKnob(path: string): string | null {
  try {
    return readText(path).trim();
  } catch {
    return null;
  }
}

/** Runs `fn` in a forked child; resolves to null on success or the errno name / message of the failure. */
function tryInChild(fn: () => void): string | null {
  const pid = fork();
  if (pid === 0) {
    let code = 0;
    try {
      fn();
    } catch (e) {
      code = e instanceof SysError ? e.errno : 255;
    }
    exit(code);
  }
  const { status } = waitpid(pid);
  if (!wifexited(status)) return "killed";
  const code = wexitstatus(status);
  return code === 0 ? null : code === 255 ? "failed" : errnoName(code);
}

function enterUserns(): void {
  const uid = getuid(), gid = getgid();
  unshare(CLONE.NEWUSER | CLONE.NEWNS);
  writeExisting("/proc/self/setgroups", "deny");
  writeExisting("/proc/self/uid_map", `0 ${uid} 1`);
  writeExisting("/proc/self/gid_map", `0 ${gid} 1`);
}

export interface DoctorReport {
  kernel: string;
  arch: string;
  supportedArch: boolean;
  uid: number;
  threads: number;
  userns: {
    maxUserNamespaces: string | null;
    unprivilegedUsernsClone: string | null;
    apparmorRestrictUnprivilegedUserns: string | null;
    works: boolean;
    error: string | null;
  };
  mountNamespace: { works: boolean; error: string | null };
  newMountApi: { works: boolean; error: string | null };
  overlayInUserns: { works: boolean; error: string | null };
  calls: Record<string, "libc" | "syscall" | "missing" | "libseccomp" | "libkeyutils">;
  libseccomp: boolean;
  libkeyutils: boolean;
  landlock: LandlockStatus;
  /** Which confinements this host allows for a default plan of this user, and why not. */
  confinement: {
    namespaces: { allowed: boolean; reason: string | null };
    landlock: { allowed: boolean; reason: string | null; abi: number; covers: string };
    /** What --confinement auto picks; null when neither works. */
    auto: "namespaces" | "landlock" | null;
  };
  canSandbox: boolean;
  reason: string | null;
  fix: string | null;
}

export function doctorReport(): DoctorReport {
  const uid = getuid();
  const usernsError = tryInChild(enterUserns);
  const mntError = uid === 0 ? tryInChild(() => unshare(CLONE.NEWNS)) : usernsError;
  const newApiError = tryInChild(() => {
    if (uid !== 0) enterUserns();
    else unshare(CLONE.NEWNS);
    openTree("/", OPEN_TREE.CLONE | OPEN_TREE.CLOEXEC | AT.RECURSIVE);
  });
  const overlayError = tryInChild(() => {
    enterUserns();
    mount("tmpfs", "/tmp", "tmpfs", 0, "mode=0755");
    for (const d of ["l1", "l2", "u", "w", "m"]) mkdir(`/tmp/${d}`);
    mount("overlay", "/tmp/m", "overlay", MS.NOSUID, overlayOptions(["/tmp/l1", "/tmp/l2"], "/tmp/u", "/tmp/w"));
  });
  const calls: DoctorReport["calls"] = {};
  const bindings = { ...newMountApiBindings, ...pidfdBindings, ...fdBindings, clone3: clone3Binding, seccomp: seccompBinding, keyctl: keyctlBinding };
  for (const [name, b] of Object.entries(bindings)) calls[name] = b.via;
  const seccomp = libseccomp() !== null;
  const keyutils = libkeyutils() !== null;
  if (seccomp) calls.seccomp = "libseccomp";
  if (keyutils) calls.keyctl = "libkeyutils";
  const arch = hostArch();
  const restrictions = usernsRestrictions();
  let reason: string | null = null;
  let fix: string | null = null;
  const confinement = confinementReport();
  const canSandbox = confinement.auto !== null;
  if (confinement.namespaces.allowed === false && confinement.auto === "landlock") {
    reason = `namespaces are refused (${confinement.namespaces.reason}); --confinement auto or landlock confines with Landlock instead`;
  } else if (!canSandbox) {
    reason = `namespaces are refused (${confinement.namespaces.reason}), and Landlock cannot confine (${confinement.landlock.reason})`;
    fix = uid === 0
      ? "run outside the container that forbids it, or give it CAP_SYS_ADMIN; or a kernel with Landlock ABI 3 (Linux 6.2)"
      : restrictions.length ? "change the sysctl named above" : "allow unprivileged user namespaces (see your distribution's notes), run as root, or use a kernel with Landlock ABI 3 (Linux 6.2)";
  }
  return {
    kernel: kernelRelease(),
    arch: process.arch === "x64" ? "x86_64" : process.arch === "arm64" ? "aarch64" : process.arch,
    supportedArch: arch !== null,
    uid,
    threads: threadCount(),
    userns: {
      maxUserNamespaces: readKnob("/proc/sys/user/max_user_namespaces"),
      unprivilegedUsernsClone: readKnob("/proc/sys/kernel/unprivileged_userns_clone"),
      apparmorRestrictUnprivilegedUserns: readKnob("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"),
      works: usernsError === null,
      error: usernsError,
    },
    mountNamespace: { works: mntError === null, error: mntError },
    newMountApi: { works: newApiError === null, error: newApiError },
    overlayInUserns: { works: overlayError === null, error: overlayError },
    calls,
    libseccomp: seccomp,
    libkeyutils: keyutils,
    landlock: landlockStatus(),
    confinement,
    canSandbox,
    reason,
    fix,
  };
}

/** The two confinements for the plan `sandbox --ro-bind / / true` of this user would make. */
function confinementReport(): DoctorReport["confinement"] {
  const plan = { ...emptyPlan(), argv: ["true"] };
  const nsWhy = probeNamespaces(plan);
  const status = landlockStatus();
  const short = landlockShortfall([{ by: "landlock", wanted: BASE_NEED.wanted }], status);
  const landlock = { allowed: short.length === 0, reason: short.length ? short.join("; ") : null, abi: status.abi, covers: describeAbi(status.abi) };
  return { namespaces: { allowed: nsWhy === null, reason: nsWhy }, landlock, auto: nsWhy === null ? "namespaces" : landlock.allowed ? "landlock" : null };
}

const yes = (ok: boolean, err: string | null) => (ok ? "yes" : `no (${err})`);

export function formatDoctor(r: DoctorReport): string {
  const lines = [
    `kernel:                 ${r.kernel} (${r.arch}${r.supportedArch ? "" : ", no syscall table: libc wrappers only"})`,
    `running as:             uid ${r.uid}${r.uid === 0 ? " (root: no user namespace needed)" : ""}`,
    `this process:           ${r.threads} thread${r.threads === 1 ? "" : "s"}${r.threads === 1 ? " (can unshare and fork)" : " (cannot unshare a user namespace)"}`,
    `user.max_user_namespaces: ${r.userns.maxUserNamespaces ?? "absent"}`,
    `kernel.unprivileged_userns_clone: ${r.userns.unprivilegedUsernsClone ?? "absent"}`,
    `kernel.apparmor_restrict_unprivileged_userns: ${r.userns.apparmorRestrictUnprivilegedUserns ?? "absent"}`,
    `user namespace:         ${yes(r.userns.works, r.userns.error)}`,
    `mount namespace:        ${yes(r.mountNamespace.works, r.mountNamespace.error)}`,
    `new mount API:          ${yes(r.newMountApi.works, r.newMountApi.error)}`,
    `overlayfs in userns:    ${yes(r.overlayInUserns.works, r.overlayInUserns.error)}`,
    `libseccomp:             ${r.libseccomp ? "yes" : "no (own BPF filter is used)"}`,
    `libkeyutils:            ${r.libkeyutils ? "yes" : "no (raw keyctl is used)"}`,
    `landlock:               ${r.landlock.abi > 0 ? `ABI ${r.landlock.abi} (${describeAbi(r.landlock.abi)})` : `unavailable (${r.landlock.reason})`}`,
    `calls:                  ${Object.entries(r.calls).map(([k, v]) => `${k}=${v}`).join(" ")}`,
    `confinement namespaces: ${yes(r.confinement.namespaces.allowed, r.confinement.namespaces.reason)}`,
    `confinement landlock:   ${yes(r.confinement.landlock.allowed, r.confinement.landlock.reason)}`,
    `confinement auto:       ${r.confinement.auto ?? "neither works"}`,
    r.canSandbox
      ? `result:                 a sandbox can be made${r.confinement.auto === "landlock" ? ` with --confinement auto or landlock only: ${r.reason}` : ""}`
      : `result:                 no sandbox possible: ${r.reason}\nfix:                    ${r.fix}`,
  ];
  return lines.join("\n");
}

export function runDoctor(json: boolean): number {
  const r = doctorReport();
  writeOut(1, (json ? JSON.stringify(r, null, 2) : formatDoctor(r)) + "\n");
  return r.canSandbox ? 0 : 1;
}
