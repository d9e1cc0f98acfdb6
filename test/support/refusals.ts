// Puts a command, as root or as the test user, under one of three ways a host refuses
// namespaces, for real (test/fixtures/refuse.ts does it), so the CLI's Landlock fallback can be
// tested where it is needed:
//   no-room:  a host with user.max_user_namespaces=0 (or its quota used up): unshare(CLONE_NEWUSER)
//             fails with ENOSPC. The command runs in a user namespace U1 whose own copy of that
//             sysctl is 0; the limit is per user namespace and counts every creation from U1 and
//             below, so the host's value is untouched. U1 maps every id to itself and shares the
//             host's mount and PID namespaces: the uid, files and /proc the command sees are the
//             host's. Root is U1's root: it can still unshare(CLONE_NEWNS), but it could also
//             raise the sysctl again (the user cannot).
//   apparmor: Ubuntu's kernel.apparmor_restrict_unprivileged_userns=1: user namespaces are made,
//             but the profile they get denies capabilities, so the first mount fails with EPERM.
//             A seccomp filter fails the whole mount family with EPERM; unshare and clone stay
//             allowed. It binds root too, which Ubuntu exempts: as root it stands for any host
//             that lets namespaces be made but refuses mounts.
//   docker:   Docker's default seccomp profile in a container without CAP_SYS_ADMIN: unshare,
//             setns, clone with a CLONE_NEW* flag, the mount family and sethostname fail with
//             EPERM, clone3 with ENOSYS (so libc falls back to clone); fork, vfork and
//             posix_spawn work. CLONE_NEWTIME is left out as in Docker: in clone() that bit is
//             part of the exit signal.
// Filters are loaded by root before the switch to `who`, without no_new_privs, as on those hosts.
// The fixture needs the single-thread variables; the command inherits them (the CLI's shebang
// sets the same ones).
import { BUN, envFor, ids, run, SINGLE_THREAD_ENV, type RunOptions, type RunResult, type Who } from "./run.ts";
import { bundle } from "./bundle.ts";

export type Refusal = "no-room" | "apparmor" | "docker";
export const REFUSALS: Refusal[] = ["no-room", "apparmor", "docker"];

const SRC = "test/fixtures/refuse.ts";
const buildRefuse = () => bundle(SRC);

/** argv (spawned as root) that runs `argv` as `who` under `refusal`; the fixture switches identity itself. */
export function underRefusal(refusal: Refusal, who: Who, argv: string[]): string[] {
  const { uid, gid } = ids(who);
  const threadEnv = Object.entries(SINGLE_THREAD_ENV).map(([k, v]) => `${k}=${v}`);
  return ["env", ...threadEnv, BUN, buildRefuse(), refusal, String(uid), String(gid), "--", ...argv];
}

/** Like run(): `argv` as `who` under `refusal`, with who's environment, the same timeout and capture. */
export function runRefused(refusal: Refusal, who: Who, argv: string[], opts: RunOptions = {}): RunResult {
  // Spawned as root; the environment is the one `who` gets (run only puts bun's directory on PATH again).
  return run("root", underRefusal(refusal, who, argv), { ...opts, cleanEnv: true, env: envFor(who, opts) });
}
