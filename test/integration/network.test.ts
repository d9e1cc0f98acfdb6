// --allow-host / allowHosts(): only the hosts a policy allows, through proxies of ours outside the
// sandbox, as root and as the unprivileged user, through the CLI and the library. Local addresses
// only: a server of the test's own on the host's 127.0.0.1, and names from a hosts file the test
// controls (BUN_SANDBOX_PROXY_HOSTS). Controls: the same request without a policy has no route.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn, type Subprocess } from "bun";
import { writeFileSync } from "node:fs";
import { asWho, BIN, BUN, envFor, ROOT, run, sandbox, tempDir, WHO, type TempDir } from "../support/run.ts";
import { killAll, pidsWith, until } from "../support/procs.ts";
import { REFUSALS, runRefused } from "../support/refusals.ts";

let server: Subprocess<"pipe", "pipe", "inherit">;
let port = 0;
let hostsDir: TempDir;
let HOSTS = "";
const PROXY = `${ROOT}/dist/proxy.cjs`;
const ro = ["--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev"];

beforeAll(async () => {
  server = spawn([BUN, `${ROOT}/test/fixtures/http-server.ts`], { stdin: "pipe", stdout: "pipe" });
  const { value } = await server.stdout.getReader().read();
  port = Number(new TextDecoder().decode(value).trim());
  hostsDir = tempDir("root");
  HOSTS = `${hostsDir.path}/hosts`;
  writeFileSync(HOSTS, "127.0.0.1 loop.test.internal\n");
});
afterAll(() => {
  server.kill();
  hostsDir.cleanup();
});

/**
 * A client that connects to the HTTP proxy and stalls, one that sends garbage (and reads the
 * answer), then 50 requests at once. The proxy's port is read from HTTP_PROXY (3128 in a network
 * namespace, the kernel's pick under landlock).
 */
const stallScript = () =>
  'p=${HTTP_PROXY##*:}; (exec 3<>/dev/tcp/127.0.0.1/$p; sleep 3) & sleep 0.2; ' +
  "exec 4<>/dev/tcp/127.0.0.1/$p; printf 'garbage\\r\\n\\r\\n' >&4; head -1 <&4; " +
  `for i in $(seq 50); do curl -s -m 20 http://127.0.0.1:${port}/$i & done; wait`;

function expectStallOutcome(stdout: string): void {
  const lines = stdout.trim().split("\n");
  expect(lines[0]).toBe("HTTP/1.1 400 Bad Request\r");
  expect(lines.slice(1).sort()).toEqual(Array.from({ length: 50 }, (_, i) => `hello /${i + 1}`).sort());
}

describe.each(WHO)("the CLI as %s", (who) => {
  const net = (args: string[], script: string) => sandbox(who, [...ro, ...args, "--", "bash", "-c", script], { env: { BUN_SANDBOX_PROXY_HOSTS: HOSTS }, timeout: 30_000 });

  test("an allowed target through the HTTP proxy, CONNECT and SOCKS5; another port refused with the reason; no direct route (control: no policy, no route at all)", () => {
    const r = net(["--allow-host", `127.0.0.1:${port}`, "--debug"],
      `curl -s -m 10 http://127.0.0.1:${port}/a; curl -s -m 10 --proxytunnel http://127.0.0.1:${port}/b; curl -s -m 10 --socks5-hostname 127.0.0.1:1080 http://127.0.0.1:${port}/c; ` +
      `curl -s -m 10 http://127.0.0.1:${port + 1}/d; curl -s -m 10 --socks5-hostname 127.0.0.1:1080 http://127.0.0.1:${port + 1}/e || echo "socks refused $?"; ` +
      `curl -s -m 3 --noproxy '*' http://127.0.0.1:${port}/f || echo "direct $?"`);
    expect(r.stdout).toBe(`hello /a\nhello /b\nhello /c\nbun-sandbox: no --allow-host pattern allows 127.0.0.1:${port + 1}\nsocks refused 97\ndirect 7\n`);
    expect(r.stderr.split("\n").filter((l) => l.startsWith("sandbox: network: "))).toEqual([
      ...["a", "b", "c"].map(() => `sandbox: network: 127.0.0.1:${port} allowed: allowed by 127.0.0.1:${port}`),
      ...[1, 2].map(() => `sandbox: network: 127.0.0.1:${port + 1} refused: no --allow-host pattern allows 127.0.0.1:${port + 1}`),
    ]);
    const control = net(["--unshare-net"], `curl -s -m 3 http://127.0.0.1:${port}/a || echo "no route $?"`);
    expect(control.stdout).toBe("no route 7\n");
  });

  test("a name that resolves to loopback is refused unless a pattern names that address", () => {
    const named = net(["--allow-host", `loop.test.internal:${port}`], `curl -s -m 10 http://loop.test.internal:${port}/n`);
    expect(named.stdout).toBe(`bun-sandbox: loop.test.internal resolves to 127.0.0.1 (loopback), which only a pattern naming that address allows\n`);
    const both = net(["--allow-host", `loop.test.internal:${port}`, "--allow-host", `127.0.0.1:${port}`], `curl -s -m 10 http://loop.test.internal:${port}/n`);
    expect(both.stdout).toBe("hello /n\n");
  });

  test("a stalled client holds up nobody, a malformed request closes only its own connection, 50 at once all complete, nothing is left running", () => {
    expectStallOutcome(net(["--allow-host", `127.0.0.1:${port}`], stallScript()).stdout);
    expect(pidsWith(PROXY)).toEqual([]);
  });

  test("two sandboxes at once, each with its own policy, never see each other's", async () => {
    const other = port + 7;
    const start = (allowed: number, name: string) => spawn([...asWho(who), BIN, ...ro, "--allow-host", `127.0.0.1:${allowed}`, "--", "bash", "-c",
      `sleep 0.5; curl -s -m 10 http://127.0.0.1:${port}/${name}`], { env: envFor(who), stdout: "pipe" });
    const [a, b] = [start(port, "a"), start(other, "b")];
    const [outA, outB] = await Promise.all([new Response(a.stdout).text(), new Response(b.stdout).text()]);
    expect(outA).toBe("hello /a\n");
    expect(outB).toBe(`bun-sandbox: no --allow-host pattern allows 127.0.0.1:${port}\n`);
  });

  test("combines with --harden, directory modes and --seal", () => {
    const get = (args: string[], path: string) => sandbox(who, [...args, "--allow-host", `127.0.0.1:${port}`, "--", "curl", "-s", "-m", "10", `http://127.0.0.1:${port}/${path}`]).stdout;
    expect(get(["--harden", ...ro], "hardened")).toBe("hello /hardened\n");
    expect(get(["--read-only-dir", "/"], "dirmodes")).toBe("hello /dirmodes\n");
    expect(get(["--seal", ...ro], "sealed")).toBe("hello /sealed\n");
  });

  test("bad patterns are usage errors", () => {
    const bad = sandbox(who, [...ro, "--allow-host", "*.com", "true"]);
    expect([bad.code, bad.stderr]).toEqual([2, 'sandbox: --allow-host: "*.com": *. must be followed by a domain with a dot, such as *.example.com\n']);
  });
});

describe.each(WHO)("the library as %s", (who) => {
  test("spawn and spawnSync through the proxies; decisions reach onStatus; the environment points at them", async () => {
    const r = run(who, [BUN, `${ROOT}/test/fixtures/api-network.ts`, String(port)], { timeout: 60_000 });
    expect(r.stderr).toBe("");
    const o = JSON.parse(r.stdout);
    const expected = `hello /http\nhello /connect\nhello /socks\nbun-sandbox: no --allow-host pattern allows 127.0.0.1:1\ndirect 7\n`;
    expect([o.sync, o.async, o.env, o.seenEnv]).toEqual([expected, expected, "http://127.0.0.1:3128", "http://127.0.0.1:3128\n"]);
    const ok = { type: "network", host: "127.0.0.1", port, allowed: true, reason: `allowed by 127.0.0.1:${port}` };
    const no = { type: "network", host: "127.0.0.1", port: 1, allowed: false, reason: "no --allow-host pattern allows 127.0.0.1:1" };
    expect(o.seen).toEqual([ok, ok, ok, no, ok, ok, ok, no]);
    // The last sandbox's proxy sees it end through a pidfd: gone a moment later.
    expect(await until(() => pidsWith(PROXY).length === 0, 5000)).toBe(true);
  });
});

// Under landlock there is no network namespace: the proxies listen on the host's 127.0.0.1 on
// ports the kernel picks, and Landlock lets the command connect to those two ports only.
const NET_ATTACKS = `${ROOT}/test/fixtures/net-attacks.ts`;
const SOCKETS = `${ROOT}/test/fixtures/sockets.cjs`;
const landlock = ["--confinement", "landlock", ...ro];

/** The port a proxy variable of the sandbox's environment names. */
const portOf = (url: string): number => Number(url.trim().split(":").pop());

describe.each(WHO)("under --confinement landlock as %s", (who) => {
  const net = (args: string[], script: string) => sandbox(who, [...landlock, ...args, "--", "bash", "-c", script], { env: { BUN_SANDBOX_PROXY_HOSTS: HOSTS }, timeout: 30_000 });

  test("an allowed target through HTTP, CONNECT and SOCKS5 on the host's loopback; another port refused with the reason; no direct connection; nothing left listening", async () => {
    const r = net(["--allow-host", `127.0.0.1:${port}`, "--debug"],
      `echo "$HTTP_PROXY $ALL_PROXY"; curl -s -m 10 http://127.0.0.1:${port}/a; curl -s -m 10 --proxytunnel http://127.0.0.1:${port}/b; ` +
      `curl -s -m 10 --socks5-hostname "\${ALL_PROXY#socks5h://}" http://127.0.0.1:${port}/c; curl -s -m 10 http://127.0.0.1:${port + 1}/d; ` +
      `curl -s -m 3 --noproxy '*' http://127.0.0.1:${port}/f || echo "direct $?"`);
    const [proxies = "", ...rest] = r.stdout.split("\n");
    const [http = "", socks = ""] = proxies.split(" ");
    expect(http).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(socks).toMatch(/^socks5h:\/\/127\.0\.0\.1:\d+$/);
    expect([portOf(http), portOf(socks)]).not.toContain(3128);
    expect(rest.join("\n")).toBe(`hello /a\nhello /b\nhello /c\nbun-sandbox: no --allow-host pattern allows 127.0.0.1:${port + 1}\ndirect 7\n`);
    expect(r.stderr).toContain(`sandbox: network: proxies on the host's 127.0.0.1:${portOf(http)} (HTTP) and 127.0.0.1:${portOf(socks)} (SOCKS5); TCP connect to these ports only\n`);
    expect(r.stderr.split("\n").filter((l) => l.startsWith("sandbox: network: 127"))).toEqual([
      ...["a", "b", "c"].map(() => `sandbox: network: 127.0.0.1:${port} allowed: allowed by 127.0.0.1:${port}`),
      `sandbox: network: 127.0.0.1:${port + 1} refused: no --allow-host pattern allows 127.0.0.1:${port + 1}`,
    ]);
    expect(await until(() => pidsWith(PROXY).length === 0, 5000)).toBe(true);
    const after = run(who, ["bash", "-c", `exec 3<>/dev/tcp/127.0.0.1/${portOf(http)} || echo gone`]);
    expect(after.stdout).toBe("gone\n");
  });

  test("what Landlock does not see is refused by seccomp: UDP, SCTP, MPTCP, raw and VSOCK sockets, TCP Fast Open, a family with high bits (control: the same calls without a policy get through)", async () => {
    const server = spawn([BUN, SOCKETS, "listen-tcp"], { stdout: "pipe" });
    try {
      const { value } = await server.stdout.getReader().read();
      const target = String(Number(new TextDecoder().decode(value).trim()));
      const attacks = (args: string[]) => JSON.parse(sandbox(who, [...landlock, ...args, "--", BUN, NET_ATTACKS, target]).stdout);
      const refused = { udp: "EPERM", udpHighFamily: "EPERM", udp6: "EPERM", sctp: "EPERM", mptcp: "EPERM", raw: "EPERM", vsock: "EPERM", fastOpen: "EPERM" };
      expect(attacks(["--allow-host", "127.0.0.1:1"])).toEqual({ tcp: "EACCES", highFamily: "EACCES", ...refused });
      expect(attacks(["--unshare-net"])).toEqual({ tcp: "EPERM", highFamily: "EPERM", ...refused });
      const control = attacks([]);
      expect([control.tcp, control.highFamily, control.fastOpen, control.udp, control.udpHighFamily, control.udp6]).toEqual(["ok", "ok", "ok", "ok", "ok", "ok"]);
      // These may fail on their own (no SCTP module, no vsock, no CAP_NET_RAW as the user), but never with our EPERM.
      for (const k of ["sctp", "mptcp", "vsock", ...(who === "root" ? ["raw"] : [])]) expect({ k, v: control[k] }).not.toEqual({ k, v: "EPERM" });
    } finally {
      killAll([server.pid]);
    }
  });

  test("a stalled client holds up nobody, a malformed request closes only its own connection, 50 at once all complete", () => {
    expectStallOutcome(net(["--allow-host", `127.0.0.1:${port}`], stallScript()).stdout);
  });

  test("combines with --harden and directory modes", () => {
    const get = (args: string[], path: string) =>
      sandbox(who, ["--confinement", "landlock", ...args, "--allow-host", `127.0.0.1:${port}`, "--", "curl", "-s", "-m", "10", `http://127.0.0.1:${port}/${path}`]).stdout;
    expect(get(["--harden", ...ro], "hardened")).toBe("hello /hardened\n");
    expect(get(["--read-only-dir", "/"], "dirmodes")).toBe("hello /dirmodes\n");
  });

  test("two sandboxes at once: one cannot reach the other's proxies (control: its own answer)", async () => {
    const a = spawn([...asWho(who), BIN, ...landlock, "--allow-host", `127.0.0.1:${port}`, "--", "bash", "-c", 'echo "$HTTP_PROXY"; sleep 5'], { env: envFor(who), stdout: "pipe" });
    try {
      const { value } = await a.stdout.getReader().read();
      const other = new TextDecoder().decode(value).trim();
      const b = net(["--allow-host", `127.0.0.1:${port}`],
        `curl -s -m 5 -x ${other} http://127.0.0.1:${port}/via-other || echo "other $?"; curl -s -m 5 http://127.0.0.1:${port}/own`);
      expect(b.stdout).toBe("other 7\nhello /own\n");
    } finally {
      killAll([a.pid]);
    }
  });

  test.each(REFUSALS)("where namespaces are refused (%s), auto takes landlock and the policy holds", (refusal) => {
    const r = runRefused(refusal, who, [BIN, ...(who === "root" ? ["--seal"] : []), "--confinement", "auto", "--debug", ...ro, "--allow-host", `127.0.0.1:${port}`, "--", "bash", "-c",
      `curl -s -m 10 http://127.0.0.1:${port}/auto; curl -s -m 10 http://127.0.0.1:${port + 1}/other; curl -s -m 3 --noproxy '*' http://127.0.0.1:${port}/direct || echo "direct $?"`]);
    expect(r.stderr).toContain("sandbox: confinement: landlock (ABI ");
    expect(r.stdout).toBe(`hello /auto\nbun-sandbox: no --allow-host pattern allows 127.0.0.1:${port + 1}\ndirect 7\n`);
  });

  test("the library: spawn and spawnSync through the host's proxies; decisions reach onStatus; the environment names their ports", () => {
    const r = run(who, [BUN, `${ROOT}/test/fixtures/api-network.ts`, String(port), "landlock"], { timeout: 60_000 });
    expect(r.stderr).toBe("");
    const o = JSON.parse(r.stdout);
    const expected = `hello /http\nhello /connect\nhello /socks\nbun-sandbox: no --allow-host pattern allows 127.0.0.1:1\ndirect 7\n`;
    expect([o.sync, o.async, o.env]).toEqual([expected, expected, "http://127.0.0.1:3128"]);
    expect(o.seenEnv).toMatch(/^http:\/\/127\.0\.0\.1:\d+\n$/);
    expect(portOf(o.seenEnv)).not.toBe(3128);
    const ok = { type: "network", host: "127.0.0.1", port, allowed: true, reason: `allowed by 127.0.0.1:${port}` };
    const no = { type: "network", host: "127.0.0.1", port: 1, allowed: false, reason: "no --allow-host pattern allows 127.0.0.1:1" };
    expect(o.seen).toEqual([ok, ok, ok, no, ok, ok, ok, no]);
  });
});
