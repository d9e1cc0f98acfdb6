import type { ProcOp } from "../types.ts";
import { requireAbsolute } from "../errors.ts";

export function validateProc(op: ProcOp, field: string): void {
  requireAbsolute(`${field}.dst`, op.dst);
}

export function describeProc(op: ProcOp): string {
  return `proc ${op.dst}`;
}
