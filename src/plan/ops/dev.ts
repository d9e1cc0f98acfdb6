import type { DevOp } from "../types.ts";
import { requireAbsolute, requireBool } from "../errors.ts";

export function validateDev(op: DevOp, field: string): void {
  requireAbsolute(`${field}.dst`, op.dst);
  if (op.console !== undefined && op.console !== null) requireAbsolute(`${field}.console`, op.console);
  if (op.mqueue !== undefined) requireBool(`${field}.mqueue`, op.mqueue);
}

export function describeDev(op: DevOp): string {
  const extra = [op.console ? `console=${op.console}` : "", op.mqueue ? "mqueue" : ""].filter(Boolean);
  return `dev ${op.dst}${extra.length ? ` (${extra.join(",")})` : ""}`;
}
