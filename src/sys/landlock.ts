// Landlock (landlock(7)): the three syscalls, what each ABI can handle and the structs they
// take. No policy here: callers choose what to handle and what to allow.
//
// Before ABI 8 a restriction applies to the calling thread (and the children it makes later)
// only, so restrict in the single-threaded process that execs the command.
//
// BUN_SANDBOX_LANDLOCK_ABI=N caps the ABI landlockAbi() reports at N (0: pretend this kernel has
// no Landlock), for tests that play an older kernel. A value that is not a plain number is ignored.
import { errno, FFIType as T, lazyBind } from "./libc.ts";
import { Errno, errnoName } from "./errno.ts";
import { SysError } from "./error.ts";
import { close, open } from "./fd.ts";
import { fstat } from "./fs.ts";
import { O } from "./flags.ts";

export const LANDLOCK_ACCESS_FS = {
  EXECUTE: 1n << 0n, WRITE_FILE: 1n << 1n, READ_FILE: 1n << 2n, READ_DIR: 1n << 3n,
  REMOVE_DIR: 1n << 4n, REMOVE_FILE: 1n << 5n, MAKE_CHAR: 1n << 6n, MAKE_DIR: 1n << 7n,
  MAKE_REG: 1n << 8n, MAKE_SOCK: 1n << 9n, MAKE_FIFO: 1n << 10n, MAKE_BLOCK: 1n << 11n,
  MAKE_SYM: 1n << 12n, REFER: 1n << 13n, TRUNCATE: 1n << 14n, IOCTL_DEV: 1n << 15n,
} as const;
export const LANDLOCK_ACCESS_NET = { BIND_TCP: 1n << 0n, CONNECT_TCP: 1n << 1n } as const;
export const LANDLOCK_SCOPE = { ABSTRACT_UNIX_SOCKET: 1n << 0n, SIGNAL: 1n << 1n } as const;
export const LANDLOCK_CREATE_RULESET_VERSION = 1;
export const LANDLOCK_RULE = { PATH_BENEATH: 1, NET_PORT: 2 } as const;

const FS = LANDLOCK_ACCESS_FS;
const NET = LANDLOCK_ACCESS_NET;
const SCOPE = LANDLOCK_SCOPE;

/** The only rights the kernel accepts in a rule whose parent is not a directory. */
export const LANDLOCK_FILE_RIGHTS = FS.EXECUTE | FS.WRITE_FILE | FS.READ_FILE | FS.TRUNCATE | FS.IOCTL_DEV;

interface AbiStep {
  abi: number;
  linux: string;
  fs: bigint;
  net: bigint;
  scoped: bigint;
}

// What each ABI added (Documentation/userspace-api/landlock.rst). ABI 7 (6.15) brought logging
// flags, nothing a ruleset handles.
const ABI_STEPS: readonly AbiStep[] = [
  { abi: 1, linux: "5.13", fs: (1n << 13n) - 1n, net: 0n, scoped: 0n },
  { abi: 2, linux: "5.19", fs: FS.REFER, net: 0n, scoped: 0n },
  { abi: 3, linux: "6.2", fs: FS.TRUNCATE, net: 0n, scoped: 0n },
  { abi: 4, linux: "6.7", fs: 0n, net: NET.BIND_TCP | NET.CONNECT_TCP, scoped: 0n },
  { abi: 5, linux: "6.10", fs: FS.IOCTL_DEV, net: 0n, scoped: 0n },
  { abi: 6, linux: "6.12", fs: 0n, net: 0n, scoped: SCOPE.ABSTRACT_UNIX_SOCKET | SCOPE.SIGNAL },
];

type Kind = "fs" | "net" | "scoped";

function rightsFor(kind: Kind, abi: number): bigint {
  return ABI_STEPS.filter((s) => s.abi <= abi).reduce((m, s) => m | s[kind], 0n);
}

export const fsRightsForAbi = (abi: number): bigint => rightsFor("fs", abi);
export const netRightsForAbi = (abi: number): bigint => rightsFor("net", abi);
export const scopesForAbi = (abi: number): bigint => rightsFor("scoped", abi);

/** Every right and scope this code knows, for callers that want "all this kernel has". */
export const LANDLOCK_ALL = { fs: fsRightsForAbi(Infinity), net: netRightsForAbi(Infinity), scoped: scopesForAbi(Infinity) } as const;

// ---- what a kernel lacks, in words ---------------------------------------------------------------

const FEATURES: readonly { kind: Kind; bit: bigint; name: string; short: string }[] = [
  { kind: "fs", bit: FS.REFER, name: "linking and renaming across directories (REFER)", short: "REFER" },
  { kind: "fs", bit: FS.TRUNCATE, name: "truncation control (TRUNCATE)", short: "TRUNCATE" },
  { kind: "net", bit: NET.BIND_TCP, name: "TCP bind control (BIND_TCP)", short: "TCP bind" },
  { kind: "net", bit: NET.CONNECT_TCP, name: "TCP connect control (CONNECT_TCP)", short: "TCP connect" },
  { kind: "fs", bit: FS.IOCTL_DEV, name: "device ioctl control (IOCTL_DEV)", short: "IOCTL_DEV" },
  { kind: "scoped", bit: SCOPE.ABSTRACT_UNIX_SOCKET, name: "abstract unix socket scoping", short: "abstract unix socket scoping" },
  { kind: "scoped", bit: SCOPE.SIGNAL, name: "signal scoping", short: "signal scoping" },
];

const KIND_WORDS: Record<Kind, string> = { fs: "filesystem rights", net: "network rights", scoped: "scopes" };

export interface LandlockWanted {
  fs?: bigint;
  net?: bigint;
  scoped?: bigint;
}

export interface LandlockStatus {
  /** 0 when Landlock is unavailable (or pretended so). */
  abi: number;
  /** Why the ABI is 0; null otherwise. */
  reason: string | null;
}

/**
 * One line per wanted right or scope that `abi` lacks, naming it, the ABI and the Linux version
 * that brought it. With ABI 0 a single line says Landlock is unavailable (and why, when a
 * status from landlockStatus() is passed).
 */
export function describeMissing(abi: number | LandlockStatus, wanted: LandlockWanted): string[] {
  const status = typeof abi === "number" ? { abi, reason: null } : abi;
  const want = { fs: wanted.fs ?? 0n, net: wanted.net ?? 0n, scoped: wanted.scoped ?? 0n };
  if (!want.fs && !want.net && !want.scoped) return [];
  if (status.abi < 1) return [`Landlock is unavailable${status.reason ? `: ${status.reason}` : " on this kernel"}`];
  const lines: string[] = [];
  for (const f of FEATURES) {
    if (!(want[f.kind] & f.bit) || rightsFor(f.kind, status.abi) & f.bit) continue;
    const step = ABI_STEPS.find((s) => s[f.kind] & f.bit)!;
    lines.push(`${f.name} needs Landlock ABI ${step.abi} (Linux ${step.linux}); this kernel has ABI ${status.abi}`);
  }
  for (const kind of ["fs", "net", "scoped"] as const) {
    const unknown = want[kind] & ~LANDLOCK_ALL[kind];
    if (unknown) lines.push(`${KIND_WORDS[kind]} 0x${unknown.toString(16)} are in no Landlock ABI this code knows`);
  }
  return lines;
}

/** What an ABI lets a ruleset handle, for --doctor. */
export function describeAbi(abi: number): string {
  if (abi < 1) return "nothing";
  const parts = ["file access"];
  for (const f of FEATURES) if (rightsFor(f.kind, abi) & f.bit) parts.push(f.short);
  return parts.join(", ");
}

/** Why landlock_create_ruleset(NULL, 0, VERSION) failed, in words. */
export function unavailableReason(err: number): string {
  if (err === Errno.ENOSYS) return "the kernel was built without Landlock (CONFIG_SECURITY_LANDLOCK) or is older than Linux 5.13 (ENOSYS)";
  if (err === Errno.EOPNOTSUPP) return "Landlock is disabled at boot: the kernel's lsm= list lacks landlock (EOPNOTSUPP)";
  return `asking the kernel for its Landlock ABI failed with ${errnoName(err)}`;
}

// ---- struct encodings (little-endian, as on x86_64 and aarch64) ---------------------------------

export interface RulesetRequest {
  handledFs?: bigint;
  handledNet?: bigint;
  scoped?: bigint;
}

/** The request cut down to what `abi` supports. */
export function rulesetForAbi(req: RulesetRequest, abi: number): Required<RulesetRequest> {
  return {
    handledFs: (req.handledFs ?? 0n) & fsRightsForAbi(abi),
    handledNet: (req.handledNet ?? 0n) & netRightsForAbi(abi),
    scoped: (req.scoped ?? 0n) & scopesForAbi(abi),
  };
}

/** sizeof(struct landlock_ruleset_attr) as `abi` knows it: a larger one is E2BIG on older kernels. */
export function rulesetAttrSize(abi: number): number {
  return abi >= 6 ? 24 : abi >= 4 ? 16 : 8;
}

/** struct landlock_ruleset_attr { u64 handled_access_fs, handled_access_net, scoped; }, masked and cut to `abi`. */
export function rulesetAttrBytes(req: RulesetRequest, abi: number): Uint8Array {
  const r = rulesetForAbi(req, abi);
  const out = new Uint8Array(rulesetAttrSize(abi));
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, r.handledFs, true);
  if (out.length >= 16) dv.setBigUint64(8, r.handledNet, true);
  if (out.length >= 24) dv.setBigUint64(16, r.scoped, true);
  return out;
}

/** struct landlock_path_beneath_attr { u64 allowed_access; s32 parent_fd; } __attribute__((packed)): 12 bytes. */
export function pathBeneathBytes(allowed: bigint, parentFd: number): Uint8Array {
  const out = new Uint8Array(12);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, allowed, true);
  dv.setInt32(8, parentFd, true);
  return out;
}

/** struct landlock_net_port_attr { u64 allowed_access; u64 port; }: 16 bytes. */
export function netPortBytes(allowed: bigint, port: number): Uint8Array {
  const out = new Uint8Array(16);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, allowed, true);
  dv.setBigUint64(8, BigInt(port), true);
  return out;
}

/** The rights of a rule on a parent that is (not) a directory: the kernel refuses directory-only rights on a file. */
export function rightsForParent(allowed: bigint, isDirectory: boolean): bigint {
  return isDirectory ? allowed : allowed & LANDLOCK_FILE_RIGHTS;
}

// ---- the syscalls -----------------------------------------------------------------------------------

// glibc wraps none of the three. Struct arguments are passed as the typed arrays themselves, so
// they stay reachable until the call returns.
const sysCreateRuleset = lazyBind("landlock_create_ruleset", [T.ptr, T.u64, T.u32], { symbol: null });
const sysAddRule = lazyBind("landlock_add_rule", [T.i32, T.u32, T.ptr, T.u32], { symbol: null });
const sysRestrictSelf = lazyBind("landlock_restrict_self", [T.i32, T.u32], { symbol: null });

export const landlockBindings = {
  landlock_create_ruleset: sysCreateRuleset, landlock_add_rule: sysAddRule, landlock_restrict_self: sysRestrictSelf,
};

let status: LandlockStatus | undefined;
let unavailableErrno: number = Errno.ENOSYS;

function queryKernel(): LandlockStatus {
  if (sysCreateRuleset.via === "missing") return { abi: 0, reason: "no syscall numbers for this architecture" };
  const abi = sysCreateRuleset(null, 0, LANDLOCK_CREATE_RULESET_VERSION);
  if (abi >= 0) return { abi, reason: null };
  unavailableErrno = errno();
  return { abi: 0, reason: unavailableReason(unavailableErrno) };
}

/** The Landlock ABI (after the BUN_SANDBOX_LANDLOCK_ABI cap) and why it is 0 if it is; asked once. */
export function landlockStatus(): LandlockStatus {
  if (status) return status;
  status = queryKernel();
  const cap = process.env.BUN_SANDBOX_LANDLOCK_ABI;
  if (cap !== undefined && /^\d+$/.test(cap) && Number(cap) < status.abi) {
    status = Number(cap) === 0 ? { abi: 0, reason: "BUN_SANDBOX_LANDLOCK_ABI=0 pretends this kernel has none" } : { abi: Number(cap), reason: null };
  }
  return status;
}

/** The Landlock ABI of this kernel (capped by BUN_SANDBOX_LANDLOCK_ABI); 0 without Landlock (ENOSYS) or with it disabled at boot (EOPNOTSUPP). */
export function landlockAbi(): number {
  return landlockStatus().abi;
}

function fail(syscall: string, err: number, what: string | undefined, hints: Partial<Record<number, string>>): never {
  throw new SysError(syscall, err, what, undefined, hints[err]);
}

const RULE_HINTS = {
  [Errno.EINVAL]: "the allowed rights must be a subset of the ruleset's handled ones",
  [Errno.ENOMSG]: "a rule must allow something",
  [Errno.EBADFD]: "that is not a Landlock ruleset fd, or the parent is not an fd of the kind the rule needs",
};

/**
 * landlock_create_ruleset: a ruleset fd (close-on-exec, the kernel's default for it). Each field
 * is cut to what `abi` supports, so callers may ask for LANDLOCK_ALL and get what this kernel has.
 */
export function createRuleset(req: RulesetRequest, abi = landlockAbi()): number {
  if (abi < 1) fail("landlock_create_ruleset", unavailableErrno, undefined, { [unavailableErrno]: landlockStatus().reason ?? "Landlock ABI 0" });
  const attr = rulesetAttrBytes(req, abi);
  const fd = sysCreateRuleset(attr, attr.length, 0);
  if (fd < 0) {
    fail("landlock_create_ruleset", errno(), undefined, {
      [Errno.ENOMSG]: `nothing to handle: the request has no right or scope of ABI ${abi}`,
      [Errno.E2BIG]: `this kernel knows a smaller struct landlock_ruleset_attr than ABI ${abi}: pass its own ABI`,
      [Errno.EINVAL]: `this kernel does not know a right or scope of ABI ${abi}: pass its own ABI`,
    });
  }
  return fd;
}

/** The rights a rule may carry: cut to the ABI (like createRuleset), unless Landlock is unavailable. */
function forAbi(allowed: bigint, mask: (abi: number) => bigint): bigint {
  const abi = landlockAbi();
  return abi < 1 ? allowed : allowed & mask(abi);
}

/**
 * landlock_add_rule(PATH_BENEATH): allows `allowed` beneath `parentFd` (preferably O_PATH).
 * When the parent is not a directory the directory-only rights (READ_DIR, REMOVE_*, MAKE_*,
 * REFER), which the kernel would refuse with EINVAL there, are dropped here. Returns the rights
 * granted; when nothing is left no rule is added (one that allows nothing grants nothing).
 */
export function addPathRule(rulesetFd: number, parentFd: number, allowed: bigint, label = `fd ${parentFd}`): bigint {
  const rights = rightsForParent(forAbi(allowed, fsRightsForAbi), fstat(parentFd, label).isDirectory());
  if (rights === 0n && allowed !== 0n) return 0n;
  const attr = pathBeneathBytes(rights, parentFd);
  if (sysAddRule(rulesetFd, LANDLOCK_RULE.PATH_BENEATH, attr, 0) < 0) fail("landlock_add_rule", errno(), label, RULE_HINTS);
  return rights;
}

/** addPathRule on `path`, opened O_PATH|O_CLOEXEC for the call. */
export function addPathRuleAt(rulesetFd: number, path: string, allowed: bigint): bigint {
  const fd = open(path, O.PATH | O.CLOEXEC);
  try {
    return addPathRule(rulesetFd, fd, allowed, path);
  } finally {
    close(fd);
  }
}

/** landlock_add_rule(NET_PORT): allows `allowed` (BIND_TCP, CONNECT_TCP) on TCP `port`. Returns the rights granted, as addPathRule. */
export function addNetPortRule(rulesetFd: number, port: number, allowed: bigint): bigint {
  const label = `port ${port}`;
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail("landlock_add_rule", Errno.EINVAL, label, { [Errno.EINVAL]: "a port is 0..65535" });
  const rights = forAbi(allowed, netRightsForAbi);
  if (rights === 0n && allowed !== 0n) return 0n;
  const attr = netPortBytes(rights, port);
  if (sysAddRule(rulesetFd, LANDLOCK_RULE.NET_PORT, attr, 0) < 0) fail("landlock_add_rule", errno(), label, RULE_HINTS);
  return rights;
}

/** landlock_restrict_self: this thread and its future children are confined by the ruleset from now on. */
export function restrictSelf(rulesetFd: number): void {
  if (sysRestrictSelf(rulesetFd, 0) < 0) {
    fail("landlock_restrict_self", errno(), `fd ${rulesetFd}`, {
      [Errno.EPERM]: "Landlock needs no_new_privs (prctl PR_SET_NO_NEW_PRIVS, setNoNewPrivs()) or CAP_SYS_ADMIN",
      [Errno.E2BIG]: "at most 16 Landlock rulesets can be stacked on a thread",
    });
  }
}
