import { chmod } from "../../sys/fs.ts";
import type { ChmodOp } from "../../plan/types.ts";
import { SysError } from "../../sys/error.ts";
import { openInRoot, using, type StageContext } from "../context.ts";
import { pathOf } from "../mounts.ts";

export function applyChmod(op: ChmodOp, ctx: StageContext): void {
  const fd = openInRoot(ctx.newroot, op.dst);
  if (fd === null) throw new Error(`${op.dst} does not exist in the sandbox`);
  using(fd, () => {
    try {
      // Through the fd's /proc magic link: the very file the walk found.
      chmod(pathOf(fd, ctx.procFd), op.mode);
    } catch (e) {
      // Name the path as the sandbox sees it, not the workspace's view of it.
      if (e instanceof SysError) throw new SysError(e.syscall, e.errno, op.dst);
      throw e;
    }
  });
}
