// The one table of `sandbox` options. Parsing (args.ts), --help (help.ts), the --enter subset and
// the library's toArgs() (src/api/args.ts) are derived from it, so adding an option is one entry
// here (plus its line in the README's table and its example in test/unit/options.test.ts).
// Loaded on every start: a literal and one Map, nothing else runs at import.
import type { Sandbox } from "../api/builder.ts";
import type { DirMode, Plan } from "../plan/types.ts";
import { parseRemountOptions } from "../plan/ops/remount.ts";
import { FlagParseError } from "../sys/flags.ts";
import { parseNamespaceList, PID_MAX } from "../plan/enter.ts";
import { checkNumaNodes, checkTmpfsSize } from "../plan/ops/dirmodes.ts";
import { capName } from "../plan/caps.ts";
import { CONFINEMENTS, type Confinement } from "../plan/landlock.ts";
import { parseBytes, parseRlimit, parseSeconds } from "../plan/limits.ts";
import { parseHostPattern } from "../plan/network.ts";
import {
  abs, badValue, emptyPath, parseOctalMode, parseSize, readData, setenv, takePerms, takeSize, usageFrom, UsageError,
  type Args, type EnterState, type ParseResult, type RunState,
} from "./state.ts";

/** Where --help lists it. */
export type Section = "main" | "hakurei" | "dirmodes";
type BoolField = { [K in keyof Plan]: Plan[K] extends boolean ? K : never }[keyof Plan];
export type BuilderMethod = { [K in keyof Sandbox]: Sandbox[K] extends (...a: never[]) => unknown ? K : never }[keyof Sandbox];
type RunSetter = (s: RunState, a: Args, o: OptionSpec) => void;
type EnterSetter = (e: EnterState, a: Args) => void;

export interface OptionSpec {
  readonly name: string;
  readonly short?: string;
  /** Its arguments' names: how many it takes, and what help and errors call them. */
  readonly args: readonly string[];
  readonly help: string;
  readonly section: Section;
  /** The builder method (src/api/builder.ts) that does the same; null: the library has none. */
  readonly method: BuilderMethod | null;
  /** A plain flag: sets this plan field to true. */
  readonly flag?: BoolField;
  /** Else the plan fields `run` sets (test/unit/options.test.ts checks it sets only these). */
  readonly fields?: readonly (keyof Plan)[];
  readonly run?: RunSetter;
  /** --enter takes it: how it sets the entered command (true: it ends parsing there too). */
  readonly enter?: EnterSetter | true;
  /** Takes the --perms, --size given right before it. */
  readonly perms?: true;
  readonly size?: true;
  /** --perms, --size: they apply to the next option instead of needing one. */
  readonly prefix?: true;
  /** A directory mode for its DIR. */
  readonly dirMode?: DirMode;
  /** The -try form of a directory mode: a DIR missing on the host is skipped. */
  readonly optional?: true;
  /** Ends parsing with this result; only `follow` may come after it. */
  readonly info?: { readonly follow: readonly string[]; readonly result: (rest: readonly string[]) => ParseResult };
}

const OPS = ["ops"] as const;

function bind(readonly: boolean, optional: boolean, nofollow: boolean): RunSetter {
  return (s, [src, dst], o) => {
    const relative = src.startsWith("+");
    if (relative && nofollow) throw new UsageError(`${o.name} does not take a +SRC (relative) source`);
    if (src === "+") throw emptyPath(o.name, "SRC");
    s.plan.ops.push({ kind: "bind", src: abs(s, relative ? src.slice(1) : src), dst: abs(s, dst), readonly, optional, relative, nofollow });
  };
}

function overlay(s: RunState, [dst]: Args): void {
  const { lower, upper, work } = s.overlay;
  if (lower.length === 0) throw new UsageError(`--overlay ${dst} needs at least one --overlay-lowerdir DIR before it`);
  if (upper !== null && upper !== "tmpfs" && work === null) {
    throw new UsageError(`--overlay ${dst} has --overlay-upperdir but no --overlay-workdir DIR (on the same filesystem as the upper directory)`);
  }
  if (upper === null && lower.length < 2) {
    throw new UsageError(`--overlay ${dst} without --overlay-upperdir is read-only and needs at least two --overlay-lowerdir (or add --overlay-upperdir tmpfs)`);
  }
  s.plan.ops.push({ kind: "overlay", lower, upper, work: upper === "tmpfs" ? null : work, dst: abs(s, dst) });
  s.overlay = { lower: [], upper: null, work: null };
}

function confinement(s: RunState, [mode]: Args): void {
  if (!CONFINEMENTS.includes(mode as Confinement)) throw new UsageError(`--confinement: unknown mode ${JSON.stringify(mode)}; give ${CONFINEMENTS.join(", ")}`);
  s.plan.confinement = mode as Confinement;
}

function allowHost(s: RunState, [pattern]: Args): void {
  usageFrom("--allow-host", () => parseHostPattern(pattern));
  s.plan.allowHosts.push(pattern);
  s.plan.unshareNet = true;
}

function rlimit(s: RunState, [text]: Args): void {
  const r = usageFrom("--rlimit", () => parseRlimit(text));
  s.plan.limits.rlimits = [...s.plan.limits.rlimits.filter((x) => x.resource !== r.resource), r];
}

function capChange(add: boolean): RunSetter {
  return (s, [text], o) => {
    const cap = capName(text);
    if (cap === null) throw new UsageError(`${o.name}: unknown capability ${JSON.stringify(text)}; give a name like CAP_SYS_ADMIN or sys_admin, or ALL`);
    s.plan.capChanges.push({ add, cap });
  };
}

function data(readonly: boolean): RunSetter {
  return (s, [fd, dst], o) => {
    const base64 = Buffer.from(readData(s, o.name, fd)).toString("base64");
    s.plan.ops.push({ kind: "file", dst: abs(s, dst), base64, readonly, ...takePerms(s) });
  };
}

function dirMode(s: RunState, [text]: Args, o: OptionSpec): void {
  const dir = abs(s, text);
  const mode = o.dirMode!;
  // A mistyped DIR would leave the real one with its parent's mode: only a -try form may miss.
  if (!o.optional && s.input.hostHas?.(dir) === false) {
    throw new UsageError(`${o.name} ${text}: ${dir} does not exist on the host; create it, or use ${o.name}-try to skip it when missing`);
  }
  const before = s.dirModes.find((m) => m.dir === dir);
  if (before && before.mode !== mode) throw new UsageError(`${o.name} ${text}: ${dir} already has mode ${before.mode} (${optionOfMode(before.mode)}); give one mode per directory`);
  if (!before) s.dirModes.push({ dir, mode, ...(o.optional ? { optional: true } : {}) });
  else if (!o.optional) delete before.optional;
}

/** A directory-mode setting checked by `check` (null: fine, else why not). */
function dirModeSetting(key: "tmpfsSize" | "tmpfsNuma", check: (v: string) => string | null): RunSetter {
  return (s, [text], o) => {
    const why = check(text);
    if (why) throw new UsageError(`${o.name}: ${why}`);
    s.dirModeSettings[key] = text;
  };
}

function enterPid(e: EnterState, [text]: Args): void {
  if (e.pid !== null) throw new UsageError("--enter given twice; enter one process at a time");
  if (!/^[1-9][0-9]*$/.test(text) || Number(text) > PID_MAX) throw new UsageError(`--enter: invalid process id "${text}"; give a pid between 1 and ${PID_MAX}`);
  e.pid = Number(text);
}

function enterChdir(e: EnterState, [dir]: Args): void {
  if (!dir.startsWith("/")) throw new UsageError(`--chdir with --enter: "${dir}" is not an absolute path (it is taken inside the target's root)`);
  e.cwd = dir;
}

const SRC_DST = ["SRC", "DST"] as const;
const DST = ["DST"] as const;
const DIR = ["DIR"] as const;

// Help texts are one line each; help.ts wraps them. Order: as --help lists them, and the order
// toArgs() gives flags in.
const TABLE = [
  { name: "--help", short: "-h", args: [], help: "Show this help", section: "main", method: null, enter: true, info: { follow: [], result: () => ({ kind: "help" }) } },
  { name: "--version", args: [], help: "Show package version", section: "main", method: null, enter: true, info: { follow: [], result: () => ({ kind: "version" }) } },
  {
    name: "--doctor", args: [], help: "Report what this machine allows and exit", section: "main", method: null,
    info: { follow: ["--json"], result: (rest) => ({ kind: "doctor", json: rest.includes("--json") }) },
  },
  { name: "--tmpfs", args: DST, help: "Mount a new tmpfs on DST", section: "main", method: "tmpfs", fields: OPS, perms: true, size: true, run: (s, [dst]) => void s.plan.ops.push({ kind: "tmpfs", dst: abs(s, dst), ...takeSize(s), ...takePerms(s) }) },
  { name: "--dev", args: DST, help: "Mount a minimal /dev on DST", section: "main", method: "dev", fields: OPS, run: (s, [dst]) => void s.plan.ops.push({ kind: "dev", dst: abs(s, dst), console: s.input.tty }) },
  { name: "--proc", args: DST, help: "Mount procfs on DST", section: "main", method: "proc", fields: OPS, run: (s, [dst]) => void s.plan.ops.push({ kind: "proc", dst: abs(s, dst) }) },
  { name: "--dir", args: DST, help: "Create a new directory at DST", section: "main", method: "dir", fields: OPS, perms: true, run: (s, [dst]) => void s.plan.ops.push({ kind: "dir", dst: abs(s, dst), ...takePerms(s) }) },
  { name: "--bind", args: SRC_DST, help: "Bind mount the host path SRC to DST", section: "main", method: "bind", fields: OPS, run: bind(false, false, false) },
  { name: "--bind-try", args: SRC_DST, help: "Bind mount the host path SRC to DST if it exists", section: "main", method: "bindTry", fields: OPS, run: bind(false, true, false) },
  { name: "--ro-bind", args: SRC_DST, help: "Bind mount the host path SRC to DST read-only", section: "main", method: "roBind", fields: OPS, run: bind(true, false, false) },
  { name: "--ro-bind-try", args: SRC_DST, help: "Bind mount the host path SRC to DST read-only if it exists", section: "main", method: "roBindTry", fields: OPS, run: bind(true, true, false) },
  { name: "--bind-nofollow", args: SRC_DST, help: "Like --bind, but a symlink SRC is bound itself", section: "main", method: "bindNofollow", fields: OPS, run: bind(false, false, true) },
  { name: "--ro-bind-nofollow", args: SRC_DST, help: "Like --ro-bind, but a symlink SRC is bound itself", section: "main", method: "roBindNofollow", fields: OPS, run: bind(true, false, true) },
  { name: "--symlink", args: SRC_DST, help: "Create a symlink at DST pointing to SRC", section: "main", method: "symlink", fields: OPS, run: (s, [target, dst]) => void s.plan.ops.push({ kind: "symlink", target, dst: abs(s, dst) }) },
  { name: "--write", args: ["DATA", "DST"], help: "Write DATA to DST", section: "main", method: "write", fields: OPS, run: (s, [data, dst]) => void s.plan.ops.push({ kind: "write", data, dst: abs(s, dst) }) },
  { name: "--overlay-lowerdir", args: DIR, help: "Add a lower directory for the next overlayfs mount", section: "main", method: "overlay", fields: OPS, run: (s, [dir]) => void s.overlay.lower.push(abs(s, dir)) },
  {
    name: "--overlay-upperdir", args: DIR, help: 'Set the upper directory ("tmpfs" for a fresh one) for the next overlay', section: "main", method: "overlay", fields: OPS,
    run: (s, [dir]) => void (s.overlay.upper = dir === "tmpfs" ? "tmpfs" : abs(s, dir)),
  },
  { name: "--overlay-workdir", args: DIR, help: "Set the working directory for the next overlayfs mount", section: "main", method: "overlay", fields: OPS, run: (s, [dir]) => void (s.overlay.work = abs(s, dir)) },
  { name: "--overlay", args: DST, help: "Mount an overlay filesystem at DST", section: "main", method: "overlay", fields: OPS, run: overlay },
  { name: "--unsetenv", args: ["NAME"], help: "Unset the environment variable with name NAME", section: "main", method: "unsetenv", fields: ["env"], run: (s, [n]) => void s.unsetenv.push(n), enter: (e, [n]) => void e.unsetenv.push(n) },
  { name: "--setenv", args: ["NAME", "VALUE"], help: "Set the environment variable with name NAME to VALUE", section: "main", method: "setenv", fields: ["env"], run: (s, [n, v]) => setenv(s, n, v), enter: (e, [n, v]) => setenv(e, n, v) },
  { name: "--chdir", args: DIR, help: "Change the working directory in the sandbox to DIR", section: "main", method: "chdir", fields: ["cwd"], run: (s, [dir]) => void (s.chdir = abs(s, dir)), enter: enterChdir },
  { name: "--same-dir", args: [], help: "Change the working directory in the sandbox to $PWD", section: "main", method: "chdir", fields: ["cwd"], run: (s) => void (s.chdir = s.input.cwd) },
  { name: "--become-root", args: [], help: "Map the current user/group to root:root in the sandbox", section: "main", method: "becomeRoot", flag: "becomeRoot" },
  {
    name: "--map-subids", args: [], help: "Map root to the caller and 1..N to its /etc/subuid, /etc/subgid ranges", section: "main", method: "mapSubids", fields: ["mapSubids", "becomeRoot"],
    run: (s) => void (s.plan.mapSubids = s.plan.becomeRoot = true),
  },
  { name: "--suppress-chown", args: [], help: "Make chown() syscalls in the sandbox a noop", section: "main", method: "suppressChown", flag: "suppressChown" },
  { name: "--suppress-sync", args: [], help: "Make sync() syscalls in the sandbox a noop", section: "main", method: "suppressSync", flag: "suppressSync" },
  { name: "--unshare-net", args: [], help: "Unshare the network namespace if possible", section: "main", method: "unshareNet", flag: "unshareNet" },
  { name: "--unshare-ipc", args: [], help: "Unshare the IPC namespace if possible", section: "main", method: "unshareIpc", flag: "unshareIpc" },
  { name: "--new-session-keyring", args: [], help: "Join a new anonymous session keyring", section: "main", method: "newSessionKeyring", flag: "newSessionKeyring" },
  { name: "--pack-fds", args: [], help: "Pack inherited fds from 3 upward and set LISTEN_FDS/LISTEN_PID", section: "main", method: "packFds", flag: "packFds" },
  { name: "--suspend", args: [], help: "Stop process before execve()", section: "main", method: null, flag: "suspend" },
  { name: "--debug", args: [], help: "Print each setup operation as it is applied", section: "main", method: "debug", flag: "debug" },
  {
    name: "--confinement", args: ["MODE"], section: "main", method: null, fields: ["confinement"], run: confinement,
    help: "namespaces (the default), landlock (no namespaces: Landlock, seccomp and no_new_privs confine the command on the host's root), or auto (namespaces where this host allows them)",
  },
  {
    name: "--allow-host", args: ["PATTERN"], section: "main", method: "allowHosts", fields: ["allowHosts", "unshareNet", "env"], run: allowHost,
    help: "Only this host (name, *.domain or address, :port; 80 and 443 without one) is reachable, through HTTP and SOCKS5 proxies of ours outside the sandbox; implies --unshare-net; repeatable",
  },
  {
    name: "--memlimit", args: ["BYTES"], help: "Memory (resident, all of the sandbox's processes); k, m, g", section: "main", method: "limits", fields: ["limits"],
    run: (s, [t], o) => void (s.plan.limits.memory = parseBytes(t) ?? badValue(o.name, t, "a positive number of bytes (k, m, g suffixes multiply by 1024, 1024^2, 1024^3)")),
  },
  {
    name: "--timelimit", args: ["SECONDS"], help: "CPU time, summed over the sandbox's processes", section: "main", method: "limits", fields: ["limits"],
    run: (s, [t], o) => void (s.plan.limits.cpuTime = parseSeconds(t) ?? badValue(o.name, t, "a positive number of seconds of CPU time")),
  },
  {
    name: "--walltimelimit", args: ["SECONDS"], help: "Wall time from the start of the command", section: "main", method: "limits", fields: ["limits"],
    run: (s, [t], o) => void (s.plan.limits.wallTime = parseSeconds(t) ?? badValue(o.name, t, "a positive number of seconds")),
  },
  {
    name: "--pidlimit", args: ["N"], help: "Processes of the sandbox at once", section: "main", method: "limits", fields: ["limits"],
    run: (s, [t], o) => void (s.plan.limits.pids = /^[1-9]\d{0,6}$/.test(t) ? Number(t) : badValue(o.name, t, "a positive number of processes")),
  },
  { name: "--rlimit", args: ["NAME=SOFT[:HARD]"], help: "Any rlimit (nofile, fsize, core, stack, as, ...; unlimited)", section: "main", method: "limits", fields: ["limits"], run: rlimit },
  {
    name: "--seal", args: [], section: "main", method: null, fields: ["seal"], run: (s) => void (s.plan.seal = true),
    help: "Lock every mount the sandbox makes against the command (the default when a user namespace is made; as real root, this gives the command a user namespace mapping every id to itself)",
  },
  { name: "--no-seal", args: [], help: "Let the command remount or unmount what the sandbox made", section: "main", method: "unsealed", fields: ["seal"], run: (s) => void (s.plan.seal = false) },
  {
    name: "--harden", args: [], section: "main", method: "harden", flag: "harden",
    help: "For untrusted code: no capabilities, no_new_privs, a seccomp filter refusing what a build does not need, and Landlock: writes only where this command line made a writable place, no signals or abstract sockets beyond the sandbox",
  },
  { name: "--disable-userns", args: [], help: "The command cannot make user namespaces", section: "main", method: "disableUserns", flag: "disableUserns" },
  { name: "--cap-add", args: ["CAP"], help: "Give the command CAP (CAP_ prefix optional, or ALL)", section: "main", method: "capAdd", fields: ["capChanges"], run: capChange(true) },
  { name: "--cap-drop", args: ["CAP"], help: "Take CAP from the command (or ALL)", section: "main", method: "capDrop", fields: ["capChanges"], run: capChange(false) },
  { name: "--enter", args: ["PID"], help: "Run COMMAND in the namespaces of process PID (those that differ from ours)", section: "main", method: null, enter: enterPid },
  {
    name: "--namespaces", args: ["LIST"], help: "With --enter: only these (user,mnt,pid,net,ipc,uts,cgroup,time)", section: "main", method: null,
    enter: (e, [list]) => void (e.namespaces = usageFrom("--namespaces", () => parseNamespaceList(list))),
  },
  {
    name: "--perms", args: ["OCTAL"], help: "Mode of what the next --tmpfs, --dir, --bind-data or --ro-bind-data creates", section: "hakurei", method: "dir", fields: OPS, prefix: true,
    run: (s, [t]) => {
      if (s.perms) throw new UsageError(`--perms given twice (${s.perms.text}, ${t}) for one operation`);
      s.perms = { mode: parseOctalMode("--perms", t), text: t };
    },
  },
  {
    name: "--size", args: ["BYTES"], help: "Size limit of the next --tmpfs (k, m, g suffixes allowed)", section: "hakurei", method: "tmpfs", fields: OPS, prefix: true,
    run: (s, [t]) => {
      if (s.size) throw new UsageError(`--size given twice (${s.size.text}, ${t}) for one --tmpfs`);
      s.size = { bytes: parseSize("--size", t), text: t };
    },
  },
  { name: "--remount-ro", args: DST, help: "Make the mount at DST read-only, after all mounts", section: "hakurei", method: "remountRo", fields: OPS, run: (s, [dst]) => void s.plan.ops.push({ kind: "remount", dst: abs(s, dst), options: "ro" }) },
  {
    name: "--remount", args: ["OPTIONS", "DST"], help: 'Change flags of the mount at DST ("ro,nosuid,nodev"; "rec": every mount below too), after all mounts', section: "hakurei", method: "remount", fields: OPS,
    run: (s, [options, dst]) => {
      usageFrom(`--remount ${options}`, () => parseRemountOptions(options), FlagParseError);
      s.plan.ops.push({ kind: "remount", dst: abs(s, dst), options });
    },
  },
  { name: "--mqueue", args: DST, help: "Mount a private mqueue on DST (needs --unshare-ipc)", section: "hakurei", method: "mqueue", fields: OPS, run: (s, [dst]) => void s.plan.ops.push({ kind: "mqueue", dst: abs(s, dst) }) },
  {
    name: "--copy-symlink", args: ["HOSTLINK", "DST"], help: "Create a symlink at DST with the target of the host symlink", section: "hakurei", method: "symlink", fields: OPS,
    run: (s, [link, dst]) => void s.plan.ops.push({ kind: "symlink", target: abs(s, link), dst: abs(s, dst), dereference: true }),
  },
  { name: "--bind-data", args: ["FD", "DST"], help: "Read FD to its end and bind the bytes on DST (writes stay in the sandbox)", section: "hakurei", method: "bindData", fields: ["ops", "fds"], perms: true, run: data(false) },
  { name: "--ro-bind-data", args: ["FD", "DST"], help: "The same, read-only", section: "hakurei", method: "roBindData", fields: ["ops", "fds"], perms: true, run: data(true) },
  { name: "--chmod", args: ["OCTAL", "PATH"], help: "Change the mode of PATH, after all mounts", section: "hakurei", method: "chmod", fields: OPS, run: (s, [mode, path]) => void s.plan.ops.push({ kind: "chmod", dst: abs(s, path), mode: parseOctalMode("--chmod", mode) }) },
  { name: "--hidden-dir", args: DIR, help: "DIR is an empty directory (writable, in the sandbox's tmpfs)", section: "dirmodes", method: "dirMode", fields: OPS, dirMode: "hidden", run: dirMode },
  { name: "--read-only-dir", args: DIR, help: "DIR is read-only", section: "dirmodes", method: "dirMode", fields: OPS, dirMode: "read-only", run: dirMode },
  { name: "--overlay-dir", args: DIR, help: "DIR is writable; writes land in the sandbox's tmpfs", section: "dirmodes", method: "dirMode", fields: OPS, dirMode: "overlay", run: dirMode },
  { name: "--full-access-dir", args: DIR, help: "DIR is writable; writes reach the host", section: "dirmodes", method: "dirMode", fields: OPS, dirMode: "full-access", run: dirMode },
  { name: "--hidden-dir-try", args: DIR, help: "Like --hidden-dir; skipped when DIR does not exist on the host", section: "dirmodes", method: "dirMode", fields: OPS, dirMode: "hidden", optional: true, run: dirMode },
  { name: "--read-only-dir-try", args: DIR, help: "Like --read-only-dir; skipped when DIR does not exist", section: "dirmodes", method: "dirMode", fields: OPS, dirMode: "read-only", optional: true, run: dirMode },
  { name: "--overlay-dir-try", args: DIR, help: "Like --overlay-dir; skipped when DIR does not exist", section: "dirmodes", method: "dirMode", fields: OPS, dirMode: "overlay", optional: true, run: dirMode },
  { name: "--full-access-dir-try", args: DIR, help: "Like --full-access-dir; skipped when DIR does not exist", section: "dirmodes", method: "dirMode", fields: OPS, dirMode: "full-access", optional: true, run: dirMode },
  { name: "--tmpfs-size", args: ["SIZE"], help: "Size of the tmpfs holding overlay writes (default 100%)", section: "dirmodes", method: "tmpfsSize", fields: OPS, run: dirModeSetting("tmpfsSize", checkTmpfsSize) },
  { name: "--tmpfs-numa", args: ["NODES"], help: "Bind that tmpfs's memory to these NUMA nodes (e.g. 0 or 0-1)", section: "dirmodes", method: "tmpfsNuma", fields: OPS, run: dirModeSetting("tmpfsNuma", checkNumaNodes) },
  { name: "--output-dir", args: DIR, help: "Copy the files written in overlay directories to DIR afterwards", section: "dirmodes", method: "outputDir", fields: OPS, run: (s, [dir]) => void (s.dirModeSettings.outputDir = abs(s, dir)) },
] as const satisfies readonly OptionSpec[];

export const OPTIONS: readonly OptionSpec[] = TABLE;

export type OptionName = (typeof TABLE)[number]["name"];
type SpecOf<N extends OptionName> = Extract<(typeof TABLE)[number], { name: N }>;
/** A string for each argument the table gives option N: toArgs() cannot give it too few or many. */
export type ArgsOf<N extends OptionName> = SpecOf<N>["args"] extends infer A extends readonly unknown[] ? { -readonly [K in keyof A]: string } : never;

const BY_NAME: ReadonlyMap<string, OptionSpec> = new Map(OPTIONS.flatMap((o): [string, OptionSpec][] => (o.short ? [[o.name, o], [o.short, o]] : [[o.name, o]])));

/** The option typed as `arg` (its name or short name), if there is one. */
export const optionNamed = (arg: string): OptionSpec | undefined => BY_NAME.get(arg);

/** The option of a directory mode (its -try form for an optional one). */
export function optionOfMode(mode: DirMode, optional = false): OptionName {
  return OPTIONS.find((o) => o.dirMode === mode && !!o.optional === optional)!.name as OptionName;
}
