import { exists, mkdirAt, openAt, symlinkAt } from "../../sys/fs.ts";
import { closeQuiet } from "../../sys/fd.ts";
import type { DevOp } from "../../plan/types.ts";
import { joinPath } from "../../plan/paths.ts";
import { mount } from "../../sys/mount.ts";
import { MS, O } from "../../sys/flags.ts";
import { dirIn, using, type StageContext } from "../context.ts";
import { bindTree, pathOf } from "../mounts.ts";

// Device nodes bound from the host; the rest of /dev is made from scratch.
const NODES = ["null", "zero", "full", "random", "urandom", "tty"];

/** An empty file named `name` in `dev` (fd), with a host device node bound on it. */
function bindNode(ctx: StageContext, src: string, dev: number, name: string): void {
  closeQuiet(openAt(dev, name, O.WRONLY | O.CREAT | O.EXCL | O.NOFOLLOW, 0o644));
  using(openAt(dev, name, O.PATH | O.NOFOLLOW), (node) => bindTree(src, node, { mountinfo: ctx.mountinfo, procFd: ctx.procFd }));
}

export function applyDev(op: DevOp, ctx: StageContext): void {
  if (op.mqueue && !ctx.ipcns) {
    throw new Error("a private mqueue needs an IPC namespace; add --unshare-ipc");
  }
  // mode=0755 matters: with tmpfs's default 1777, opening the bound nodes fails with EACCES.
  using(dirIn(ctx, op.dst), (dir) => mount("tmpfs", pathOf(dir, ctx.procFd), "tmpfs", MS.NOSUID | MS.NOEXEC, "mode=0755"));
  // Filled through an fd of the new tmpfs: nothing else can reach it yet.
  using(dirIn(ctx, op.dst), (dev) => {
    const hostDev = joinPath(ctx.oldroot, "dev");
    for (const node of NODES) bindNode(ctx, `${hostDev}/${node}`, dev, node);
    if (exists(`${hostDev}/fuse`)) bindNode(ctx, `${hostDev}/fuse`, dev, "fuse");
    ["stdin", "stdout", "stderr"].forEach((name, fd) => symlinkAt(`/proc/self/fd/${fd}`, dev, name));
    symlinkAt("/proc/self/fd", dev, "fd");
    symlinkAt("/proc/kcore", dev, "core");
    mkdirAt(dev, "shm", 0o1777);
    mkdirAt(dev, "pts", 0o755);
    using(openAt(dev, "pts", O.PATH | O.DIRECTORY | O.NOFOLLOW), (pts) =>
      mount("devpts", pathOf(pts, ctx.procFd), "devpts", MS.NOSUID | MS.NOEXEC, "newinstance,ptmxmode=0666,mode=620"));
    symlinkAt("pts/ptmx", dev, "ptmx");
    if (op.console) bindNode(ctx, joinPath(ctx.oldroot, op.console), dev, "console");
    if (op.mqueue) {
      mkdirAt(dev, "mqueue", 0o1777);
      using(openAt(dev, "mqueue", O.PATH | O.DIRECTORY | O.NOFOLLOW), (mq) =>
        mount("mqueue", pathOf(mq, ctx.procFd), "mqueue", MS.NOSUID | MS.NODEV | MS.NOEXEC));
    }
  });
}
