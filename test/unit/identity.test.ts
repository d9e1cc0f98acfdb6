import { describe, expect, test } from "bun:test";
import { findSubidRange, commandMaps, oneToOne } from "../../src/stage/identity.ts";

const SUBUID = [
  "root:100000:65536",
  "alice:200000:65536",
  "1000:300000:65536",
  "alice:400000:1000",
  "bob:500000:10",
  "",
].join("\n");

describe("findSubidRange", () => {
  test("by name", () => {
    expect(findSubidRange(SUBUID, "root", 0)).toEqual({ start: 100000, count: 65536 });
    expect(findSubidRange(SUBUID, "bob", 4242)).toEqual({ start: 500000, count: 10 });
  });

  test("by numeric uid", () => {
    expect(findSubidRange(SUBUID, null, 1000)).toEqual({ start: 300000, count: 65536 });
    expect(findSubidRange(SUBUID, "carol", 1000)).toEqual({ start: 300000, count: 65536 });
  });

  test("the first matching line wins, name or number", () => {
    expect(findSubidRange(SUBUID, "alice", 1001)).toEqual({ start: 200000, count: 65536 });
    expect(findSubidRange(SUBUID, "alice", 1000)).toEqual({ start: 200000, count: 65536 });
    expect(findSubidRange("1000:1:2\nalice:3:4", "alice", 1000)).toEqual({ start: 1, count: 2 });
  });

  test("no match", () => {
    expect(findSubidRange(SUBUID, "nobody", 65534)).toBeNull();
    expect(findSubidRange("", "alice", 1000)).toBeNull();
    expect(findSubidRange(SUBUID, null, 1)).toBeNull();
  });

  test("a name does not match as a prefix", () => {
    expect(findSubidRange("alice2:1:2\n10000:5:6", "alice", 1000)).toBeNull();
  });

  test("malformed lines are skipped", () => {
    const text = [
      "# comment",
      "alice",
      "alice:100",
      "alice:abc:65536",
      "alice:100000:xyz",
      "alice:100000:0",
      "alice:1.5:10",
      "  alice:700000:5  ",
    ].join("\n");
    expect(findSubidRange(text, "alice", 1000)).toEqual({ start: 700000, count: 5 });
  });

  test("CRLF line ends are tolerated", () => {
    expect(findSubidRange("alice:100000:65536\r\n", "alice", 1000)).toEqual({ start: 100000, count: 65536 });
  });

  // Number("") is 0 and Number("-5") is -5, both integers: such lines are not valid ranges.
  test("a line with an empty start field is skipped", () => {
    expect(findSubidRange("alice::65536\nalice:100000:10", "alice", 1000)).toEqual({ start: 100000, count: 10 });
  });

  test("a line with a negative start is skipped", () => {
    expect(findSubidRange("alice:-5:10\nalice:100000:10", "alice", 1000)).toEqual({ start: 100000, count: 10 });
  });
});

describe("oneToOne and commandMaps", () => {
  test("every range a map gives, to itself", () => {
    expect(oneToOne("         0          0 4294967295\n")).toBe("0 0 4294967295");
    expect(oneToOne("         0       1003          1\n")).toBe("0 0 1");
    expect(oneToOne("0 1000 1\n1 100000 65536\n")).toBe("0 0 1\n1 1 65536");
  });

  test("mkosi-sandbox's mapping for the command; real root keeps the ids it has", () => {
    expect(commandMaps("self", 1003, 1004, null)).toEqual({ setgroups: "deny", uid: "1003 1003 1", gid: "1004 1004 1" });
    expect(commandMaps("root", 1003, 1004, null)).toEqual({ setgroups: "deny", uid: "0 1003 1", gid: "0 1004 1" });
    expect(commandMaps("host", 0, 0, null)).toEqual({ setgroups: null, uid: "0 0 4294967295", gid: "0 0 4294967295" });
    expect(commandMaps("host", 0, 0, null, { uid: "0 0 1", gid: "0 0 1" })).toEqual({ setgroups: null, uid: "0 0 1", gid: "0 0 1" });
  });
});
