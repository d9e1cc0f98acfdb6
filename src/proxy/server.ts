// The network proxies of one sandbox (--allow-host, allowHosts()): an HTTP proxy (absolute URIs
// and CONNECT) and a SOCKS5 proxy (CONNECT). This process runs outside the sandbox, in the host's
// network namespace, so it reaches the hosts the policy allows; it listens on sockets the stage
// made inside the sandbox's own network namespace and passed here, so nothing of ours runs in the
// sandbox. It ends with the sandbox.
//
//   bun dist/proxy.cjs CONFIG_JSON    (fd 3: unix socket the two listening fds arrive on;
//                                      fd 4: where decisions go, when CONFIG.report is "status")
import net from "node:net";
import { lookup } from "node:dns/promises";
import { networkInterfaces } from "node:os";
import { readFileSync, writeSync } from "node:fs";
import { closeQuiet } from "../sys/fd.ts";
import { recvWithFds } from "../sys/socket.ts";
import { pidfdOpen, pidfdSendSignal, setDumpable } from "../sys/process.ts";
import { decide, parseHostPattern, type HostPattern } from "../plan/network.ts";
import {
  httpRefusal, parseHttpProxyRequest, parseSocksGreeting, parseSocksRequest, socksReply, SOCKS_REPLY, type Parsed,
} from "../plan/proxy-protocol.ts";

interface Config {
  patterns: string[];
  /** "status": JSON lines on fd 4 (the library); "debug": lines on stderr (the CLI's --debug). */
  report: "status" | "debug" | "none";
  /** The sandbox's top process: when it has ended, so do the proxies. */
  watchPid: number;
}

const config = JSON.parse(process.argv[2] ?? "{}") as Config;
const patterns: HostPattern[] = config.patterns.map(parseHostPattern);
/** A connection that says nothing for this long is closed (a stalled client holds nothing up). */
const IDLE_MS = 30_000;

function report(host: string, port: number, allowed: boolean, reason: string): void {
  if (config.report === "status") writeSync(4, `${JSON.stringify({ event: "network", host, port, allowed, reason })}\n`);
  else if (config.report === "debug") process.stderr.write(`sandbox: network: ${host}:${port} ${allowed ? "allowed" : "refused"}: ${reason}\n`);
}

function ownAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address));
}

/** Names resolve on the host; BUN_SANDBOX_PROXY_HOSTS (tests) names a hosts file to look in first. */
async function resolve(host: string): Promise<string[]> {
  if (net.isIP(host)) return [host];
  const file = process.env.BUN_SANDBOX_PROXY_HOSTS;
  if (file) {
    const hits = readFileSync(file, "utf8").split("\n").map((l) => l.replace(/#.*/, "").trim().split(/\s+/)).filter((f) => f.slice(1).includes(host)).map((f) => f[0]!);
    if (hits.length) return hits;
  }
  try {
    return (await lookup(host, { all: true })).map((a) => a.address);
  } catch {
    return [];
  }
}

/** The decision for host:port, reported; the address to connect to, or null. */
async function admit(host: string, port: number): Promise<{ address: string | null; reason: string }> {
  const d = decide(patterns, host, port, await resolve(host), ownAddresses());
  report(host, port, d.allowed, d.reason);
  return { address: d.addresses[0] ?? null, reason: d.reason };
}

/** Connects upstream and splices the two sockets; `first` is sent upstream before the rest. */
function splice(client: net.Socket, address: string, port: number, onOpen: () => void, onFail: () => void, first?: Buffer): void {
  const up = net.connect({ host: address, port });
  up.once("connect", () => {
    onOpen();
    if (first?.length) up.write(first);
    client.pipe(up);
    up.pipe(client);
  });
  up.on("error", () => {
    onFail();
    client.destroy();
  });
  client.on("error", () => up.destroy());
  client.on("close", () => up.destroy());
  up.on("close", () => client.destroy());
}

/** Reads from `sock` until `parse` has its answer, then hands it over with the bytes left. */
function readHead<T>(sock: net.Socket, parse: (b: Uint8Array) => Parsed<T>, done: (v: T, rest: Buffer) => void, bad: (reason: string) => void): void {
  let buf = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    const r = parse(buf);
    if (r.kind === "more") return;
    sock.off("data", onData);
    if (r.kind === "bad") bad(r.reason);
    else done(r.value, buf.subarray(r.used));
  };
  sock.on("data", onData);
}

function serveHttp(client: net.Socket): void {
  client.setTimeout(IDLE_MS, () => client.destroy());
  client.on("error", () => client.destroy());
  readHead(
    client, parseHttpProxyRequest,
    (req, rest) => {
      client.pause();
      void admit(req.host, req.port).then(({ address, reason }) => {
        if (!address) return void client.end(httpRefusal(reason));
        client.setTimeout(0);
        if (req.method === "CONNECT") {
          splice(client, address, req.port, () => client.write("HTTP/1.1 200 Connection established\r\n\r\n"), () => client.end(httpRefusal("the target refused the connection", 502, "Bad Gateway")), rest);
        } else {
          const headers = req.headers.filter((h) => !/^proxy-/i.test(h));
          const head = Buffer.from(`${req.method} ${req.path} HTTP/1.1\r\n${headers.join("\r\n")}${headers.length ? "\r\n" : ""}\r\n`, "latin1");
          splice(client, address, req.port, () => {}, () => client.end(httpRefusal("the target refused the connection", 502, "Bad Gateway")), Buffer.concat([head, rest]));
        }
        client.resume();
      });
    },
    (reason) => client.end(httpRefusal(reason, 400, "Bad Request")),
  );
}

function serveSocks(client: net.Socket): void {
  client.setTimeout(IDLE_MS, () => client.destroy());
  client.on("error", () => client.destroy());
  readHead(client, parseSocksGreeting, (g, rest) => {
    if (!g.noAuth) return void client.end(Uint8Array.of(5, 0xff));
    client.write(Uint8Array.of(5, 0));
    if (rest.length) client.unshift(rest);
    readHead(client, parseSocksRequest, (t, more) => {
      client.pause();
      void admit(t.host, t.port).then(({ address }) => {
        if (!address) return void client.end(socksReply(SOCKS_REPLY.NOT_ALLOWED));
        client.setTimeout(0);
        splice(client, address, t.port, () => client.write(socksReply(SOCKS_REPLY.SUCCEEDED)), () => client.end(socksReply(SOCKS_REPLY.REFUSED)), more);
        client.resume();
      });
    }, () => client.end(socksReply(SOCKS_REPLY.FAILURE)));
  }, () => client.destroy());
}

function main(): void {
  // Not dumpable: the command runs as the same user and must not ptrace us or read our fds.
  setDumpable(false);
  const msg = recvWithFds(3, 16);
  closeQuiet(3);
  if (!msg || msg.fds.length !== 2) process.exit(0); // the sandbox ended before its network was made
  const [httpFd, socksFd] = msg.fds as [number, number];
  net.createServer(serveHttp).listen({ fd: httpFd });
  net.createServer(serveSocks).listen({ fd: socksFd });
  let pidfd = -1;
  try {
    pidfd = pidfdOpen(config.watchPid);
  } catch {
    process.exit(0);
  }
  setInterval(() => {
    try {
      pidfdSendSignal(pidfd, 0);
    } catch {
      process.exit(0); // the sandbox has ended
    }
  }, 100);
}

main();
