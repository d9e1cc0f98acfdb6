// What a command asks the network proxies for, parsed from the bytes it sent: a SOCKS5 greeting
// and CONNECT request (RFC 1928), or an HTTP proxy request (an absolute URI, or CONNECT
// host:port). Pure and defensive: the command is not trusted, so every malformed request is a
// "bad" result with a reason, never an exception; "more" asks for more bytes.

export type Parsed<T> = { kind: "ok"; value: T; used: number } | { kind: "more" } | { kind: "bad"; reason: string };

const more = { kind: "more" } as const;
const bad = (reason: string) => ({ kind: "bad", reason }) as const;

/** SOCKS5 replies (RFC 1928 section 6). */
export const SOCKS_REPLY = { SUCCEEDED: 0, FAILURE: 1, NOT_ALLOWED: 2, NETWORK_UNREACHABLE: 3, HOST_UNREACHABLE: 4, REFUSED: 5, COMMAND_NOT_SUPPORTED: 7, ADDRESS_NOT_SUPPORTED: 8 } as const;

/** The greeting: version 5 and the methods offered; only "no authentication" (0) is accepted. */
export function parseSocksGreeting(b: Uint8Array): Parsed<{ noAuth: boolean }> {
  if (b.length < 2) return more;
  if (b[0] !== 5) return bad(`not SOCKS5 (version byte ${b[0]})`);
  const n = b[1]!;
  if (n === 0) return bad("a SOCKS5 greeting without methods");
  if (b.length < 2 + n) return more;
  return { kind: "ok", value: { noAuth: b.subarray(2, 2 + n).includes(0) }, used: 2 + n };
}

export interface SocksTarget {
  host: string;
  port: number;
  /** How the command named the target: a domain name (socks5h) or an address. */
  form: "domain" | "ipv4" | "ipv6";
}

function ipv6Text(b: Uint8Array): string {
  const g: string[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  return g.join(":").replace(/(^|:)0(:0)+(:|$)/, "::").replace(/:{3,}/, "::");
}

/** A SOCKS5 request; only CONNECT. */
export function parseSocksRequest(b: Uint8Array): Parsed<SocksTarget> {
  if (b.length < 4) return more;
  if (b[0] !== 5) return bad(`not SOCKS5 (version byte ${b[0]})`);
  if (b[1] !== 1) return bad(`SOCKS5 command ${b[1]} is not CONNECT`);
  if (b[2] !== 0) return bad("SOCKS5 reserved byte is not 0");
  const port = (end: number) => (b[end]! << 8) | b[end + 1]!;
  switch (b[3]) {
    case 1:
      if (b.length < 10) return more;
      return { kind: "ok", value: { host: [...b.subarray(4, 8)].join("."), port: port(8), form: "ipv4" }, used: 10 };
    case 3: {
      if (b.length < 5) return more;
      const n = b[4]!;
      if (n === 0) return bad("an empty SOCKS5 domain name");
      if (b.length < 7 + n) return more;
      const host = new TextDecoder("latin1").decode(b.subarray(5, 5 + n));
      if (!/^[A-Za-z0-9.-]+$/.test(host)) return bad("a SOCKS5 domain name with characters a host name cannot have");
      return { kind: "ok", value: { host, port: port(5 + n), form: "domain" }, used: 7 + n };
    }
    case 4:
      if (b.length < 22) return more;
      return { kind: "ok", value: { host: ipv6Text(b.subarray(4, 20)), port: port(20), form: "ipv6" }, used: 22 };
    default:
      return bad(`SOCKS5 address type ${b[3]} is unknown`);
  }
}

/** A SOCKS5 reply with an all-zero IPv4 bound address. */
export function socksReply(code: number): Uint8Array {
  return Uint8Array.of(5, code, 0, 1, 0, 0, 0, 0, 0, 0);
}

export interface HttpProxyRequest {
  /** CONNECT host:port (a tunnel), or a request for an absolute http:// URI. */
  method: string;
  host: string;
  port: number;
  /** For a forwarded request: the path and query to send upstream. */
  path: string;
  /** The header block as received (without the request line), for forwarding. */
  headers: string[];
}

/** Longest request head accepted (request line and headers). */
export const MAX_HEAD = 32 * 1024;

function hostPort(authority: string, dflt: number): { host: string; port: number } | null {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(authority);
  if (!m) return null;
  const port = m[2] === undefined ? dflt : Number(m[2]);
  if (port < 1 || port > 65535) return null;
  return { host: m[1]!.replace(/^\[(.*)\]$/, "$1"), port };
}

/** An HTTP proxy request head: `CONNECT host:port HTTP/1.1`, or `GET http://host[:port]/path HTTP/1.1`. */
export function parseHttpProxyRequest(b: Uint8Array): Parsed<HttpProxyRequest> {
  const text = new TextDecoder("latin1").decode(b.subarray(0, Math.min(b.length, MAX_HEAD + 4)));
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) return b.length > MAX_HEAD ? bad(`a request head longer than ${MAX_HEAD} bytes`) : more;
  const [line = "", ...headers] = text.slice(0, end).split("\r\n");
  const m = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(line);
  if (!m) return bad("not an HTTP/1.x request line");
  const [, method, target] = m as unknown as [string, string, string];
  if (headers.some((h) => !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+:/.test(h))) return bad("a malformed header line");
  const used = end + 4;
  if (method === "CONNECT") {
    const hp = hostPort(target, -1);
    if (!hp || hp.port < 0) return bad("CONNECT needs host:port");
    return { kind: "ok", value: { method, ...hp, path: "", headers }, used };
  }
  const u = /^http:\/\/([^/?#]+)([^#]*)$/i.exec(target);
  if (!u) return bad("a proxy request needs an absolute http:// URI (https goes through CONNECT)");
  const hp = hostPort(u[1]!, 80);
  if (!hp) return bad("a malformed host in the request URI");
  return { kind: "ok", value: { method, ...hp, path: u[2] || "/", headers }, used };
}

/** The refusal a client of the HTTP proxy gets: 403 with the one-line reason. */
export function httpRefusal(reason: string, status = 403, text = "Forbidden"): string {
  const body = `bun-sandbox: ${reason}\n`;
  return `HTTP/1.1 ${status} ${text}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}
