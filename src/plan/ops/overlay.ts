import type { OverlayOp } from "../types.ts";
import { PlanError, requireAbsolute } from "../errors.ts";

export function validateOverlay(op: OverlayOp, field: string): void {
  requireAbsolute(`${field}.dst`, op.dst);
  if (!Array.isArray(op.lower) || op.lower.length === 0) {
    throw new PlanError(`${field}.lower`, "an overlay needs at least one lower directory (--overlay-lowerdir DIR before --overlay)");
  }
  op.lower.forEach((l, i) => requireAbsolute(`${field}.lower[${i}]`, l));
  if (op.upper !== null && op.upper !== "tmpfs") requireAbsolute(`${field}.upper`, op.upper);
  if (op.work !== null) requireAbsolute(`${field}.work`, op.work);
  if (op.upper !== null && op.upper !== "tmpfs" && op.work === null) {
    throw new PlanError(`${field}.work`, "an overlay with an upper directory needs a work directory (--overlay-workdir DIR) on the same filesystem");
  }
  if (op.upper === null && op.work !== null) throw new PlanError(`${field}.work`, "a work directory is only used with an upper directory");
  if (op.upper === "tmpfs" && op.work !== null) throw new PlanError(`${field}.work`, "a tmpfs upper brings its own work directory; drop the work directory");
  if (op.upper === null && op.lower.length < 2) {
    throw new PlanError(`${field}.lower`, "a read-only overlay (no upper directory) needs at least two lower directories; add one or give --overlay-upperdir");
  }
}

/**
 * Escapes a path for an overlayfs option value: backslash, comma (option separator) and colon
 * (layer separator) get a backslash. NUL cannot be represented.
 */
export function escapeOverlayPath(p: string): string {
  if (p.includes("\0")) throw new PlanError("overlay", `path ${JSON.stringify(p)} contains a NUL byte`);
  return p.replace(/[\\,:]/g, (c) => `\\${c}`);
}

/** Kernel option string for an overlay; lower layers are given bottom first, the kernel wants top first. */
export function overlayOptions(lower: readonly string[], upper: string | null, work: string | null): string {
  const opts = [`lowerdir=${[...lower].reverse().map(escapeOverlayPath).join(":")}`];
  if (upper !== null) opts.push(`upperdir=${escapeOverlayPath(upper)}`);
  if (work !== null) opts.push(`workdir=${escapeOverlayPath(work)}`);
  // userxattr works in user namespaces; index and metacopy off keep upper dirs reusable with
  // other lower dirs (mkosi-sandbox does the same).
  opts.push("userxattr", "index=off", "metacopy=off");
  return opts.join(",");
}

export function describeOverlay(op: OverlayOp): string {
  const mode = op.upper === null ? "read-only" : op.upper === "tmpfs" ? "upper=tmpfs" : `upper=${op.upper}`;
  return `overlay ${op.dst} (lower=${op.lower.join(":")}, ${mode})`;
}
