// mkosi-sandbox's ordering rules as a pure function:
//  - identical binds collapse to one; a bind that is already covered by a recursive parent bind
//    with the same flags (same relative position on both sides) is dropped, unless another
//    mount lands between the two (a deliberate fix over mkosi-sandbox, which drops it then too);
//  - operations run parents before children (sorted by destination components);
//  - at one destination binds come after tmpfs/dir/overlay/... so the bind ends up on top,
//    and of two binds the one given later is on top (stable sort);
//  - directory modes (which build the root from the host's mounts) run before everything else;
//  - relative (+SRC) binds run after every other mount operation;
//  - placed files (kind "file") are binds too: at one destination they go on top of
//    tmpfs/dir/overlay/..., and between binds and placed files the later given is on top;
//  - operations that change what is already mounted (remount, chmod) run after all of the
//    above, +SRC binds included, in the order given. So a remount or chmod always sees the
//    final mount at its destination (a remount of DST never hits a tmpfs that a bind on DST
//    later covers), and "--chmod 700 /x --remount-ro /x" works while the reverse order
//    fails with EROFS, as written.
import type { BindOp, Operation } from "./types.ts";
import { isRelativeTo, relativeTo, splitPath } from "./paths.ts";

function bindKey(b: BindOp): string {
  return JSON.stringify([splitPath(b.src), splitPath(b.dst), b.readonly, b.optional, b.relative, b.nofollow, b.device ?? null]);
}

/**
 * Whether bind `m` only repeats part of bind `n`. Not when another mount lands between them
 * (`--ro-bind / / --tmpfs /tmp --ro-bind /tmp/x /tmp/x`: the tmpfs hides /tmp/x of the first
 * bind, so the second one is needed; mkosi-sandbox drops it).
 */
function coveredBy(m: BindOp, n: BindOp, ops: readonly Operation[]): boolean {
  const between = (o: Operation) =>
    o !== m && o !== n && "dst" in o && !isLateOperation(o) && isRelativeTo(m.dst, o.dst) && isRelativeTo(o.dst, n.dst) && splitPath(o.dst).length > splitPath(n.dst).length;
  return (
    !ops.some(between) &&
    m.readonly === n.readonly &&
    m.optional === n.optional &&
    m.relative === n.relative &&
    m.nofollow === n.nofollow &&
    (m.device ?? null) === (n.device ?? null) &&
    isRelativeTo(m.src, n.src) &&
    isRelativeTo(m.dst, n.dst) &&
    relativeTo(m.src, n.src) === relativeTo(m.dst, n.dst)
  );
}

/** Python's str order (by code point; JS `<` compares UTF-16 units, which differs above U+FFFF). */
function compareStrings(a: string, b: string): number {
  for (let i = 0, j = 0; i < a.length && j < b.length; ) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(j)!;
    if (x !== y) return x < y ? -1 : 1;
    i += x > 0xffff ? 2 : 1;
    j += y > 0xffff ? 2 : 1;
  }
  return [...a].length - [...b].length;
}

function compareComponents(a: string[], b: string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return compareStrings(a[i]!, b[i]!);
  }
  return a.length - b.length;
}

/** Operations that change mounts made by others (run last, in the order given). */
export function isLateOperation(op: Operation): boolean {
  return op.kind === "remount" || op.kind === "chmod";
}

export function optimizeOperations(ops: readonly Operation[]): Operation[] {
  const binds = new Map<string, BindOp>();
  for (const op of ops) {
    if (op.kind !== "bind") continue;
    const key = bindKey(op);
    if (!binds.has(key)) binds.set(key, op);
  }
  const unique = [...binds.values()];
  const kept = new Set(unique.filter((m) => !unique.some((n) => n !== m && coveredBy(m, n, ops))));
  const late = ops.filter(isLateOperation);
  const rest = ops.filter((op) => op.kind !== "bind" && op.kind !== "file" && !isLateOperation(op));
  // kept.delete: the same bind object given twice is applied once.
  const onTop = ops.filter((op) => (op.kind === "bind" && kept.delete(op)) || op.kind === "file");
  const all: Operation[] = [...rest, ...onTop];
  const keyed = all.map((op, i) => ({
    op, i, rel: op.kind === "dirmodes" ? -1 : op.kind === "bind" && op.relative ? 1 : 0, parts: op.kind === "dirmodes" ? [] : splitPath(op.dst),
  }));
  keyed.sort((a, b) => a.rel - b.rel || compareComponents(a.parts, b.parts) || a.i - b.i);
  return [...keyed.map((k) => k.op), ...late];
}
