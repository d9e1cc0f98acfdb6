import type { BindOp } from "../types.ts";
import { PlanError, requireAbsolute, requireBool } from "../errors.ts";

export function validateBind(op: BindOp, field: string): void {
  requireAbsolute(`${field}.src`, op.src);
  requireAbsolute(`${field}.dst`, op.dst);
  for (const k of ["readonly", "optional", "relative", "nofollow"] as const) requireBool(`${field}.${k}`, op[k]);
  if (op.device !== undefined) requireBool(`${field}.device`, op.device);
  if (op.relative && op.nofollow) throw new PlanError(field, "a relative (+SRC) bind cannot also be nofollow");
}

export function describeBind(op: BindOp): string {
  const flags = [op.readonly ? "ro" : "rw", op.optional ? "try" : "", op.relative ? "relative" : "", op.nofollow ? "nofollow" : "", op.device === false ? "nodev" : ""].filter(Boolean);
  return `bind ${op.relative ? "+" : ""}${op.src} -> ${op.dst} (${flags.join(",")})`;
}
