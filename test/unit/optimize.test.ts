import { describe, expect, test } from "bun:test";
import { optimizeOperations } from "../../src/plan/optimize.ts";
import type { BindOp, Operation } from "../../src/plan/types.ts";

function bind(src: string, dst: string, extra: Partial<BindOp> = {}): BindOp {
  return { kind: "bind", src, dst, readonly: false, optional: false, relative: false, nofollow: false, ...extra };
}
const ro = (src: string, dst: string) => bind(src, dst, { readonly: true });
const tmpfs = (dst: string): Operation => ({ kind: "tmpfs", dst });
const dir = (dst: string): Operation => ({ kind: "dir", dst });
const overlay = (dst: string): Operation => ({ kind: "overlay", lower: ["/a", "/b"], upper: null, work: null, dst });

/** Short labels so failures read well: "bind /usr->/usr", "tmpfs /tmp", ... */
function show(ops: readonly Operation[]): string[] {
  return ops.map((op) => {
    if (op.kind === "bind") return `bind ${op.relative ? "+" : ""}${op.src}->${op.dst}${op.readonly ? " ro" : ""}${op.optional ? " try" : ""}`;
    return op.kind === "dirmodes" ? `dirmodes ${op.modes.map((m) => `${m.dir}=${m.mode}`).join(",")}` : `${op.kind} ${op.dst}`;
  });
}

describe("optimizeOperations", () => {
  test("identical binds collapse to one (first kept)", () => {
    const a = bind("/usr", "/usr");
    const out = optimizeOperations([a, bind("/usr", "/usr"), bind("/usr/", "//usr")]);
    expect(out).toHaveLength(1);
    expect(out[0]).toBe(a);
  });

  test("binds that differ in a flag do not collapse", () => {
    expect(show(optimizeOperations([bind("/usr", "/usr"), ro("/usr", "/usr")]))).toEqual(["bind /usr->/usr", "bind /usr->/usr ro"]);
    expect(optimizeOperations([bind("/a", "/a"), bind("/a", "/a", { optional: true })])).toHaveLength(2);
    expect(optimizeOperations([bind("/a", "/a"), bind("/a", "/a", { device: false })])).toHaveLength(2);
  });

  test("a bind nested under a parent bind at the same relative position is dropped", () => {
    expect(show(optimizeOperations([bind("/usr", "/usr"), bind("/usr/lib", "/usr/lib")]))).toEqual(["bind /usr->/usr"]);
    expect(show(optimizeOperations([bind("/usr/lib", "/usr/lib"), bind("/usr", "/usr")]))).toEqual(["bind /usr->/usr"]);
    expect(show(optimizeOperations([bind("/", "/"), bind("/etc/x", "/etc/x")]))).toEqual(["bind /->/"]);
    expect(show(optimizeOperations([bind("/host/root", "/"), bind("/host/root/etc", "/etc")]))).toEqual(["bind /host/root->/"]);
    expect(show(optimizeOperations([ro("/usr", "/usr"), ro("/usr/lib", "/usr/lib"), ro("/usr/lib/x", "/usr/lib/x")]))).toEqual(["bind /usr->/usr ro"]);
  });

  test("not dropped when the flags differ", () => {
    expect(show(optimizeOperations([bind("/usr", "/usr"), ro("/usr/lib", "/usr/lib")]))).toEqual(["bind /usr->/usr", "bind /usr/lib->/usr/lib ro"]);
    expect(show(optimizeOperations([ro("/usr", "/usr"), bind("/usr/lib", "/usr/lib")]))).toEqual(["bind /usr->/usr ro", "bind /usr/lib->/usr/lib"]);
    expect(optimizeOperations([bind("/usr", "/usr"), bind("/usr/lib", "/usr/lib", { optional: true })])).toHaveLength(2);
  });

  test("not dropped when the relative positions differ", () => {
    expect(show(optimizeOperations([bind("/usr", "/usr"), bind("/usr/lib", "/other")]))).toEqual(["bind /usr/lib->/other", "bind /usr->/usr"]);
    expect(optimizeOperations([bind("/usr", "/usr"), bind("/usr/lib", "/usr/lib64")])).toHaveLength(2);
    expect(optimizeOperations([bind("/usr", "/usr"), bind("/usr2/lib", "/usr/lib")])).toHaveLength(2);
    expect(optimizeOperations([bind("/usr", "/x"), bind("/usr/lib", "/y/lib")])).toHaveLength(2);
  });

  test("component-wise nesting: /usr2 is not under /usr", () => {
    expect(optimizeOperations([bind("/usr", "/usr"), bind("/usr2", "/usr2")])).toHaveLength(2);
  });

  test("parents before children, ordered by destination components", () => {
    const out = optimizeOperations([tmpfs("/b"), tmpfs("/a/b"), tmpfs("/a"), tmpfs("/"), dir("/a/b/c")]);
    expect(show(out)).toEqual(["tmpfs /", "tmpfs /a", "tmpfs /a/b", "dir /a/b/c", "tmpfs /b"]);
  });

  test("component order, not string order (Python tuple comparison)", () => {
    // Python: sorted(..., key=lambda d: splitpath(d)) gives / /A /a /a/b /a/b/c /a-b /a.b /b
    const dsts = ["/a.b", "/b", "/a-b", "/a/b/c", "/A", "/a/b", "/a", "/"];
    expect(show(optimizeOperations(dsts.map(dir)))).toEqual(
      ["/", "/A", "/a", "/a/b", "/a/b/c", "/a-b", "/a.b", "/b"].map((d) => `dir ${d}`),
    );
  });

  // Python compares str by code point; JS "<" compares UTF-16 code units. A BMP character
  // above the surrogate range (U+E000..U+FFFF) sorts before an astral one in Python.
  test("non-BMP names sort by code point like Python", () => {
    // Python: sorted(["/\U0001F600", "/\uFFFF"], key=splitpath) == ["/\uFFFF", "/\U0001F600"]
    const codePoints = (ops: Operation[]) => ops.map((op) => [...(op.kind === "dirmodes" ? "" : op.dst)].map((c) => `U+${c.codePointAt(0)!.toString(16).toUpperCase()}`).join(" "));
    expect(codePoints(optimizeOperations([dir("/\u{1F600}"), dir("/\uFFFF")]))).toEqual(["U+2F U+FFFF", "U+2F U+1F600"]);
    expect(codePoints(optimizeOperations([dir("/\uFFFF"), dir("/\u{1F600}")]))).toEqual(["U+2F U+FFFF", "U+2F U+1F600"]);
  });

  test("at one destination a bind comes after tmpfs/dir/overlay whatever the input order", () => {
    const out = optimizeOperations([bind("/src", "/x"), tmpfs("/x"), overlay("/x"), dir("/x")]);
    expect(show(out)).toEqual(["tmpfs /x", "overlay /x", "dir /x", "bind /src->/x"]);
  });

  test("two binds to one destination keep input order (later on top)", () => {
    expect(show(optimizeOperations([bind("/one", "/x"), bind("/two", "/x")]))).toEqual(["bind /one->/x", "bind /two->/x"]);
    expect(show(optimizeOperations([bind("/two", "/x"), bind("/one", "/x")]))).toEqual(["bind /two->/x", "bind /one->/x"]);
  });

  test("non-bind operations at one destination keep input order", () => {
    expect(show(optimizeOperations([dir("/x"), tmpfs("/x")]))).toEqual(["dir /x", "tmpfs /x"]);
    expect(show(optimizeOperations([tmpfs("/x"), dir("/x")]))).toEqual(["tmpfs /x", "dir /x"]);
  });

  test("a repeated bind keeps the position of its first occurrence (mkosi dict semantics)", () => {
    const out = optimizeOperations([bind("/one", "/x"), bind("/two", "/x"), bind("/one", "/x")]);
    expect(show(out)).toEqual(["bind /one->/x", "bind /two->/x"]);
  });

  test("relative (+SRC) binds come last", () => {
    const out = optimizeOperations([
      bind("/usr/bin", "/bin", { relative: true }),
      tmpfs("/z"),
      bind("/a", "/a"),
      bind("/etc/x", "/a", { relative: true }),
      dir("/zz/y"),
    ]);
    expect(show(out)).toEqual(["bind /a->/a", "tmpfs /z", "dir /zz/y", "bind +/etc/x->/a", "bind +/usr/bin->/bin"]);
  });

  test("a relative bind is not dropped under a non-relative parent", () => {
    const out = optimizeOperations([bind("/usr", "/usr"), bind("/usr/lib", "/usr/lib", { relative: true })]);
    expect(show(out)).toEqual(["bind /usr->/usr", "bind +/usr/lib->/usr/lib"]);
  });

  test("does not modify its input and keeps operation objects", () => {
    const ops: Operation[] = [tmpfs("/b"), tmpfs("/a")];
    const copy = [...ops];
    const out = optimizeOperations(ops);
    expect(ops).toEqual(copy);
    expect(out[0]).toBe(ops[1]!);
    expect(out[1]).toBe(ops[0]!);
  });

  test("a typical mkosi command line", () => {
    const out = optimizeOperations([
      tmpfs("/"), ro("/usr", "/usr"), ro("/usr/lib/os-release", "/usr/lib/os-release"), bind("/var/tmp", "/var/tmp"),
      dir("/var/tmp"), tmpfs("/tmp"), { kind: "proc", dst: "/proc" }, { kind: "dev", dst: "/dev" },
      { kind: "symlink", target: "usr/bin", dst: "/bin" }, ro("/etc/resolv.conf", "/etc/resolv.conf"),
    ]);
    expect(show(out)).toEqual([
      "tmpfs /", "symlink /bin", "dev /dev", "bind /etc/resolv.conf->/etc/resolv.conf ro", "proc /proc",
      "tmpfs /tmp", "bind /usr->/usr ro", "dir /var/tmp", "bind /var/tmp->/var/tmp",
    ]);
  });
});

describe("nested binds with a mount in between", () => {
  const bind = (src: string, dst: string): Operation => ({ kind: "bind", src, dst, readonly: true, optional: false, relative: false, nofollow: false });
  test("a bind under a recursive parent bind is kept when a tmpfs between hides the parent's copy", () => {
    const ops: Operation[] = [bind("/", "/"), { kind: "tmpfs", dst: "/tmp" }, bind("/tmp/x", "/tmp/x")];
    expect(optimizeOperations(ops).map((o) => `${o.kind} ${"dst" in o ? o.dst : ""}`)).toEqual(["bind /", "tmpfs /tmp", "bind /tmp/x"]);
  });
  test("and when another bind lands between them", () => {
    const ops: Operation[] = [bind("/", "/"), bind("/srv", "/usr"), bind("/usr/lib", "/usr/lib")];
    expect(optimizeOperations(ops)).toHaveLength(3);
  });
  test("a mount elsewhere does not keep it", () => {
    const ops: Operation[] = [bind("/", "/"), { kind: "tmpfs", dst: "/var" }, bind("/usr/lib", "/usr/lib")];
    expect(optimizeOperations(ops).map((o) => `${o.kind} ${"dst" in o ? o.dst : ""}`)).toEqual(["bind /", "tmpfs /var"]);
  });
});
