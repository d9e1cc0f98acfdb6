import { unlink, writeFile } from "../../sys/fs.ts";
import type { FileOp } from "../../plan/types.ts";
import { fileMode } from "../../plan/ops/file.ts";
import { placeIn, stubNoter, targetAt, using, type StageContext } from "../context.ts";
import { openPlace, statPlace } from "../dest.ts";
import { bindTree } from "../mounts.ts";

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
    const onCreate = stubNoter(ctx);
    const onLink = placeIn(ctx, op.dst, { follow: false, create: 0o755, onCreate }, (p) => (statPlace(p)?.isSymbolicLink() ? openPlace(p) : null));
    const target = onLink ?? placeIn(ctx, op.dst, { follow: true, create: 0o755, onCreate }, (p) => {
      if (p.name === "" || statPlace(p)?.isDirectory()) throw new Error(`${op.dst} is a directory; a placed file cannot cover it`);
      return targetAt(ctx, p, false);
    });
    using(target, () => bindTree(tmp, target, { readonly: op.readonly, mountinfo: ctx.mountinfo, procFd: ctx.procFd }));
  } finally {
    unlink(tmp);
  }
}
