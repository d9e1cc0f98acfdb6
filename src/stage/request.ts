// What the library sends the stage server for one command: one message on its socket, JSON, with
// the status fd and the command's fds attached: a plan to build a sandbox from, or the
// namespaces of a running process to enter. A request larger than INLINE_REQUEST_MAX (big placed
// files, a huge environment) would not fit in one message (a unix datagram is capped by the
// socket buffer, ~208 KiB): its JSON travels in a memfd attached first, and the message is
// LARGE_REQUEST.
import { readFile } from "../sys/fs.ts";
import type { Plan } from "../plan/types.ts";
import { validatePlan } from "../plan/validate.ts";
import { validateEnterSpec, type EnterSpec } from "../plan/enter.ts";

/** The work itself, without the fd layout. */
export type StageJob = { plan: Plan } | { enter: EnterSpec };

export type StageRequest = StageJob & {
  /** Target fd numbers, in the command's process, of the fds attached after the status fd. */
  targets: number[];
};

/** Checks a request received from the host; throws naming the bad field. */
export function validateRequest(req: unknown, attached: number): StageRequest {
  if (typeof req !== "object" || req === null) throw new Error("request: must be an object");
  const r = req as Record<string, unknown>;
  const kinds = ["plan", "enter"].filter((k) => k in r);
  if (kinds.length !== 1) throw new Error("request: needs exactly one of plan or enter");
  if ("plan" in r) validatePlan(r.plan as Plan);
  else validateEnterSpec(r.enter as EnterSpec);
  for (const k of Object.keys(r)) if (!["plan", "enter", "targets"].includes(k)) throw new Error(`request: unknown field ${k}`);
  if (!Array.isArray(r.targets) || r.targets.length !== attached || r.targets.some((t) => !Number.isInteger(t) || t < 0)) {
    throw new Error("request: targets do not match the attached fds");
  }
  return req as StageRequest;
}

/** The same job with the fds above stderr that the command receives. */
export function withFds(job: StageJob, fds: number[]): StageJob {
  return "plan" in job ? { plan: { ...job.plan, fds } } : { enter: { ...job.enter, fds } };
}

/** Whether the command dies when the host goes away. */
export function diesWithParent(job: StageJob): boolean {
  return "plan" in job ? job.plan.dieWithParent : false;
}

/** Largest request sent inline. */
export const INLINE_REQUEST_MAX = 64 * 1024;
/** Receive buffer for one request message: larger ones travel in a memfd. */
export const REQUEST_BUFFER = INLINE_REQUEST_MAX + 4096;
/** The message of a request whose JSON is in the memfd attached first. */
export const LARGE_REQUEST = "@";

export interface DecodedRequest {
  text: string;
  /** The status fd and the sandbox's fds. */
  fds: number[];
  /** The memfd that carried the JSON, or -1. */
  carrier: number;
}

/** The JSON text and fds of a request message (inline, or in the memfd attached first). */
export function decodeRequest(data: Buffer, fds: number[]): DecodedRequest {
  if (data.length !== LARGE_REQUEST.length || data.toString("latin1") !== LARGE_REQUEST) return { text: data.toString("utf8"), fds, carrier: -1 };
  const [carrier, ...rest] = fds;
  if (carrier === undefined) throw new Error("request: the memfd holding the plan is missing");
  // Opened afresh through /proc: the read starts at 0 and does not move the shared offset.
  return { text: readFile(`/proc/self/fd/${carrier}`).toString("utf8"), fds: rest, carrier };
}
