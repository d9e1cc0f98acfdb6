import type { DirOp } from "../../plan/types.ts";
import { dirMode } from "../../plan/ops/dir.ts";
import { mkdirAt } from "../../sys/fs.ts";
import { placeIn, type StageContext } from "../context.ts";
import { statPlace } from "../dest.ts";

export function applyDir(op: DirOp, ctx: StageContext): void {
  placeIn(ctx, op.dst, { follow: true, create: 0o755 }, (p) => {
    // Anything existing is left as it is.
    if (p.name !== "" && !statPlace(p)) mkdirAt(p.dir, p.name, dirMode(op));
  });
}
