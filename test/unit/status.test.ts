// The host's reading of status lines (src/api/status.ts, StatusReader and StatusTracker in
// src/api/launch.ts): whatever arrives on the pipe, nothing throws; what is not a well-formed
// event becomes the sandbox's SandboxError, and the exit is still taken when it comes.
import { describe, expect, test } from "bun:test";
import { MAX_STATUS_LINE, parseStatusLine } from "../../src/api/status.ts";
import { resourceUsageOf, StatusReader, StatusTracker } from "../../src/api/launch.ts";
import { SandboxError } from "../../src/api/types.ts";
import { closeQuiet, pipe2 } from "../../src/sys/fd.ts";
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";

const PREFIX = "bun-sandbox: malformed status from the stage server: ";

describe("parseStatusLine", () => {
  test("well-formed events come back with their known fields only", () => {
    expect(parseStatusLine('{"event":"spawned","pid":42,"extra":1}')).toEqual({ event: "spawned", pid: 42 });
    expect(parseStatusLine('{"event":"ready","namespaces":{"mnt":"mnt:[1]"},"confinement":"landlock"}')).toEqual({ event: "ready", namespaces: { mnt: "mnt:[1]" }, confinement: "landlock" });
    expect(parseStatusLine('{"event":"ready","namespaces":{},"confinement":"namespaces"}')).toEqual({ event: "ready", namespaces: {}, confinement: "namespaces" });
    expect(parseStatusLine('{"event":"error","message":"m","errno":2,"exitCode":1}')).toEqual({ event: "error", message: "m", errno: 2, exitCode: 1 });
    expect(parseStatusLine('{"event":"error","message":"m","exitCode":127}')).toEqual({ event: "error", message: "m", errno: null, exitCode: 127 });
    expect(parseStatusLine('{"event":"exit","status":256}')).toEqual({ event: "exit", status: 256 });
    const usage = { utime: 1, stime: 2, maxrss: 3, ixrss: 0, nswap: 0, inblock: 4, oublock: 5, msgsnd: 0, msgrcv: 0, nsignals: 0, nvcsw: 6, nivcsw: 7 };
    expect(parseStatusLine(JSON.stringify({ event: "exit", status: 0, usage: { ...usage, extra: 1 } }))).toEqual({ event: "exit", status: 0, usage });
    expect(parseStatusLine(JSON.stringify({ event: "exit", status: 0, usage: { ...usage, utime: -1 } })).event).toBe("malformed");
    expect(parseStatusLine('{"event":"stubs","stubs":[{"path":"/a/b","dir":true,"ino":7,"dev":"8:1","x":1}]}'))
      .toEqual({ event: "stubs", stubs: [{ path: "/a/b", dir: true, ino: 7, dev: "8:1" }] });
  });

  test.each([
    ["", 'not JSON: ""'],
    ["not json", 'not JSON: "not json"'],
    ['{"event":"exit"', 'not JSON: "{\\"event\\":\\"exit\\""'],
    ["null", 'not an object: "null"'],
    ["42", 'not an object: "42"'],
    ['"exit"', 'not an object: "\\"exit\\""'],
    ["[]", 'not an object: "[]"'],
    ["{}", 'no event: "{}"'],
    ['{"__proto__":{"event":"exit","status":0}}', 'no event: "{\\"__proto__\\":{\\"event\\":\\"exit\\",\\"status\\":0}}"'],
    ['{"event":1}', 'unknown event: "{\\"event\\":1}"'],
    ['{"event":"bogus"}', 'unknown event: "{\\"event\\":\\"bogus\\"}"'],
    ['{"event":"spawned"}', '"spawned" event without a valid pid: "{\\"event\\":\\"spawned\\"}"'],
    ['{"event":"spawned","pid":-1}', '"spawned" event without a valid pid: "{\\"event\\":\\"spawned\\",\\"pid\\":-1}"'],
    ['{"event":"spawned","pid":1.5}', '"spawned" event without a valid pid: "{\\"event\\":\\"spawned\\",\\"pid\\":1.5}"'],
    ['{"event":"ready"}', '"ready" event without namespaces: "{\\"event\\":\\"ready\\"}"'],
    ['{"event":"ready","namespaces":{"mnt":1}}', '"ready" event without namespaces: "{\\"event\\":\\"ready\\",\\"namespaces\\":{\\"mnt\\":1}}"'],
    ['{"event":"ready","namespaces":{},"confinement":"x"}', '"ready" event without a confinement: "{\\"event\\":\\"ready\\",\\"namespaces\\":{},\\"confinement\\":\\"x\\"}"'],
    ['{"event":"error","exitCode":1}', '"error" event without a message: "{\\"event\\":\\"error\\",\\"exitCode\\":1}"'],
    ['{"event":"error","message":"m","exitCode":300}', '"error" event without a valid exitCode: "{\\"event\\":\\"error\\",\\"message\\":\\"m\\",\\"exitCode\\":300}"'],
    ['{"event":"error","message":"m","exitCode":1,"errno":"E"}', '"error" event without a valid errno: "{\\"event\\":\\"error\\",\\"message\\":\\"m\\",\\"exitCode\\":1,\\"errno\\":\\"E\\"}"'],
    ['{"event":"exit","status":"0"}', '"exit" event without a valid wait status: "{\\"event\\":\\"exit\\",\\"status\\":\\"0\\"}"'],
    ['{"event":"stubs","stubs":[{"path":"rel","dir":true,"ino":7,"dev":"8:1"}]}', '"stubs" event without a list of stubs: "{\\"event\\":\\"stubs\\",\\"stubs\\":[{\\"path\\":\\"rel\\",\\"dir\\":true,\\"ino\\":7,\\"dev\\":\\"8:1\\"}]}"'],
    ['{"event":"exit","status":70000}', '"exit" event without a valid wait status: "{\\"event\\":\\"exit\\",\\"status\\":70000}"'],
  ])("%s: malformed", (line, detail) => {
    expect(parseStatusLine(line)).toEqual({ event: "malformed", detail });
  });

  test("a long line is shown by its start only", () => {
    const r = parseStatusLine("x".repeat(5000));
    expect(r).toEqual({ event: "malformed", detail: `not JSON: "${"x".repeat(80)}..."` });
  });

  test("random bytes never throw; what parses is a known event", () => {
    let seed = 1;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pieces = ['{"event":', '"exit"', '"spawned"', '"status":', '"pid":', "1", "-", "}", "{", ",", '"', "[", "]", "null", "\\", "\u0000", "é"];
    for (let i = 0; i < 5000; i++) {
      const line = Array.from({ length: Math.floor(rand() * 8) }, () => pieces[Math.floor(rand() * pieces.length)]).join("");
      const ev = parseStatusLine(line);
      expect(["spawned", "ready", "error", "exit", "malformed"]).toContain(ev.event);
    }
  });
});

/** A StatusReader over a pipe that receives `data`, then its end. */
function readerOf(data: string | Buffer): StatusReader {
  const [r, w] = pipe2();
  // Written by another process (a pipe holds 64 KiB, some of these are larger, and nextSync
  // blocks this thread): cat of a temporary file.
  const dir = mkdtempSync(`${tmpdir()}/bsb-status-`);
  writeFileSync(`${dir}/data`, data);
  const input = openSync(`${dir}/data`, "r");
  try {
    void Bun.spawn(["cat"], { stdio: [input, w, "inherit"] }).exited;
  } finally {
    // the child has its own copies by now
    closeSync(input);
    closeQuiet(w);
    rmSync(dir, { recursive: true, force: true });
  }
  return new StatusReader(r);
}

function allSync(reader: StatusReader): unknown[] {
  const out = [];
  for (let ev = reader.nextSync(); ev; ev = reader.nextSync()) out.push(ev);
  reader.close();
  return out;
}

describe("StatusReader", () => {
  const exit = '{"event":"exit","status":0}\n';

  test("garbage between good lines: each bad line is one malformed event, the good ones come through", () => {
    const r = readerOf(`{"event":"spawned","pid":7}\nnot json\n[1]\n${exit}`);
    expect(allSync(r)).toEqual([
      { event: "spawned", pid: 7 },
      { event: "malformed", detail: 'not JSON: "not json"' },
      { event: "malformed", detail: 'not an object: "[1]"' },
      { event: "exit", status: 0 },
    ]);
  });

  test("a line longer than the limit: one malformed event, then reading goes on with the next line", () => {
    const r = readerOf(`${"y".repeat(MAX_STATUS_LINE * 2 + 10)}\n${exit}`);
    expect(allSync(r)).toEqual([{ event: "malformed", detail: `a line longer than ${MAX_STATUS_LINE} characters` }, { event: "exit", status: 0 }]);
  });

  test("a last line without its newline is malformed; then the end", () => {
    expect(allSync(readerOf(`${exit}{"event":"exi`))).toEqual([{ event: "exit", status: 0 }, { event: "malformed", detail: 'not JSON: "{\\"event\\":\\"exi"' }]);
  });

  test("bytes that are not UTF-8 are malformed, not an exception", () => {
    const r = readerOf(Buffer.concat([Buffer.from([0xff, 0xfe, 0x0a]), Buffer.from(exit)]));
    expect(allSync(r)).toEqual([{ event: "malformed", detail: 'not JSON: "\ufffd\ufffd"' }, { event: "exit", status: 0 }]);
  });

  test("the async reader gives the same events", async () => {
    const r = readerOf(`not json\n${exit}{"event":"exi`);
    const out = [];
    for await (const ev of r.events()) out.push(ev);
    r.close();
    expect(out).toEqual([
      { event: "malformed", detail: 'not JSON: "not json"' },
      { event: "exit", status: 0 },
      { event: "malformed", detail: 'not JSON: "{\\"event\\":\\"exi"' },
    ]);
  });
});

describe("StatusTracker", () => {
  test("a malformed line makes the error, the exit is still collected; a later error event does not replace it", () => {
    const t = new StatusTracker(1, null);
    t.handle({ event: "ready", namespaces: {}, confinement: "namespaces" });
    t.handle({ event: "malformed", detail: 'not JSON: "x"' });
    t.handle({ event: "error", message: "later", errno: null, exitCode: 1 });
    t.handle({ event: "exit", status: 4 << 8 });
    const out = t.finish();
    expect(out.error).toBeInstanceOf(SandboxError);
    expect(out.error?.message).toBe(`${PREFIX}not JSON: "x"`);
    expect([out.exitCode, out.signalCode, out.code]).toEqual([4, null, 4]);
  });

  test("no exit reported: exit code 1 and the malformed error", () => {
    const t = new StatusTracker(1, null);
    t.handle({ event: "malformed", detail: "d" });
    const out = t.finish();
    expect([out.exitCode, out.code, out.error?.message]).toEqual([1, 1, `${PREFIX}d`]);
  });

  test("a signal without a name: SIG<n>, code 128+n; onStatus hears started once", () => {
    const seen: string[] = [];
    const t = new StatusTracker(1, (s) => seen.push(s.type));
    t.handle({ event: "ready", namespaces: {}, confinement: "namespaces" });
    t.handle({ event: "ready", namespaces: {}, confinement: "namespaces" });
    t.handle({ event: "exit", status: 40 });
    const out = t.finish();
    expect([out.exitCode, out.signalCode as string | null, out.code, out.error] as unknown[]).toEqual([null, "SIG40", 168, undefined]);
    expect(seen).toEqual(["started", "exited"]);
  });
});

describe("resourceUsageOf", () => {
  test("a struct rusage in Bun's shape: microseconds as bigints, maxRSS in bytes", () => {
    const u = { utime: 1500, stime: 250, maxrss: 2048, ixrss: 1, nswap: 2, inblock: 3, oublock: 4, msgsnd: 5, msgrcv: 6, nsignals: 7, nvcsw: 8, nivcsw: 9 };
    expect(resourceUsageOf(u)).toEqual({
      contextSwitches: { voluntary: 8, involuntary: 9 }, cpuTime: { user: 1500n, system: 250n, total: 1750n }, maxRSS: 2048 * 1024,
      messages: { sent: 5, received: 6 }, ops: { in: 3, out: 4 }, shmSize: 1, signalCount: 7, swapCount: 2,
    });
  });
});
