import type { MqueueOp } from "../types.ts";
import { requireAbsolute } from "../errors.ts";

export function validateMqueue(op: MqueueOp, field: string): void {
  requireAbsolute(`${field}.dst`, op.dst);
}

export function describeMqueue(op: MqueueOp): string {
  return `mqueue ${op.dst}`;
}
