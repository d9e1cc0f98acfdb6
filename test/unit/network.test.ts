// The network policy's pure parts: host patterns, address classes, the decision for one request.
import { describe, expect, test } from "bun:test";
import { isIP } from "node:net";
import { classifyAddress, decide, ipVersion, matchPattern, parseHostPattern, proxyEnv, retargetProxyEnv, type AddressClass } from "../../src/plan/network.ts";
import { prng } from "../support/prng.ts";

const patterns = (...t: string[]) => t.map(parseHostPattern);

describe("parseHostPattern", () => {
  test("names, *.domain, IPv4 and IPv6 literals, with an optional port; without one 80 and 443", () => {
    expect(parseHostPattern("Registry.NPMjs.org")).toMatchObject({ kind: "name", host: "registry.npmjs.org", ports: [80, 443] });
    expect(parseHostPattern("*.example.com:8443")).toMatchObject({ kind: "subdomains", host: "example.com", ports: [8443] });
    expect(parseHostPattern("127.0.0.1:3000")).toMatchObject({ kind: "ipv4", host: "127.0.0.1", ports: [3000] });
    expect(parseHostPattern("[::1]:8080")).toMatchObject({ kind: "ipv6", host: "::1", ports: [8080] });
    expect(parseHostPattern("fd00::5")).toMatchObject({ kind: "ipv6", host: "fd00::5", ports: [80, 443] });
    expect(parseHostPattern("example.com.")).toMatchObject({ kind: "name", host: "example.com" });
  });

  test("malformed patterns are one line naming them", () => {
    for (const [text, why] of [
      ["", "not a host name"], ["exa mple.com", "not a host name"], ["*.com", "*. must be followed by a domain with a dot"],
      ["a.*.com", "not a host name"], ["-bad.com", "not a host name"], ["x.com:0", "the port must be 1..65535"],
      ["x.com:70000", "the port must be 1..65535"], ["x.com:http", "the port must be 1..65535"], ["[::1]:", "the port must be 1..65535"],
      [`${"a".repeat(64)}.com`, "not a host name"],
    ]) {
      expect(() => parseHostPattern(text!)).toThrow(why!);
    }
  });
});

describe("matchPattern", () => {
  const p = patterns("registry.npmjs.org", "*.example.com:8443", "127.0.0.1:3000", "[::1]:8080");
  test("a name matches itself only; *.domain its subdomains only, not the domain; ports must match", () => {
    expect(matchPattern(p, "registry.npmjs.org", 443)?.text).toBe("registry.npmjs.org");
    expect(matchPattern(p, "REGISTRY.npmjs.org.", 80)?.text).toBe("registry.npmjs.org");
    expect(matchPattern(p, "registry.npmjs.org", 8080)).toBeNull();
    expect(matchPattern(p, "evil-registry.npmjs.org", 443)).toBeNull();
    expect(matchPattern(p, "a.b.example.com", 8443)?.text).toBe("*.example.com:8443");
    expect(matchPattern(p, "example.com", 8443)).toBeNull();
    expect(matchPattern(p, "notexample.com", 8443)).toBeNull();
    expect(matchPattern(p, "127.0.0.1", 3000)?.text).toBe("127.0.0.1:3000");
    expect(matchPattern(p, "[::1]", 8080)?.text).toBe("[::1]:8080");
  });
});

describe("classifyAddress", () => {
  test("the classes a proxy refuses, IPv4 and IPv6, mapped addresses included", () => {
    const cases: [string, AddressClass | null][] = [
      ["8.8.8.8", "public"], ["127.0.0.1", "loopback"], ["127.9.9.9", "loopback"], ["169.254.169.254", "link-local"],
      ["10.1.2.3", "private"], ["172.16.0.1", "private"], ["172.32.0.1", "public"], ["192.168.1.1", "private"], ["100.64.0.1", "private"],
      ["0.0.0.0", "unspecified"], ["224.0.0.1", "multicast"], ["255.255.255.255", "reserved"],
      ["::1", "loopback"], ["::", "unspecified"], ["fe80::1", "link-local"], ["fd12:3456::1", "unique-local"], ["fc00::1", "unique-local"],
      ["ff02::1", "multicast"], ["2001:db8::1", "public"], ["::ffff:127.0.0.1", "loopback"], ["::ffff:169.254.169.254", "link-local"],
      ["example.com", null], ["1.2.3", null],
    ];
    for (const [ip, cls] of cases) expect({ ip, cls: classifyAddress(ip) }).toEqual({ ip, cls });
  });
});

describe("decide", () => {
  const p = patterns("registry.npmjs.org", "127.0.0.1:3000", "db.internal:5432");
  test("allowed by a pattern, to its public addresses", () => {
    expect(decide(p, "registry.npmjs.org", 443, ["104.16.0.1", "10.0.0.1"])).toEqual({ allowed: true, reason: "allowed by registry.npmjs.org", addresses: ["104.16.0.1"] });
  });
  test("no pattern, another port, a name resolving to loopback, link-local or the host's own address: refused with the reason", () => {
    expect(decide(p, "evil.com", 443, ["1.2.3.4"]).reason).toBe("no --allow-host pattern allows evil.com:443");
    expect(decide(p, "registry.npmjs.org", 22, ["104.16.0.1"]).reason).toBe("no --allow-host pattern allows registry.npmjs.org:22");
    expect(decide(p, "db.internal", 5432, ["127.0.0.1"])).toEqual({
      allowed: false, reason: "db.internal resolves to 127.0.0.1 (loopback), which only a pattern naming that address allows", addresses: [],
    });
    expect(decide(p, "registry.npmjs.org", 80, ["169.254.169.254"]).reason).toContain("169.254.169.254 (link-local)");
    expect(decide(p, "registry.npmjs.org", 80, ["203.0.113.9"], ["203.0.113.9"]).reason).toContain("203.0.113.9 (this host's own address)");
    expect(decide(p, "registry.npmjs.org", 80, []).reason).toBe("registry.npmjs.org does not resolve");
  });
  test("a pattern naming the address literally allows it", () => {
    expect(decide(p, "127.0.0.1", 3000, ["127.0.0.1"])).toEqual({ allowed: true, reason: "allowed by 127.0.0.1:3000", addresses: ["127.0.0.1"] });
    expect(decide(patterns("db.internal:5432", "127.0.0.1:5432"), "db.internal", 5432, ["127.0.0.1"]).allowed).toBe(true);
  });
});

test("the proxy variables: HTTP ones in both cases, SOCKS as socks5h, npm's, yarn's and pip's, NO_PROXY empty", () => {
  const env = proxyEnv();
  for (const k of ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "npm_config_proxy", "npm_config_https_proxy", "YARN_HTTP_PROXY", "YARN_HTTPS_PROXY", "PIP_PROXY"]) {
    expect({ k, v: env[k] }).toEqual({ k, v: "http://127.0.0.1:3128" });
  }
  expect([env.ALL_PROXY, env.all_proxy, env.NO_PROXY, env.no_proxy]).toEqual(["socks5h://127.0.0.1:1080", "socks5h://127.0.0.1:1080", "", ""]);
});

describe("ipVersion", () => {
  // node:net's isIP is the reference; the CLI does not load node:net (5 ms of start-up).
  const cases = [
    "127.0.0.1", "0.0.0.0", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3", "1.2.3.4.5", "1.2.3.4 ", " 1.2.3.4", "1..2.3", "a.b.c.d", "",
    "::", "::1", "1::", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "1:::2", ":1", "1:", "1::2::3",
    "::ffff:1.2.3.4", "::ffff:1.2.3.256", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4", "1.2.3.4::", "fe80::1%eth0", "fe80::1%", "12345::", "g::1",
    "FE80::ABCD", "[::1]", "::1:", "localhost", "example.com",
  ];
  test("agrees with node:net's isIP on literals, near misses and names", () => {
    for (const c of cases) expect({ c, v: ipVersion(c) }).toEqual({ c, v: isIP(c) as 0 | 4 | 6 });
  });
  test("agrees with isIP on random strings of address characters (seeded)", () => {
    const rnd = prng(20261204);
    const chars = "0123456789abcdef:.%";
    for (let i = 0; i < 20000; i++) {
      const c = Array.from({ length: 1 + Math.floor(rnd() * 20) }, () => chars[Math.floor(rnd() * chars.length)]).join("");
      expect({ c, v: ipVersion(c) }).toEqual({ c, v: isIP(c) as 0 | 4 | 6 });
    }
    // Near-valid ones: groups, "::" and IPv4 tails put together at random.
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const parts = ["0", "1", "ff", "ffff", "12345", "g", "", "1.2.3.4", "300.1.1.1", "01.1.1.1"];
    for (let i = 0; i < 20000; i++) {
      const n = 1 + Math.floor(rnd() * 9);
      const c = Array.from({ length: n }, () => pick(parts)).reduce((acc, p) => acc + pick([":", ":", "::", "."]) + p) + pick(["", "", "%eth0", "%"]);
      expect({ c, v: ipVersion(c) }).toEqual({ c, v: isIP(c) as 0 | 4 | 6 });
    }
  });
});

describe("retargetProxyEnv", () => {
  test("the defaults point at the given ports; a value the caller set stays", () => {
    const env = { ...proxyEnv(), HTTP_PROXY: "http://mine:1", PATH: "/bin" };
    const out = retargetProxyEnv(env, { http: 4000, socks: 5000 });
    expect([out.HTTP_PROXY, out.https_proxy, out.ALL_PROXY, out.npm_config_proxy, out.NO_PROXY, out.PATH]).toEqual(["http://mine:1", "http://127.0.0.1:4000", "socks5h://127.0.0.1:5000", "http://127.0.0.1:4000", "", "/bin"]);
  });
});
