// Dispatch from an operation's kind to the code that applies it under the new root.
import type { Operation } from "../../plan/types.ts";
import type { StageContext } from "../context.ts";
import { applyBind } from "./bind.ts";
import { applyDev } from "./dev.ts";
import { applyDir } from "./dir.ts";
import { applyDirModes } from "./dirmodes.ts";
import { applyOverlay } from "./overlay.ts";
import { applyProc } from "./proc.ts";
import { applySymlink } from "./symlink.ts";
import { applyTmpfs } from "./tmpfs.ts";
import { applyWrite } from "./write.ts";
import { applyMqueue } from "./mqueue.ts";
import { applyRemount } from "./remount.ts";
import { applyFile } from "./file.ts";
import { applyChmod } from "./chmod.ts";

/** Applies one operation; returns false when it was skipped (an optional bind with no source). */
export function applyOperation(op: Operation, ctx: StageContext): boolean {
  switch (op.kind) {
    case "bind": return applyBind(op, ctx);
    case "tmpfs": applyTmpfs(op, ctx); return true;
    case "dev": applyDev(op, ctx); return true;
    case "proc": applyProc(op, ctx); return true;
    case "dir": applyDir(op, ctx); return true;
    case "symlink": applySymlink(op, ctx); return true;
    case "write": applyWrite(op, ctx); return true;
    case "overlay": applyOverlay(op, ctx); return true;
    case "mqueue": applyMqueue(op, ctx); return true;
    case "remount": applyRemount(op, ctx); return true;
    case "file": applyFile(op, ctx); return true;
    case "chmod": applyChmod(op, ctx); return true;
    case "dirmodes": applyDirModes(op, ctx); return true;
  }
}
