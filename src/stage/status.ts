// Status events of one sandbox, one JSON line each on the status fd the library passes:
//   {"event":"spawned","pid":N}                      (stage server, at fork)
//   {"event":"ready","namespaces":{"mnt":"mnt:[...]",...}}  (the sandbox, right before exec)
//   {"event":"error","message":"...","errno":N}     (the sandbox, when setup or exec fails)
//   {"event":"exit","status":N}                      (stage server, wait status of the sandbox)
import { libc } from "../sys/libc.ts";

export type StatusEvent =
  | { event: "spawned"; pid: number }
  | { event: "ready"; namespaces: Record<string, string> }
  | { event: "error"; message: string; errno: number | null; exitCode: number }
  | { event: "exit"; status: number };

/** One write of one line: atomic on a pipe (under PIPE_BUF), so writers never interleave. */
export function writeStatus(fd: number, ev: StatusEvent): void {
  let line = JSON.stringify(ev) + "\n";
  if (line.length > 4000 && ev.event === "error") line = JSON.stringify({ ...ev, message: ev.message.slice(0, 3500) }) + "\n";
  const b = Buffer.from(line);
  libc.write(fd, b, b.length);
}
