// How a library sandbox's `exited` settled, as the fixtures report it.
import { SandboxError, type SandboxSubprocess } from "../../src/api/index.ts";
import { within } from "./procs.ts";

export interface Settled {
  resolved: number | null;
  rejected: { name: string; message: string; exitCode: number; isSandboxError: boolean } | null;
  exitCode: number | null;
  signalCode: string | null;
}

/** Waits (15 s at most) for `exited` and records how it settled. */
export async function settled(p: SandboxSubprocess): Promise<Settled> {
  let resolved: number | null = null;
  let rejected: Settled["rejected"] = null;
  try {
    resolved = await within(p.exited, 15_000, "exited");
  } catch (e) {
    if (e instanceof Error && e.message.startsWith("timed out")) throw e;
    const err = e as SandboxError;
    rejected = { name: err.name, message: err.message, exitCode: err.exitCode, isSandboxError: e instanceof SandboxError };
  }
  return { resolved, rejected, exitCode: p.exitCode, signalCode: p.signalCode };
}
