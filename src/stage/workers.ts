// The stage server's side of the namespace workers (see worker.ts): one per kind, started on
// first use, retired when the host's mounts change (their base mount namespace is a copy made
// at their start, so it would go stale where the host's mounts do not propagate) and when the
// host goes away. A retired worker finishes its sandboxes and may still hand requests back.
import { closeQuiet, open } from "../sys/fd.ts";
import { O } from "../sys/flags.ts";
import { fork, kill, pidfdOpen, waitpid, WNOHANG } from "../sys/process.ts";
import { MSG_DONTWAIT, poll, POLLERR, POLLIN, POLLPRI, recvWithFds, sendWithFds, socketpair, type PollFd } from "../sys/socket.ts";
import { SIG } from "../sys/signals.ts";
import type { Plan } from "../plan/types.ts";
import { REQUEST_BUFFER } from "./request.ts";
import { HOST_GONE, hostPaths, keyName, reachesAny, READY, RETIRE, runWorker, workerKey, type WorkerKey } from "./worker.ts";
import { parseMountinfo } from "./mounts.ts";
import { readlinkOrNull, readText } from "../sys/fs.ts";

interface Worker {
  /** keyName of its WorkerKey. */
  kind: string;
  pid: number;
  pidfd: number;
  sock: number;
  /** No new requests (it was sent RETIRE); HOST_GONE still goes to it. */
  retired: boolean;
}

/** Workers kept at once (retired ones not counted). */
const MAX_WORKERS = 4;
/** How long a new worker may take to make its namespaces. */
const READY_TIMEOUT_MS = 5000;

export class Workers {
  private readonly all: Worker[] = [];
  private readonly current = new Map<string, Worker>();
  /** Keys whose worker could not start: those plans are forked. */
  private readonly failed = new Set<string>();
  /** Polled for POLLPRI: the host's mount table changed. */
  private readonly mountinfo: number;
  private hostGone = false;
  /** The workers as pollFds listed them (routing may start one before handle runs). */
  private polled: Worker[] = [];

  constructor(
    private readonly serverPid: number,
    /** Called with a request a worker handed back. */
    private readonly retry: (data: Buffer, fds: number[]) => void,
  ) {
    this.mountinfo = open("/proc/self/mountinfo", O.RDONLY);
    // The first poll reports the table as changed: take that now.
    poll([{ fd: this.mountinfo, events: POLLPRI, revents: 0 }], 0);
    this.slowMounts = findSlowMounts();
  }

  /**
   * Mount points of filesystems whose lookups may wait on another process (FUSE, network):
   * plans with sources there are forked, because the host waits in spawn() while a worker sets
   * up, and a FUSE filesystem served by the host itself would then never answer.
   */
  private slowMounts: string[];

  /** Workers still running (retired ones included). */
  get size(): number {
    return this.all.length;
  }

  /** Sends the request to a worker when its plan suits one; false: the caller forks it. */
  route(plan: Plan, data: Buffer, fds: number[]): boolean {
    if (this.hostGone) return false;
    const key = workerKey(plan);
    if (key === null || hostPaths(plan).some((p) => reachesAny(p, this.slowMounts, readlinkOrNull))) return false;
    const kind = keyName(key);
    if (this.failed.has(kind)) return false;
    // Each worker holds a Bun process (~45 MiB): a few kinds of plan get one, the rest are forked.
    const w = this.current.get(kind) ?? (this.current.size < MAX_WORKERS ? this.start(key, kind) : null);
    if (!w) return false;
    try {
      sendWithFds(w.sock, data, fds);
    } catch {
      this.retire(w);
      return false;
    }
    for (const fd of fds) closeQuiet(fd);
    return true;
  }

  private start(key: WorkerKey, kind: string): Worker | null {
    const [mine, theirs] = socketpair();
    const pid = fork();
    if (pid === 0) {
      closeQuiet(mine);
      runWorker(theirs, key, this.serverPid);
    }
    closeQuiet(theirs);
    const ready = poll([{ fd: mine, events: POLLIN, revents: 0 }], READY_TIMEOUT_MS) > 0 ? recvWithFds(mine, 64) : null;
    if (ready?.data.toString("latin1") !== READY) {
      closeQuiet(mine);
      kill(pid, SIG.KILL);
      waitpid(pid);
      this.failed.add(kind);
      return null;
    }
    const w: Worker = { kind, pid, pidfd: pidfdOpen(pid), sock: mine, retired: false };
    this.all.push(w);
    this.current.set(kind, w);
    return w;
  }

  private retire(w: Worker): void {
    if (w.retired) return;
    w.retired = true;
    if (this.current.get(w.kind) === w) this.current.delete(w.kind);
    tell(w, RETIRE);
  }

  /** New requests go to new workers; the current ones finish their sandboxes and exit. */
  retireAll(): void {
    for (const w of this.all) this.retire(w);
  }

  /** The host went away: dieWithParent sandboxes are killed, then every worker winds down. */
  hostWentAway(): void {
    this.hostGone = true;
    for (const w of this.all) {
      // Retired ones too: their dieWithParent sandboxes must die as well.
      tell(w, HOST_GONE);
      this.retire(w);
    }
  }

  /** What to poll: the mount table, each worker's socket and pidfd. */
  pollFds(): PollFd[] {
    const fds: PollFd[] = [{ fd: this.mountinfo, events: POLLPRI, revents: 0 }];
    this.polled = [...this.all];
    for (const w of this.polled) fds.push({ fd: w.sock, events: POLLIN, revents: 0 }, { fd: w.pidfd, events: POLLIN, revents: 0 });
    return fds;
  }

  /** Acts on what poll reported for the fds from pollFds (in the same order). */
  handle(fds: PollFd[]): void {
    if (fds[0]!.revents & (POLLPRI | POLLERR)) {
      this.retireAll();
      this.slowMounts = findSlowMounts();
    }
    this.polled.forEach((w, i) => {
      if (fds[1 + 2 * i]!.revents) this.drain(w, false);
      if (fds[2 + 2 * i]!.revents && waitpid(w.pid, WNOHANG).pid === w.pid) {
        // Requests it handed back before it ended are still queued.
        this.drain(w, true);
        this.retire(w);
        closeQuiet(w.sock);
        closeQuiet(w.pidfd);
        this.all.splice(this.all.indexOf(w), 1);
      }
    });
  }

  private drain(w: Worker, all: boolean): void {
    for (;;) {
      let msg;
      try {
        msg = recvWithFds(w.sock, REQUEST_BUFFER, MSG_DONTWAIT);
      } catch {
        return; // EAGAIN: nothing more queued
      }
      if (msg === null) return;
      this.retry(msg.data, msg.fds);
      if (!all) return;
    }
  }
}

/** Sends a one-word message; a worker that is gone already is reported by its pidfd. */
function tell(w: Worker, word: string): void {
  try {
    sendWithFds(w.sock, Buffer.from(word), []);
  } catch {
    // gone already
  }
}

/** FUSE (fuse, fuseblk, fuse.*) and network filesystems. */
const SLOW_FS = /^(fuse(blk)?|fuse\..*|nfs4?|cifs|smb3|9p|ceph|glusterfs|afs|autofs)$/;

function findSlowMounts(): string[] {
  try {
    return parseMountinfo(readText("/proc/self/mountinfo")).filter((m) => SLOW_FS.test(m.fstype)).map((m) => m.mountPoint);
  } catch {
    return [];
  }
}
