import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { lstatSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { resolveInRoot, walkInRoot } from "../../src/stage/resolve.ts";
import { SysError } from "../../src/sys/error.ts";
import { Errno } from "../../src/sys/errno.ts";
import { joinPath, splitPath } from "../../src/plan/paths.ts";

let root = "";

beforeAll(() => {
  // realpath so that the kernel's answer (read back through /proc/self/fd) starts with root
  root = realpathSync(mkdtempSync(`${tmpdir()}/bun-sandbox-resolve-`));
  const mk = (p: string) => mkdirSync(`${root}${p}`, { recursive: true });
  const ln = (target: string, p: string) => symlinkSync(target, `${root}${p}`);
  mk("/etc");
  writeFileSync(`${root}/etc/passwd`, "root:x:0:0::/root:/bin/sh\n");
  mk("/usr/lib");
  writeFileSync(`${root}/usr/lib/file`, "x");
  mk("/a/b");
  ln("/etc", "/link-to-etc"); // absolute: means <root>/etc, not the host's /etc
  ln("../../../../../etc", "/a/b/esc"); // climbs above the root: clamped
  ln("chain2", "/chain1");
  ln("/usr", "/chain2");
  ln("chain1/lib", "/chain3");
  ln("../etc/passwd", "/usr/rel-passwd");
  ln("usr/lib", "/lib");
  ln("/nonexistent/target", "/dangling");
  ln("loop2", "/loop1");
  ln("loop1", "/loop2");
  ln("self", "/self");
  ln("/tmp", "/host-tmp"); // absolute to a path missing in the root
  ln("missing/../link-to-etc", "/weird"); // '..' after a missing component in a target
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

/**
 * `rel` is absolute and normal (no ".", "..", or empty components), and no existing component of
 * root+rel is a symlink: joined to root it never leads out. Once a component is missing the rest
 * cannot exist, since a normal path cannot climb back out of a missing directory.
 */
function staysInside(rel: string): void {
  if (!rel.startsWith("/") || rel.split("/").slice(1).some((c, i, all) => c === "." || c === ".." || (c === "" && !(all.length === 1 && i === 0)))) {
    throw new Error(`${rel}: not an absolute normal path`);
  }
  let cur = root;
  for (const c of splitPath(rel)) {
    cur = `${cur}/${c}`;
    let st;
    try {
      st = lstatSync(cur);
    } catch {
      return; // the rest is missing: created later as plain directories
    }
    if (st.isSymbolicLink()) throw new Error(`${rel}: component ${cur.slice(root.length)} is a symlink`);
  }
}

const CASES: [string, string][] = [
  ["/", "/"],
  ["", "/"],
  ["/etc/passwd", "/etc/passwd"],
  ["usr/./lib//file", "/usr/lib/file"],
  ["/link-to-etc/passwd", "/etc/passwd"],
  ["/link-to-etc", "/etc"],
  ["/a/b/esc/passwd", "/etc/passwd"],
  ["/../../etc/passwd", "/etc/passwd"],
  ["/usr/../../../etc", "/etc"],
  ["/chain1/lib/file", "/usr/lib/file"],
  ["/chain3/file", "/usr/lib/file"],
  ["/chain3", "/usr/lib"],
  ["/usr/rel-passwd", "/etc/passwd"],
  ["/lib/..", "/usr"],
  ["/lib/../lib/file", "/usr/lib/file"],
];

const MISSING: [string, string][] = [
  ["/dangling", "/nonexistent/target"],
  ["/dangling/more", "/nonexistent/target/more"],
  ["/missing/x/y", "/missing/x/y"],
  ["/usr/lib/missing", "/usr/lib/missing"],
  ["/link-to-etc/shadow", "/etc/shadow"],
  ["/host-tmp/x", "/tmp/x"],
  ["/etc/passwd/x", "/etc/passwd/x"],
];

describe("walkInRoot", () => {
  test.each(CASES)("existing %p -> %p", (path, expected) => {
    expect(walkInRoot(root, path)).toBe(expected);
    staysInside(expected);
  });

  test.each(MISSING)("missing tail kept: %p -> %p", (path, expected) => {
    expect(walkInRoot(root, path)).toBe(expected);
    staysInside(expected);
  });

  test.each(["/loop1", "/loop2/x", "/self", "/a/../self/y"])("loop %p throws SysError ELOOP", (path) => {
    let err: unknown;
    try {
      walkInRoot(root, path);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SysError);
    expect((err as SysError).errno).toBe(Errno.ELOOP);
    expect((err as SysError).code).toBe("ELOOP");
    expect((err as SysError).path).toBe(path);
  });

  test("the host's /etc is never the answer for an absolute symlink", () => {
    const r = walkInRoot(root, "/link-to-etc/passwd");
    expect(joinPath(root, r)).toBe(`${root}/etc/passwd`);
  });

  // A '..' that removes a missing component must not stop symlink resolution of what follows:
  // otherwise joinPath(root, result) walks through <root>/link-to-etc, i.e. the host's /etc.
  test("'..' after a missing component: the rest is still resolved inside root", () => {
    const r = walkInRoot(root, "/missing/../link-to-etc/passwd");
    staysInside(r);
    expect(r).toBe("/etc/passwd");
  });

  test("symlink target with '..' after a missing component stays inside root", () => {
    // /weird -> missing/../link-to-etc: the '..' takes away the missing component, the link then
    // leads to <root>/etc.
    const r = walkInRoot(root, "/weird/passwd");
    staysInside(r);
    expect(r).toBe("/etc/passwd");
  });

  test("staysInside itself refuses what would lead out (it is what the cases above rely on)", () => {
    for (const bad of ["/missing/../link-to-etc/x", "/link-to-etc/passwd", "relative", "/a/./b", "/a//b"]) expect(() => staysInside(bad)).toThrow();
    for (const ok of ["/", "/etc/passwd", "/missing/x/y"]) expect(() => staysInside(ok)).not.toThrow();
  });
});

describe("resolveInRoot", () => {
  test.each(CASES)("same answer as walkInRoot for existing %p", (path, expected) => {
    expect(resolveInRoot(root, path, "/proc/self/fd")).toBe(expected);
    expect(resolveInRoot(root, path, "/proc/self/fd")).toBe(walkInRoot(root, path));
  });

  test.each(MISSING)("missing tail kept: %p", (path, expected) => {
    expect(resolveInRoot(root, path, "/proc/self/fd")).toBe(expected);
  });

  test("a trailing slash on root does not matter", () => {
    expect(resolveInRoot(`${root}/`, "/link-to-etc/passwd", "/proc/self/fd")).toBe("/etc/passwd");
  });

  test.each(["/loop1", "/self"])("loop %p throws SysError ELOOP", (path) => {
    let err: unknown;
    try {
      resolveInRoot(root, path, "/proc/self/fd");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SysError);
    expect((err as SysError).errno).toBe(Errno.ELOOP);
  });

  // What the stage calls (via inNewRoot): the kernel refuses the path (ENOENT), the fallback
  // walk returns "/link-to-etc/passwd", and joinPath(root, ...) then goes through the symlink.
  test("symlink target with '..' after a missing component stays inside root", () => {
    staysInside(resolveInRoot(root, "/weird/passwd", "/proc/self/fd"));
  });
});
