// Who the command runs as: as real root no user namespace is made; otherwise a user namespace
// maps the caller to itself (or to root), or, with --map-subids, maps root to the caller and
// 1..N to the caller's subordinate ranges through the setuid newuidmap/newgidmap helpers.
import { exists, readText, stat, writeExisting } from "../sys/fs.ts";
import { CAP, hasEffectiveCap } from "../sys/caps.ts";
import { getgid, getpid, getuid, fork, waitpid, exitCodeOf, execvpe, exit } from "../sys/process.ts";
import { pipe2, read, write, closeQuiet } from "../sys/fd.ts";

/** mkosi-sandbox's rule: no user namespace when we already hold CAP_SYS_ADMIN (and are root, or not asked to become root). */
export function needsUserNamespace(becomeRoot: boolean): boolean {
  return !(hasEffectiveCap(CAP.SYS_ADMIN) && (getuid() === 0 || !becomeRoot));
}

/** Writes this process's own maps after unshare(CLONE_NEWUSER): one id, denied setgroups. */
export function mapSelf(becomeRoot: boolean, uid: number, gid: number): void {
  const innerUid = becomeRoot ? 0 : uid;
  const innerGid = becomeRoot ? 0 : gid;
  writeExisting("/proc/self/setgroups", "deny");
  writeExisting("/proc/self/uid_map", `${innerUid} ${uid} 1`);
  writeExisting("/proc/self/gid_map", `${innerGid} ${gid} 1`);
}

/** Who the command is for a plan: as real root (holding CAP_SYS_ADMIN) no user namespace is needed. */
export function identityOf(becomeRoot: boolean): Identity {
  return !needsUserNamespace(becomeRoot) ? "host" : becomeRoot ? "root" : "self";
}

export interface SubidRange {
  start: number;
  count: number;
}

/** First range of `name` (or numeric uid) in an /etc/subuid-style file. */
export function findSubidRange(text: string, name: string | null, id: number): SubidRange | null {
  for (const line of text.split("\n")) {
    const [who, start, count] = line.trim().split(":");
    if (who === undefined || start === undefined || count === undefined) continue;
    if ((who === name || who === String(id)) && /^\d+$/.test(start) && /^\d+$/.test(count) && Number(count) > 0) {
      return { start: Number(start), count: Number(count) };
    }
  }
  return null;
}

export function userName(uid: number): string | null {
  try {
    for (const line of readText("/etc/passwd").split("\n")) {
      const f = line.split(":");
      if (f[2] === String(uid)) return f[0] ?? null;
    }
  } catch {
    // no passwd file: only numeric entries can match
  }
  return null;
}

function findHelper(name: string): string | null {
  for (const dir of ["/usr/bin", "/bin", "/usr/sbin", "/sbin", ...(process.env.PATH ?? "").split(":")]) {
    const st = dir ? stat(`${dir}/${name}`) : null;
    if (st?.isFile() && st.mode & 0o111) return `${dir}/${name}`;
  }
  return null;
}

export interface SubidMapping {
  newuidmap: string;
  newgidmap: string;
  uidArgs: string[];
  gidArgs: string[];
  /** The caller's first ranges. */
  uidRange: SubidRange;
  gidRange: SubidRange;
}

/**
 * Works out the newuidmap/newgidmap arguments, or throws a one-line error saying what is missing.
 * `oneToOne`: map the caller and its ranges to themselves (the first namespace of a sealed
 * sandbox); otherwise root to the caller and 1..N to the ranges (mkosi-sandbox's mapping).
 */
export function planSubidMapping(uid: number, gid: number, oneToOne = false): SubidMapping {
  const newuidmap = findHelper("newuidmap");
  const newgidmap = findHelper("newgidmap");
  if (!newuidmap || !newgidmap) {
    throw new Error("--map-subids needs the setuid helpers newuidmap and newgidmap; install them (Debian/Ubuntu: apt-get install uidmap)");
  }
  const name = userName(uid);
  const read = (f: string) => (exists(f) ? readText(f) : "");
  const u = findSubidRange(read("/etc/subuid"), name, uid);
  const g = findSubidRange(read("/etc/subgid"), name, uid);
  const who = name ?? String(uid);
  if (!u) throw new Error(`--map-subids: no range for ${who} in /etc/subuid; add one, e.g. usermod --add-subuids 100000-165535 ${who}`);
  if (!g) throw new Error(`--map-subids: no range for ${who} in /etc/subgid; add one, e.g. usermod --add-subgids 100000-165535 ${who}`);
  const args = (id: number, r: SubidRange) =>
    (oneToOne ? [id, id, 1, r.start, r.start, r.count] : [0, id, 1, 1, r.start, r.count]).map(String);
  return { newuidmap, newgidmap, uidArgs: args(uid, u), gidArgs: args(gid, g), uidRange: u, gidRange: g };
}

export interface SubidHelper {
  /** Call after unshare(CLONE_NEWUSER): lets the helper write the maps and waits for it. */
  finish(): void;
  /** Call when unshare failed: the helper exits without doing anything. */
  cancel(): void;
}

/**
 * The maps of a user namespace with more than one id must be written from the parent
 * namespace, so a forked helper waits for us to unshare and then runs the two setuid tools
 * against our pid.
 */
export function startSubidHelper(m: SubidMapping): SubidHelper {
  const target = String(getpid());
  const [rd, wr] = pipe2();
  const pid = fork();
  if (pid === 0) {
    closeQuiet(wr);
    const go = read(rd, new Uint8Array(1));
    if (go !== 1) exit(0);
    const env = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" };
    const child = fork();
    if (child === 0) {
      execvpe(m.newuidmap, ["newuidmap", target, ...m.uidArgs], env);
      exit(127);
    }
    const st = exitCodeOf(waitpid(child).status);
    if (st !== 0) exit(st);
    execvpe(m.newgidmap, ["newgidmap", target, ...m.gidArgs], env);
    exit(127);
  }
  closeQuiet(rd);
  return {
    finish() {
      write(wr, new Uint8Array([1]));
      closeQuiet(wr);
      const code = exitCodeOf(waitpid(pid).status);
      if (code !== 0) throw new Error(`--map-subids: newuidmap/newgidmap failed (exit ${code}); check /etc/subuid and /etc/subgid`);
    },
    cancel() {
      closeQuiet(wr);
      waitpid(pid);
    },
  };
}

export const currentIds = () => ({ uid: getuid(), gid: getgid() });

/** Who the command is: real root without a user namespace, the caller mapped to itself, or to root. */
export type Identity = "host" | "self" | "root";

/** Text for a user namespace's setgroups (null: leave it), uid_map and gid_map. */
export interface IdMaps {
  setgroups: "deny" | null;
  uid: string;
  gid: string;
}

/**
 * Each range of ids a map (/proc/self/uid_map's text) gives this namespace, mapped to itself:
 * "0 0 4294967295" in the initial namespace; inside a user namespace only what it maps.
 */
export function oneToOne(mapText: string): string {
  return mapText.trim().split("\n").map((l) => l.trim().split(/\s+/)).filter((f) => f.length === 3).map(([inner, , count]) => `${inner} ${inner} ${count}`).join("\n");
}

/** This process's ids, each to itself (as real root the command keeps every id it has). */
export function ownIds(): { uid: string; gid: string } {
  return { uid: oneToOne(readText("/proc/self/uid_map")), gid: oneToOne(readText("/proc/self/gid_map")) };
}

/**
 * The maps the command's namespace gets: mkosi-sandbox's mapping; as real root (`host`, what
 * ownIds() read) every id it has to itself.
 */
export function commandMaps(identity: Identity, uid: number, gid: number, subids: SubidMapping | null, host?: { uid: string; gid: string }): IdMaps {
  if (identity === "host") return { setgroups: null, uid: host?.uid ?? "0 0 4294967295", gid: host?.gid ?? "0 0 4294967295" };
  if (subids) {
    const line = (id: number, r: SubidRange) => `0 ${id} 1\n1 ${r.start} ${r.count}`;
    return { setgroups: null, uid: line(uid, subids.uidRange), gid: line(gid, subids.gidRange) };
  }
  const inner = (id: number) => (identity === "root" ? 0 : id);
  return { setgroups: "deny", uid: `${inner(uid)} ${uid} 1`, gid: `${inner(gid)} ${gid} 1` };
}

/** Whether a process can write these maps of its own new namespace (one id: its own). */
export const selfWritable = (identity: Identity, subids: SubidMapping | null): boolean => identity !== "host" && subids === null;
