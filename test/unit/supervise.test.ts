// The supervisor's forwarding rule: a signal the terminal raised for the whole foreground process
// group is not forwarded to a child in that group (it received it too); anything else is.
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { fromTerminalToo } from "../../src/stage/init.ts";
import { SI_KERNEL } from "../../src/sys/signals.ts";

const SI_USER = 0;
const sameGroup = Bun.spawn(["sleep", "30"]);
const ownGroup = Bun.spawn(["setsid", "sleep", "30"]);
afterAll(() => {
  sameGroup.kill(9);
  ownGroup.kill(9);
});

describe("fromTerminalToo", () => {
  test("^C from the terminal, child in our process group: not forwarded", () => {
    expect(fromTerminalToo({ signo: 2, code: SI_KERNEL }, sameGroup.pid)).toBe(true);
  });

  test("sent with kill(2) (a build tool, kill(), timeout): forwarded", () => {
    expect(fromTerminalToo({ signo: 2, code: SI_USER }, sameGroup.pid)).toBe(false);
    expect(fromTerminalToo({ signo: 15, code: SI_USER }, ownGroup.pid)).toBe(false);
  });

  test("from the terminal, child in a group of its own (newSession): forwarded", async () => {
    // give setsid(1) the time to make its session and exec sleep
    await Bun.sleep(100);
    const pgid = (pid: number) => {
      const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
      return Number(stat.slice(stat.lastIndexOf(") ") + 2).split(" ")[2]);
    };
    expect(pgid(ownGroup.pid)).not.toBe(pgid(process.pid));
    expect(fromTerminalToo({ signo: 2, code: SI_KERNEL }, ownGroup.pid)).toBe(false);
  });

  test("a child that is gone: forwarded (kill then fails quietly)", () => {
    expect(fromTerminalToo({ signo: 2, code: SI_KERNEL }, 0x3fffff)).toBe(false);
  });
});
