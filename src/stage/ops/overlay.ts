import { exists, mkdir } from "../../sys/fs.ts";
import type { OverlayOp } from "../../plan/types.ts";
import { overlayOptions } from "../../plan/ops/overlay.ts";
import { defaultDirMode, parentOf } from "../../plan/paths.ts";
import { mount } from "../../sys/mount.ts";
import { inNewRoot, inRoot, lstatOrNull, type StageContext } from "../context.ts";
import { makeDirs } from "../resolve.ts";

/** Early phase: every layer directory must exist on the host. */
export function earlyOverlay(op: OverlayOp): OverlayOp {
  const dirs: [string, string][] = op.lower.map((l): [string, string] => [l, "lower directory"]);
  if (op.upper !== null && op.upper !== "tmpfs") dirs.push([op.upper, "upper directory"]);
  if (op.work !== null) dirs.push([op.work, "work directory"]);
  for (const [d, what] of dirs) {
    if (!exists(d)) throw new Error(`${what} ${d} does not exist; create it first`);
  }
  return op;
}

export function applyOverlay(op: OverlayOp, ctx: StageContext): void {
  const host = (p: string, what: string) => {
    const resolved = inRoot(ctx, ctx.oldroot, p);
    if (!exists(resolved)) throw new Error(`${what} ${p} does not exist; create it first`);
    return resolved;
  };
  const lower = op.lower.map((l) => host(l, "lower directory"));
  let upper = op.upper === null || op.upper === "tmpfs" ? null : host(op.upper, "upper directory");
  let work = op.work === null ? null : host(op.work, "work directory");
  const dst = inNewRoot(ctx, op.dst);
  const inside = dst.slice(ctx.newroot.length) || "/";
  makeDirs(ctx.newroot, parentOf(inside), 0o755);
  const mode = defaultDirMode(inside);
  if (!lstatOrNull(dst)) mkdir(dst, mode);
  if (op.upper === "tmpfs") {
    // A fresh tmpfs at the destination holds the upper and work directories; the overlay
    // then covers it, so neither is visible.
    mount("tmpfs", dst, "tmpfs", 0, "mode=0755");
    mkdir(`${dst}/upper`, mode);
    mkdir(`${dst}/work`, 0o755);
    upper = `${dst}/upper`;
    work = `${dst}/work`;
  }
  mount("overlay", dst, "overlay", 0, overlayOptions(lower, upper, work));
}
