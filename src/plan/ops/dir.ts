import type { DirOp } from "../types.ts";
import { requireAbsolute, requireMode } from "../errors.ts";
import { defaultDirMode, formatMode } from "../paths.ts";

export function validateDir(op: DirOp, field: string): void {
  requireAbsolute(`${field}.dst`, op.dst);
  if (op.mode !== undefined) requireMode(`${field}.mode`, op.mode);
}

export function dirMode(op: DirOp): number {
  return op.mode ?? defaultDirMode(op.dst);
}

export function describeDir(op: DirOp): string {
  return `dir ${op.dst} (mode=${formatMode(dirMode(op))})`;
}
