import { createFile, unlink, writeFile } from "../../sys/fs.ts";
import type { FileOp } from "../../plan/types.ts";
import { fileMode } from "../../plan/ops/file.ts";
import { parentOf } from "../../plan/paths.ts";
import { inNewRoot, inNewRootNoFollow, lstatOrNull, type StageContext } from "../context.ts";
import { bindTree } from "../mounts.ts";
import { makeDirs } from "../resolve.ts";

let counter = 0;

/**
 * Writes the bytes to a file in the workspace (never visible in the sandbox), binds it on the
 * destination and unlinks it: the bind keeps the file alive, and writes to a writable one land
 * in the workspace's tmpfs, not on the host.
 */
export function applyFile(op: FileOp, ctx: StageContext): void {
  const tmp = `${ctx.scratch}/file-${counter++}`;
  writeFile(tmp, Buffer.from(op.base64, "base64"), { mode: fileMode(op), exclusive: true });
  try {
    // Like a bind of a file: an existing symlink at the destination is covered, not followed.
    let dst = inNewRootNoFollow(ctx, op.dst);
    if (!lstatOrNull(dst)?.isSymbolicLink()) {
      dst = inNewRoot(ctx, op.dst);
      const st = lstatOrNull(dst);
      if (st?.isDirectory()) throw new Error(`${op.dst} is a directory; a placed file cannot cover it`);
      if (!st) {
        makeDirs(ctx.newroot, parentOf(dst.slice(ctx.newroot.length) || "/"), 0o755);
        createFile(dst, 0o644);
      }
    }
    bindTree(tmp, dst, { readonly: op.readonly, mountinfo: ctx.mountinfo });
  } finally {
    unlink(tmp);
  }
}
