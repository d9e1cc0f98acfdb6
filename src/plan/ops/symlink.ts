import type { SymlinkOp } from "../types.ts";
import { PlanError, requireAbsolute, requireString } from "../errors.ts";

export function validateSymlink(op: SymlinkOp, field: string): void {
  if (requireString(`${field}.target`, op.target) === "") throw new PlanError(`${field}.target`, "a symlink needs a non-empty target");
  requireAbsolute(`${field}.dst`, op.dst);
}

export function describeSymlink(op: SymlinkOp): string {
  return `symlink ${op.dst} -> ${op.target}`;
}
