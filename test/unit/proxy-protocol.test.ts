// Parsing what a command sends the proxies: SOCKS5 greetings and requests, HTTP proxy request
// heads; partial input asks for more, malformed input is a reason, never an exception.
import { describe, expect, test } from "bun:test";
import { httpRefusal, MAX_HEAD, parseHttpProxyRequest, parseSocksGreeting, parseSocksRequest, socksReply } from "../../src/plan/proxy-protocol.ts";
import { prng } from "../support/prng.ts";

const bytes = (...b: number[]) => Uint8Array.from(b);
const ascii = (s: string) => new TextEncoder().encode(s);

describe("SOCKS5", () => {
  test("greeting: version 5, no-auth offered or not, partial input", () => {
    expect(parseSocksGreeting(bytes(5, 2, 2, 0))).toEqual({ kind: "ok", value: { noAuth: true }, used: 4 });
    expect(parseSocksGreeting(bytes(5, 1, 2))).toEqual({ kind: "ok", value: { noAuth: false }, used: 3 });
    expect(parseSocksGreeting(bytes(5, 2, 0))).toEqual({ kind: "more" });
    expect(parseSocksGreeting(bytes(4, 1, 0))).toEqual({ kind: "bad", reason: "not SOCKS5 (version byte 4)" });
    expect(parseSocksGreeting(bytes(5, 0))).toEqual({ kind: "bad", reason: "a SOCKS5 greeting without methods" });
  });

  test("CONNECT requests in the domain, IPv4 and IPv6 forms", () => {
    const name = ascii("registry.npmjs.org");
    expect(parseSocksRequest(bytes(5, 1, 0, 3, name.length, ...name, 1, 187))).toEqual({ kind: "ok", value: { host: "registry.npmjs.org", port: 443, form: "domain" }, used: 7 + name.length });
    expect(parseSocksRequest(bytes(5, 1, 0, 1, 127, 0, 0, 1, 0x0b, 0xb8))).toEqual({ kind: "ok", value: { host: "127.0.0.1", port: 3000, form: "ipv4" }, used: 10 });
    expect(parseSocksRequest(bytes(5, 1, 0, 4, ...Array(15).fill(0), 1, 0, 80))).toMatchObject({ kind: "ok", value: { host: "::1", port: 80, form: "ipv6" } });
  });

  test("malformed requests: other commands, unknown address types, bad names; partial input asks for more", () => {
    expect(parseSocksRequest(bytes(5, 2, 0, 1, 1, 2, 3, 4, 0, 80))).toEqual({ kind: "bad", reason: "SOCKS5 command 2 is not CONNECT" });
    expect(parseSocksRequest(bytes(5, 1, 0, 9))).toEqual({ kind: "bad", reason: "SOCKS5 address type 9 is unknown" });
    expect(parseSocksRequest(bytes(5, 1, 1, 1))).toEqual({ kind: "bad", reason: "SOCKS5 reserved byte is not 0" });
    expect(parseSocksRequest(bytes(5, 1, 0, 3, 0, 0, 80))).toEqual({ kind: "bad", reason: "an empty SOCKS5 domain name" });
    expect(parseSocksRequest(bytes(5, 1, 0, 3, 3, 0x61, 0x0a, 0x62, 0, 80)).kind).toBe("bad");
    expect(parseSocksRequest(bytes(5, 1, 0, 3, 10, 0x61))).toEqual({ kind: "more" });
    expect(parseSocksRequest(bytes(5, 1, 0, 1, 127))).toEqual({ kind: "more" });
    expect(socksReply(2)).toEqual(bytes(5, 2, 0, 1, 0, 0, 0, 0, 0, 0));
  });

  test("random bytes never throw", () => {
    const rng = prng(7);
    for (let i = 0; i < 5000; i++) {
      const b = Uint8Array.from({ length: Math.floor(rng() * 40) }, () => Math.floor(rng() * 256));
      if (rng() < 0.5) b[0] = 5;
      expect(["ok", "more", "bad"]).toContain(parseSocksRequest(b).kind);
      expect(["ok", "more", "bad"]).toContain(parseSocksGreeting(b).kind);
    }
  });
});

describe("HTTP proxy requests", () => {
  test("CONNECT host:port and absolute URIs; the rest of the head is kept", () => {
    const head = "CONNECT registry.npmjs.org:443 HTTP/1.1\r\nHost: registry.npmjs.org:443\r\n\r\n";
    expect(parseHttpProxyRequest(ascii(`${head}tunnel bytes`))).toEqual({
      kind: "ok", value: { method: "CONNECT", host: "registry.npmjs.org", port: 443, path: "", headers: ["Host: registry.npmjs.org:443"] }, used: head.length,
    });
    expect(parseHttpProxyRequest(ascii("GET http://127.0.0.1:3000/a?b=1 HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\nbody"))).toMatchObject({
      kind: "ok", value: { method: "GET", host: "127.0.0.1", port: 3000, path: "/a?b=1", headers: ["Host: x", "Accept: */*"] },
    });
    expect(parseHttpProxyRequest(ascii("GET http://example.com HTTP/1.0\r\n\r\n"))).toMatchObject({ value: { host: "example.com", port: 80, path: "/" } });
    expect(parseHttpProxyRequest(ascii("CONNECT [::1]:8080 HTTP/1.1\r\n\r\n"))).toMatchObject({ value: { host: "::1", port: 8080 } });
  });

  test("malformed heads are refused with a reason; a partial one asks for more; an endless one is refused", () => {
    expect(parseHttpProxyRequest(ascii("GET http://x/ HTTP/1.1\r\nHost: x\r\n"))).toEqual({ kind: "more" });
    expect(parseHttpProxyRequest(ascii("GET /relative HTTP/1.1\r\n\r\n"))).toEqual({ kind: "bad", reason: "a proxy request needs an absolute http:// URI (https goes through CONNECT)" });
    expect(parseHttpProxyRequest(ascii("CONNECT example.com HTTP/1.1\r\n\r\n"))).toEqual({ kind: "bad", reason: "CONNECT needs host:port" });
    expect(parseHttpProxyRequest(ascii("CONNECT example.com:99999 HTTP/1.1\r\n\r\n"))).toEqual({ kind: "bad", reason: "CONNECT needs host:port" });
    expect(parseHttpProxyRequest(ascii("hello\r\n\r\n"))).toEqual({ kind: "bad", reason: "not an HTTP/1.x request line" });
    expect(parseHttpProxyRequest(ascii("GET http://x/ HTTP/1.1\r\nno colon here\r\n\r\n"))).toEqual({ kind: "bad", reason: "a malformed header line" });
    expect(parseHttpProxyRequest(ascii("GET http://a b/ HTTP/1.1\r\n\r\n")).kind).toBe("bad");
    expect(parseHttpProxyRequest(ascii(`GET http://x/ HTTP/1.1\r\nX: ${"a".repeat(MAX_HEAD)}`))).toEqual({ kind: "bad", reason: `a request head longer than ${MAX_HEAD} bytes` });
  });

  test("the refusal: 403 with the reason as its body", () => {
    expect(httpRefusal("no --allow-host pattern allows evil.com:443")).toBe(
      "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 57\r\nConnection: close\r\n\r\nbun-sandbox: no --allow-host pattern allows evil.com:443\n",
    );
  });
});
