import type { RemountOp } from "../types.ts";
import { PlanError, requireAbsolute, requireString } from "../errors.ts";
import { FlagParseError, MS, parseMountOptionsDetailed } from "../../sys/flags.ts";

// Words a remount accepts: per-mount flags (and their negations) and "rec". Superblock options
// (sync, mand, ...), operations (bind, move) and propagation have no meaning for a remount.
const REMOUNT_WORDS = new Set([
  "ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec", "nosymfollow", "symfollow",
  "nodiratime", "diratime", "noatime", "relatime", "strictatime", "rec",
]);

export const ATIME_FLAGS = MS.NOATIME | MS.RELATIME | MS.STRICTATIME;

export interface RemountFlags {
  /** MS_* bits to set. */
  set: number;
  /** MS_* bits to clear ("rw", "suid", ...). */
  clear: number;
  /** "rec": every mount below the destination too. */
  recursive: boolean;
}

/** Parses a remount's option string; throws FlagParseError naming a bad word. */
export function parseRemountOptions(options: string): RemountFlags {
  for (const raw of options.split(",")) {
    const word = raw.trim();
    if (word !== "" && !REMOUNT_WORDS.has(word)) {
      throw new FlagParseError(`"${word}" cannot be used in a remount (allowed: ${[...REMOUNT_WORDS].join(", ")})`);
    }
  }
  const { set, clear } = parseMountOptionsDetailed(options);
  if (((set | clear) & ~MS.REC) === 0) throw new FlagParseError(`"${options}" changes no flag; give at least one, e.g. "ro" or "ro,nosuid,nodev"`);
  return { set: set & ~MS.REC, clear, recursive: (set & MS.REC) !== 0 };
}

export function validateRemount(op: RemountOp, field: string): void {
  requireAbsolute(`${field}.dst`, op.dst);
  requireString(`${field}.options`, op.options);
  try {
    parseRemountOptions(op.options);
  } catch (e) {
    if (e instanceof FlagParseError) throw new PlanError(`${field}.options`, e.message);
    throw e;
  }
}

export function describeRemount(op: RemountOp): string {
  return `remount ${op.dst} (${op.options})`;
}
