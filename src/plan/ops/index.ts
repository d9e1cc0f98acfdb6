// Dispatch from an operation's kind to its validation and description.
import type { Operation, OperationKind } from "../types.ts";
import { PlanError } from "../errors.ts";
import { describeBind, validateBind } from "./bind.ts";
import { describeDev, validateDev } from "./dev.ts";
import { describeDir, validateDir } from "./dir.ts";
import { describeDirModes, validateDirModes } from "./dirmodes.ts";
import { describeOverlay, validateOverlay } from "./overlay.ts";
import { describeProc, validateProc } from "./proc.ts";
import { describeSymlink, validateSymlink } from "./symlink.ts";
import { describeTmpfs, validateTmpfs } from "./tmpfs.ts";
import { describeWrite, validateWrite } from "./write.ts";
import { describeMqueue, validateMqueue } from "./mqueue.ts";
import { describeRemount, validateRemount } from "./remount.ts";
import { describeFile, validateFile } from "./file.ts";
import { describeChmod, validateChmod } from "./chmod.ts";

type Spec<K extends OperationKind> = {
  validate(op: Extract<Operation, { kind: K }>, field: string): void;
  describe(op: Extract<Operation, { kind: K }>): string;
};

const SPECS: { [K in OperationKind]: Spec<K> } = {
  bind: { validate: validateBind, describe: describeBind },
  tmpfs: { validate: validateTmpfs, describe: describeTmpfs },
  dev: { validate: validateDev, describe: describeDev },
  proc: { validate: validateProc, describe: describeProc },
  dir: { validate: validateDir, describe: describeDir },
  symlink: { validate: validateSymlink, describe: describeSymlink },
  write: { validate: validateWrite, describe: describeWrite },
  overlay: { validate: validateOverlay, describe: describeOverlay },
  mqueue: { validate: validateMqueue, describe: describeMqueue },
  remount: { validate: validateRemount, describe: describeRemount },
  file: { validate: validateFile, describe: describeFile },
  chmod: { validate: validateChmod, describe: describeChmod },
  dirmodes: { validate: validateDirModes, describe: describeDirModes },
};

export const OPERATION_KINDS = Object.keys(SPECS) as OperationKind[];

function specOf(op: Operation, field: string): Spec<OperationKind> {
  const spec = (SPECS as Record<string, Spec<OperationKind> | undefined>)[(op as { kind?: unknown }).kind as string];
  if (!spec) throw new PlanError(`${field}.kind`, `unknown operation kind ${JSON.stringify((op as { kind?: unknown }).kind)} (known: ${OPERATION_KINDS.join(", ")})`);
  return spec;
}

export function validateOperation(op: Operation, field: string): void {
  if (typeof op !== "object" || op === null) throw new PlanError(field, "must be an object");
  specOf(op, field).validate(op as never, field);
}

export function describeOperation(op: Operation): string {
  return specOf(op, "op").describe(op as never);
}
