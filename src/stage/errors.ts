import type { Operation } from "../plan/types.ts";
import { describeOperation } from "../plan/ops/index.ts";
import { SysError } from "../sys/error.ts";

/** A setup step failed; the message names the step, the path and the errno in one line. */
export class SetupError extends Error {
  override readonly cause: unknown;
  readonly errno: number | undefined;

  /** `errno`: for a cause given as text, the errno it describes. */
  constructor(step: string, cause: unknown, errno?: number) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(`${step}: ${why}`);
    this.name = "SetupError";
    this.cause = cause;
    this.errno = errno ?? (cause instanceof SysError ? cause.errno : cause instanceof SetupError ? cause.errno : undefined);
  }

  static forOperation(op: Operation, cause: unknown): SetupError {
    return new SetupError(describeOperation(op), cause);
  }
}
