import type { WriteOp } from "../types.ts";
import { requireAbsolute } from "../errors.ts";
import { PlanError } from "../errors.ts";

export function validateWrite(op: WriteOp, field: string): void {
  if (typeof op.data !== "string") throw new PlanError(`${field}.data`, "must be a string");
  requireAbsolute(`${field}.dst`, op.dst);
}

export function describeWrite(op: WriteOp): string {
  return `write ${op.dst} (${Buffer.byteLength(op.data)} bytes)`;
}
