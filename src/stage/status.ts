// Status events of one sandbox, one JSON line each on the status fd the library passes:
//   {"event":"spawned","pid":N}                      (stage server, at fork)
//   {"event":"ready","namespaces":{"mnt":"mnt:[...]",...},"confinement":"namespaces"|"landlock"}
//                                                    (the sandbox, right before exec)
//   {"event":"error","message":"...","errno":N}     (the sandbox, when setup or exec fails)
//   {"event":"exit","status":N,"usage":{...}}        (stage server or worker, wait status and
//                                                     struct rusage of the sandbox, see wait4)
//   {"event":"limit","limit":"memory"}              (the watcher of the limits, before it kills)
//   {"event":"stubs","stubs":[{path,dir,ino,dev}]}   (the sandbox, once its root is built: mount
//                                                     points it made on the host, see stubs.ts)
import { libc } from "../sys/libc.ts";
import type { Stub } from "./stubs.ts";
import type { RawUsage } from "../sys/process.ts";
import type { LimitName } from "../plan/limits.ts";

export type StatusEvent =
  | { event: "spawned"; pid: number }
  | { event: "ready"; namespaces: Record<string, string>; confinement: "namespaces" | "landlock" }
  | { event: "error"; message: string; errno: number | null; exitCode: number }
  | { event: "exit"; status: number; usage?: RawUsage }
  | { event: "stubs"; stubs: Stub[] }
  | { event: "limit"; limit: LimitName }
  | { event: "network"; host: string; port: number; allowed: boolean; reason: string };

/** The stubs in events of at most ~3000 bytes each (one write each stays atomic). */
export function writeStubs(fd: number, stubs: readonly Stub[]): void {
  let batch: Stub[] = [];
  let size = 0;
  for (const st of stubs) {
    const n = JSON.stringify(st).length + 1;
    if (batch.length && size + n > 3000) {
      writeStatus(fd, { event: "stubs", stubs: batch });
      batch = [];
      size = 0;
    }
    // A path too long for one line is left where it is.
    if (n <= 3000) {
      batch.push(st);
      size += n;
    }
  }
  if (batch.length) writeStatus(fd, { event: "stubs", stubs: batch });
}

/** One write of one line: atomic on a pipe (under PIPE_BUF), so writers never interleave. */
export function writeStatus(fd: number, ev: StatusEvent): void {
  let line = JSON.stringify(ev) + "\n";
  if (line.length > 4000 && ev.event === "error") line = JSON.stringify({ ...ev, message: ev.message.slice(0, 3500) }) + "\n";
  const b = Buffer.from(line);
  libc.write(fd, b, b.length);
}

/** How the stage reports, beyond the plan: the CLI passes nothing, the stage server a status fd. */
export interface StageRuntime {
  /** fd for status events (see status.ts); kept open (close-on-exec) until the exec. */
  statusFd?: number;
}
