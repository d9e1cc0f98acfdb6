import type { TmpfsOp } from "../types.ts";
import { PlanError, requireAbsolute, requireBool, requireMode } from "../errors.ts";
import { defaultDirMode, formatMode } from "../paths.ts";

export function validateTmpfs(op: TmpfsOp, field: string): void {
  requireAbsolute(`${field}.dst`, op.dst);
  if (op.size !== undefined && (typeof op.size !== "number" || !Number.isSafeInteger(op.size) || op.size <= 0)) {
    throw new PlanError(`${field}.size`, `invalid size ${String(op.size)}; give a positive number of bytes`);
  }
  if (op.mode !== undefined) requireMode(`${field}.mode`, op.mode);
  if (op.readonly !== undefined) requireBool(`${field}.readonly`, op.readonly);
}

export function tmpfsMode(op: TmpfsOp): number {
  return op.mode ?? defaultDirMode(op.dst);
}

export function describeTmpfs(op: TmpfsOp): string {
  const extra = [`mode=${formatMode(tmpfsMode(op))}`, op.size ? `size=${op.size}` : "", op.readonly ? "ro" : ""].filter(Boolean);
  return `tmpfs ${op.dst} (${extra.join(",")})`;
}
