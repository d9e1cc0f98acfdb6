// The one table of `sandbox` options. Parsing (args.ts), --help (help.ts), the --enter subset and
// the library's toArgs() (src/api/args.ts) are derived from it, so adding an option is one entry
// here (plus its line in the README's table and its example in test/unit/options.test.ts).
// Loaded on every start: a literal and one Map, nothing else runs at import.
import type { Sandbox } from "../api/builder.ts";
import type { DirMode, Plan } from "../plan/types.ts";
import { checkNumaNodes, checkTmpfsSize } from "../plan/ops/dirmodes.ts";
import { abs, parseOctalMode, setenv, takePerms, takeSize, type ParseResult } from "./state.ts";
import {
  addOp, allowHost, bind, capChange, confinement, data, dirMode, dirModeSetting, enterChdir, enterNamespaces, enterPid, memlimit, overlay,
  perms, pidlimit, remount, rlimit, size, timelimit, walltimelimit, type EnterSetter, type RunSetter,
} from "./setters.ts";

/** Where --help lists it. */
export type Section = "main" | "hakurei" | "dirmodes";
type BoolField = { [K in keyof Plan]: Plan[K] extends boolean ? K : never }[keyof Plan];
export type BuilderMethod = { [K in keyof Sandbox]: Sandbox[K] extends (...a: never[]) => unknown ? K : never }[keyof Sandbox];

export interface OptionSpec {
  readonly name: string;
  readonly short?: string;
  /** Its arguments' names: how many it takes, and what help and errors call them. */
  readonly args: readonly string[];
  readonly section: Section;
  /** The builder method (src/api/builder.ts) that does the same; null: the library has none. */
  readonly method: BuilderMethod | null;
  /** One line (help.ts wraps it). */
  readonly help: string;
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
  /**
   * Ends parsing with this result. `follow`: what alone may come after it; null: anything, ignored
   * (--help and --version act at once, as in mkosi-sandbox).
   */
  readonly info?: { readonly follow: readonly string[] | null; readonly result: (rest: readonly string[]) => ParseResult };
}

const OPS = ["ops"] as const;
const SRC_DST = ["SRC", "DST"] as const;
const DST = ["DST"] as const;
const DIR = ["DIR"] as const;
const MAIN = "main";
const HAKUREI = "hakurei";
const DIRMODES = "dirmodes";

// In the order --help lists them, which is also the order toArgs() gives flags in.
const TABLE = [
  { name: "--help", short: "-h", args: [], section: MAIN, method: null, enter: true, info: { follow: null, result: () => ({ kind: "help" }) },
    help: "Show this help" },
  { name: "--version", args: [], section: MAIN, method: null, enter: true, info: { follow: null, result: () => ({ kind: "version" }) },
    help: "Show package version" },
  { name: "--doctor", args: [], section: MAIN, method: null, info: { follow: ["--json"], result: (rest) => ({ kind: "doctor", json: rest.includes("--json") }) },
    help: "Report what this machine allows and exit" },
  { name: "--tmpfs", args: DST, section: MAIN, method: "tmpfs", fields: OPS, perms: true, size: true,
    help: "Mount a new tmpfs on DST",
    run: (s, [dst]) => addOp(s, { kind: "tmpfs", dst: abs(s, dst), ...takeSize(s), ...takePerms(s) }) },
  { name: "--dev", args: DST, section: MAIN, method: "dev", fields: OPS,
    help: "Mount a minimal /dev on DST",
    run: (s, [dst]) => addOp(s, { kind: "dev", dst: abs(s, dst), console: s.input.tty }) },
  { name: "--proc", args: DST, section: MAIN, method: "proc", fields: OPS,
    help: "Mount procfs on DST",
    run: (s, [dst]) => addOp(s, { kind: "proc", dst: abs(s, dst) }) },
  { name: "--dir", args: DST, section: MAIN, method: "dir", fields: OPS, perms: true,
    help: "Create a new directory at DST",
    run: (s, [dst]) => addOp(s, { kind: "dir", dst: abs(s, dst), ...takePerms(s) }) },
  { name: "--bind", args: SRC_DST, section: MAIN, method: "bind", fields: OPS,
    help: "Bind mount the host path SRC to DST",
    run: bind(false, false, false) },
  { name: "--bind-try", args: SRC_DST, section: MAIN, method: "bindTry", fields: OPS,
    help: "Bind mount the host path SRC to DST if it exists",
    run: bind(false, true, false) },
  { name: "--ro-bind", args: SRC_DST, section: MAIN, method: "roBind", fields: OPS,
    help: "Bind mount the host path SRC to DST read-only",
    run: bind(true, false, false) },
  { name: "--ro-bind-try", args: SRC_DST, section: MAIN, method: "roBindTry", fields: OPS,
    help: "Bind mount the host path SRC to DST read-only if it exists",
    run: bind(true, true, false) },
  { name: "--bind-nofollow", args: SRC_DST, section: MAIN, method: "bindNofollow", fields: OPS,
    help: "Like --bind, but a symlink SRC is bound itself",
    run: bind(false, false, true) },
  { name: "--ro-bind-nofollow", args: SRC_DST, section: MAIN, method: "roBindNofollow", fields: OPS,
    help: "Like --ro-bind, but a symlink SRC is bound itself",
    run: bind(true, false, true) },
  { name: "--symlink", args: SRC_DST, section: MAIN, method: "symlink", fields: OPS,
    help: "Create a symlink at DST pointing to SRC",
    run: (s, [target, dst]) => addOp(s, { kind: "symlink", target, dst: abs(s, dst) }) },
  { name: "--write", args: ["DATA", "DST"], section: MAIN, method: "write", fields: OPS,
    help: "Write DATA to DST",
    run: (s, [data, dst]) => addOp(s, { kind: "write", data, dst: abs(s, dst) }) },
  { name: "--overlay-lowerdir", args: DIR, section: MAIN, method: "overlay", fields: OPS,
    help: "Add a lower directory for the next overlayfs mount",
    run: (s, [dir]) => void s.overlay.lower.push(abs(s, dir)) },
  { name: "--overlay-upperdir", args: DIR, section: MAIN, method: "overlay", fields: OPS,
    help: 'Set the upper directory ("tmpfs" for a fresh one) for the next overlay',
    run: (s, [dir]) => { s.overlay.upper = dir === "tmpfs" ? "tmpfs" : abs(s, dir); } },
  { name: "--overlay-workdir", args: DIR, section: MAIN, method: "overlay", fields: OPS,
    help: "Set the working directory for the next overlayfs mount",
    run: (s, [dir]) => { s.overlay.work = abs(s, dir); } },
  { name: "--overlay", args: DST, section: MAIN, method: "overlay", fields: OPS,
    help: "Mount an overlay filesystem at DST",
    run: overlay },
  { name: "--unsetenv", args: ["NAME"], section: MAIN, method: "unsetenv", fields: ["env"],
    help: "Unset the environment variable with name NAME",
    run: (s, [name]) => void s.unsetenv.push(name), enter: (e, [name]) => void e.unsetenv.push(name) },
  { name: "--setenv", args: ["NAME", "VALUE"], section: MAIN, method: "setenv", fields: ["env"],
    help: "Set the environment variable with name NAME to VALUE",
    run: (s, [name, value]) => setenv(s, name, value), enter: (e, [name, value]) => setenv(e, name, value) },
  { name: "--chdir", args: DIR, section: MAIN, method: "chdir", fields: ["cwd"],
    help: "Change the working directory in the sandbox to DIR",
    run: (s, [dir]) => { s.chdir = abs(s, dir); }, enter: enterChdir },
  { name: "--same-dir", args: [], section: MAIN, method: "chdir", fields: ["cwd"],
    help: "Change the working directory in the sandbox to $PWD",
    run: (s) => { s.chdir = s.input.cwd; } },
  { name: "--become-root", args: [], section: MAIN, method: "becomeRoot", flag: "becomeRoot",
    help: "Map the current user/group to root:root in the sandbox" },
  { name: "--map-subids", args: [], section: MAIN, method: "mapSubids", fields: ["mapSubids", "becomeRoot"],
    help: "Map root to the caller and 1..N to its /etc/subuid, /etc/subgid ranges",
    run: (s) => { s.plan.mapSubids = s.plan.becomeRoot = true; } },
  { name: "--suppress-chown", args: [], section: MAIN, method: "suppressChown", flag: "suppressChown",
    help: "Make chown() syscalls in the sandbox a noop" },
  { name: "--suppress-sync", args: [], section: MAIN, method: "suppressSync", flag: "suppressSync",
    help: "Make sync() syscalls in the sandbox a noop" },
  { name: "--unshare-net", args: [], section: MAIN, method: "unshareNet", flag: "unshareNet",
    help: "Unshare the network namespace if possible" },
  { name: "--unshare-ipc", args: [], section: MAIN, method: "unshareIpc", flag: "unshareIpc",
    help: "Unshare the IPC namespace if possible" },
  { name: "--new-session-keyring", args: [], section: MAIN, method: "newSessionKeyring", flag: "newSessionKeyring",
    help: "Join a new anonymous session keyring" },
  { name: "--pack-fds", args: [], section: MAIN, method: "packFds", flag: "packFds",
    help: "Pack inherited fds from 3 upward and set LISTEN_FDS/LISTEN_PID" },
  { name: "--suspend", args: [], section: MAIN, method: null, flag: "suspend",
    help: "Stop process before execve()" },
  { name: "--debug", args: [], section: MAIN, method: "debug", flag: "debug",
    help: "Print each setup operation as it is applied" },
  { name: "--confinement", args: ["MODE"], section: MAIN, method: null, fields: ["confinement"],
    help: "namespaces (the default), landlock (no namespaces: Landlock, seccomp and no_new_privs confine the command on the host's root), or auto (namespaces where this host allows them)",
    run: confinement },
  { name: "--allow-host", args: ["PATTERN"], section: MAIN, method: "allowHosts", fields: ["allowHosts", "unshareNet", "env"],
    help: "Only this host (name, *.domain or address, :port; 80 and 443 without one) is reachable, through HTTP and SOCKS5 proxies of ours outside the sandbox; implies --unshare-net; repeatable",
    run: allowHost },
  { name: "--memlimit", args: ["BYTES"], section: MAIN, method: "limits", fields: ["limits"],
    help: "Memory (resident, all of the sandbox's processes); k, m, g",
    run: memlimit },
  { name: "--timelimit", args: ["SECONDS"], section: MAIN, method: "limits", fields: ["limits"],
    help: "CPU time, summed over the sandbox's processes",
    run: timelimit },
  { name: "--walltimelimit", args: ["SECONDS"], section: MAIN, method: "limits", fields: ["limits"],
    help: "Wall time from the start of the command",
    run: walltimelimit },
  { name: "--pidlimit", args: ["N"], section: MAIN, method: "limits", fields: ["limits"],
    help: "Processes of the sandbox at once",
    run: pidlimit },
  { name: "--rlimit", args: ["NAME=SOFT[:HARD]"], section: MAIN, method: "limits", fields: ["limits"],
    help: "Any rlimit (nofile, fsize, core, stack, as, ...; unlimited)",
    run: rlimit },
  { name: "--seal", args: [], section: MAIN, method: null, fields: ["seal"],
    help: "Lock every mount the sandbox makes against the command (the default when a user namespace is made; as real root, this gives the command a user namespace mapping every id to itself)",
    run: (s) => { s.plan.seal = true; } },
  { name: "--no-seal", args: [], section: MAIN, method: "unsealed", fields: ["seal"],
    help: "Let the command remount or unmount what the sandbox made",
    run: (s) => { s.plan.seal = false; } },
  { name: "--harden", args: [], section: MAIN, method: "harden", flag: "harden",
    help: "For untrusted code: no capabilities, no_new_privs, a seccomp filter refusing what a build does not need, and Landlock: writes only where this command line made a writable place, no signals or abstract sockets beyond the sandbox" },
  { name: "--disable-userns", args: [], section: MAIN, method: "disableUserns", flag: "disableUserns",
    help: "The command cannot make user namespaces" },
  { name: "--cap-add", args: ["CAP"], section: MAIN, method: "capAdd", fields: ["capChanges"],
    help: "Give the command CAP (CAP_ prefix optional, or ALL)",
    run: capChange(true) },
  { name: "--cap-drop", args: ["CAP"], section: MAIN, method: "capDrop", fields: ["capChanges"],
    help: "Take CAP from the command (or ALL)",
    run: capChange(false) },
  { name: "--enter", args: ["PID"], section: MAIN, method: null,
    help: "Run COMMAND in the namespaces of process PID (those that differ from ours)",
    enter: enterPid },
  { name: "--namespaces", args: ["LIST"], section: MAIN, method: null,
    help: "With --enter: only these (user,mnt,pid,net,ipc,uts,cgroup,time)",
    enter: enterNamespaces },
  { name: "--perms", args: ["OCTAL"], section: HAKUREI, method: "dir", fields: OPS, prefix: true,
    help: "Mode of what the next --tmpfs, --dir, --bind-data or --ro-bind-data creates",
    run: perms },
  { name: "--size", args: ["BYTES"], section: HAKUREI, method: "tmpfs", fields: OPS, prefix: true,
    help: "Size limit of the next --tmpfs (k, m, g suffixes allowed)",
    run: size },
  { name: "--remount-ro", args: DST, section: HAKUREI, method: "remountRo", fields: OPS,
    help: "Make the mount at DST read-only, after all mounts",
    run: (s, [dst]) => addOp(s, { kind: "remount", dst: abs(s, dst), options: "ro" }) },
  { name: "--remount", args: ["OPTIONS", "DST"], section: HAKUREI, method: "remount", fields: OPS,
    help: 'Change flags of the mount at DST ("ro,nosuid,nodev"; "rec": every mount below too), after all mounts',
    run: remount },
  { name: "--mqueue", args: DST, section: HAKUREI, method: "mqueue", fields: OPS,
    help: "Mount a private mqueue on DST (needs --unshare-ipc)",
    run: (s, [dst]) => addOp(s, { kind: "mqueue", dst: abs(s, dst) }) },
  { name: "--copy-symlink", args: ["HOSTLINK", "DST"], section: HAKUREI, method: "symlink", fields: OPS,
    help: "Create a symlink at DST with the target of the host symlink",
    run: (s, [link, dst]) => addOp(s, { kind: "symlink", target: abs(s, link), dst: abs(s, dst), dereference: true }) },
  { name: "--bind-data", args: ["FD", "DST"], section: HAKUREI, method: "bindData", fields: ["ops", "fds"], perms: true,
    help: "Read FD to its end and bind the bytes on DST (writes stay in the sandbox)",
    run: data(false) },
  { name: "--ro-bind-data", args: ["FD", "DST"], section: HAKUREI, method: "roBindData", fields: ["ops", "fds"], perms: true,
    help: "The same, read-only",
    run: data(true) },
  { name: "--chmod", args: ["OCTAL", "PATH"], section: HAKUREI, method: "chmod", fields: OPS,
    help: "Change the mode of PATH, after all mounts",
    run: (s, [mode, path], o) => addOp(s, { kind: "chmod", dst: abs(s, path), mode: parseOctalMode(o.name, mode) }) },
  { name: "--hidden-dir", args: DIR, section: DIRMODES, method: "dirMode", fields: OPS, dirMode: "hidden",
    help: "DIR is an empty directory (writable, in the sandbox's tmpfs)",
    run: dirMode },
  { name: "--read-only-dir", args: DIR, section: DIRMODES, method: "dirMode", fields: OPS, dirMode: "read-only",
    help: "DIR is read-only",
    run: dirMode },
  { name: "--overlay-dir", args: DIR, section: DIRMODES, method: "dirMode", fields: OPS, dirMode: "overlay",
    help: "DIR is writable; writes land in the sandbox's tmpfs",
    run: dirMode },
  { name: "--full-access-dir", args: DIR, section: DIRMODES, method: "dirMode", fields: OPS, dirMode: "full-access",
    help: "DIR is writable; writes reach the host",
    run: dirMode },
  { name: "--hidden-dir-try", args: DIR, section: DIRMODES, method: "dirMode", fields: OPS, dirMode: "hidden", optional: true,
    help: "Like --hidden-dir; skipped when DIR does not exist on the host",
    run: dirMode },
  { name: "--read-only-dir-try", args: DIR, section: DIRMODES, method: "dirMode", fields: OPS, dirMode: "read-only", optional: true,
    help: "Like --read-only-dir; skipped when DIR does not exist",
    run: dirMode },
  { name: "--overlay-dir-try", args: DIR, section: DIRMODES, method: "dirMode", fields: OPS, dirMode: "overlay", optional: true,
    help: "Like --overlay-dir; skipped when DIR does not exist",
    run: dirMode },
  { name: "--full-access-dir-try", args: DIR, section: DIRMODES, method: "dirMode", fields: OPS, dirMode: "full-access", optional: true,
    help: "Like --full-access-dir; skipped when DIR does not exist",
    run: dirMode },
  { name: "--tmpfs-size", args: ["SIZE"], section: DIRMODES, method: "tmpfsSize", fields: OPS,
    help: "Size of the tmpfs holding overlay writes (default 100%)",
    run: dirModeSetting("tmpfsSize", checkTmpfsSize) },
  { name: "--tmpfs-numa", args: ["NODES"], section: DIRMODES, method: "tmpfsNuma", fields: OPS,
    help: "Bind that tmpfs's memory to these NUMA nodes (e.g. 0 or 0-1)",
    run: dirModeSetting("tmpfsNuma", checkNumaNodes) },
  { name: "--output-dir", args: DIR, section: DIRMODES, method: "outputDir", fields: OPS,
    help: "Copy the files written in overlay directories to DIR afterwards",
    run: (s, [dir]) => { s.dirModeSettings.outputDir = abs(s, dir); } },
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
