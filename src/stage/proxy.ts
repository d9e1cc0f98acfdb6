// The proxies of a sandbox with --allow-host: a process of ours outside the sandbox serves them
// (src/proxy/server.ts), on listening sockets made here inside the sandbox's network namespace.
// It is started before unshare, so it stays in the host's namespaces, and forked twice so that it
// is nobody's child inside the sandbox (a command waiting for all its children would wait for it).
import type { Plan } from "../plan/types.ts";
import { closeAllExcept, closeQuiet, dup3, open } from "../sys/fd.ts";
import { O } from "../sys/flags.ts";
import { execvpe, exit, fork, getpid, waitpid } from "../sys/process.ts";
import { sendWithFds, socketpair } from "../sys/socket.ts";
import { boundPort, listenLoopback } from "../sys/net.ts";
import { rawStderr } from "./exec.ts";
import { PROXY_PORTS, type ProxyPorts } from "../plan/network.ts";
import { SetupError } from "./errors.ts";
import { exists } from "../sys/fs.ts";

/** The proxy's bundle: beside the stage server (dist/), or in dist/ beside bin/ for the CLI. */
function proxyScript(): string {
  const here = process.argv[1] ?? "";
  const dir = here.slice(0, here.lastIndexOf("/"));
  return [`${dir}/proxy.cjs`, `${dir}/../dist/proxy.cjs`].find((p) => exists(p)) ?? `${dir}/proxy.cjs`;
}

/** The proxy's environment: no single-thread variables, the test switch for its hosts file. */
function proxyProcessEnv(): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin" };
  if (process.env.BUN_SANDBOX_PROXY_HOSTS) env.BUN_SANDBOX_PROXY_HOSTS = process.env.BUN_SANDBOX_PROXY_HOSTS;
  return env;
}

/**
 * Starts the proxy process for `plan`; returns the channel its listening sockets go to (see
 * sendListeners). `statusFd`: the library's, where decisions are reported.
 */
export function startProxy(plan: Plan, statusFd: number | undefined): number {
  const [mine, theirs] = socketpair();
  const config = JSON.stringify({ patterns: plan.allowHosts, report: statusFd !== undefined ? "status" : plan.debug ? "debug" : "none", watchPid: getpid() });
  const child = fork();
  if (child === 0) {
    if (fork() !== 0) exit(0);
    try {
      dup3(theirs, 3, 0);
      if (statusFd !== undefined) dup3(statusFd, 4, 0);
      const nul = open("/dev/null", O.RDWR);
      dup3(nul, 0, 0);
      dup3(nul, 1, 0);
      closeAllExcept(statusFd !== undefined ? [3, 4] : [3], 3);
      const err = execvpe(process.execPath, [process.execPath, "--no-env-file", "--config=/dev/null", proxyScript(), config], proxyProcessEnv());
      rawStderr(`sandbox: cannot start the network proxy: errno ${err}`);
    } catch (e) {
      rawStderr(`sandbox: cannot start the network proxy: ${e instanceof Error ? e.message : String(e)}`);
    }
    exit(127);
  }
  waitpid(child);
  closeQuiet(theirs);
  return mine;
}

/** Sends the two listening sockets (HTTP, then SOCKS5) to the proxy, and closes our copies. */
function sendTo(channel: number, listeners: () => number[]): void {
  try {
    const fds = listeners();
    try {
      sendWithFds(channel, Buffer.from("L"), fds);
    } finally {
      for (const fd of fds) closeQuiet(fd);
    }
  } catch (e) {
    throw new SetupError("network proxies", e);
  } finally {
    closeQuiet(channel);
  }
}

/** Inside the sandbox's network namespace (lo up): the two listening sockets, to the proxy. */
export function sendListeners(channel: number): void {
  sendTo(channel, () => [listenLoopback(PROXY_PORTS.http), listenLoopback(PROXY_PORTS.socks)]);
}

/**
 * Under landlock there is no network namespace: the proxies listen on the host's 127.0.0.1, on
 * ports the kernel picks (a fixed port could be taken, or be a host service's). Returns them.
 */
export function startHostProxy(plan: Plan, statusFd: number | undefined): ProxyPorts {
  const channel = startProxy(plan, statusFd);
  let ports: ProxyPorts = { http: 0, socks: 0 };
  sendTo(channel, () => {
    const fds = [listenLoopback(0), listenLoopback(0)];
    ports = { http: boundPort(fds[0]!), socks: boundPort(fds[1]!) };
    return fds;
  });
  return ports;
}
