// Entering the namespaces of a running process (`sandbox --enter PID`, the library's enter()):
// the pure parts. Which namespaces to enter, in which order, whether a fork is needed, which
// ids the command takes in an entered user namespace, and the request the stage runs.
// No system calls here; src/stage/enter.ts does the entering.
import { FlagParseError, NAMESPACES, parseNamespaces, type NamespaceName } from "../sys/flags.ts";
import { PlanError, requireAbsolute, requireString } from "./errors.ts";

/** Every namespace type a process can be entered by, in /proc/PID/ns/ naming. */
export const NAMESPACE_NAMES: readonly NamespaceName[] = NAMESPACES.map(([name]) => name);

/** CLONE_NEW* flag of a namespace name (the nstype argument of setns). */
export function namespaceFlag(name: NamespaceName): number {
  return NAMESPACES.find(([n]) => n === name)![1];
}

/**
 * Order of setns for everything but the user namespace. The mount namespace comes last, so the
 * change of root (fchdir + chroot to the target's root) directly follows it and nothing after
 * it resolves a path; pid and time apply to children only, so their place does not matter.
 */
export const SETNS_ORDER: readonly NamespaceName[] = ["cgroup", "ipc", "uts", "net", "pid", "time", "mnt"];

/**
 * Parses a namespace list like "user,mnt,pid" (also "user|mnt") into names, in canonical order,
 * without duplicates. Throws FlagParseError naming the bad word, or for an empty list.
 */
export function parseNamespaceList(text: string): NamespaceName[] {
  if (typeof text !== "string") throw new FlagParseError("namespace list must be a string like \"user,mnt,pid\"");
  const words = text.split(/[|,]/).map((w) => w.trim()).filter((w) => w !== "");
  for (const w of words) {
    // parseNamespaces also accepts numbers (what formatNamespaces prints for unnamed bits); here only names.
    if (!NAMESPACE_NAMES.includes(w as NamespaceName)) {
      throw new FlagParseError(`unknown namespace "${w}" (known: ${NAMESPACE_NAMES.join(", ")})`);
    }
  }
  const bits = parseNamespaces(words.join(","));
  if (bits === 0) throw new FlagParseError(`empty namespace list; name at least one of ${NAMESPACE_NAMES.join(", ")}`);
  return NAMESPACE_NAMES.filter((n) => (bits & namespaceFlag(n)) !== 0);
}

/** A list the library takes: a string ("net,ipc") or an array of names. */
export function normalizeNamespaces(input: string | readonly string[]): NamespaceName[] {
  if (Array.isArray(input)) {
    if (input.some((w) => typeof w !== "string")) throw new FlagParseError("namespaces must be names like \"net\" or \"mnt\"");
    return parseNamespaceList(input.join(","));
  }
  return parseNamespaceList(input as string);
}

/** Namespace ids as readlink(/proc/PID/ns/NAME) gives them ("mnt:[4026531841]"); missing when unreadable. */
export type NamespaceLinks = Partial<Record<NamespaceName, string>>;

export interface NamespaceChoice {
  /** To enter, in canonical order (not yet the setns order). */
  enter: NamespaceName[];
  /** Asked for, but the target has no such namespace file (kernel without it). */
  unsupported: NamespaceName[];
}

/**
 * Which namespaces to enter: those asked for (default: every type), minus those the target
 * shares with the caller. Sharing the caller's user namespace in particular must be skipped:
 * the kernel refuses setns into one's own user namespace (EINVAL), so that a process cannot
 * regain capabilities by re-entering it. Any other shared namespace would be a no-op (or, for
 * mnt, a needless reset of root and working directory), so it is skipped as well.
 */
export function chooseNamespaces(requested: readonly NamespaceName[] | null, target: NamespaceLinks, self: NamespaceLinks): NamespaceChoice {
  const enter: NamespaceName[] = [];
  const unsupported: NamespaceName[] = [];
  for (const ns of NAMESPACE_NAMES) {
    if (requested !== null && !requested.includes(ns)) continue;
    const t = target[ns];
    if (t === undefined) {
      if (requested !== null) unsupported.push(ns);
      continue;
    }
    if (t !== self[ns]) enter.push(ns);
  }
  return { enter, unsupported };
}

/**
 * The order of the setns calls.
 *
 * - Unprivileged (no CAP_SYS_ADMIN in the caller's user namespace): the user namespace first.
 *   Joining it grants every capability inside it, and the target's other namespaces are owned
 *   by it (a sandbox creates them together), so the later calls pass the kernel's checks
 *   (CAP_SYS_ADMIN over the namespace's owner, plus CAP_SYS_CHROOT for mnt).
 * - Privileged (root): the user namespace last, as pysetns does. Root already passes every check
 *   for namespaces owned by its own user namespace or by any namespace below it; joining the
 *   target's user namespace first would only narrow that to namespaces below the target's.
 *   The root change and the working directory are then done with root's rights, before the
 *   process takes on the target's identity.
 * - Unprivileged, into a sealed sandbox (`nested`: the target's user namespace is a grandchild
 *   of ours or deeper, and some of its namespaces are owned by the one in between): the caller
 *   first joins the outermost user namespace below its own (runEnter does that step), which gives
 *   it every capability there and below, and then goes on as root does, the user namespace last.
 */
export function setnsOrder(names: readonly NamespaceName[], privileged: boolean, nested = false): NamespaceName[] {
  const rest = SETNS_ORDER.filter((n) => names.includes(n));
  if (!names.includes("user")) return rest;
  return privileged || nested ? [...rest, "user"] : ["user", ...rest];
}

/**
 * A PID or time namespace applies to the caller's children only (setns(CLONE_NEWPID) leaves the
 * caller where it is), so the command must be forked after entering.
 */
export function needsFork(names: readonly NamespaceName[]): boolean {
  return names.includes("pid") || names.includes("time");
}

/** The namespace ids the command will have: the target's for the entered ones, the caller's for the rest. */
export function resultingNamespaces(entered: readonly NamespaceName[], target: NamespaceLinks, self: NamespaceLinks): Record<string, string> {
  const out: Record<string, string> = {};
  for (const ns of NAMESPACE_NAMES) {
    const link = entered.includes(ns) ? target[ns] : self[ns];
    if (link !== undefined) out[ns] = link;
  }
  return out;
}

export interface IdMapRange {
  inside: number;
  outside: number;
  count: number;
}

/** Parses /proc/PID/uid_map or gid_map ("inside outside count" per line). */
export function parseIdMap(text: string): IdMapRange[] {
  const out: IdMapRange[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length !== 3 || !f.every((x) => /^\d+$/.test(x))) continue;
    out.push({ inside: Number(f[0]), outside: Number(f[1]), count: Number(f[2]) });
  }
  return out;
}

/** The id inside a user namespace of an id of the reader's namespace, or null when it is not mapped. */
export function mapIdInto(id: number, map: readonly IdMapRange[]): number | null {
  for (const r of map) if (id >= r.outside && id - r.outside < r.count) return r.inside + (id - r.outside);
  return null;
}

export interface ProcessIds {
  /** Effective uid and gid. */
  uid: number;
  gid: number;
  /** Supplementary groups. */
  groups: number[];
}

/** The effective uid/gid and the supplementary groups from /proc/PID/status. */
export function parseStatusIds(status: string): ProcessIds | null {
  const field = (name: string) => new RegExp(`^${name}:[ \\t]*(.*)$`, "m").exec(status)?.[1]?.trim().split(/\s+/).filter((x) => x !== "");
  const uid = field("Uid");
  const gid = field("Gid");
  const groups = field("Groups") ?? [];
  if (!uid || uid.length < 2 || !gid || gid.length < 2) return null;
  if (![...uid, ...gid, ...groups].every((x) => /^\d+$/.test(x))) return null;
  return { uid: Number(uid[1]), gid: Number(gid[1]), groups: groups.map(Number) };
}

/** What the stage needs to run one command in the namespaces of a process. Plain JSON data. */
export interface EnterSpec {
  /** The target process (as the caller sees it). */
  pid: number;
  /** Namespaces to enter; null: every one that differs from the caller's. */
  namespaces: NamespaceName[] | null;
  /** Working directory of the command inside the target's root; null: the target's own, else "/". */
  cwd: string | null;
  argv: string[];
  /** The complete environment of the command. */
  env: Record<string, string>;
  /** fds above stderr passed to the command. */
  fds: number[];
}

const SPEC_FIELDS = ["pid", "namespaces", "cwd", "argv", "env", "fds"];

/** Largest pid the kernel can hand out (PID_MAX_LIMIT on 64-bit). */
export const PID_MAX = 4194304;

export function requirePid(field: string, pid: unknown): number {
  if (typeof pid !== "number" || !Number.isInteger(pid) || pid < 1 || pid > PID_MAX) {
    throw new PlanError(field, `invalid process id ${JSON.stringify(pid)}; give a pid between 1 and ${PID_MAX}`);
  }
  return pid;
}

/** Checks every field of an enter request; errors name the field. */
export function validateEnterSpec(spec: EnterSpec): EnterSpec {
  if (typeof spec !== "object" || spec === null) throw new PlanError("enter", "must be an object");
  for (const k of Object.keys(spec)) if (!SPEC_FIELDS.includes(k)) throw new PlanError(`enter.${k}`, `unknown field (known: ${SPEC_FIELDS.join(", ")})`);
  requirePid("enter.pid", spec.pid);
  if (spec.namespaces !== null) {
    if (!Array.isArray(spec.namespaces)) throw new PlanError("enter.namespaces", "must be null or a list of namespace names");
    try {
      const parsed = parseNamespaceList(spec.namespaces.join(","));
      if (parsed.length !== spec.namespaces.length) throw new FlagParseError("duplicate namespace names");
    } catch (e) {
      throw new PlanError("enter.namespaces", (e as Error).message);
    }
  }
  if (spec.cwd !== null) requireAbsolute("enter.cwd", spec.cwd);
  if (!Array.isArray(spec.argv) || spec.argv.length === 0) throw new PlanError("enter.argv", "needs at least the command to run");
  spec.argv.forEach((a, i) => requireString(`enter.argv[${i}]`, a));
  if (spec.argv[0] === "") throw new PlanError("enter.argv[0]", "the command name is empty");
  if (typeof spec.env !== "object" || spec.env === null || Array.isArray(spec.env)) throw new PlanError("enter.env", "must be an object of strings");
  for (const [k, v] of Object.entries(spec.env)) {
    if (k === "" || k.includes("=") || k.includes("\0")) throw new PlanError(`enter.env.${k}`, "invalid variable name");
    requireString(`enter.env.${k}`, v);
  }
  if (!Array.isArray(spec.fds) || spec.fds.some((fd) => !Number.isInteger(fd) || fd < 3)) {
    throw new PlanError("enter.fds", "must be a list of fd numbers above 2 (stdio is always passed)");
  }
  return spec;
}
