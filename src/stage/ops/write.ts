import type { WriteOp } from "../../plan/types.ts";
import { closeQuiet, writeAll } from "../../sys/fd.ts";
import { openAt } from "../../sys/fs.ts";
import { O } from "../../sys/flags.ts";
import { placeIn, type StageContext } from "../context.ts";
import { statPlace } from "../dest.ts";

export function applyWrite(op: WriteOp, ctx: StageContext): void {
  placeIn(ctx, op.dst, { follow: true, create: 0o755 }, (p) => {
    if (p.name === "") throw new Error(`${op.dst} is a directory`);
    // Opening a FIFO (or a device) for writing can wait forever; a namespace worker must not.
    const existing = ctx.neverBlock ? statPlace(p) : null;
    if (existing && !existing.isFile()) throw new Error(`${op.dst}: not a regular file (left to a forked stage)`);
    // O_NOFOLLOW: a symlink put there meanwhile is not followed out of the root.
    const fd = openAt(p.dir, p.name, O.WRONLY | O.CREAT | O.TRUNC | O.NOFOLLOW, 0o644);
    try {
      writeAll(fd, Buffer.from(op.data));
    } finally {
      closeQuiet(fd);
    }
  });
}
