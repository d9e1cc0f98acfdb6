// Dispatch from an operation's kind to the code that applies it under the new root.
import type { Operation } from "../../plan/types.ts";
import type { StageContext } from "../context.ts";
import { applyBind, earlyBind } from "./bind.ts";
import { applyDev } from "./dev.ts";
import { applyDir } from "./dir.ts";
import { applyDirModes, earlyDirModes } from "./dirmodes.ts";
import { applyOverlay, earlyOverlay } from "./overlay.ts";
import { applyProc } from "./proc.ts";
import { applySymlink, earlySymlink } from "./symlink.ts";
import { applyTmpfs } from "./tmpfs.ts";
import { applyWrite } from "./write.ts";
import { applyMqueue } from "./mqueue.ts";
import { applyRemount } from "./remount.ts";
import { applyFile } from "./file.ts";
import { applyChmod } from "./chmod.ts";

/**
 * The early phase of one operation, in the host's root before any namespace exists: the
 * operation to apply (possibly completed with what only the host knows), or null to skip it.
 * Throws when the operation cannot work, so nothing is created.
 */
export function earlyOperation(op: Operation): Operation | null {
  switch (op.kind) {
    case "bind": return earlyBind(op);
    case "symlink": return earlySymlink(op);
    case "overlay": return earlyOverlay(op);
    case "dirmodes": return earlyDirModes(op);
    default: return op;
  }
}

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
