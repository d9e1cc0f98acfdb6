// The early phase of a plan's operations, on the host before anything is made.
import type { Operation } from "../plan/types.ts";
import { earlyOperation } from "./ops/index.ts";
import { SetupError } from "./errors.ts";

/**
 * Host-side checks before anything is created (the early phase of each operation, see
 * ops/index.ts): missing required sources fail here, optional ones are dropped, and symlinks
 * to dereference are read.
 */
export function earlyPhase(ops: readonly Operation[], skipped: (op: Operation) => void = () => {}): Operation[] {
  const out: Operation[] = [];
  for (const op of ops) {
    let next: Operation | null;
    try {
      next = earlyOperation(op);
    } catch (e) {
      throw SetupError.forOperation(op, e);
    }
    if (next === null) skipped(op);
    else out.push(next);
  }
  return out;
}
