import type { RemountOp } from "../../plan/types.ts";
import { parseRemountOptions } from "../../plan/ops/remount.ts";
import { readlink } from "../../sys/fs.ts";
import { openInRoot, using, type StageContext } from "../context.ts";
import { notMountPoint, pathOf, remountMount } from "../mounts.ts";

export function applyRemount(op: RemountOp, ctx: StageContext): void {
  const fd = openInRoot(ctx.newroot, op.dst);
  if (fd === null) throw new Error(notMountPoint(op.dst));
  // The fd is what mount_setattr acts on; its path (as the workspace sees it) finds it in mountinfo.
  using(fd, () => remountMount({ fd, path: readlink(pathOf(fd, ctx.procFd)) }, op.dst, parseRemountOptions(op.options), ctx.mountinfo));
}
