import type { FileOp } from "../types.ts";
import { PlanError, requireAbsolute, requireBool, requireMode } from "../errors.ts";
import { formatMode } from "../paths.ts";

/** Upper bound for one placed file (it travels inside the plan). */
export const MAX_FILE_BYTES = 16 * 1024 * 1024;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decoded size of a base64 string (validated). */
export function base64Bytes(b64: string): number {
  const pad = b64.endsWith("==") ? 2 : b64.endsWith("=") ? 1 : 0;
  return (b64.length / 4) * 3 - pad;
}

export function validateFile(op: FileOp, field: string): void {
  requireAbsolute(`${field}.dst`, op.dst);
  const bad = () => new PlanError(`${field}.base64`, "must be the file's contents in base64 (RFC 4648, with padding)");
  if (typeof op.base64 !== "string" || op.base64.length % 4 !== 0) throw bad();
  if (base64Bytes(op.base64) > MAX_FILE_BYTES) throw new PlanError(`${field}.base64`, `a placed file holds at most ${MAX_FILE_BYTES} bytes; bind a host file instead`);
  if (!BASE64.test(op.base64)) throw bad();
  requireBool(`${field}.readonly`, op.readonly);
  if (op.mode !== undefined) requireMode(`${field}.mode`, op.mode);
}

export function fileMode(op: FileOp): number {
  return op.mode ?? (op.readonly ? 0o444 : 0o644);
}

export function describeFile(op: FileOp): string {
  return `file ${op.dst} (${base64Bytes(op.base64)} bytes, ${op.readonly ? "ro" : "rw"}, mode=${formatMode(fileMode(op))})`;
}
