import { exists, mkdirAt, openAt } from "../../sys/fs.ts";
import { closeQuiet } from "../../sys/fd.ts";
import { O } from "../../sys/flags.ts";
import type { OverlayOp } from "../../plan/types.ts";
import { overlayOptions } from "../../plan/ops/overlay.ts";
import { defaultDirMode, joinPath } from "../../plan/paths.ts";
import { mount } from "../../sys/mount.ts";
import { dirIn, using, type StageContext } from "../context.ts";
import { pathOf } from "../mounts.ts";
import { resolveInRoot } from "../resolve.ts";

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
  // Layers are host paths, taken by name like every bind source.
  const host = (p: string, what: string) => {
    const resolved = joinPath(ctx.oldroot, resolveInRoot(ctx.oldroot, p, ctx.procFd));
    if (!exists(resolved)) throw new Error(`${what} ${p} does not exist; create it first`);
    return resolved;
  };
  const lower = op.lower.map((l) => host(l, "lower directory"));
  let upper = op.upper === null || op.upper === "tmpfs" ? null : host(op.upper, "upper directory");
  let work = op.work === null ? null : host(op.work, "work directory");
  const mode = defaultDirMode(op.dst);
  const held: number[] = [];
  try {
    if (op.upper === "tmpfs") {
      // A fresh tmpfs at the destination holds the upper and work directories; the overlay then
      // covers it, so neither is visible. They are named by their fds' magic links, as mount targets are.
      using(dirIn(ctx, op.dst, mode), (dir) => mount("tmpfs", pathOf(dir, ctx.procFd), "tmpfs", 0, "mode=0755"));
      using(dirIn(ctx, op.dst), (t) => {
        mkdirAt(t, "upper", mode);
        mkdirAt(t, "work", 0o755);
        for (const d of ["upper", "work"]) held.push(openAt(t, d, O.PATH | O.DIRECTORY | O.NOFOLLOW));
      });
      [upper, work] = held.map((fd) => pathOf(fd, ctx.procFd)) as [string, string];
    }
    using(dirIn(ctx, op.dst, mode), (dir) => mount("overlay", pathOf(dir, ctx.procFd), "overlay", 0, overlayOptions(lower, upper, work)));
  } finally {
    for (const fd of held) closeQuiet(fd);
  }
}
