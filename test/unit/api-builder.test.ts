// The library's builder (src/api/builder.ts) as pure logic: plans, immutability, build-time
// validation, fromPlan round trips and the CLI arguments toArgs() gives. Nothing is spawned.
import { afterAll, beforeAll, afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, realpathSync, rmSync } from "node:fs";
import { PlanError, Sandbox, sandbox, type Plan } from "../../src/api/index.ts";
import { parseArgs } from "../../src/cli/args.ts";
import { emptyPlan, type BindOp } from "../../src/plan/types.ts";
import { validatePlan } from "../../src/plan/validate.ts";
import { defaultDirMode } from "../../src/plan/paths.ts";
import { planError } from "../support/errors.ts";

const CWD = process.cwd();
const ENV = { PATH: "/usr/bin:/bin", HOME: "/home/u", LANG: "C.UTF-8" };
const CMD = ["make", "-j2"];

const plan = (b: Sandbox, cmd: string[] = CMD): Plan => b.toPlan(cmd, { env: ENV });
const bindOp = (src: string, dst: string, o: Partial<BindOp> = {}): BindOp => ({
  kind: "bind", src, dst, readonly: false, optional: false, relative: false, nofollow: false, ...o,
});


const FLAG_METHODS = [
  "becomeRoot", "suppressChown", "suppressSync", "unshareNet", "unshareIpc", "newSessionKeyring", "packFds", "debug",
  "unsharePid", "dieWithParent", "newSession", "unshareUts", "unshareCgroup",
] as const;

describe("sandbox() and toPlan()", () => {
  test("an empty sandbox is emptyPlan() with the command, process.env and cwd /", () => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
    expect(sandbox().toPlan(["true"])).toEqual({ ...emptyPlan(), argv: ["true"], env, cwd: "/", seal: true });
    expect(sandbox().toPlan()).toEqual({ ...emptyPlan(), env, cwd: "/", seal: true });
    expect(sandbox().unsealed().toPlan().seal).toBe(false);
  });

  test("the default environment is process.env as it is when toPlan() is called", () => {
    const b = sandbox().setenv("API_TEST_SET", "1");
    process.env.API_TEST_LATE = "late";
    try {
      const p = b.toPlan(["x"]);
      expect(p.env.API_TEST_LATE).toBe("late");
      expect(p.env.API_TEST_SET).toBe("1");
      expect(p.env.PATH).toBe(process.env.PATH!);
    } finally {
      delete process.env.API_TEST_LATE;
    }
    expect("API_TEST_LATE" in b.toPlan(["x"]).env).toBe(false);
  });

  test("binds: the six variants with absolute paths", () => {
    const p = plan(sandbox()
      .bind("/a", "/A").roBind("/b", "/B").bindTry("/c", "/C").roBindTry("/d", "/D")
      .bindNofollow("/e", "/E").roBindNofollow("/f", "/F"));
    expect(p.ops).toEqual([
      bindOp("/a", "/A"),
      bindOp("/b", "/B", { readonly: true }),
      bindOp("/c", "/C", { optional: true }),
      bindOp("/d", "/D", { readonly: true, optional: true }),
      bindOp("/e", "/E", { nofollow: true }),
      bindOp("/f", "/F", { readonly: true, nofollow: true }),
    ]);
  });

  test("+SRC makes a relative bind (its path made absolute too)", () => {
    const p = plan(sandbox().roBind("+/usr/bin", "/bin").bindTry("+etc/x", "/x").roBindTry("+/opt", "opt"));
    expect(p.ops).toEqual([
      bindOp("/usr/bin", "/bin", { readonly: true, relative: true }),
      bindOp(`${CWD}/etc/x`, "/x", { optional: true, relative: true }),
      bindOp("/opt", `${CWD}/opt`, { readonly: true, optional: true, relative: true }),
    ]);
  });

  test("the other operations, with their options", () => {
    const p = plan(sandbox()
      .tmpfs("/tmp").tmpfs("/big", { size: 1 << 20, mode: 0o700 })
      .dev("/dev").proc("/proc")
      .dir("/var/lib/x").dir("/private", { mode: 0o700 })
      .symlink("usr/bin", "/bin").write("hello\n", "/etc/motd")
      .overlay({ lower: ["/l1", "/l2"] }, "/ro")
      .overlay({ lower: ["/l1"], upper: "tmpfs" }, "/scratch")
      .overlay({ lower: ["/l1"], upper: "/up", work: "/work" }, "/rw"));
    expect(p.ops).toEqual([
      { kind: "tmpfs", dst: "/tmp" },
      { kind: "tmpfs", dst: "/big", size: 1048576, mode: 0o700 },
      { kind: "dev", dst: "/dev", console: null },
      { kind: "proc", dst: "/proc" },
      { kind: "dir", dst: "/var/lib/x" },
      { kind: "dir", dst: "/private", mode: 0o700 },
      { kind: "symlink", target: "usr/bin", dst: "/bin" },
      { kind: "write", data: "hello\n", dst: "/etc/motd" },
      { kind: "overlay", lower: ["/l1", "/l2"], upper: null, work: null, dst: "/ro" },
      { kind: "overlay", lower: ["/l1"], upper: "tmpfs", work: null, dst: "/scratch" },
      { kind: "overlay", lower: ["/l1"], upper: "/up", work: "/work", dst: "/rw" },
    ]);
    expect(validatePlan(p)).toBe(p);
  });

  test("relative paths are taken against process.cwd() at the call; absolute ones are normalised", () => {
    const p = plan(sandbox()
      .bind("src", "dst").tmpfs("../t").dev("./d").proc("p/../q").dir("x/y").symlink("rel/target", "link")
      .write("w", "file").overlay({ lower: ["lo"], upper: "up", work: "wk" }, "ov").tmpfs("/var//tmp/"));
    const parent = CWD.slice(0, CWD.lastIndexOf("/")) || "/";
    expect(p.ops).toEqual([
      bindOp(`${CWD}/src`, `${CWD}/dst`),
      { kind: "tmpfs", dst: `${parent}/t` },
      { kind: "dev", dst: `${CWD}/d`, console: null },
      { kind: "proc", dst: `${CWD}/q` },
      { kind: "dir", dst: `${CWD}/x/y` },
      { kind: "symlink", target: "rel/target", dst: `${CWD}/link` },
      { kind: "write", data: "w", dst: `${CWD}/file` },
      { kind: "overlay", lower: [`${CWD}/lo`], upper: `${CWD}/up`, work: `${CWD}/wk`, dst: `${CWD}/ov` },
      { kind: "tmpfs", dst: "/var/tmp" },
    ]);
  });

  describe("with another working directory", () => {
    // Made in beforeAll, not at collection time: a filtered run (-t) must not leave it behind.
    let dir = "";
    beforeAll(() => {
      dir = realpathSync(mkdtempSync("/tmp/bsb-api-unit-"));
    });
    afterEach(() => process.chdir(CWD));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    test("paths are resolved when the method is called, not when the plan is made", () => {
      process.chdir(dir);
      const b = sandbox().bind("a", "b").chdir("c");
      process.chdir("/");
      const p = b.toPlan(["x"], { env: {}, cwd: "rel" });
      expect(p.ops).toEqual([bindOp(`${dir}/a`, `${dir}/b`)]);
      expect(p.cwd).toBe("/rel");
      expect(b.toPlan(["x"], { env: {} }).cwd).toBe(`${dir}/c`);
    });
  });

  test("each flag method sets its flag and nothing else", () => {
    const none = plan(sandbox());
    for (const m of FLAG_METHODS) {
      const p = plan(sandbox()[m]());
      expect({ m, value: p[m] }).toEqual({ m, value: true });
      const others = Object.fromEntries(Object.entries(p).filter(([k]) => k !== m));
      expect(others).toEqual(Object.fromEntries(Object.entries(none).filter(([k]) => k !== m)));
    }
  });

  test("mapSubids implies becomeRoot; hostname implies unshareUts", () => {
    const m = plan(sandbox().mapSubids());
    expect({ mapSubids: m.mapSubids, becomeRoot: m.becomeRoot }).toEqual({ mapSubids: true, becomeRoot: true });
    expect(m).toEqual({ ...plan(sandbox()), mapSubids: true, becomeRoot: true });
    const h = plan(sandbox().hostname("box-1"));
    expect(h).toEqual({ ...plan(sandbox()), hostname: "box-1", unshareUts: true });
    expect(validatePlan(h)).toBe(h);
    expect(plan(sandbox().hostname("a").hostname("b")).hostname).toBe("b");
  });

  test("setenv/unsetenv apply to the env option, and to process.env by default", () => {
    const b = sandbox().setenv("A", "1").setenv("B", "two words").setenv("A", "3").unsetenv("LANG").setenv("EMPTY", "");
    expect(b.toPlan(["x"], { env: ENV }).env).toEqual({ PATH: "/usr/bin:/bin", HOME: "/home/u", A: "3", B: "two words", EMPTY: "" });
    expect(b.toPlan(["x"], { env: { LANG: "x", GONE: undefined } }).env).toEqual({ A: "3", B: "two words", EMPTY: "" });
    process.env.LANG_BEFORE = process.env.LANG;
    process.env.LANG = "de_DE.UTF-8";
    try {
      const p = b.toPlan(["x"]);
      expect(p.env.A).toBe("3");
      expect("LANG" in p.env).toBe(false);
      expect(p.env.PATH).toBe(process.env.PATH!);
    } finally {
      if (process.env.LANG_BEFORE === undefined) delete process.env.LANG;
      else process.env.LANG = process.env.LANG_BEFORE;
      delete process.env.LANG_BEFORE;
    }
  });

  test("setenv is applied before unsetenv, whatever the order (as the CLI does)", () => {
    expect("X" in sandbox().unsetenv("X").setenv("X", "1").toPlan(["x"], { env: {} }).env).toBe(false);
    expect("X" in sandbox().setenv("X", "1").unsetenv("X").toPlan(["x"], { env: { X: "0" } }).env).toBe(false);
  });

  test("chdir and the cwd option", () => {
    expect(plan(sandbox()).cwd).toBe("/");
    expect(plan(sandbox().chdir("/etc")).cwd).toBe("/etc");
    expect(plan(sandbox().chdir("/etc").chdir("/usr/./lib/")).cwd).toBe("/usr/lib");
    expect(plan(sandbox().chdir("sub")).cwd).toBe(`${CWD}/sub`);
    expect(sandbox().chdir("/etc").toPlan(["x"], { cwd: "/srv" }).cwd).toBe("/srv");
    expect(sandbox().toPlan(["x"], { cwd: "rel/dir" }).cwd).toBe(`${CWD}/rel/dir`);
  });

  test("toPlan() copies: changing its result changes neither the builder nor the env option", () => {
    const env = { A: "1" };
    const b = sandbox().tmpfs("/tmp").overlay({ lower: ["/a", "/b"] }, "/o");
    const p = b.toPlan(["x"], { env });
    p.ops.push({ kind: "proc", dst: "/proc" });
    (p.ops[0] as { dst: string }).dst = "/changed";
    (p.ops[1] as { lower: string[] }).lower.push("/c");
    p.env.B = "2";
    p.argv.push("y");
    expect(b.toPlan(["x"], { env })).toEqual({ ...emptyPlan(), seal: true, argv: ["x"], env: { A: "1" }, ops: [{ kind: "tmpfs", dst: "/tmp" }, { kind: "overlay", lower: ["/a", "/b"], upper: null, work: null, dst: "/o" }] });
    expect(env).toEqual({ A: "1" });
  });

  test("a caller's arrays passed to overlay() and toPlan() are not kept by reference", () => {
    const lower = ["/a", "/b"];
    const cmd = ["echo", "hi"];
    const b = sandbox().overlay({ lower }, "/o");
    const p = b.toPlan(cmd, { env: {} });
    lower.push("/c");
    cmd.push("there");
    expect((b.toPlan(["x"]).ops[0] as { lower: string[] }).lower).toEqual(["/a", "/b"]);
    expect(p.argv).toEqual(["echo", "hi"]);
  });
});

describe("immutability", () => {
  test("no method changes the builder it is called on", () => {
    const baseBox = sandbox().roBind("/", "/").setenv("K", "v").chdir("/etc");
    const before = plan(baseBox);
    const calls: ((b: Sandbox) => Sandbox)[] = [
      (b) => b.bind("/a", "/a"), (b) => b.roBind("/a", "/a"), (b) => b.bindTry("/a", "/a"), (b) => b.roBindTry("/a", "/a"),
      (b) => b.bindNofollow("/a", "/a"), (b) => b.roBindNofollow("/a", "/a"), (b) => b.tmpfs("/t", { size: 4096 }), (b) => b.dev("/dev"),
      (b) => b.proc("/proc"), (b) => b.dir("/d", { mode: 0o700 }), (b) => b.symlink("x", "/s"), (b) => b.write("x", "/w"),
      (b) => b.overlay({ lower: ["/a"], upper: "tmpfs" }, "/o"), (b) => b.setenv("K", "other"), (b) => b.unsetenv("K"),
      (b) => b.chdir("/srv"), (b) => b.mapSubids(), (b) => b.hostname("h"),
      ...FLAG_METHODS.map((m) => (b: Sandbox) => b[m]()),
    ];
    for (const call of calls) {
      const next = call(baseBox);
      expect(next).not.toBe(baseBox);
      expect(next).toBeInstanceOf(Sandbox);
      // the new builder differs, the old one is as it was
      expect(Bun.deepEquals(plan(next), before)).toBe(false);
      expect(plan(baseBox)).toEqual(before);
    }
    // onStatus() is not part of a plan, but it too returns a new builder
    const watched = baseBox.onStatus(() => {});
    expect(watched).not.toBe(baseBox);
    expect(plan(watched)).toEqual(before);
  });

  test("two extensions of one base are independent", () => {
    const baseBox = sandbox().roBind("/", "/").setenv("BASE", "1");
    const a = baseBox.tmpfs("/tmp").setenv("WHO", "a").unshareNet().chdir("/a");
    const b = baseBox.dir("/tmp").setenv("WHO", "b").unsharePid().hostname("b");
    const pa = plan(a);
    const pb = plan(b);
    expect(pa.ops).toEqual([bindOp("/", "/", { readonly: true }), { kind: "tmpfs", dst: "/tmp" }]);
    expect(pb.ops).toEqual([bindOp("/", "/", { readonly: true }), { kind: "dir", dst: "/tmp" }]);
    expect([pa.env.WHO, pb.env.WHO, pa.env.BASE, pb.env.BASE]).toEqual(["a", "b", "1", "1"]);
    expect([pa.unshareNet, pa.unsharePid, pa.unshareUts, pa.hostname, pa.cwd]).toEqual([true, false, false, null, "/a"]);
    expect([pb.unshareNet, pb.unsharePid, pb.unshareUts, pb.hostname, pb.cwd]).toEqual([false, true, true, "b", "/"]);
    expect(plan(baseBox).ops).toEqual([bindOp("/", "/", { readonly: true })]);
    // extending an extension leaves the first extension alone
    const a2 = a.tmpfs("/var/tmp");
    expect(plan(a).ops).toHaveLength(2);
    expect(plan(a2).ops).toHaveLength(3);
  });
});

describe("build-time validation", () => {
  const cases: [string, () => unknown, string, RegExp][] = [
    ["overlay without lower dirs", () => sandbox().overlay({ lower: [] }, "/o"), "overlay().lower", /lower/],
    ["overlay with lower missing", () => sandbox().overlay({} as never, "/o"), "overlay().lower", /lower/],
    ["read-only overlay with one layer", () => sandbox().overlay({ lower: ["/a"] }, "/o"), "overlay().lower", /two lower/],
    ["overlay upper without work", () => sandbox().overlay({ lower: ["/a"], upper: "/u" }, "/o"), "overlay().work", /work/],
    ["overlay work without upper", () => sandbox().overlay({ lower: ["/a", "/b"], work: "/w" }, "/o"), "overlay().work", /upper/],
    ["unknown confinement", () => sandbox({ confinement: "chroot" as never }), "sandbox().confinement", /namespaces, landlock, auto/],
    ["unknown sandbox() option", () => sandbox({ confine: "auto" } as never), "sandbox().confine", /unknown option/],
    ["tmpfs size 0", () => sandbox().tmpfs("/t", { size: 0 }), "tmpfs().size", /size/],
    ["tmpfs size negative", () => sandbox().tmpfs("/t", { size: -4096 }), "tmpfs().size", /size/],
    ["tmpfs size fractional", () => sandbox().tmpfs("/t", { size: 1.5 }), "tmpfs().size", /size/],
    ["tmpfs size NaN", () => sandbox().tmpfs("/t", { size: NaN }), "tmpfs().size", /size/],
    ["tmpfs mode too big", () => sandbox().tmpfs("/t", { mode: 0o10000 }), "tmpfs().mode", /mode/],
    ["dir mode negative", () => sandbox().dir("/d", { mode: -1 }), "dir().mode", /mode/],
    ["dir mode too big", () => sandbox().dir("/d", { mode: 0o17777 }), "dir().mode", /mode/],
    ["dir mode fractional", () => sandbox().dir("/d", { mode: 0.5 }), "dir().mode", /mode/],
    ["empty hostname", () => sandbox().hostname(""), "hostname()", /1 to 64/],
    ["65-character hostname", () => sandbox().hostname("h".repeat(65)), "hostname()", /1 to 64/],
    ["setenv name with =", () => sandbox().setenv("A=B", "x"), "setenv()", /"A=B"/],
    ["setenv empty name", () => sandbox().setenv("", "x"), "setenv()", /""/],
    ["bind without destination", () => sandbox().bind("/a", undefined as never), "bind()", /destination/],
    ["roBind without source", () => sandbox().roBind(undefined as never, "/a"), "roBind()", /source/],
    ["+SRC with a nofollow bind", () => sandbox().bindNofollow("+/a", "/b"), "bindNofollow()", /relative/],
    ["+SRC with roBindNofollow", () => sandbox().roBindNofollow("+/a", "/b"), "roBindNofollow()", /relative/],
    ["symlink with empty target", () => sandbox().symlink("", "/l"), "symlink().target", /target/],
    ["write with non-string data", () => sandbox().write(42 as never, "/f"), "write().data", /string/],
    ["destination with NUL", () => sandbox().tmpfs("/a\0b"), "tmpfs().dst", /NUL/],
    ["source with NUL", () => sandbox().roBindTry("/a\0b", "/c"), "roBindTry().src", /NUL/],
    ["spawn with no command", () => sandbox().spawn([]), "spawn()", /command/],
    ["spawn with a non-array", () => sandbox().spawn("ls" as never), "spawn()", /command/],
    ["spawn with an empty command name", () => sandbox().spawn([""]), "argv[0]", /empty/],
    ["spawnSync with no command", () => sandbox().spawnSync([]), "spawn()", /command/],
  ];
  for (const [name, fn, field, message] of cases) {
    test(`${name}: PlanError naming ${field}`, () => {
      const e = planError(fn);
      expect(e.field).toBe(field);
      expect(e.message.startsWith(`${field}: `)).toBe(true);
      expect(e.message).toMatch(message);
    });
  }

  test("NUL bytes in setenv() and hostname() are rejected at build time, like NUL in paths", () => {
    // (a plan with them is invalid: validatePlan rejects env.NAME and hostname with a NUL byte)
    expect(planError(() => sandbox().setenv("A\0B", "x")).field).toBe("setenv()");
    expect(planError(() => sandbox().setenv("A", "x\0y")).field).toBe("setenv()");
    expect(planError(() => sandbox().hostname("a\0b")).field).toBe("hostname()");
  });

  test("a plan with NUL in env or hostname is rejected by fromPlan, naming the field", () => {
    const plan = sandbox().toPlan(["true"], { env: {} });
    expect(planError(() => sandbox.fromPlan({ ...plan, env: { A: "x\0y" } })).field).toBe("env.A");
    expect(planError(() => sandbox.fromPlan({ ...plan, unshareUts: true, hostname: "a\0b" })).field).toBe("hostname");
  });

  test("a rejected call leaves the builder usable and unchanged", () => {
    const b = sandbox().tmpfs("/tmp");
    expect(() => b.tmpfs("/x", { size: -1 })).toThrow(PlanError);
    expect(plan(b).ops).toEqual([{ kind: "tmpfs", dst: "/tmp" }]);
    expect(plan(b.dir("/d")).ops).toHaveLength(2);
  });

  test("valid edge values are accepted", () => {
    expect(plan(sandbox().hostname("h".repeat(64))).hostname).toHaveLength(64);
    expect(plan(sandbox().dir("/d", { mode: 0 })).ops).toEqual([{ kind: "dir", dst: "/d", mode: 0 }]);
    expect(plan(sandbox().tmpfs("/t", { mode: 0o7777, size: 1 })).ops).toEqual([{ kind: "tmpfs", dst: "/t", mode: 0o7777, size: 1 }]);
    expect(plan(sandbox().setenv("A", "")).env.A).toBe("");
    expect(plan(sandbox().write("", "/empty")).ops).toEqual([{ kind: "write", data: "", dst: "/empty" }]);
  });
});

/** A builder using every method the CLI can express. */
function everyCliMethod(): Sandbox {
  return sandbox()
    .roBind("/", "/").bind("/srv/a", "/a").bindTry("/srv/b", "/b").roBindTry("/srv/c", "/c")
    .bindNofollow("/srv/l", "/l").roBindNofollow("/srv/m", "/m").bind("+/usr/bin", "/ubin").roBind("+rel", "/r")
    .tmpfs("/tmp").tmpfs("/var/tmp", { mode: 0o1777 }).dev("/dev").proc("/proc").dir("/d").dir("/x/tmp", { mode: 0o1777 })
    .symlink("usr/bin", "/bin2").write("hello world", "/etc/motd")
    .overlay({ lower: ["/l1", "/l2"] }, "/o1").overlay({ lower: ["/l1"], upper: "tmpfs" }, "/o2")
    .overlay({ lower: ["/l1", "/l2"], upper: "/up", work: "/wk" }, "/o3")
    .setenv("A", "1").setenv("B", "two words").unsetenv("HOME").unsetenv("NOPE")
    .chdir("/work")
    .becomeRoot().suppressChown().suppressSync().unshareNet().unshareIpc().newSessionKeyring().packFds().debug();
}

describe("fromPlan", () => {
  const builders: [string, Sandbox][] = [
    ["empty", sandbox()],
    ["every CLI method", everyCliMethod()],
    ["library-only settings", sandbox().roBind("/", "/").tmpfs("/t", { size: 8192, mode: 0o700 }).dir("/d", { mode: 0o711 })
      .unsharePid().dieWithParent().newSession().hostname("box").unshareCgroup().mapSubids().setenv("X", "y").chdir("/srv")],
  ];
  for (const [name, b] of builders) {
    test(`round trip: ${name}`, () => {
      const p = b.toPlan(["sh", "-c", "echo hi"]);
      const again = sandbox.fromPlan(p);
      expect(again.toPlan(p.argv)).toEqual(p);
      // through JSON, as a plan would travel
      expect(sandbox.fromPlan(JSON.parse(JSON.stringify(p))).toPlan(p.argv)).toEqual(p);
      // env and cwd are the plan's, whatever process.env says now
      process.env.API_TEST_AFTER = "1";
      try {
        expect("API_TEST_AFTER" in again.toPlan(p.argv).env).toBe(false);
      } finally {
        delete process.env.API_TEST_AFTER;
      }
      expect(again.toPlan(p.argv).cwd).toBe(p.cwd);
    });
  }

  test("the rebuilt sandbox can be extended, and the plan passed in is not aliased", () => {
    const p = sandbox().tmpfs("/tmp").setenv("A", "1").toPlan(["x"], { env: { KEEP: "k" } });
    const again = sandbox.fromPlan(p);
    (p.ops[0] as { dst: string }).dst = "/mutated";
    p.env.A = "mutated";
    const q = again.proc("/proc").setenv("B", "2").unsetenv("KEEP").toPlan(["y"]);
    expect(q.ops).toEqual([{ kind: "tmpfs", dst: "/tmp" }, { kind: "proc", dst: "/proc" }]);
    expect(q.env).toEqual({ A: "1", B: "2" });
    // the env option still replaces the plan's environment
    expect(again.toPlan(["y"], { env: { Z: "z" } }).env).toEqual({ Z: "z" });
  });

  const bad: [string, (p: Plan) => unknown, string][] = [
    ["relative cwd", (p) => ({ ...p, cwd: "relative" }), "cwd"],
    ["bad operation destination", (p) => ({ ...p, ops: [{ kind: "tmpfs", dst: "tmp" }] }), "ops[0].dst"],
    ["unknown operation kind", (p) => ({ ...p, ops: [{ kind: "tmpfs", dst: "/t" }, { kind: "nope", dst: "/x" }] }), "ops[1].kind"],
    ["bad tmpfs size", (p) => ({ ...p, ops: [{ kind: "tmpfs", dst: "/t", size: -1 }] }), "ops[0].size"],
    ["overlay without lower dirs", (p) => ({ ...p, ops: [{ kind: "overlay", lower: [], upper: "tmpfs", work: null, dst: "/o" }] }), "ops[0].lower"],
    ["non-boolean flag", (p) => ({ ...p, unsharePid: "yes" }), "unsharePid"],
    ["hostname without unshareUts", (p) => ({ ...p, hostname: "h", unshareUts: false }), "hostname"],
    ["unknown field", (p) => ({ ...p, extra: 1 }), "extra"],
    ["bad env name", (p) => ({ ...p, env: { "A=B": "x" } }), "env.A=B"],
    ["non-string env value", (p) => ({ ...p, env: { A: 1 } }), "env.A"],
    ["argv not a list", (p) => ({ ...p, argv: "ls" }), "argv"],
    ["bad fds", (p) => ({ ...p, fds: [1] }), "fds"],
  ];
  for (const [name, mutate, field] of bad) {
    test(`rejects a plan with ${name}, naming ${field}`, () => {
      const good = sandbox().toPlan(["x"], { env: {} });
      const e = planError(() => sandbox.fromPlan(mutate(good) as Plan));
      expect(e.field).toBe(field);
      expect(e.message.startsWith(`${field}: `)).toBe(true);
    });
  }

  test("a plan without a command is accepted (toPlan() with no command)", () => {
    const p = sandbox().tmpfs("/tmp").toPlan();
    expect(sandbox.fromPlan(p).toPlan()).toEqual(p);
  });
});

/** `p` with tmpfs/dir modes that equal the default removed. */
function withoutDefaultModes(p: Plan): Plan {
  const ops = p.ops.map((op) => {
    if ((op.kind === "tmpfs" || op.kind === "dir") && op.mode === defaultDirMode(op.dst)) {
      const { mode: _mode, ...rest } = op;
      return rest;
    }
    return op;
  });
  return { ...p, ops };
}

describe("toArgs", () => {
  test("an empty sandbox has no arguments; the command follows --", () => {
    expect(sandbox().toArgs()).toEqual(["--seal"]);
    expect(sandbox().toArgs(["ls", "-l"])).toEqual(["--seal", "--", "ls", "-l"]);
    expect(sandbox().unsealed().toArgs(["ls"])).toEqual(["--no-seal", "--", "ls"]);
  });

  test("allowHosts(): the patterns, a network namespace, the proxy variables (setenv wins); the CLI's --allow-host back", () => {
    const s = sandbox().allowHosts("registry.npmjs.org", "127.0.0.1:3000").setenv("NO_PROXY", "mine");
    const plan = s.toPlan(["id"], { env: {} });
    expect([plan.allowHosts, plan.unshareNet, plan.env.HTTPS_PROXY, plan.env.ALL_PROXY, plan.env.NO_PROXY]).toEqual([
      ["registry.npmjs.org", "127.0.0.1:3000"], true, "http://127.0.0.1:3128", "socks5h://127.0.0.1:1080", "mine",
    ]);
    expect(s.toArgs(["id"])).toEqual(["--seal", "--unshare-net", "--allow-host", "registry.npmjs.org", "--allow-host", "127.0.0.1:3000", "--setenv", "NO_PROXY", "mine", "--", "id"]);
    expect(planError(() => sandbox().allowHosts("*.com")).field).toBe("allowHosts()");
    expect(sandbox.fromPlan(plan).toPlan(["id"]).allowHosts).toEqual(plan.allowHosts);
  });

  test("limits(): the plan's limits, merged; the CLI's options back; bad values name the field", () => {
    const s = sandbox().limits({ memory: 1 << 20, wallTime: 1500 }).limits({ pids: 8, openFiles: 16, core: 0 }).limits({ openFiles: 32 });
    expect(s.toPlan().limits).toEqual({ memory: 1 << 20, cpuTime: null, wallTime: 1500, pids: 8, rlimits: [{ resource: "core", soft: 0, hard: 0 }, { resource: "nofile", soft: 32, hard: 32 }] });
    expect(s.toArgs(["id"])).toEqual(["--seal", "--memlimit", "1048576", "--walltimelimit", "1.5", "--pidlimit", "8", "--rlimit", "core=0:0", "--rlimit", "nofile=32:32", "--", "id"]);
    const back = parseArgs({ argv: s.toArgs(["id"]), env: {}, cwd: "/", tty: null, fds: [] });
    expect(back.kind === "run" && back.plan.limits).toEqual(s.toPlan().limits);
    expect(sandbox.fromPlan(s.toPlan(["id"])).toPlan().limits).toEqual(s.toPlan().limits);
    expect(planError(() => sandbox().limits({ memory: 0 })).field).toBe("limits().memory");
    expect(planError(() => sandbox().limits({ stack: -1 })).field).toBe("limits().stack");
    expect(planError(() => sandbox().limits({ memroy: 1 } as never)).field).toBe("limits().memroy");
  });

  test("confinement: the plan's field, --confinement unless it is the default, kept by fromPlan", () => {
    expect(sandbox().toPlan().confinement).toBe("namespaces");
    expect(sandbox({ confinement: "auto" }).roBind("/", "/").toArgs(["id"])).toEqual(["--seal", "--confinement", "auto", "--ro-bind", "/", "/", "--", "id"]);
    const plan = sandbox({ confinement: "landlock" }).toPlan(["id"]);
    expect(plan.confinement).toBe("landlock");
    expect(sandbox.fromPlan(plan).toPlan(["id"]).confinement).toBe("landlock");
    expect(sandbox.fromPlan(plan, { confinement: "auto" }).toPlan(["id"]).confinement).toBe("auto");
    const back = parseArgs({ argv: sandbox({ confinement: "landlock" }).toArgs(["id"]), env: {}, cwd: "/", tty: null, fds: [] });
    expect(back.kind === "run" && back.plan.confinement).toBe("landlock");
  });

  test("the exact arguments for every CLI-expressible method", () => {
    expect(everyCliMethod().toArgs(CMD)).toEqual([
      "--seal",
      "--ro-bind", "/", "/",
      "--bind", "/srv/a", "/a",
      "--bind-try", "/srv/b", "/b",
      "--ro-bind-try", "/srv/c", "/c",
      "--bind-nofollow", "/srv/l", "/l",
      "--ro-bind-nofollow", "/srv/m", "/m",
      "--bind", "+/usr/bin", "/ubin",
      "--ro-bind", `+${CWD}/rel`, "/r",
      "--tmpfs", "/tmp",
      "--tmpfs", "/var/tmp",
      "--dev", "/dev",
      "--proc", "/proc",
      "--dir", "/d",
      "--dir", "/x/tmp",
      "--symlink", "usr/bin", "/bin2",
      "--write", "hello world", "/etc/motd",
      "--overlay-lowerdir", "/l1", "--overlay-lowerdir", "/l2", "--overlay", "/o1",
      "--overlay-lowerdir", "/l1", "--overlay-upperdir", "tmpfs", "--overlay", "/o2",
      "--overlay-lowerdir", "/l1", "--overlay-lowerdir", "/l2", "--overlay-upperdir", "/up", "--overlay-workdir", "/wk", "--overlay", "/o3",
      "--become-root", "--suppress-chown", "--suppress-sync", "--unshare-net", "--unshare-ipc", "--new-session-keyring", "--pack-fds", "--debug",
      "--setenv", "A", "1", "--setenv", "B", "two words",
      "--unsetenv", "HOME", "--unsetenv", "NOPE",
      "--chdir", "/work",
      "--", "make", "-j2",
    ]);
  });

  test("mapSubids is --map-subids alone (it implies --become-root)", () => {
    expect(sandbox().mapSubids().toArgs(["id"])).toEqual(["--seal", "--map-subids", "--", "id"]);
    expect(sandbox().becomeRoot().mapSubids().toArgs()).toEqual(["--seal", "--map-subids"]);
  });

  const libraryOnly: [string, (b: Sandbox) => Sandbox, string, RegExp][] = [
    ["unsharePid", (b) => b.unsharePid(), "unsharePid", /unsharePid/],
    ["dieWithParent", (b) => b.dieWithParent(), "dieWithParent", /dieWithParent/],
    ["newSession", (b) => b.newSession(), "newSession", /newSession/],
    ["unshareUts", (b) => b.unshareUts(), "unshareUts", /unshareUts/],
    ["unshareCgroup", (b) => b.unshareCgroup(), "unshareCgroup", /unshareCgroup/],
    ["hostname", (b) => b.hostname("box"), "hostname", /hostname/],
  ];
  for (const [name, add, field, message] of libraryOnly) {
    test(`${name} has no CLI option: PlanError naming ${field}`, () => {
      const e = planError(() => add(sandbox().roBind("/", "/")).toArgs(["true"]));
      expect(e.field).toBe(field);
      expect(e.message).toMatch(message);
      expect(e.message).toContain("toArgs()");
    });
  }

  test("tmpfs size and mode and a dir mode become --size/--perms before the option", () => {
    expect(sandbox().tmpfs("/t", { size: 4096, mode: 0o700 }).dir("/d", { mode: 0o750 }).toArgs()).toEqual([
      "--seal", "--size", "4096", "--perms", "0700", "--tmpfs", "/t", "--perms", "0750", "--dir", "/d",
    ]);
  });

  test("a tmpfs or dir mode equal to the default is expressible", () => {
    expect(sandbox().tmpfs("/tmp", { mode: 0o1777 }).tmpfs("/t", { mode: 0o755 }).dir("/d", { mode: 0o755 }).toArgs())
      .toEqual(["--seal", "--tmpfs", "/tmp", "--tmpfs", "/t", "--dir", "/d"]);
  });

  test("the CLI parses toArgs() back into the plan toPlan() gives", () => {
    const builders: Sandbox[] = [
      sandbox(),
      everyCliMethod(),
      sandbox().mapSubids().roBind("/", "/").setenv("X", "--help").write("--version", "/f"),
      sandbox().roBind("/", "/").unsetenv("X").setenv("X", "1"),
    ];
    for (const b of builders) {
      for (const cmd of [CMD, ["--not-an-option", "x"]]) {
        const r = parseArgs({ argv: b.toArgs(cmd), env: ENV, cwd: "/somewhere/else", tty: null, fds: [] });
        if (r.kind !== "run") throw new Error(`parsed as ${r.kind}`);
        // an explicit mode equal to the default is what the CLI means by leaving it out
        expect(r.plan).toEqual(withoutDefaultModes(b.toPlan(cmd, { env: ENV })));
      }
    }
  });

  test("toArgs() does not depend on process.env", () => {
    process.env.API_TEST_IGNORED = "1";
    try {
      expect(sandbox().setenv("A", "1").toArgs()).toEqual(["--seal", "--setenv", "A", "1"]);
    } finally {
      delete process.env.API_TEST_IGNORED;
    }
  });
});
