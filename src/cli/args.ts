// Command-line parsing for `sandbox`: the same options, argument order and stopping rules as
// mkosi-sandbox. Pure: the caller passes cwd, environment and terminal.
import type { DirMode, DirModeEntry, DirModesOp, Operation, Plan } from "../plan/types.ts";
import { emptyPlan } from "../plan/types.ts";
import { absolutize } from "../plan/paths.ts";
import { parseRemountOptions } from "../plan/ops/remount.ts";
import { FlagParseError } from "../sys/flags.ts";
import { parseNamespaceList, PID_MAX, type EnterSpec } from "../plan/enter.ts";
import { checkNumaNodes, checkTmpfsSize, DIR_MODE_OPTIONS } from "../plan/ops/dirmodes.ts";
import { capName } from "../plan/caps.ts";
import { CONFINEMENTS, type Confinement } from "../plan/landlock.ts";
import { parseBytes, parseRlimit, parseSeconds } from "../plan/limits.ts";
import { parseHostPattern, proxyEnv } from "../plan/network.ts";

/** Bad command line: printed as one line, exit status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export type ParseResult =
  | { kind: "run"; plan: Plan }
  | { kind: "enter"; spec: EnterSpec }
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
  /** Reads an fd to its end (--bind-data, --ro-bind-data); absent: those options are refused. */
  readFd?: (fd: number) => Uint8Array;
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
  "--new-session-keyring": 0, "--confinement": 1,
  "--allow-host": 1, "--memlimit": 1, "--timelimit": 1, "--walltimelimit": 1, "--pidlimit": 1, "--rlimit": 1, "--seal": 0, "--no-seal": 0, "--harden": 0, "--disable-userns": 0, "--cap-add": 1, "--cap-drop": 1,
  // From hakurei's container operations (bubblewrap's names where it has one):
  "--remount-ro": 1, "--remount": 2, "--size": 1, "--perms": 1, "--mqueue": 1, "--copy-symlink": 2,
  "--ro-bind-data": 2, "--bind-data": 2, "--chmod": 2,
  "--hidden-dir": 1, "--read-only-dir": 1, "--overlay-dir": 1, "--full-access-dir": 1,
  "--tmpfs-size": 1, "--tmpfs-numa": 1, "--output-dir": 1,
};

const MODE_OF_OPTION: Record<string, DirMode> = Object.fromEntries(Object.entries(DIR_MODE_OPTIONS).map(([m, o]) => [o, m as DirMode]));

const ARG_NAMES: Record<string, string> = {
  "--tmpfs": "DST", "--dev": "DST", "--proc": "DST", "--dir": "DST", "--symlink": "SRC DST",
  "--write": "DATA DST", "--overlay-lowerdir": "DIR", "--overlay-upperdir": "DIR", "--overlay-workdir": "DIR",
  "--overlay": "DST", "--setenv": "NAME VALUE", "--unsetenv": "NAME", "--chdir": "DIR",
  "--remount-ro": "DST", "--remount": "OPTIONS DST", "--size": "BYTES", "--perms": "OCTAL", "--mqueue": "DST",
  "--copy-symlink": "HOSTLINK DST", "--ro-bind-data": "FD DST", "--bind-data": "FD DST", "--chmod": "OCTAL PATH",
  "--hidden-dir": "DIR", "--read-only-dir": "DIR", "--overlay-dir": "DIR", "--full-access-dir": "DIR",
  "--tmpfs-size": "SIZE", "--tmpfs-numa": "NODES", "--output-dir": "DIR", "--confinement": "MODE",
  "--allow-host": "PATTERN", "--memlimit": "BYTES", "--timelimit": "SECONDS", "--walltimelimit": "SECONDS", "--pidlimit": "N", "--rlimit": "NAME=SOFT[:HARD]",
};

// Options that take a preceding --perms (the mode of what they create) or --size.
const PERMS_USERS = ["--tmpfs", "--dir", "--bind-data", "--ro-bind-data"];
const SIZE_USERS = ["--tmpfs"];

/** An octal mode 0..7777 ("0755", "700"); the error names the option. */
export function parseOctalMode(option: string, text: string): number {
  if (!/^[0-7]{1,4}$/.test(text)) throw new UsageError(`${option}: invalid mode "${text}"; give an octal mode between 0000 and 7777`);
  return parseInt(text, 8);
}

const SIZE_UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** A positive size in bytes, with an optional k, m or g suffix (powers of 1024). */
export function parseSize(option: string, text: string): number {
  const m = /^(\d+)([kmg]?)$/i.exec(text);
  const n = m ? Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]! : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new UsageError(`${option}: invalid size "${text}"; give a positive number of bytes (a k, m or g suffix multiplies by 1024, 1024^2, 1024^3)`);
  }
  return n;
}

export const KNOWN_OPTIONS = Object.keys(ARITY);

/** The limit options (BenchExec's runexec names, and --rlimit for the rest). */
function parseLimit(plan: Plan, option: string, text: string): void {
  const l = plan.limits;
  const bad = (what: string): never => {
    throw new UsageError(`${option}: invalid value "${text}"; give ${what}`);
  };
  switch (option) {
    case "--memlimit": l.memory = parseBytes(text) ?? bad("a positive number of bytes (k, m, g suffixes multiply by 1024, 1024^2, 1024^3)"); break;
    case "--timelimit": l.cpuTime = parseSeconds(text) ?? bad("a positive number of seconds of CPU time"); break;
    case "--walltimelimit": l.wallTime = parseSeconds(text) ?? bad("a positive number of seconds"); break;
    case "--pidlimit": l.pids = /^[1-9]\d{0,6}$/.test(text) ? Number(text) : bad("a positive number of processes"); break;
    case "--rlimit":
      try {
        const r = parseRlimit(text);
        l.rlimits = [...l.rlimits.filter((x) => x.resource !== r.resource), r];
      } catch (e) {
        throw new UsageError(`--rlimit: ${(e as Error).message}`);
      }
  }
}

/** --help and --version end parsing wherever they stand among the options. */
function infoOption(arg: string): ParseResult | null {
  if (arg === "-h" || arg === "--help") return { kind: "help" };
  if (arg === "--version") return { kind: "version" };
  return null;
}

function missingArguments(option: string, n: number, names: string): UsageError {
  return new UsageError(`${option} needs ${n === 1 ? "an argument" : `${n} arguments`} (${option} ${names})`);
}


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
  // --perms and --size apply to the operation right after them (bubblewrap's rule).
  let perms: { mode: number; text: string } | null = null;
  let size: { bytes: number; text: string } | null = null;
  const usedFds = new Set<number>();
  const abs = (p: string) => absolutize(p, cwd);
  const pendingCheck = (next: string) => {
    if (perms && !PERMS_USERS.includes(next)) throw new UsageError(`--perms ${perms.text} must be followed by ${PERMS_USERS.join(", ")}; got ${next}`);
    if (size && !SIZE_USERS.includes(next)) throw new UsageError(`--size ${size.text} must be followed by --tmpfs; got ${next}`);
  };
  const takePerms = (): { mode?: number } => {
    const p = perms;
    perms = null;
    return p ? { mode: p.mode } : {};
  };
  const readData = (option: string, text: string): Uint8Array => {
    if (!/^\d+$/.test(text)) throw new UsageError(`${option}: "${text}" is not an fd number`);
    const fd = Number(text);
    if (usedFds.has(fd)) throw new UsageError(`${option} ${text}: fd ${fd} was already read by an earlier --bind-data/--ro-bind-data`);
    if (fd !== 0 && !input.fds.includes(fd)) throw new UsageError(`${option} ${text}: fd ${fd} is not open in sandbox; pass it from the caller (e.g. ${fd}<FILE)`);
    if (!input.readFd) throw new UsageError(`${option}: reading fds is not available here`);
    try {
      const bytes = input.readFd(fd);
      usedFds.add(fd);
      return bytes;
    } catch (e) {
      throw new UsageError(`${option} ${text}: cannot read fd ${fd}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  const dirModes: DirModeEntry[] = [];
  const dirModeOpts: Omit<DirModesOp, "kind" | "modes"> = {};

  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      i++;
      break;
    }
    const info = infoOption(arg);
    if (info) return info;
    if (arg === "--doctor") return { kind: "doctor", json: argv.slice(i + 1).includes("--json") };
    if (arg === "--enter") return parseEnterArgs(input);
    if (arg === "--namespaces") {
      const rest = argv.slice(i);
      const end = rest.indexOf("--");
      if (!(end < 0 ? rest : rest.slice(0, end)).includes("--enter")) throw new UsageError("--namespaces only goes with --enter PID; see sandbox --help");
      return parseEnterArgs(input);
    }
    if (!arg.startsWith("-")) break;
    const n = ARITY[arg];
    if (n === undefined) throw new UsageError(`unknown option ${arg}; see sandbox --help`);
    if (i + n >= argv.length) {
      throw missingArguments(arg, n, ARG_NAMES[arg] ?? "SRC DST");
    }
    const a = argv[i + 1]!;
    const b = argv[i + 2] ?? "";
    i += n;
    if (arg !== "--perms" && arg !== "--size") pendingCheck(arg);
    switch (arg) {
      case "--tmpfs": {
        const sz = size ? { size: size.bytes } : {};
        size = null;
        ops.push({ kind: "tmpfs", dst: abs(a), ...sz, ...takePerms() });
        break;
      }
      case "--dev": ops.push({ kind: "dev", dst: abs(a), console: input.tty }); break;
      case "--proc": ops.push({ kind: "proc", dst: abs(a) }); break;
      case "--dir": ops.push({ kind: "dir", dst: abs(a), ...takePerms() }); break;
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
      case "--confinement":
        if (!CONFINEMENTS.includes(a as Confinement)) throw new UsageError(`--confinement: unknown mode ${JSON.stringify(a)}; give ${CONFINEMENTS.join(", ")}`);
        plan.confinement = a as Confinement;
        break;
      case "--allow-host":
        try {
          parseHostPattern(a);
        } catch (e) {
          throw new UsageError(`--allow-host: ${(e as Error).message}`);
        }
        plan.allowHosts.push(a);
        plan.unshareNet = true;
        break;
      case "--memlimit": case "--timelimit": case "--walltimelimit": case "--pidlimit": case "--rlimit":
        parseLimit(plan, arg, a);
        break;
      case "--seal": plan.seal = true; break;
      case "--no-seal": plan.seal = false; break;
      case "--harden": plan.harden = true; break;
      case "--disable-userns": plan.disableUserns = true; break;
      case "--cap-add": case "--cap-drop": {
        const cap = capName(a);
        if (cap === null) throw new UsageError(`${arg}: unknown capability ${JSON.stringify(a)}; give a name like CAP_SYS_ADMIN or sys_admin, or ALL`);
        plan.capChanges.push({ add: arg === "--cap-add", cap });
        break;
      }
      case "--perms":
        if (perms) throw new UsageError(`--perms given twice (${perms.text}, ${a}) for one operation`);
        perms = { mode: parseOctalMode("--perms", a), text: a };
        break;
      case "--size":
        if (size) throw new UsageError(`--size given twice (${size.text}, ${a}) for one --tmpfs`);
        size = { bytes: parseSize("--size", a), text: a };
        break;
      case "--remount-ro": ops.push({ kind: "remount", dst: abs(a), options: "ro" }); break;
      case "--remount":
        try {
          parseRemountOptions(a);
        } catch (e) {
          if (e instanceof FlagParseError) throw new UsageError(`--remount ${a}: ${e.message}`);
          throw e;
        }
        ops.push({ kind: "remount", dst: abs(b), options: a });
        break;
      case "--mqueue": ops.push({ kind: "mqueue", dst: abs(a) }); break;
      case "--copy-symlink": ops.push({ kind: "symlink", target: abs(a), dst: abs(b), dereference: true }); break;
      case "--bind-data": case "--ro-bind-data": {
        const bytes = readData(arg, a);
        ops.push({ kind: "file", dst: abs(b), base64: Buffer.from(bytes).toString("base64"), readonly: arg === "--ro-bind-data", ...takePerms() });
        break;
      }
      case "--chmod": ops.push({ kind: "chmod", dst: abs(b), mode: parseOctalMode("--chmod", a) }); break;
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
  if (perms || size) pendingCheck(i < argv.length ? `the command ${JSON.stringify(argv[i])}` : "nothing");
  const mq = ops.find((op) => op.kind === "mqueue");
  if (mq && !plan.unshareIpc) throw new UsageError(`--mqueue ${mq.dst} needs an IPC namespace; add --unshare-ipc`);
  if (lower.length > 0 || upper !== null || work !== null) {
    throw new UsageError("--overlay-lowerdir/--overlay-upperdir/--overlay-workdir given without a following --overlay DST");
  }
  const env: Record<string, string> = { ...input.env, ...(plan.allowHosts.length ? proxyEnv() : {}) };
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
  if (plan.harden && plan.capChanges.some((c) => c.add)) throw new UsageError("--cap-add cannot widen --harden, which gives the command no capabilities; drop one of them");
  plan.ops = ops;
  // fds read by --bind-data/--ro-bind-data are used up: the command does not get them.
  plan.fds = input.fds.filter((fd) => !usedFds.has(fd));
  return { kind: "run", plan };
}

// Options that make sense when entering a running process's namespaces.
const ENTER_ARITY: Record<string, number> = { "--enter": 1, "--namespaces": 1, "--chdir": 1, "--setenv": 2, "--unsetenv": 1 };

/**
 * `sandbox --enter PID [--namespaces LIST] [--chdir DIR] [--setenv NAME VALUE] [--unsetenv NAME]
 * [--] [COMMAND [ARGUMENTS...]]`: run COMMAND in the namespaces of PID. The options that build
 * a sandbox do not apply (the target's namespaces and root are used as they are).
 */
export function parseEnterArgs(input: ParseInput): ParseResult {
  const { argv } = input;
  let pid: number | null = null;
  let namespaces: EnterSpec["namespaces"] = null;
  let cwd: string | null = null;
  const setenv: [string, string][] = [];
  const unsetenv: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      i++;
      break;
    }
    const info = infoOption(arg);
    if (info) return info;
    if (!arg.startsWith("-")) break;
    const n = ENTER_ARITY[arg];
    if (n === undefined) {
      if (ARITY[arg] !== undefined || arg === "--doctor") throw new UsageError(`${arg} cannot be used with --enter (the target's namespaces and root are used as they are)`);
      throw new UsageError(`unknown option ${arg}; see sandbox --help`);
    }
    if (i + n >= argv.length) {
      const names: Record<string, string> = { "--enter": "PID", "--namespaces": "LIST", "--chdir": "DIR", "--setenv": "NAME VALUE", "--unsetenv": "NAME" };
      throw missingArguments(arg, n, names[arg]!);
    }
    const a = argv[i + 1]!;
    const b = argv[i + 2] ?? "";
    i += n;
    switch (arg) {
      case "--enter":
        if (pid !== null) throw new UsageError("--enter given twice; enter one process at a time");
        if (!/^[1-9][0-9]*$/.test(a) || Number(a) > PID_MAX) throw new UsageError(`--enter: invalid process id "${a}"; give a pid between 1 and ${PID_MAX}`);
        pid = Number(a);
        break;
      case "--namespaces":
        try {
          namespaces = parseNamespaceList(a);
        } catch (e) {
          throw new UsageError(`--namespaces: ${(e as Error).message}`);
        }
        break;
      case "--chdir":
        if (!a.startsWith("/")) throw new UsageError(`--chdir with --enter: "${a}" is not an absolute path (it is taken inside the target's root)`);
        cwd = a;
        break;
      case "--setenv":
        if (a === "" || a.includes("=")) throw new UsageError(`--setenv: invalid variable name "${a}"`);
        setenv.push([a, b]);
        break;
      case "--unsetenv":
        unsetenv.push(a);
        break;
    }
  }
  if (pid === null) throw new UsageError("--enter needs a process id (--enter PID)");
  const env: Record<string, string> = { ...input.env };
  for (const [k, v] of setenv) env[k] = v;
  for (const k of unsetenv) delete env[k];
  // Only stdio reaches the command: the caller's other fds stay outside.
  return { kind: "enter", spec: { pid, namespaces, cwd, argv: i < argv.length ? argv.slice(i) : ["bash"], env, fds: [] } };
}

export const HELP = `sandbox [OPTIONS...] [--] COMMAND [ARGUMENTS...]
sandbox --enter PID [--namespaces LIST] [--chdir DIR] [--] COMMAND [ARGUMENTS...]

Run COMMAND in a new mount namespace with a root built from the options (bash when no
COMMAND is given). Option-compatible with mkosi-sandbox. With --enter, run COMMAND in the
namespaces of the running process PID instead, in its root and working directory.

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
     --confinement MODE           namespaces (the default), landlock (no namespaces: Landlock,
                                  seccomp and no_new_privs confine the command on the host's
                                  root), or auto (namespaces where this host allows them)
     --allow-host PATTERN         Only this host (name, *.domain or address, :port; 80 and 443
                                  without one) is reachable, through HTTP and SOCKS5 proxies of
                                  ours outside the sandbox; implies --unshare-net; repeatable
     --memlimit BYTES             Memory (resident, all of the sandbox's processes); k, m, g
     --timelimit SECONDS          CPU time, summed over the sandbox's processes
     --walltimelimit SECONDS      Wall time from the start of the command
     --pidlimit N                 Processes of the sandbox at once
     --rlimit NAME=SOFT[:HARD]    Any rlimit (nofile, fsize, core, stack, as, ...; unlimited)
     --seal                       Lock every mount the sandbox makes against the command (the
                                  default when a user namespace is made; as real root, this
                                  gives the command a user namespace mapping every id to itself)
     --no-seal                    Let the command remount or unmount what the sandbox made
     --harden                     For untrusted code: no capabilities, no_new_privs, a seccomp
                                  filter refusing what a build does not need, and Landlock:
                                  writes only where this command line made a writable place,
                                  no signals or abstract sockets beyond the sandbox
     --disable-userns             The command cannot make user namespaces
     --cap-add CAP                Give the command CAP (CAP_ prefix optional, or ALL)
     --cap-drop CAP               Take CAP from the command (or ALL)
     --enter PID                  Run COMMAND in the namespaces of process PID (those that differ from ours)
     --namespaces LIST            With --enter: only these (user,mnt,pid,net,ipc,uts,cgroup,time)

Operations from hakurei's container package (bubblewrap's option names where it has one):
     --perms OCTAL                Mode of what the next --tmpfs, --dir, --bind-data or
                                  --ro-bind-data creates
     --size BYTES                 Size limit of the next --tmpfs (k, m, g suffixes allowed)
     --remount-ro DST             Make the mount at DST read-only, after all mounts
     --remount OPTIONS DST        Change flags of the mount at DST ("ro,nosuid,nodev"; "rec":
                                  every mount below too), after all mounts
     --mqueue DST                 Mount a private mqueue on DST (needs --unshare-ipc)
     --copy-symlink HOSTLINK DST  Create a symlink at DST with the target of the host symlink
     --ro-bind-data FD DST        Read FD to its end and bind the bytes read-only on DST
     --bind-data FD DST           The same, writable (writes stay in the sandbox)
     --chmod OCTAL PATH           Change the mode of PATH, after all mounts

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
