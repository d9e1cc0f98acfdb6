import { createFile, exists, mkdir, symlink } from "../../sys/fs.ts";
import type { DevOp } from "../../plan/types.ts";
import { joinPath } from "../../plan/paths.ts";
import { mount } from "../../sys/mount.ts";
import { MS } from "../../sys/flags.ts";
import { inNewRoot, type StageContext } from "../context.ts";
import { makeDirs } from "../resolve.ts";

// Device nodes bound from the host; the rest of /dev is made from scratch.
const NODES = ["null", "zero", "full", "random", "urandom", "tty"];

function bindNode(src: string, dst: string): void {
  createFile(dst, 0o644);
  mount(src, dst, null, MS.BIND);
}

export function applyDev(op: DevOp, ctx: StageContext): void {
  if (op.mqueue && !ctx.ipcns) {
    throw new Error("a private mqueue needs an IPC namespace; add --unshare-ipc");
  }
  const dst = inNewRoot(ctx, op.dst);
  makeDirs(ctx.newroot, dst.slice(ctx.newroot.length), 0o755);
  // mode=0755 matters: with tmpfs's default 1777, opening the bound nodes fails with EACCES.
  mount("tmpfs", dst, "tmpfs", MS.NOSUID | MS.NOEXEC, "mode=0755");
  const hostDev = joinPath(ctx.oldroot, "dev");
  for (const node of NODES) bindNode(`${hostDev}/${node}`, `${dst}/${node}`);
  if (exists(`${hostDev}/fuse`)) bindNode(`${hostDev}/fuse`, `${dst}/fuse`);
  ["stdin", "stdout", "stderr"].forEach((name, fd) => symlink(`/proc/self/fd/${fd}`, `${dst}/${name}`));
  symlink("/proc/self/fd", `${dst}/fd`);
  symlink("/proc/kcore", `${dst}/core`);
  mkdir(`${dst}/shm`, 0o1777);
  mkdir(`${dst}/pts`, 0o755);
  mount("devpts", `${dst}/pts`, "devpts", MS.NOSUID | MS.NOEXEC, "newinstance,ptmxmode=0666,mode=620");
  symlink("pts/ptmx", `${dst}/ptmx`);
  if (op.console) bindNode(joinPath(ctx.oldroot, op.console), `${dst}/console`);
  if (op.mqueue) {
    mkdir(`${dst}/mqueue`, 0o1777);
    mount("mqueue", `${dst}/mqueue`, "mqueue", MS.NOSUID | MS.NODEV | MS.NOEXEC);
  }
}
