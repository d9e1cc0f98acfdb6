// Command-line parsing for `sandbox`: the same options, argument order and stopping rules as
// mkosi-sandbox. Pure: the caller passes cwd, environment and terminal.
import type { DirMode, DirModeEntry, DirModesOp, Operation, Plan } from "../plan/types.ts";
import { emptyPlan } from "../plan/types.ts";
import { absolutize } from "../plan/paths.ts";
import { checkNumaNodes, checkTmpfsSize, DIR_MODE_OPTIONS } from "../plan/ops/dirmodes.ts";

/** Bad command line: printed as one line, exit status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export type ParseResult =
  | { kind: "run"; plan: Plan }
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "doctor"; json: boolean };

export interface ParseInput {
  argv: readonly string[];
  env: Readonly<Record<string, string>>;
  cwd: string;
  /** Terminal device of stderr, when it is one (for --dev's console). */
  tty: string | null;
  /** fds above stderr the caller passed to us. */
  fds: readonly number[];
}

// Options and how many arguments each takes.
const ARITY: Record<string, number> = {
  "--tmpfs": 1, "--dev": 1, "--proc": 1, "--dir": 1,
  "--bind": 2, "--bind-try": 2, "--ro-bind": 2, "--ro-bind-try": 2, "--bind-nofollow": 2, "--ro-bind-nofollow": 2,
  "--symlink": 2, "--write": 2,
  "--overlay-lowerdir": 1, "--overlay-upperdir": 1, "--overlay-workdir": 1, "--overlay": 1,
  "--setenv": 2, "--unsetenv": 1, "--chdir": 1,
  "--same-dir": 0, "--become-root": 0, "--map-subids": 0, "--suppress-chown": 0, "--suppress-sync": 0,
  "--unshare-net": 0, "--unshare-ipc": 0, "--suspend": 0, "--pack-fds": 0, "--debug": 0,
  "--new-session-keyring": 0,
  "--hidden-dir": 1, "--read-only-dir": 1, "--overlay-dir": 1, "--full-access-dir": 1,
  "--tmpfs-size": 1, "--tmpfs-numa": 1, "--output-dir": 1,
};

const MODE_OF_OPTION: Record<string, DirMode> = Object.fromEntries(Object.entries(DIR_MODE_OPTIONS).map(([m, o]) => [o, m as DirMode]));

const ARG_NAMES: Record<string, string> = {
  "--tmpfs": "DST", "--dev": "DST", "--proc": "DST", "--dir": "DST", "--symlink": "SRC DST",
  "--write": "DATA DST", "--overlay-lowerdir": "DIR", "--overlay-upperdir": "DIR", "--overlay-workdir": "DIR",
  "--overlay": "DST", "--setenv": "NAME VALUE", "--unsetenv": "NAME", "--chdir": "DIR",
  "--hidden-dir": "DIR", "--read-only-dir": "DIR", "--overlay-dir": "DIR", "--full-access-dir": "DIR",
  "--tmpfs-size": "SIZE", "--tmpfs-numa": "NODES", "--output-dir": "DIR",
};

export const KNOWN_OPTIONS = Object.keys(ARITY);

export function parseArgs(input: ParseInput): ParseResult {
  const { argv, cwd } = input;
  const plan = emptyPlan();
  const ops: Operation[] = [];
  const setenv: [string, string][] = [];
  const unsetenv: string[] = [];
  let lower: string[] = [];
  let upper: string | null = null;
  let work: string | null = null;
  let chdir: string | null = null;
  const abs = (p: string) => absolutize(p, cwd);
  const dirModes: DirModeEntry[] = [];
  const dirModeOpts: Omit<DirModesOp, "kind" | "modes"> = {};

  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      i++;
      break;
    }
    if (arg === "-h" || arg === "--help") return { kind: "help" };
    if (arg === "--version") return { kind: "version" };
    if (arg === "--doctor") return { kind: "doctor", json: argv.slice(i + 1).includes("--json") };
    if (!arg.startsWith("-")) break;
    const n = ARITY[arg];
    if (n === undefined) throw new UsageError(`unknown option ${arg}; see sandbox --help`);
    if (i + n >= argv.length) {
      throw new UsageError(`${arg} needs ${n === 1 ? "an argument" : `${n} arguments`} (${arg} ${ARG_NAMES[arg] ?? "SRC DST"})`);
    }
    const a = argv[i + 1]!;
    const b = argv[i + 2] ?? "";
    i += n;
    switch (arg) {
      case "--tmpfs": ops.push({ kind: "tmpfs", dst: abs(a) }); break;
      case "--dev": ops.push({ kind: "dev", dst: abs(a), console: input.tty }); break;
      case "--proc": ops.push({ kind: "proc", dst: abs(a) }); break;
      case "--dir": ops.push({ kind: "dir", dst: abs(a) }); break;
      case "--bind": case "--bind-try": case "--ro-bind": case "--ro-bind-try":
      case "--bind-nofollow": case "--ro-bind-nofollow": {
        const relative = a.startsWith("+");
        const nofollow = arg.endsWith("-nofollow");
        if (relative && nofollow) throw new UsageError(`${arg} does not take a +SRC (relative) source`);
        ops.push({
          kind: "bind", src: abs(relative ? a.slice(1) : a), dst: abs(b),
          readonly: arg.startsWith("--ro"), optional: arg.endsWith("-try"), relative, nofollow,
        });
        break;
      }
      case "--symlink": ops.push({ kind: "symlink", target: a, dst: abs(b) }); break;
      case "--write": ops.push({ kind: "write", data: a, dst: abs(b) }); break;
      case "--overlay-lowerdir": lower.push(abs(a)); break;
      case "--overlay-upperdir": upper = a === "tmpfs" ? "tmpfs" : abs(a); break;
      case "--overlay-workdir": work = abs(a); break;
      case "--overlay":
        if (lower.length === 0) throw new UsageError(`--overlay ${a} needs at least one --overlay-lowerdir DIR before it`);
        if (upper !== null && upper !== "tmpfs" && work === null) {
          throw new UsageError(`--overlay ${a} has --overlay-upperdir but no --overlay-workdir DIR (on the same filesystem as the upper directory)`);
        }
        if (upper === null && lower.length < 2) {
          throw new UsageError(`--overlay ${a} without --overlay-upperdir is read-only and needs at least two --overlay-lowerdir (or add --overlay-upperdir tmpfs)`);
        }
        ops.push({ kind: "overlay", lower, upper, work: upper === "tmpfs" ? null : work, dst: abs(a) });
        lower = [];
        upper = null;
        work = null;
        break;
      case "--setenv":
        if (a === "" || a.includes("=")) throw new UsageError(`--setenv: invalid variable name "${a}"`);
        setenv.push([a, b]);
        break;
      case "--unsetenv": unsetenv.push(a); break;
      case "--chdir": chdir = abs(a); break;
      case "--same-dir": chdir = cwd; break;
      case "--become-root": plan.becomeRoot = true; break;
      case "--map-subids": plan.mapSubids = true; plan.becomeRoot = true; break;
      case "--suppress-chown": plan.suppressChown = true; break;
      case "--suppress-sync": plan.suppressSync = true; break;
      case "--unshare-net": plan.unshareNet = true; break;
      case "--unshare-ipc": plan.unshareIpc = true; break;
      case "--suspend": plan.suspend = true; break;
      case "--pack-fds": plan.packFds = true; break;
      case "--debug": plan.debug = true; break;
      case "--new-session-keyring": plan.newSessionKeyring = true; break;
      case "--hidden-dir": case "--read-only-dir": case "--overlay-dir": case "--full-access-dir": {
        const dir = abs(a);
        const mode = MODE_OF_OPTION[arg]!;
        const before = dirModes.find((m) => m.dir === dir);
        if (before && before.mode !== mode) throw new UsageError(`${arg} ${a}: ${dir} already has mode ${before.mode} (${DIR_MODE_OPTIONS[before.mode]}); give one mode per directory`);
        if (!before) dirModes.push({ dir, mode });
        break;
      }
      case "--tmpfs-size": {
        const why = checkTmpfsSize(a);
        if (why) throw new UsageError(`--tmpfs-size: ${why}`);
        dirModeOpts.tmpfsSize = a;
        break;
      }
      case "--tmpfs-numa": {
        const why = checkNumaNodes(a);
        if (why) throw new UsageError(`--tmpfs-numa: ${why}`);
        dirModeOpts.tmpfsNuma = a;
        break;
      }
      case "--output-dir": dirModeOpts.outputDir = abs(a); break;
    }
  }
  if (lower.length > 0 || upper !== null || work !== null) {
    throw new UsageError("--overlay-lowerdir/--overlay-upperdir/--overlay-workdir given without a following --overlay DST");
  }
  const env: Record<string, string> = { ...input.env };
  for (const [k, v] of setenv) env[k] = v;
  for (const k of unsetenv) delete env[k];
  plan.argv = i < argv.length ? argv.slice(i) : ["bash"];
  plan.env = env;
  plan.cwd = chdir ?? "/";
  if (dirModes.length > 0) {
    ops.unshift({ kind: "dirmodes", modes: dirModes, ...dirModeOpts });
  } else {
    const given = Object.keys(dirModeOpts).map((k) => ({ tmpfsSize: "--tmpfs-size", tmpfsNuma: "--tmpfs-numa", outputDir: "--output-dir" })[k as keyof typeof dirModeOpts]);
    if (given.length > 0) throw new UsageError(`${given.join(", ")} only apply with directory modes; add at least one --overlay-dir, --read-only-dir, --hidden-dir or --full-access-dir (e.g. --overlay-dir /)`);
  }
  const rootOp = ops.find((op) => dirModes.length > 0 && (op.kind === "bind" || op.kind === "tmpfs" || op.kind === "overlay") && op.dst === "/");
  if (rootOp) throw new UsageError(`directory modes build the root from the host's mounts; they cannot be combined with a ${rootOp.kind} on / (use --read-only-dir / instead of --ro-bind / /)`);
  plan.ops = ops;
  plan.fds = [...input.fds];
  return { kind: "run", plan };
}

export const HELP = `sandbox [OPTIONS...] [--] COMMAND [ARGUMENTS...]

Run COMMAND in a new mount namespace with a root built from the options (bash when no
COMMAND is given). Option-compatible with mkosi-sandbox.

  -h --help                       Show this help
     --version                    Show package version
     --doctor [--json]            Report what this machine allows and exit
     --tmpfs DST                  Mount a new tmpfs on DST
     --dev DST                    Mount a minimal /dev on DST
     --proc DST                   Mount procfs on DST
     --dir DST                    Create a new directory at DST
     --bind SRC DST               Bind mount the host path SRC to DST
     --bind-try SRC DST           Bind mount the host path SRC to DST if it exists
     --ro-bind SRC DST            Bind mount the host path SRC to DST read-only
     --ro-bind-try SRC DST        Bind mount the host path SRC to DST read-only if it exists
     --bind-nofollow SRC DST      Like --bind, but a symlink SRC is bound itself
     --ro-bind-nofollow SRC DST   Like --ro-bind, but a symlink SRC is bound itself
     --symlink SRC DST            Create a symlink at DST pointing to SRC
     --write DATA DST             Write DATA to DST
     --overlay-lowerdir DIR       Add a lower directory for the next overlayfs mount
     --overlay-upperdir DIR       Set the upper directory ("tmpfs" for a fresh one) for the next overlay
     --overlay-workdir DIR        Set the working directory for the next overlayfs mount
     --overlay DST                Mount an overlay filesystem at DST
     --unsetenv NAME              Unset the environment variable with name NAME
     --setenv NAME VALUE          Set the environment variable with name NAME to VALUE
     --chdir DIR                  Change the working directory in the sandbox to DIR
     --same-dir                   Change the working directory in the sandbox to $PWD
     --become-root                Map the current user/group to root:root in the sandbox
     --map-subids                 Map root to the caller and 1..N to its /etc/subuid, /etc/subgid ranges
     --suppress-chown             Make chown() syscalls in the sandbox a noop
     --suppress-sync              Make sync() syscalls in the sandbox a noop
     --unshare-net                Unshare the network namespace if possible
     --unshare-ipc                Unshare the IPC namespace if possible
     --new-session-keyring        Join a new anonymous session keyring
     --pack-fds                   Pack inherited fds from 3 upward and set LISTEN_FDS/LISTEN_PID
     --suspend                    Stop process before execve()
     --debug                      Print each setup operation as it is applied

Directory modes (BenchExec's container mode): the root starts as a private copy of all of the
host's mounts, and each mount point gets the mode of its nearest configured directory. Without
a mode for /, / is overlay and /run, /tmp are hidden.
     --hidden-dir DIR             DIR is an empty directory (writable, in the sandbox's tmpfs)
     --read-only-dir DIR          DIR is read-only
     --overlay-dir DIR            DIR is writable; writes land in the sandbox's tmpfs
     --full-access-dir DIR        DIR is writable; writes reach the host
     --tmpfs-size SIZE            Size of the tmpfs holding overlay writes (default 100%)
     --tmpfs-numa NODES           Bind that tmpfs's memory to these NUMA nodes (e.g. 0 or 0-1)
     --output-dir DIR             Copy the files written in overlay directories to DIR afterwards

SRC prefixed with + is resolved inside the sandbox. Relative paths are taken against the
current directory. Exit status: the command's; 127 not found, 126 not executable, 1 setup
failure, 2 bad usage.`;
