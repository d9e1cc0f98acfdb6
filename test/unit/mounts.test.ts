import { describe, expect, test } from "bun:test";
import { mountFlagsOf, parseMountinfo } from "../../src/stage/mounts.ts";
import { MS } from "../../src/sys/flags.ts";

const SAMPLE = [
  "22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw",
  "36 25 8:1 / /mnt/my\\040disk rw,relatime - ext4 /dev/sda1 rw,errors=remount-ro",
  "40 25 0:30 /sub /a\\134b\\011c ro,nosuid master:1 shared:2 - tmpfs tmp\\040fs rw,size=1024k",
  "this line is not mountinfo",
  "",
  "41 40 0:31 / /no-super rw - tmpfs none",
].join("\n");

describe("parseMountinfo", () => {
  const entries = parseMountinfo(SAMPLE);

  test("parses every well-formed line and skips the others", () => {
    expect(entries).toHaveLength(4);
  });

  test("fields with optional fields present", () => {
    expect(entries[0]).toEqual({
      id: 22, parent: 1, mountPoint: "/proc", options: "rw,nosuid,nodev,noexec,relatime",
      fstype: "proc", source: "proc", superOptions: "rw",
    });
  });

  test("fields without optional fields; \\040 is a space", () => {
    expect(entries[1]).toEqual({
      id: 36, parent: 25, mountPoint: "/mnt/my disk", options: "rw,relatime",
      fstype: "ext4", source: "/dev/sda1", superOptions: "rw,errors=remount-ro",
    });
  });

  test("several optional fields; \\134 backslash, \\011 tab, escapes in the source", () => {
    expect(entries[2]).toEqual({
      id: 40, parent: 25, mountPoint: "/a\\b\tc", options: "ro,nosuid",
      fstype: "tmpfs", source: "tmp fs", superOptions: "rw,size=1024k",
    });
  });

  test("missing super options give an empty string", () => {
    expect(entries[3]).toMatchObject({ id: 41, mountPoint: "/no-super", fstype: "tmpfs", source: "none", superOptions: "" });
  });

  test("a newline escape and the real file", async () => {
    expect(parseMountinfo("1 0 0:1 / /x\\012y rw - tmpfs t rw")[0]!.mountPoint).toBe("/x\ny");
    const own = parseMountinfo(await Bun.file("/proc/self/mountinfo").text());
    expect(own.length).toBeGreaterThan(0);
    for (const e of own) {
      expect(Number.isInteger(e.id)).toBe(true);
      expect(e.mountPoint.startsWith("/")).toBe(true);
      expect(e.fstype.length).toBeGreaterThan(0);
    }
  });
});

describe("mountFlagsOf", () => {
  test("locked per-mount flags are picked out of an options field", () => {
    expect(mountFlagsOf("rw,nosuid,nodev,noexec,relatime")).toBe(MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.RELATIME);
    expect(mountFlagsOf("ro,noatime,nodiratime")).toBe(MS.RDONLY | MS.NOATIME | MS.NODIRATIME);
    expect(mountFlagsOf("rw")).toBe(0);
    expect(mountFlagsOf("")).toBe(0);
  });

  test("other words are ignored; whole words only", () => {
    expect(mountFlagsOf("rw,size=1024k,mode=755,nosuidx,xro")).toBe(0);
    expect(mountFlagsOf("rw,nosymfollow,lazytime")).toBe(0);
  });
});
