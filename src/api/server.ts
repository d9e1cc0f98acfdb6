// Host side of the stage server (src/stage/server.ts): starts it, keeps the warm one, sends
// requests. The host process is multithreaded and never unshares or forks itself.
import type { Subprocess } from "bun";
import { closeQuiet, writeAll } from "../sys/fd.ts";
import { memfdCreate, sendWithFds, socketpair } from "../sys/socket.ts";
import type { StageRequest } from "../stage/request.ts";
import { INLINE_REQUEST_MAX, LARGE_REQUEST } from "../stage/request.ts";

const SERVER_PATH = new URL("../../dist/stage-server.cjs", import.meta.url).pathname;

export const SINGLE_THREAD_ENV: Readonly<Record<string, string>> = {
  BUN_JSC_useConcurrentJIT: "0", BUN_JSC_useConcurrentGC: "0", BUN_JSC_numberOfGCMarkers: "1",
  MIMALLOC_PURGE_DELAY: "-1", BUN_JSC_useWarmUpMarkedBlocks: "0",
};

/** The server's environment: the single-thread variables, PATH, and our own switches. */
function serverEnv(): Record<string, string> {
  const env: Record<string, string> = { ...SINGLE_THREAD_ENV, PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" };
  for (const [k, v] of Object.entries(process.env)) if (k.startsWith("BUN_SANDBOX_") && v !== undefined) env[k] = v;
  return env;
}

export class StageServer {
  private alive = true;

  private constructor(
    readonly proc: Subprocess,
    private sock: number,
    readonly oneshot: boolean,
  ) {
    void proc.exited.then(() => {
      this.alive = false;
    });
  }

  static start(oneshot: boolean): StageServer {
    const [mine, theirs] = socketpair();
    try {
      // Without the flags the server would read bunfig.toml (and its preload) and .env files
      // in the host's current directory.
      const proc = Bun.spawn([process.execPath, "--no-env-file", "--config=/dev/null", SERVER_PATH, ...(oneshot ? ["--oneshot"] : [])], {
        stdio: ["ignore", "inherit", "inherit", theirs],
        env: serverEnv(),
      });
      // The warm server must not keep the host alive; it exits when the host's end closes.
      proc.unref();
      return new StageServer(proc, mine, oneshot);
    } finally {
      closeQuiet(theirs);
    }
  }

  get usable(): boolean {
    return this.alive && this.sock >= 0;
  }

  /**
   * Sends one request; fds[0] is the status pipe. Throws when the server is gone. A one-shot
   * server's socket stays open until close() (called when its sandbox has ended), so that the
   * host dying still reaches a dieWithParent sandbox.
   */
  send(req: StageRequest, fds: number[]): void {
    const data = Buffer.from(JSON.stringify(req));
    if (data.length <= INLINE_REQUEST_MAX) {
      sendWithFds(this.sock, data, fds);
    } else {
      // Too large for one message: the JSON goes in a memfd attached first.
      const carrier = memfdCreate("bun-sandbox-request");
      try {
        writeAll(carrier, data);
        sendWithFds(this.sock, Buffer.from(LARGE_REQUEST), [carrier, ...fds]);
      } finally {
        closeQuiet(carrier);
      }
    }
  }

  close(): void {
    if (this.sock >= 0) closeQuiet(this.sock);
    this.sock = -1;
  }
}

let warm: StageServer | null = null;

/** The shared warm server, started on first use; null when BUN_SANDBOX_WARM=0. */
export function warmServer(): StageServer | null {
  if (process.env.BUN_SANDBOX_WARM === "0") return null;
  if (warm && !warm.usable) {
    warm.close();
    warm = null;
  }
  return (warm ??= StageServer.start(false));
}

/** A fresh one-request server (the cold path): one Bun start per sandbox. */
export function coldServer(): StageServer {
  return StageServer.start(true);
}

/** Closes the warm server's socket: it exits once its sandboxes have ended. */
export function shutdownWarmServer(): void {
  warm?.close();
  warm = null;
}

export function warmServerPid(): number | null {
  return warm?.usable ? warm.proc.pid : null;
}
