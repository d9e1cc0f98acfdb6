// How a request reaches the stage server: one SOCK_SEQPACKET message with the plan as JSON and
// the fds attached. A request larger than INLINE_REQUEST_MAX (big placed files, a huge
// environment) would not fit in one message (a unix datagram is capped by the socket buffer,
// ~208 KiB): its JSON travels in a memfd attached first, and the message is LARGE_REQUEST.
import { readFile } from "../sys/fs.ts";

/** Largest request sent inline. */
export const INLINE_REQUEST_MAX = 64 * 1024;
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
