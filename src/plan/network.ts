// The network policy of a sandbox as pure data: host patterns (--allow-host, allowHosts()), the
// address classes a proxy refuses unless a pattern names the address itself, and the decision
// for one connection, and the environment that points the command's tools at the proxies. No
// sockets here: src/stage/proxy.ts and src/proxy/server.ts apply it.

/** One allowed target: a host name, `*.domain` (subdomains only) or an IP literal, with ports. */
export interface HostPattern {
  kind: "name" | "subdomains" | "ipv4" | "ipv6";
  /** Lower case; for "subdomains" the domain after `*.`; IPv6 without brackets. */
  host: string;
  ports: number[];
  /** As given, for reports. */
  text: string;
}

/** Without a port a pattern means the web's two. */
export const DEFAULT_PORTS = [80, 443];

const OCTET = "(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const V4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);
const HEX = /^[0-9a-f]{1,4}$/i;

/** The 16-bit groups an IPv6 literal spells (a dotted IPv4 tail counts two), or null when one is malformed. */
function groupCount(part: string, last: boolean): number | null {
  if (part === "") return 0;
  const groups = part.split(":");
  const tail = last && groups.at(-1)!.includes(".") ? groups.pop()! : null;
  if (tail !== null && !V4.test(tail)) return null;
  return groups.every((g) => HEX.test(g)) ? groups.length + (tail === null ? 0 : 2) : null;
}

/**
 * 4 or 6 when `text` is an IPv4 (dotted quad, no leading zeros) or IPv6 literal (an optional
 * %zone), else 0: what node:net's isIP says, without loading node:net, which costs the CLI's
 * start-up 5 ms.
 */
export function ipVersion(text: string): 0 | 4 | 6 {
  if (V4.test(text)) return 4;
  const addr = text.replace(/%[0-9a-zA-Z.:-]+$/, "");
  const halves = addr.split("::");
  if (halves.length > 2) return 0;
  if (halves.length === 1) return groupCount(addr, true) === 8 ? 6 : 0;
  const [a, b] = [groupCount(halves[0]!, false), groupCount(halves[1]!, true)];
  return a !== null && b !== null && a + b <= 7 ? 6 : 0;
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

function validName(name: string): boolean {
  return name.length <= 253 && name.split(".").every((l) => LABEL.test(l));
}

function parsePort(text: string, pattern: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) throw new Error(`"${pattern}": the port must be 1..65535`);
  return Number(text);
}

/** Host and port parts: `[v6]:port`, `v6` (no port: it has colons), `host:port`, `host`. */
function split(text: string): { host: string; port: string | null } {
  const bracket = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracket) return { host: bracket[1]!, port: bracket[2] ?? null };
  if (text.split(":").length > 2) return { host: text, port: null };
  const i = text.lastIndexOf(":");
  return i < 0 ? { host: text, port: null } : { host: text.slice(0, i), port: text.slice(i + 1) };
}

/** A pattern from its text; throws one line naming the pattern and what is wrong. */
export function parseHostPattern(text: string): HostPattern {
  const { host: raw, port } = split(text.trim());
  const host = raw.toLowerCase().replace(/\.$/, "");
  const ports = port === null ? [...DEFAULT_PORTS] : [parsePort(port, text)];
  if (ipVersion(host) === 4) return { kind: "ipv4", host, ports, text };
  if (ipVersion(host) === 6) return { kind: "ipv6", host, ports, text };
  if (host.startsWith("*.")) {
    const domain = host.slice(2);
    if (!domain.includes(".") || !validName(domain)) throw new Error(`"${text}": *. must be followed by a domain with a dot, such as *.example.com`);
    return { kind: "subdomains", host: domain, ports, text };
  }
  if (host === "" || host.includes("*") || !validName(host)) throw new Error(`"${text}": not a host name, *.domain or IP address (with an optional :port)`);
  return { kind: "name", host, ports, text };
}

/** The first pattern that allows `host:port` (a name, or an address literal), or null. */
export function matchPattern(patterns: readonly HostPattern[], host: string, port: number): HostPattern | null {
  const h = host.toLowerCase().replace(/\.$/, "").replace(/^\[(.*)\]$/, "$1");
  for (const p of patterns) {
    if (!p.ports.includes(port)) continue;
    if (p.kind === "subdomains" ? h.endsWith(`.${p.host}`) : h === p.host) return p;
  }
  return null;
}

export type AddressClass = "public" | "loopback" | "link-local" | "private" | "unique-local" | "unspecified" | "multicast" | "reserved";

function v4(ip: string): number[] {
  return ip.split(".").map(Number);
}

function classifyV4([a, b]: number[]): AddressClass {
  if (a === 127) return "loopback";
  if (a === 0) return "unspecified";
  if (a === 169 && b === 254) return "link-local";
  if (a === 10 || (a === 172 && b! >= 16 && b! <= 31) || (a === 192 && b === 168) || (a === 100 && b! >= 64 && b! <= 127)) return "private";
  if (a! >= 224 && a! <= 239) return "multicast";
  if (a! >= 240) return "reserved";
  return "public";
}

/** The 8 16-bit groups of an IPv6 address (:: expanded, a dotted IPv4 tail folded in). */
function groups6(ip: string): number[] {
  let text = ip;
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail) {
    const [a, b, c, d] = v4(tail[1]!);
    text = text.slice(0, tail.index) + `${((a! << 8) | b!).toString(16)}:${((c! << 8) | d!).toString(16)}`;
  }
  const [head, rest] = text.split("::") as [string, string | undefined];
  const h = head ? head.split(":") : [];
  const r = rest ? rest.split(":") : [];
  const fill = rest === undefined ? [] : Array(8 - h.length - r.length).fill("0");
  return [...h, ...fill, ...r].map((g) => parseInt(g, 16));
}

function classifyV6(ip: string): AddressClass {
  const g = groups6(ip);
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return classifyV4([g[6]! >> 8, g[6]! & 0xff]); // ::ffff:a.b.c.d
  if (g.every((x) => x === 0)) return "unspecified";
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return "loopback";
  if ((g[0]! & 0xffc0) === 0xfe80) return "link-local";
  if ((g[0]! & 0xfe00) === 0xfc00) return "unique-local";
  if ((g[0]! & 0xff00) === 0xff00) return "multicast";
  return "public";
}

/** Which class an address literal is in; null when it is not one. */
export function classifyAddress(ip: string): AddressClass | null {
  const kind = ipVersion(ip);
  return kind === 4 ? classifyV4(v4(ip)) : kind === 6 ? classifyV6(ip) : null;
}

export interface Decision {
  allowed: boolean;
  /** One line: the pattern that allowed it, or why not. */
  reason: string;
  /** The addresses the proxy may connect to (empty when refused). */
  addresses: string[];
}

/**
 * The decision for a request to `host:port` whose name resolved (on the host) to `resolved`;
 * `own` are the host's own addresses. Allowed when a pattern allows the name or literal, and the
 * addresses it leads to are public, unless a pattern names such an address literally.
 */
export function decide(patterns: readonly HostPattern[], host: string, port: number, resolved: readonly string[], own: readonly string[] = []): Decision {
  const p = matchPattern(patterns, host, port);
  if (!p) return { allowed: false, reason: `no --allow-host pattern allows ${host}:${port}`, addresses: [] };
  const literal = (a: string) => patterns.some((q) => (q.kind === "ipv4" || q.kind === "ipv6") && q.host === a && q.ports.includes(port));
  const ok: string[] = [];
  const refused: string[] = [];
  for (const a of resolved) {
    const cls = classifyAddress(a) ?? "reserved";
    const mine = own.includes(a);
    if ((cls === "public" && !mine) || literal(a)) ok.push(a);
    else refused.push(`${a} (${cls !== "public" ? cls : "this host's own address"})`);
  }
  if (resolved.length === 0) return { allowed: false, reason: `${host} does not resolve`, addresses: [] };
  if (ok.length === 0) return { allowed: false, reason: `${host} resolves to ${refused.join(", ")}, which only a pattern naming that address allows`, addresses: [] };
  return { allowed: true, reason: `allowed by ${p.text}`, addresses: ok };
}

export interface ProxyPorts {
  http: number;
  socks: number;
}

/** The proxies' ports on 127.0.0.1 in the sandbox's own network namespace (under landlock: the host's, chosen by the kernel). */
export const PROXY_PORTS: Readonly<ProxyPorts> = { http: 3128, socks: 1080 };

/**
 * The variables that point common tools at the proxies: the HTTP ones (curl, git, pip, Bun, most
 * HTTP clients; both cases), ALL_PROXY for SOCKS (curl, git), npm's and yarn's own names.
 */
export function proxyEnv(ports: Readonly<ProxyPorts> = PROXY_PORTS): Record<string, string> {
  const http = `http://127.0.0.1:${ports.http}`;
  const socks = `socks5h://127.0.0.1:${ports.socks}`;
  const env: Record<string, string> = {};
  for (const k of ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"]) env[k] = http;
  // Empty, so no target goes direct (there is no route): 127.0.0.1 in the sandbox is its own
  // loopback, and a caller's NO_PROXY would only make those hosts fail.
  for (const k of ["NO_PROXY", "no_proxy"]) env[k] = "";
  for (const k of ["ALL_PROXY", "all_proxy"]) env[k] = socks;
  Object.assign(env, {
    npm_config_proxy: http, npm_config_https_proxy: http, YARN_HTTP_PROXY: http, YARN_HTTPS_PROXY: http,
    PIP_PROXY: http,
  });
  return env;
}

/**
 * `env` with the proxy variables that still hold proxyEnv()'s defaults pointed at `ports`
 * instead; a value the caller set (--setenv HTTP_PROXY ...) stays.
 */
export function retargetProxyEnv(env: Readonly<Record<string, string>>, ports: Readonly<ProxyPorts>): Record<string, string> {
  const defaults = proxyEnv();
  const wanted = proxyEnv(ports);
  const out = { ...env };
  for (const [k, v] of Object.entries(defaults)) if (out[k] === v) out[k] = wanted[k]!;
  return out;
}
