import type { SymlinkOp } from "../types.ts";
import { PlanError, requireAbsolute, requireBool, requireString } from "../errors.ts";

export function validateSymlink(op: SymlinkOp, field: string): void {
  if (requireString(`${field}.target`, op.target) === "") throw new PlanError(`${field}.target`, "a symlink needs a non-empty target");
  requireAbsolute(`${field}.dst`, op.dst);
  if (op.dereference !== undefined && requireBool(`${field}.dereference`, op.dereference)) {
    requireAbsolute(`${field}.target`, op.target);
  }
}

export function describeSymlink(op: SymlinkOp): string {
  return op.dereference ? `symlink ${op.dst} -> (target of host symlink ${op.target})` : `symlink ${op.dst} -> ${op.target}`;
}
