// What the --allow-host proxies add, side by side in one run: the latency of one small request
// (curl inside a sandbox through the HTTP proxy, and through SOCKS5, against curl on the host
// straight to the server) and the throughput of one large download the same three ways. The
// server is a Bun HTTP server on 127.0.0.1; the loops run inside one sandbox, so its start-up
// is not in the figures. Each sandbox path runs with namespaces and under --confinement landlock
// (proxies on the host's loopback).
//   bun scripts/bench-proxy.ts [--runs 200] [--mib 256]
import { spawn } from "bun";
import { opt } from "./args.ts";

const runs = Number(opt("--runs", "200"));
const mib = Number(opt("--mib", "256"));
const root = new URL("..", import.meta.url).pathname;
const big = Buffer.alloc(mib * 2 ** 20, 7);
const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (r) => new Response(new URL(r.url).pathname === "/big" ? big : "ok\n") });
const url = `http://127.0.0.1:${server.port}`;

/** A shell loop's per-request milliseconds: N curls, timed by the shell's clock. */
const loop = (curl: string) => `s=$(date +%s%N); i=0; while [ $i -lt ${runs} ]; do ${curl} -s -o /dev/null ${url}/small; i=$((i+1)); done; e=$(date +%s%N); echo $(( (e - s) / ${runs} ))`;
const fetchBig = (curl: string) => `${curl} -s -o /dev/null -w '%{speed_download}' ${url}/big`;
// Spawned, not spawnSync: the server answers from this process's event loop.
const output = (argv: string[]) => new Response(spawn(argv, { stdout: "pipe" }).stdout).text();
const inSandbox = (script: string, extra: string[] = []) => output([`${root}bin/sandbox.cjs`, ...extra, "--ro-bind", "/", "/", "--allow-host", `127.0.0.1:${server.port}`, "--", "sh", "-c", script]);
// Under landlock the SOCKS5 port is the kernel's pick: the command reads it from ALL_PROXY.
const SOCKS = 'curl --socks5-hostname "${ALL_PROXY#socks5h://}"';
const LANDLOCK = ["--confinement", "landlock"];
const onHost = (script: string) => output(["sh", "-c", script]);

const rows: [string, string, string][] = [
  ["direct (host, no sandbox)", await onHost(loop("curl")), await onHost(fetchBig("curl"))],
  ["HTTP proxy (sandbox)", await inSandbox(loop("curl")), await inSandbox(fetchBig("curl"))],
  ["SOCKS5 proxy (sandbox)", await inSandbox(loop(SOCKS)), await inSandbox(fetchBig(SOCKS))],
  ["HTTP proxy (--confinement landlock)", await inSandbox(loop("curl"), LANDLOCK), await inSandbox(fetchBig("curl"), LANDLOCK)],
  ["SOCKS5 proxy (--confinement landlock)", await inSandbox(loop(SOCKS), LANDLOCK), await inSandbox(fetchBig(SOCKS), LANDLOCK)],
];
const direct = rows[0]!;
console.log(`${runs} small requests each, one ${mib} MiB download each, to a Bun server on 127.0.0.1`);
console.log("| path | per request ms | ratio | download MiB/s | ratio |");
console.log("|---|---:|---:|---:|---:|");
for (const [name, ns, bps] of rows) {
  const ms = Number(ns) / 1e6;
  const speed = Number(bps) / 2 ** 20;
  console.log(`| ${name} | ${ms.toFixed(2)} | ${(ms / (Number(direct[1]) / 1e6)).toFixed(2)} | ${speed.toFixed(0)} | ${(speed / (Number(direct[2]) / 2 ** 20)).toFixed(2)} |`);
}
server.stop(true);
