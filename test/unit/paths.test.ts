import { describe, expect, test } from "bun:test";
import {
  absolutize, baseName, defaultDirMode, formatMode, isRelativeTo, joinPath, normalizeAbsolute, parentOf, relativeTo, splitPath,
} from "../../src/plan/paths.ts";

describe("plan/paths", () => {
  test("splitPath drops empty and '.' components, keeps '..'", () => {
    expect(splitPath("/")).toEqual([]);
    expect(splitPath("")).toEqual([]);
    expect(splitPath("/usr/lib")).toEqual(["usr", "lib"]);
    expect(splitPath("//usr/./lib//")).toEqual(["usr", "lib"]);
    expect(splitPath("a/../b")).toEqual(["a", "..", "b"]);
  });

  test("normalizeAbsolute", () => {
    expect(normalizeAbsolute("/a/./b/../c/")).toBe("/a/c");
    expect(normalizeAbsolute("/")).toBe("/");
    expect(normalizeAbsolute("")).toBe("/");
    expect(normalizeAbsolute("/..")).toBe("/");
    expect(normalizeAbsolute("/../../etc")).toBe("/etc");
    expect(normalizeAbsolute("//usr///lib")).toBe("/usr/lib");
    expect(normalizeAbsolute("a/b")).toBe("/a/b");
  });

  test("absolutize: absolute paths normalised, relative ones taken against cwd", () => {
    expect(absolutize("/usr/../etc", "/home/u")).toBe("/etc");
    expect(absolutize("foo", "/home/u")).toBe("/home/u/foo");
    expect(absolutize("./foo/", "/home/u")).toBe("/home/u/foo");
    expect(absolutize("..", "/home/u")).toBe("/home");
    expect(absolutize("../../..", "/home/u")).toBe("/");
    expect(absolutize(".", "/home/u")).toBe("/home/u");
    expect(absolutize("a/./b/../c", "/")).toBe("/a/c");
    expect(absolutize("x", "/home/u/")).toBe("/home/u/x");
  });

  test("joinPath treats later parts as relative", () => {
    expect(joinPath("/root", "/etc/passwd")).toBe("/root/etc/passwd");
    expect(joinPath("/root/", "etc", "passwd")).toBe("/root/etc/passwd");
    expect(joinPath("/", "etc")).toBe("/etc");
    expect(joinPath("/", "/")).toBe("/");
    expect(joinPath("/root")).toBe("/root");
    expect(joinPath("/root", "", "/")).toBe("/root");
    expect(joinPath("/root", "//a")).toBe("/root/a");
  });

  test("isRelativeTo is component-wise", () => {
    expect(isRelativeTo("/usr/lib", "/usr")).toBe(true);
    expect(isRelativeTo("/usr", "/usr")).toBe(true);
    expect(isRelativeTo("/usr/", "/usr")).toBe(true);
    expect(isRelativeTo("/usr", "/usr/")).toBe(true);
    expect(isRelativeTo("/usr2", "/usr")).toBe(false);
    expect(isRelativeTo("/usr2/lib", "/usr")).toBe(false);
    expect(isRelativeTo("/usr", "/usr/lib")).toBe(false);
    expect(isRelativeTo("/anything", "/")).toBe(true);
    expect(isRelativeTo("/", "/")).toBe(true);
    expect(isRelativeTo("/", "/usr")).toBe(false);
  });

  test("relativeTo", () => {
    expect(relativeTo("/usr/lib/x", "/usr")).toBe("lib/x");
    expect(relativeTo("/usr", "/usr")).toBe("");
    expect(relativeTo("/usr/lib", "/")).toBe("usr/lib");
    expect(relativeTo("//usr//lib/", "/usr/")).toBe("lib");
  });

  test("parentOf and baseName", () => {
    expect(parentOf("/usr/lib")).toBe("/usr");
    expect(parentOf("/usr/lib/")).toBe("/usr");
    expect(parentOf("/usr")).toBe("/");
    expect(parentOf("/")).toBe("/");
    expect(baseName("/usr/lib")).toBe("lib");
    expect(baseName("/usr/lib/")).toBe("lib");
    expect(baseName("/")).toBe("");
  });

  test("defaultDirMode follows mkosi-sandbox's /tmp rule", () => {
    expect(defaultDirMode("/tmp")).toBe(0o1777);
    expect(defaultDirMode("/var/tmp")).toBe(0o1777);
    expect(defaultDirMode("/x/tmp")).toBe(0o1777);
    expect(defaultDirMode("/x/var/tmp")).toBe(0o1777);
    expect(defaultDirMode("/tmpx")).toBe(0o755);
    expect(defaultDirMode("/var")).toBe(0o755);
    expect(defaultDirMode("/tmp/x")).toBe(0o755);
    expect(defaultDirMode("/mytmp")).toBe(0o755);
    expect(defaultDirMode("/")).toBe(0o755);
  });

  test("formatMode", () => {
    expect(formatMode(0o755)).toBe("0755");
    expect(formatMode(0o1777)).toBe("1777");
    expect(formatMode(0)).toBe("0000");
    expect(formatMode(0o7)).toBe("0007");
  });
});
