import type { ChmodOp } from "../types.ts";
import { requireAbsolute, requireMode } from "../errors.ts";
import { formatMode } from "../paths.ts";

export function validateChmod(op: ChmodOp, field: string): void {
  requireAbsolute(`${field}.dst`, op.dst);
  requireMode(`${field}.mode`, op.mode);
}

export function describeChmod(op: ChmodOp): string {
  return `chmod ${op.dst} (mode=${formatMode(op.mode)})`;
}
