// Host side of the stage server (src/stage/server.ts): starts it, keeps the warm one, sends
// requests. The host process is multithreaded and never unshares or forks itself.
//
// Closing a server's socket is how the server learns that the host went away: it then SIGKILLs
// every dieWithParent sandbox it runs. So the host closes a socket only once no sandbox it
// started there is left (or by exiting): one request's trouble, shutdown() and a server being
// replaced all retire the server instead, and the last sandbox to end closes it.
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

/**
 * No FTL in the server. Its forked children inherit its execution counters but not their own
 * tier-ups: a function the server left just below the FTL threshold was compiled (14-18 ms, on
 * the single JIT thread) by every child anew and thrown away with it. Measured: a warm-up plan
 * with one more bind made every forked sandbox take 10 ms instead of 5; without FTL, 5 either
 * way. Setup code gains nothing from FTL's code quality; the DFG compiles are 0.1-2 ms.
 */
const NO_FTL = { BUN_JSC_useFTLJIT: "0" };

/** The server's environment: the single-thread variables, no FTL, PATH, and our own switches. */
function serverEnv(): Record<string, string> {
  const env: Record<string, string> = { ...SINGLE_THREAD_ENV, ...NO_FTL, PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" };
  for (const [k, v] of Object.entries(process.env)) if (k.startsWith("BUN_SANDBOX_") && v !== undefined) env[k] = v;
  return env;
}

/** Servers whose socket is still open (for closeServerSocketsNow). */
const openServers = new Set<StageServer>();

export class StageServer {
  private alive = true;
  /** Requests sent here whose sandbox has not been released yet. */
  private leases = 0;
  /** No new requests; the socket closes when the last lease is released (one-shot: from the start). */
  private retired: boolean;

  private constructor(
    readonly proc: Subprocess,
    private sock: number,
    readonly oneshot: boolean,
  ) {
    this.retired = oneshot;
    void proc.exited.then(() => {
      this.alive = false;
    });
    openServers.add(this);
  }

  /** Throws when the server process cannot be started. */
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
    } catch (e) {
      closeQuiet(mine);
      throw e;
    } finally {
      closeQuiet(theirs);
    }
  }

  get usable(): boolean {
    return this.alive && !this.retired && this.sock >= 0;
  }

  /** One more request in flight here; pair with release(). */
  acquire(): void {
    this.leases++;
  }

  /** A request's sandbox has ended (or it was never started). */
  release(): void {
    this.leases--;
    if (this.retired && this.leases <= 0) this.close();
  }

  /**
   * Takes no new requests: the socket closes when the sandboxes started here have ended, so the
   * server exits then without killing any of them.
   */
  retire(): void {
    this.retired = true;
    if (this.leases <= 0) this.close();
  }

  /**
   * Sends one request; fds[0] is the status pipe. Throws the SysError of sendmsg: a server that
   * is gone (EPIPE and the like), or an fd the kernel would not pass (see launch.ts).
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

  /** Closes the socket now: the server then kills its dieWithParent sandboxes, as if the host died. */
  close(): void {
    this.retired = true;
    if (this.sock >= 0) closeQuiet(this.sock);
    this.sock = -1;
    openServers.delete(this);
  }
}

let warm: StageServer | null = null;
/** Why the last server could not be started, for the error of a spawn that found none. */
let startFailure = "";

function tryStart(oneshot: boolean): StageServer | null {
  try {
    const server = StageServer.start(oneshot);
    startFailure = "";
    return server;
  } catch (e) {
    startFailure = e instanceof Error ? e.message : String(e);
    return null;
  }
}

export const lastStartFailure = (): string => startFailure;

/** The shared warm server, started on first use; null when BUN_SANDBOX_WARM=0 or it cannot start. */
export function warmServer(): StageServer | null {
  if (process.env.BUN_SANDBOX_WARM === "0") return null;
  if (warm && !warm.usable) {
    warm.retire();
    warm = null;
  }
  return (warm ??= tryStart(false));
}

/** A fresh one-request server (the cold path): one Bun start per sandbox; null when it cannot start. */
export function coldServer(): StageServer | null {
  return tryStart(true);
}

/** Stops using `server` for new requests (the next spawn starts a fresh warm server). */
export function retireServer(server: StageServer): void {
  server.retire();
  if (warm === server) warm = null;
}

/** Retires the warm server: it exits once the sandboxes started there have ended. */
export function shutdownWarmServer(): void {
  if (warm) retireServer(warm);
}

/**
 * Closes the socket of every server now, as the host exiting would: dieWithParent sandboxes are
 * killed. Not part of the public API; tests use it as the control for what retiring avoids.
 */
export function closeServerSocketsNow(): void {
  for (const s of [...openServers]) s.close();
  warm = null;
}

export function warmServerPid(): number | null {
  return warm?.usable ? warm.proc.pid : null;
}
