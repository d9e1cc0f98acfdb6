// The stage server: a single-threaded Bun process that the library starts once and keeps warm.
// Each request arrives on a unix socket (fd 3) as one message, a plan (or the namespaces of a
// process to enter, see request.ts) as JSON with the command's stdio and extra fds attached
// (SCM_RIGHTS). A forked child runs the plan (runStage) or enters the namespaces (runEnter)
// and execs the command; because the server has one thread, fork is safe and costs no Bun
// start-up. Status events go to a per-request status pipe (see status.ts).
//
//   bun dist/stage-server.cjs [--oneshot]     (fd 3: SOCK_SEQPACKET socket to the host)
//
// Speed: children are forked ahead of time ("zygotes") and touch their working memory before a
// request arrives, so neither the fork nor the copy-on-write faults after it are paid on the
// request's path; the server warms its JIT while idle so children run compiled code.
//
// A request too large for one message travels in a memfd (see request.ts).
//
// When the host goes away (EOF on the socket) sandboxes that asked for dieWithParent are killed;
// the server exits once no sandbox is left. --oneshot serves a single request (the cold path)
// and exits when that sandbox has ended.
import { closeAllExcept, closeQuiet, dup3, F, fcntl } from "../sys/fd.ts";
import { exit, fork, getppid, kill, pidfdOpen, prepareFork, setParentDeathSignal, threadCount, wait4, waitpid, WNOHANG } from "../sys/process.ts";
import { poll, POLLIN, recvWithFds, sendWithFds, socketpair, type PollFd } from "../sys/socket.ts";
import { SIG } from "../sys/signals.ts";
import { runStage } from "./run.ts";
import { runEnter } from "./enter.ts";
import { decodeRequest, diesWithParent, LARGE_REQUEST, REQUEST_BUFFER, validateRequest, withFds, type StageRequest } from "./request.ts";
import { writeStatus, writeStubs } from "./status.ts";
import { takeStubs } from "./stubs.ts";
import { SetupError } from "./errors.ts";
import { rawStderr } from "./exec.ts";
import { trace } from "../sys/trace.ts";
import { warmUp, warmUpRound } from "./warmup.ts";
import { Workers } from "./workers.ts";

interface Running {
  pid: number;
  pidfd: number;
  statusFd: number;
  dieWithParent: boolean;
}

interface Zygote {
  pid: number;
  sock: number;
}

const SOCK = 3;
const POOL_SIZE = 2;
const GC_EVERY = 256;

/** In the sandbox's process: put the attached fds where the request wants them, then run it. */
function runChild(req: StageRequest, statusFd: number, io: number[]): never {
  let status = statusFd;
  trace("request in child");
  try {
    // Zygotes die with the server; a sandbox only when it asked to.
    if (!diesWithParent(req)) setParentDeathSignal(0);
    // Move everything out of the way first, so no target overwrites a source still needed.
    const high = io.map((fd) => fcntl(fd, F.DUPFD_CLOEXEC, 1000));
    status = fcntl(statusFd, F.DUPFD_CLOEXEC, 1000);
    closeAllExcept([...high, status], 0);
    req.targets.forEach((target, i) => dup3(high[i]!, target, 0));
    for (const fd of high) closeQuiet(fd);
    const job = withFds(req, req.targets.filter((t) => t > 2));
    trace("fds installed");
    if ("enter" in job) runEnter(job.enter, { statusFd: status });
    else runStage(job.plan, { statusFd: status });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    // What a setup that failed half-way made on the host, for the library to remove.
    writeStubs(status, takeStubs());
    writeStatus(status, { event: "error", message, errno: e instanceof SetupError ? (e.errno ?? null) : null, exitCode: 1 });
    exit(1);
  }
}

/**
 * A child forked ahead of time: it dies with the server, touches the memory a sandbox setup
 * writes (so the copy-on-write faults happen now), then waits for its one request.
 */
function startZygote(serverPid: number, prefault: boolean): Zygote {
  const [mine, theirs] = socketpair();
  const pid = fork();
  if (pid === 0) {
    setParentDeathSignal(SIG.KILL);
    if (getppid() !== serverPid) exit(0);
    closeAllExcept([theirs], 3);
    if (prefault) warmUpRound();
    const msg = recvWithFds(theirs, REQUEST_BUFFER);
    if (msg === null) exit(0);
    closeQuiet(theirs);
    const { text, fds, carrier } = decodeRequest(msg.data, msg.fds);
    if (carrier >= 0) closeQuiet(carrier);
    const [statusFd, ...io] = fds;
    runChild(JSON.parse(text) as StageRequest, statusFd!, io);
  }
  closeQuiet(theirs);
  return { pid, sock: mine };
}

function serve(oneshot: boolean): never {
  if (threadCount() !== 1) {
    rawStderr(`bun-sandbox stage server: ${threadCount()} threads; it must be started with the single-thread variables`);
    exit(70);
  }
  prepareFork();
  const serverPid = process.pid;
  const running = new Map<number, Running>();
  const pool: Zygote[] = [];
  let hostConnected = true;
  let served = 0;
  let collectedAt = 0;
  // Warm the JIT while idle (not in --oneshot mode: one request does not pay it back).
  let warmRounds = oneshot || process.env.BUN_SANDBOX_NO_WARMUP === "1" ? 0 : 400;
  const poolSize = oneshot ? 0 : POOL_SIZE;
  // Plans that suit a namespace worker skip the fork (see worker.ts); BUN_SANDBOX_NO_WORKER=1 forks every one.
  const workers = oneshot || process.env.BUN_SANDBOX_NO_WORKER === "1" ? null : new Workers(serverPid, (data, fds) => handle(data, fds, false));

  for (;;) {
    // A one-shot server keeps watching the socket after its request: the host closing it is
    // how a dieWithParent sandbox learns that the host died.
    const listen = hostConnected;
    if (!listen || (oneshot && served > 0 && running.size === 0)) {
      for (const z of pool.splice(0)) retireZygote(z);
      if (running.size === 0 && !workers?.size) exit(0);
    }
    const fds: PollFd[] = [];
    if (listen) fds.push({ fd: SOCK, events: POLLIN, revents: 0 });
    const order = [...running.values()];
    for (const r of order) fds.push({ fd: r.pidfd, events: POLLIN, revents: 0 });
    const workerFds = workers?.pollFds() ?? [];
    fds.push(...workerFds);
    if (served - collectedAt >= GC_EVERY) {
      // A full collection every GC_EVERY requests keeps the heap, and with it the cost of every
      // fork, from creeping up (measured: the RSS then levels off at ~54 MiB after ~2500 sandboxes).
      Bun.gc(true);
      collectedAt = served;
    }
    // With idle work to do, look without waiting; the answer of that poll is the one acted on
    // (a mount-table change is reported by one poll only).
    const idleWork = listen && (pool.length < poolSize || warmRounds > 0);
    if (idleWork && poll(fds, 0) === 0) {
      // Idle: refill the zygote pool first, then warm up in small steps.
      if (pool.length < poolSize) pool.push(startZygote(serverPid, warmRounds <= 0 && process.env.BUN_SANDBOX_NO_PREFAULT !== "1"));
      else {
        warmUp(20);
        warmRounds -= 20;
        // Zygotes and workers forked before the warm-up ended run cold code: replace them once it
        // is done (a retired worker finishes its sandboxes first).
        if (warmRounds <= 0) {
          for (const z of pool.splice(0)) retireZygote(z);
          workers?.retireAll();
        }
      }
      continue;
    }
    if (!idleWork) poll(fds);
    // First, so a request that follows a change of the host's mounts goes to a fresh worker
    // (poll filled in the revents of the very objects pollFds returned).
    if (workers) workers.handle(workerFds);

    let i = 0;
    if (listen) {
      const sock = fds[i++]!;
      if (sock.revents) {
        const msg = recvWithFds(SOCK, REQUEST_BUFFER);
        if (msg === null) {
          hostConnected = false;
          for (const r of running.values()) if (r.dieWithParent) kill(r.pid, SIG.KILL);
          workers?.hostWentAway();
        } else if (oneshot && served > 0) {
          for (const fd of msg.fds) closeQuiet(fd); // a one-shot server takes one request
        } else {
          served++;
          trace("request");
          handle(msg.data, msg.fds, true);
        }
      }
    }
    for (const r of order) {
      const p = fds[i++]!;
      if (!p.revents) continue;
      const w = wait4(r.pid, WNOHANG);
      if (w.pid !== r.pid) continue;
      writeStatus(r.statusFd, { event: "exit", status: w.status, ...(w.usage ? { usage: w.usage } : {}) });
      closeQuiet(r.statusFd);
      closeQuiet(r.pidfd);
      running.delete(r.pid);
    }
  }

  function retireZygote(z: Zygote): void {
    closeQuiet(z.sock);
    waitpid(z.pid);
  }

  function fail(statusFd: number, fds: number[], message: string, code: number): void {
    writeStatus(statusFd, { event: "error", message, errno: null, exitCode: code });
    writeStatus(statusFd, { event: "exit", status: code << 8 });
    for (const fd of fds) closeQuiet(fd);
  }

  /** One request: to a namespace worker when `toWorker` and the plan suits one, else to a zygote. */
  function handle(data: Buffer, allFds: number[], toWorker: boolean): void {
    const large = data.length === LARGE_REQUEST.length && data.toString("latin1") === LARGE_REQUEST;
    const fds = large ? allFds.slice(1) : allFds;
    const [statusFd, ...io] = fds;
    if (statusFd === undefined) {
      // nothing to report to: a malformed request
      for (const fd of allFds) closeQuiet(fd);
      return;
    }
    let req: StageRequest;
    try {
      req = validateRequest(JSON.parse(decodeRequest(data, allFds).text), io.length);
    } catch (e) {
      return fail(statusFd, allFds, e instanceof Error ? e.message : String(e), 2);
    }
    if (toWorker && workers && "plan" in req && workers.route(req.plan, data, allFds)) return;
    let pid: number;
    try {
      const z = pool.shift() ?? startZygote(serverPid, false);
      sendWithFds(z.sock, data, allFds);
      closeQuiet(z.sock);
      pid = z.pid;
    } catch (e) {
      return fail(statusFd, allFds, `starting the sandbox: ${e instanceof Error ? e.message : String(e)}`, 1);
    }
    for (const fd of io) closeQuiet(fd);
    if (large) closeQuiet(allFds[0]!);
    writeStatus(statusFd, { event: "spawned", pid });
    running.set(pid, { pid, pidfd: pidfdOpen(pid), statusFd, dieWithParent: diesWithParent(req) });
  }
}

serve(process.argv.includes("--oneshot"));
