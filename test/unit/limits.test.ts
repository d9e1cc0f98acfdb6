// The pure parts of the limits: sizes and seconds, rlimit settings, the words of a report, and
// the /proc/PID/stat fields the watcher reads.
import { describe, expect, test } from "bun:test";
import { limitOption, noLimits, parseBytes, parseRlimit, parseSeconds, validateLimits } from "../../src/plan/limits.ts";
import { parseStat } from "../../src/stage/limits.ts";
import { PlanError } from "../../src/plan/errors.ts";

describe("limits", () => {
  test("sizes take k/m/g (powers of 1024); seconds become milliseconds", () => {
    expect([parseBytes("512m"), parseBytes("4096"), parseBytes("1G"), parseBytes("0"), parseBytes("1.5m"), parseBytes("-1")]).toEqual([512 * 2 ** 20, 4096, 2 ** 30, null, null, null]);
    expect([parseSeconds("2"), parseSeconds("0.25"), parseSeconds("0"), parseSeconds("1e3"), parseSeconds("-1")]).toEqual([2000, 250, null, null, null]);
  });

  test("rlimits: NAME=SOFT[:HARD], unlimited, one value for both", () => {
    expect(parseRlimit("nofile=16")).toEqual({ resource: "nofile", soft: 16, hard: 16 });
    expect(parseRlimit("stack=8m:unlimited")).toEqual({ resource: "stack", soft: 8 * 2 ** 20, hard: null });
    expect(parseRlimit("core=0")).toEqual({ resource: "core", soft: 0, hard: 0 });
    expect(parseRlimit("as=infinity")).toEqual({ resource: "as", soft: null, hard: null });
    expect(() => parseRlimit("nofile=unlimited:16")).toThrow("the soft limit exceeds the hard one");
  });

  test("the CLI option a report names, with its value", () => {
    const l = { ...noLimits(), memory: 256 * 2 ** 20, cpuTime: 1500, wallTime: 60_000, pids: 64 };
    expect(["memory", "cpu-time", "wall-time", "pids"].map((n) => limitOption(l, n as never))).toEqual(["--memlimit 256m", "--timelimit 1.5", "--walltimelimit 60", "--pidlimit 64"]);
    expect(limitOption({ ...l, memory: 1000 }, "memory")).toBe("--memlimit 1000");
  });

  test("validation names the field", () => {
    const bad = (l: object, field: string) => {
      try {
        validateLimits({ ...noLimits(), ...l });
      } catch (e) {
        expect(e).toBeInstanceOf(PlanError);
        expect((e as PlanError).field).toBe(field);
        return;
      }
      throw new Error("accepted");
    };
    bad({ memory: 0 }, "limits.memory");
    bad({ pids: 1.5 }, "limits.pids");
    bad({ rlimits: [{ resource: "files", soft: 1, hard: 1 }] }, "limits.rlimits[0].resource");
    bad({ rlimits: [{ resource: "nofile", soft: 9, hard: 8 }] }, "limits.rlimits[0]");
  });

  test("/proc/PID/stat: CPU ticks (own and reaped children's) and rss, whatever the command name holds", () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
    const line = `1234 (a (b) c) ${fields.join(" ")}`;
    expect(parseStat(line)).toEqual({ ownTicks: 14 + 15, childTicks: 16 + 17, rssPages: 24 });
    expect(parseStat("1 (x) S 2")).toBeNull();
  });
});
