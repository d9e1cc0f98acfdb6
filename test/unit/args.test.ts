import { describe, expect, test } from "bun:test";
import { knownOptions, parseArgs, UsageError, type ParseInput, type ParseResult } from "../../src/cli/args.ts";
import { emptyPlan, type BindOp, type Plan } from "../../src/plan/types.ts";
import { validatePlan } from "../../src/plan/validate.ts";
import { proxyEnv } from "../../src/plan/network.ts";

const ENV = { PATH: "/usr/bin:/bin", HOME: "/home/u", LANG: "C.UTF-8" };

function parse(argv: string[], extra: Partial<ParseInput> = {}): ParseResult {
  return parseArgs({ argv, env: ENV, cwd: "/home/u/src", tty: null, fds: [], ...extra });
}

function run(argv: string[], extra: Partial<ParseInput> = {}): Plan {
  const r = parse(argv, extra);
  if (r.kind !== "run") throw new Error(`expected a run result, got ${r.kind}`);
  return r.plan;
}

function usage(argv: string[]): UsageError {
  try {
    parse(argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return e as UsageError;
  }
  throw new Error(`parseArgs accepted ${JSON.stringify(argv)}`);
}

const bindOp = (src: string, dst: string, o: Partial<BindOp> = {}): BindOp => ({
  kind: "bind", src, dst, readonly: false, optional: false, relative: false, nofollow: false, ...o,
});

describe("parseArgs", () => {
  test("no arguments: bash in /, caller env, nothing else", () => {
    const p = run([]);
    expect(p).toEqual({ ...emptyPlan(), argv: ["bash"], env: ENV, cwd: "/" });
    expect(validatePlan(p)).toBe(p);
  });

  test("filesystem operations in order", () => {
    const p = run([
      "--tmpfs", "/tmp", "--dev", "/dev", "--proc", "/proc", "--dir", "/var/lib/x",
      "--symlink", "usr/bin", "/bin", "--write", "hello world", "/etc/motd", "true",
    ]);
    expect(p.ops).toEqual([
      { kind: "tmpfs", dst: "/tmp" },
      { kind: "dev", dst: "/dev", console: null },
      { kind: "proc", dst: "/proc" },
      { kind: "dir", dst: "/var/lib/x" },
      { kind: "symlink", target: "usr/bin", dst: "/bin" },
      { kind: "write", data: "hello world", dst: "/etc/motd" },
    ]);
    expect(p.argv).toEqual(["true"]);
  });

  test("the four mkosi bind options and the two nofollow ones", () => {
    const p = run([
      "--bind", "/a", "/A", "--bind-try", "/b", "/B", "--ro-bind", "/c", "/C", "--ro-bind-try", "/d", "/D",
      "--bind-nofollow", "/e", "/E", "--ro-bind-nofollow", "/f", "/F",
    ]);
    expect(p.ops).toEqual([
      bindOp("/a", "/A"),
      bindOp("/b", "/B", { optional: true }),
      bindOp("/c", "/C", { readonly: true }),
      bindOp("/d", "/D", { readonly: true, optional: true }),
      bindOp("/e", "/E", { nofollow: true }),
      bindOp("/f", "/F", { readonly: true, nofollow: true }),
    ]);
  });

  test("+SRC makes a relative bind", () => {
    const p = run(["--ro-bind", "+/usr/bin", "/bin", "--bind-try", "+/etc/x", "/x"]);
    expect(p.ops).toEqual([
      bindOp("/usr/bin", "/bin", { readonly: true, relative: true }),
      bindOp("/etc/x", "/x", { optional: true, relative: true }),
    ]);
  });

  test("+SRC with a nofollow bind is a usage error", () => {
    expect(usage(["--bind-nofollow", "+/a", "/b"]).message).toContain("--bind-nofollow");
  });

  test("relative paths are resolved against cwd (.. and . included)", () => {
    const p = run([
      "--bind", "foo", "bar", "--tmpfs", "../tmp", "--dir", "./d/../e", "--symlink", "rel/target", "link",
      "--write", "data", "file", "--chdir", "sub",
    ]);
    expect(p.ops).toEqual([
      bindOp("/home/u/src/foo", "/home/u/src/bar"),
      { kind: "tmpfs", dst: "/home/u/tmp" },
      { kind: "dir", dst: "/home/u/src/e" },
      { kind: "symlink", target: "rel/target", dst: "/home/u/src/link" },
      { kind: "write", data: "data", dst: "/home/u/src/file" },
    ]);
    expect(p.cwd).toBe("/home/u/src/sub");
  });

  test("absolute paths are normalised", () => {
    expect(run(["--tmpfs", "/var//tmp/"]).ops).toEqual([{ kind: "tmpfs", dst: "/var/tmp" }]);
  });

  test("parsing stops at --", () => {
    const p = run(["--tmpfs", "/tmp", "--", "--tmpfs", "/x", "--help"]);
    expect(p.ops).toEqual([{ kind: "tmpfs", dst: "/tmp" }]);
    expect(p.argv).toEqual(["--tmpfs", "/x", "--help"]);
    expect(run(["--"]).argv).toEqual(["bash"]);
    expect(run(["--", "--"]).argv).toEqual(["--"]);
  });

  test("parsing stops at the first non-option; later options belong to the command", () => {
    const p = run(["--tmpfs", "/tmp", "ls", "-l", "--tmpfs", "/x", "--help", "--version", "--bogus"]);
    expect(p.ops).toEqual([{ kind: "tmpfs", dst: "/tmp" }]);
    expect(p.argv).toEqual(["ls", "-l", "--tmpfs", "/x", "--help", "--version", "--bogus"]);
  });

  test("option arguments may look like options", () => {
    const p = run(["--setenv", "X", "--help", "--write", "--version", "/f", "--", "cmd"]);
    expect(p.env.X).toBe("--help");
    expect(p.ops).toEqual([{ kind: "write", data: "--version", dst: "/f" }]);
    expect(p.argv).toEqual(["cmd"]);
  });

  test("a lone - is an unknown option, as in mkosi-sandbox", () => {
    expect(() => run(["-"])).toThrow(UsageError);
  });

  test("--setenv and --unsetenv", () => {
    const p = run(["--setenv", "A", "1", "--setenv", "B", "", "--unsetenv", "LANG", "--setenv", "A", "2"]);
    expect(p.env).toEqual({ PATH: "/usr/bin:/bin", HOME: "/home/u", A: "2", B: "" });
  });

  test("--setenv is applied before --unsetenv, whatever the order given", () => {
    expect("X" in run(["--setenv", "X", "1", "--unsetenv", "X"]).env).toBe(false);
    expect("X" in run(["--unsetenv", "X", "--setenv", "X", "1"]).env).toBe(false);
    expect("HOME" in run(["--unsetenv", "HOME", "--setenv", "HOME", "/root"]).env).toBe(false);
  });

  test("--setenv with an invalid name", () => {
    expect(usage(["--setenv", "A=B", "x"]).message).toContain('"A=B"');
    expect(usage(["--setenv", "", "x"]).message).toContain("--setenv");
  });

  test("the caller's env object is not modified", () => {
    const env = { A: "1" };
    run(["--setenv", "B", "2", "--unsetenv", "A"], { env });
    expect(env).toEqual({ A: "1" });
  });

  test("cwd: default /, --chdir, --same-dir, last one wins", () => {
    expect(run([]).cwd).toBe("/");
    expect(run(["--chdir", "/srv"]).cwd).toBe("/srv");
    expect(run(["--same-dir"]).cwd).toBe("/home/u/src");
    expect(run(["--same-dir", "--chdir", "/x"]).cwd).toBe("/x");
    expect(run(["--chdir", "/x", "--same-dir"]).cwd).toBe("/home/u/src");
  });

  test("overlays: lowerdirs kept bottom-first, state reset after each --overlay", () => {
    const p = run([
      "--overlay-lowerdir", "/l1", "--overlay-lowerdir", "/l2", "--overlay", "/o1",
      "--overlay-lowerdir", "/l3", "--overlay-upperdir", "/up", "--overlay-workdir", "/work", "--overlay", "/o2",
      "--overlay-lowerdir", "/l4", "--overlay-upperdir", "tmpfs", "--overlay", "/o3",
    ]);
    expect(p.ops).toEqual([
      { kind: "overlay", lower: ["/l1", "/l2"], upper: null, work: null, dst: "/o1" },
      { kind: "overlay", lower: ["/l3"], upper: "/up", work: "/work", dst: "/o2" },
      { kind: "overlay", lower: ["/l4"], upper: "tmpfs", work: null, dst: "/o3" },
    ]);
    expect(validatePlan(p)).toBe(p);
  });

  test("overlay paths are resolved against cwd; tmpfs upper ignores a workdir", () => {
    const p = run(["--overlay-lowerdir", "low", "--overlay-upperdir", "tmpfs", "--overlay-workdir", "w", "--overlay", "dst"]);
    expect(p.ops).toEqual([{ kind: "overlay", lower: ["/home/u/src/low"], upper: "tmpfs", work: null, dst: "/home/u/src/dst" }]);
    const q = run(["--overlay-lowerdir", "l", "--overlay-upperdir", "u", "--overlay-workdir", "w", "--overlay", "/o"]);
    expect(q.ops).toEqual([{ kind: "overlay", lower: ["/home/u/src/l"], upper: "/home/u/src/u", work: "/home/u/src/w", dst: "/o" }]);
  });

  test("--overlay usage errors", () => {
    expect(usage(["--overlay", "/o"]).message).toContain("--overlay-lowerdir");
    expect(usage(["--overlay-lowerdir", "/a", "--overlay-upperdir", "/u", "--overlay", "/o"]).message).toContain("--overlay-workdir");
    expect(usage(["--overlay-lowerdir", "/a", "--overlay", "/o"]).message).toContain("two --overlay-lowerdir");
    // state was reset by the first overlay
    expect(usage(["--overlay-lowerdir", "/a", "--overlay-lowerdir", "/b", "--overlay", "/o", "--overlay", "/p"]).message).toContain("--overlay /p");
  });

  test("dangling --overlay-* without a following --overlay", () => {
    expect(usage(["--overlay-lowerdir", "/a"]).message).toContain("without a following --overlay DST");
    expect(usage(["--overlay-upperdir", "/u", "ls"]).message).toContain("--overlay DST");
    expect(usage(["--overlay-workdir", "/w", "--", "ls"])).toBeInstanceOf(UsageError);
    expect(usage(["--overlay-lowerdir", "/a", "--overlay-lowerdir", "/b", "--overlay", "/o", "--overlay-lowerdir", "/c"])).toBeInstanceOf(UsageError);
  });

  test("boolean options", () => {
    const p = run([
      "--become-root", "--suppress-chown", "--suppress-sync", "--unshare-net", "--unshare-ipc", "--suspend",
      "--pack-fds", "--debug", "--new-session-keyring",
    ]);
    expect(p).toMatchObject({
      becomeRoot: true, mapSubids: false, suppressChown: true, suppressSync: true, unshareNet: true, unshareIpc: true,
      suspend: true, packFds: true, debug: true, newSessionKeyring: true,
      unsharePid: false, unshareUts: false, unshareCgroup: false, newSession: false, dieWithParent: false, hostname: null,
    });
    expect(run([]).becomeRoot).toBe(false);
  });

  test("--map-subids implies --become-root", () => {
    const p = run(["--map-subids"]);
    expect(p.mapSubids).toBe(true);
    expect(p.becomeRoot).toBe(true);
  });

  test("--dev captures the tty as console", () => {
    expect(run(["--dev", "/dev"], { tty: "/dev/pts/3" }).ops).toEqual([{ kind: "dev", dst: "/dev", console: "/dev/pts/3" }]);
    expect(run(["--dev", "/dev"], { tty: null }).ops).toEqual([{ kind: "dev", dst: "/dev", console: null }]);
  });

  test("fds are passed through as a copy", () => {
    const fds = [5, 7];
    const p = run([], { fds });
    expect(p.fds).toEqual([5, 7]);
    expect(p.fds).not.toBe(fds);
  });

  test("unknown option names the option", () => {
    const e = usage(["--tmpfs", "/t", "--frobnicate", "ls"]);
    expect(e.name).toBe("UsageError");
    expect(e.message).toContain("--frobnicate");
    expect(usage(["-x"]).message).toContain("-x");
    expect(usage(["--bind=/a"]).message).toContain("--bind=/a");
  });

  test.each([
    [["--bind", "/a"], ["--bind", "2 arguments", "SRC DST"]],
    [["--ro-bind-try"], ["--ro-bind-try", "2 arguments", "SRC DST"]],
    [["--tmpfs"], ["--tmpfs needs an argument", "(--tmpfs DST)"]],
    [["--setenv", "A"], ["--setenv", "2 arguments", "NAME VALUE"]],
    [["--write", "x"], ["--write", "DATA DST"]],
    [["--symlink", "x"], ["--symlink", "SRC DST"]],
    [["--chdir"], ["--chdir", "DIR"]],
    [["--overlay-lowerdir"], ["--overlay-lowerdir", "DIR"]],
    [["--unsetenv"], ["--unsetenv", "NAME"]],
  ])("missing argument %p", (argv, parts) => {
    const msg = usage(argv).message;
    for (const p of parts) expect(msg).toContain(p);
  });

  test("an option argument cannot be --: the option is missing one (one line naming it)", () => {
    expect(usage(["--bind", "/a", "--", "cmd"]).message).toBe("--bind needs 2 arguments (--bind SRC DST) before --; got -- as DST");
    expect(usage(["--tmpfs", "--", "ls"]).message).toBe("--tmpfs needs an argument (--tmpfs DST) before --; got -- as DST");
    expect(usage(["--setenv", "X", "--"]).message).toBe("--setenv needs 2 arguments (--setenv NAME VALUE) before --; got -- as VALUE");
    expect(usage(["--enter", "1", "--chdir", "--", "ls"]).message).toBe("--chdir needs an argument (--chdir DIR) before --; got -- as DIR");
    // As the command's own arguments it is nothing special.
    expect(run(["--", "echo", "--"]).argv).toEqual(["echo", "--"]);
  });

  test("an empty path is a usage error naming the option (it used to mean the current directory)", () => {
    expect(usage(["--dir", "", "true"]).message).toBe('--dir: DST is empty; give a path ("." is the current directory)');
    expect(usage(["--tmpfs", "", "true"]).message).toBe('--tmpfs: DST is empty; give a path ("." is the current directory)');
    expect(usage(["--bind", "", "/b", "true"]).message).toBe('--bind: SRC is empty; give a path ("." is the current directory)');
    expect(usage(["--ro-bind", "+", "/b", "true"]).message).toBe('--ro-bind: SRC is empty; give a path ("." is the current directory)');
    for (const argv of [["--chdir", ""], ["--overlay-lowerdir", ""], ["--hidden-dir", ""], ["--chmod", "0755", ""], ["--copy-symlink", "", "/l"], ["--symlink", "", "/l"]]) {
      expect(usage([...argv, "true"]).message).toStartWith(`${argv[0]}: `);
    }
    // Not paths: an empty value, file contents or variable value.
    expect(run(["--setenv", "X", "", "--write", "", "/f", "true"]).env.X).toBe("");
    expect(run(["--dir", ".", "true"]).ops).toEqual([{ kind: "dir", dst: "/home/u/src" }]);
  });

  test("--help, -h, --version", () => {
    expect(parse(["--help"])).toEqual({ kind: "help" });
    expect(parse(["-h"])).toEqual({ kind: "help" });
    expect(parse(["--tmpfs", "/t", "--help", "--bogus"])).toEqual({ kind: "help" });
    expect(parse(["--version"])).toEqual({ kind: "version" });
    expect(parse(["--become-root", "--version"])).toEqual({ kind: "version" });
  });

  test("--doctor [--json]", () => {
    expect(parse(["--doctor"])).toEqual({ kind: "doctor", json: false });
    expect(parse(["--doctor", "--json"])).toEqual({ kind: "doctor", json: true });
    expect(parse(["--unshare-net", "--doctor", "--json"])).toEqual({ kind: "doctor", json: true });
  });

  test("after --doctor only its own flag: anything else is a usage error naming both; --help and --version act at once, as in mkosi-sandbox", () => {
    expect(usage(["--doctor", "--bogus"]).message).toBe("--doctor takes only --json after it; remove --bogus");
    expect(usage(["--doctor", "--json", "--tmpfs", "/t"]).message).toBe("--doctor takes only --json after it; remove --tmpfs");
    expect(parse(["--doctor", "--json"])).toEqual({ kind: "doctor", json: true });
    expect(parse(["--help", "--bogus"])).toEqual({ kind: "help" });
    expect(parse(["-h", "ls"])).toEqual({ kind: "help" });
    expect(parse(["--version", "--", "x"])).toEqual({ kind: "version" });
    expect(parse(["--enter", "1", "--help", "x"])).toEqual({ kind: "help" });
  });

  test("every known option parses into the plan it stands for (the table names each one)", () => {
    const bind = (src: string, dst: string, f: Partial<BindOp> = {}) => ({ kind: "bind", src, dst, readonly: false, optional: false, relative: false, nofollow: false, ...f });
    const op = (o: object) => ({ ops: [o] });
    const dm = (o: object) => ({ ops: [{ kind: "dirmodes", modes: [{ dir: "/", mode: "overlay" }], ...o }] });
    const noLimit = { memory: null, cpuTime: null, wallTime: null, pids: null, rlimits: [] };
    // option: [its arguments (with what it needs around it), what the plan then holds]
    const TABLE: Record<string, [string[], object]> = {
      "--tmpfs": [["--tmpfs", "/p"], op({ kind: "tmpfs", dst: "/p" })],
      "--dev": [["--dev", "/p"], op({ kind: "dev", dst: "/p", console: null })],
      "--proc": [["--proc", "/p"], op({ kind: "proc", dst: "/p" })],
      "--dir": [["--dir", "rel"], op({ kind: "dir", dst: "/home/u/src/rel" })],
      "--bind": [["--bind", "/a", "/b"], op(bind("/a", "/b"))],
      "--bind-try": [["--bind-try", "/a", "/b"], op(bind("/a", "/b", { optional: true }))],
      "--ro-bind": [["--ro-bind", "/a", "/b"], op(bind("/a", "/b", { readonly: true }))],
      "--ro-bind-try": [["--ro-bind-try", "/a", "/b"], op(bind("/a", "/b", { readonly: true, optional: true }))],
      "--bind-nofollow": [["--bind-nofollow", "/a", "/b"], op(bind("/a", "/b", { nofollow: true }))],
      "--ro-bind-nofollow": [["--ro-bind-nofollow", "/a", "/b"], op(bind("/a", "/b", { readonly: true, nofollow: true }))],
      "--symlink": [["--symlink", "x", "/l"], op({ kind: "symlink", target: "x", dst: "/l" })],
      "--write": [["--write", "data", "/f"], op({ kind: "write", data: "data", dst: "/f" })],
      "--overlay-lowerdir": [["--overlay-lowerdir", "/l1", "--overlay-lowerdir", "/l2", "--overlay", "/o"], op({ kind: "overlay", lower: ["/l1", "/l2"], upper: null, work: null, dst: "/o" })],
      "--overlay-upperdir": [["--overlay-lowerdir", "/l", "--overlay-upperdir", "tmpfs", "--overlay", "/o"], op({ kind: "overlay", lower: ["/l"], upper: "tmpfs", work: null, dst: "/o" })],
      "--overlay-workdir": [["--overlay-lowerdir", "/l", "--overlay-upperdir", "/u", "--overlay-workdir", "/w", "--overlay", "/o"], op({ kind: "overlay", lower: ["/l"], upper: "/u", work: "/w", dst: "/o" })],
      "--overlay": [["--overlay-lowerdir", "/l1", "--overlay-lowerdir", "/l2", "--overlay", "/o"], op({ kind: "overlay", dst: "/o" })],
      "--setenv": [["--setenv", "N", "v"], { env: { ...ENV, N: "v" } }],
      "--unsetenv": [["--unsetenv", "HOME"], { env: { PATH: ENV.PATH, LANG: ENV.LANG } }],
      "--chdir": [["--chdir", "/c"], { cwd: "/c" }],
      "--same-dir": [["--same-dir"], { cwd: "/home/u/src" }],
      "--become-root": [["--become-root"], { becomeRoot: true, mapSubids: false }],
      "--map-subids": [["--map-subids"], { becomeRoot: true, mapSubids: true }],
      "--suppress-chown": [["--suppress-chown"], { suppressChown: true }],
      "--suppress-sync": [["--suppress-sync"], { suppressSync: true }],
      "--unshare-net": [["--unshare-net"], { unshareNet: true }],
      "--unshare-ipc": [["--unshare-ipc"], { unshareIpc: true }],
      "--suspend": [["--suspend"], { suspend: true }],
      "--pack-fds": [["--pack-fds"], { packFds: true }],
      "--debug": [["--debug"], { debug: true }],
      "--new-session-keyring": [["--new-session-keyring"], { newSessionKeyring: true }],
      "--confinement": [["--confinement", "landlock"], { confinement: "landlock" }],
      "--allow-host": [["--allow-host", "example.com:8080"], { allowHosts: ["example.com:8080"], unshareNet: true, env: { ...ENV, ...proxyEnv() } }],
      "--memlimit": [["--memlimit", "2k"], { limits: { ...noLimit, memory: 2048 } }],
      "--timelimit": [["--timelimit", "1.5"], { limits: { ...noLimit, cpuTime: 1500 } }],
      "--walltimelimit": [["--walltimelimit", "2"], { limits: { ...noLimit, wallTime: 2000 } }],
      "--pidlimit": [["--pidlimit", "9"], { limits: { ...noLimit, pids: 9 } }],
      "--rlimit": [["--rlimit", "nofile=16"], { limits: { ...noLimit, rlimits: [{ resource: "nofile", soft: 16, hard: 16 }] } }],
      "--seal": [["--seal"], { seal: true }],
      "--no-seal": [["--no-seal"], { seal: false }],
      "--harden": [["--harden"], { harden: true }],
      "--disable-userns": [["--disable-userns"], { disableUserns: true }],
      "--cap-add": [["--cap-add", "CAP_NET_RAW"], { capChanges: [{ add: true, cap: "net_raw" }] }],
      "--cap-drop": [["--cap-drop", "ALL"], { capChanges: [{ add: false, cap: "all" }] }],
      "--remount-ro": [["--remount-ro", "/p"], op({ kind: "remount", dst: "/p", options: "ro" })],
      "--remount": [["--remount", "ro,nosuid", "/p"], op({ kind: "remount", dst: "/p", options: "ro,nosuid" })],
      "--size": [["--size", "1k", "--tmpfs", "/p"], op({ kind: "tmpfs", dst: "/p", size: 1024 })],
      "--perms": [["--perms", "0700", "--dir", "/p"], op({ kind: "dir", dst: "/p", mode: 0o700 })],
      "--mqueue": [["--unshare-ipc", "--mqueue", "/p"], { unshareIpc: true, ops: [{ kind: "mqueue", dst: "/p" }] }],
      "--copy-symlink": [["--copy-symlink", "/h", "/l"], op({ kind: "symlink", target: "/h", dst: "/l", dereference: true })],
      "--ro-bind-data": [["--ro-bind-data", "3", "/f"], { ...op({ kind: "file", dst: "/f", base64: "aGk=", readonly: true }), fds: [] }],
      "--bind-data": [["--bind-data", "3", "/f"], { ...op({ kind: "file", dst: "/f", base64: "aGk=", readonly: false }), fds: [] }],
      "--chmod": [["--chmod", "0755", "/p"], op({ kind: "chmod", dst: "/p", mode: 0o755 })],
      "--hidden-dir": [["--hidden-dir", "/h"], op({ kind: "dirmodes", modes: [{ dir: "/h", mode: "hidden" }] })],
      "--read-only-dir": [["--read-only-dir", "/r"], op({ kind: "dirmodes", modes: [{ dir: "/r", mode: "read-only" }] })],
      "--overlay-dir": [["--overlay-dir", "/"], dm({})],
      "--full-access-dir": [["--full-access-dir", "/w"], op({ kind: "dirmodes", modes: [{ dir: "/w", mode: "full-access" }] })],
      "--hidden-dir-try": [["--hidden-dir-try", "/h"], op({ kind: "dirmodes", modes: [{ dir: "/h", mode: "hidden", optional: true }] })],
      "--read-only-dir-try": [["--read-only-dir-try", "/r"], op({ kind: "dirmodes", modes: [{ dir: "/r", mode: "read-only", optional: true }] })],
      "--overlay-dir-try": [["--overlay-dir-try", "/"], op({ kind: "dirmodes", modes: [{ dir: "/", mode: "overlay", optional: true }] })],
      "--full-access-dir-try": [["--full-access-dir-try", "/w"], op({ kind: "dirmodes", modes: [{ dir: "/w", mode: "full-access", optional: true }] })],
      "--tmpfs-size": [["--overlay-dir", "/", "--tmpfs-size", "1g"], dm({ tmpfsSize: "1g" })],
      "--tmpfs-numa": [["--overlay-dir", "/", "--tmpfs-numa", "0"], dm({ tmpfsNuma: "0" })],
      "--output-dir": [["--overlay-dir", "/", "--output-dir", "out"], dm({ outputDir: "/home/u/src/out" })],
    };
    expect(Object.keys(TABLE).sort()).toEqual(knownOptions().sort());
    const readFd = () => new TextEncoder().encode("hi");
    for (const [option, [args, expected]] of Object.entries(TABLE)) {
      const plan = run([...args, "true"], { fds: [3], readFd });
      expect({ option, ...plan }).toMatchObject({ option, ...expected, argv: ["true"] });
      // Nothing else changed: every field the entry does not name is the empty plan's.
      const base = run(["true"], { fds: [3] });
      for (const [k, v] of Object.entries(plan)) if (!(k in expected)) expect({ option, k, v }).toEqual({ option, k, v: base[k as keyof Plan] });
    }
  });

  test("--confinement takes namespaces, landlock or auto; the default is namespaces; anything else is a usage error", () => {
    expect(run(["true"]).confinement).toBe("namespaces");
    for (const mode of ["namespaces", "landlock", "auto"] as const) expect(run(["--confinement", mode, "true"]).confinement).toBe(mode);
    expect(() => parse(["--confinement", "seccomp", "true"])).toThrow('--confinement: unknown mode "seccomp"; give namespaces, landlock, auto');
    expect(() => parse(["--confinement"])).toThrow("--confinement needs an argument (--confinement MODE)");
    expect(() => parse(["--enter", "1", "--confinement", "auto"])).toThrow("--confinement cannot be used with --enter");
  });

  test("limits: BenchExec's names, sizes with k/m/g, seconds to milliseconds, --rlimit NAME=SOFT[:HARD]; bad values are usage errors", () => {
    const p = run(["--memlimit", "256m", "--timelimit", "1.5", "--walltimelimit", "10", "--pidlimit", "64", "--rlimit", "nofile=16", "--rlimit", "core=0", "--rlimit", "stack=8m:unlimited", "--rlimit", "nofile=32:64", "true"]);
    expect(p.limits).toEqual({
      memory: 256 * 1024 ** 2, cpuTime: 1500, wallTime: 10_000, pids: 64,
      rlimits: [{ resource: "core", soft: 0, hard: 0 }, { resource: "stack", soft: 8 * 1024 ** 2, hard: null }, { resource: "nofile", soft: 32, hard: 64 }],
    });
    expect(validatePlan(p)).toBe(p);
    expect(() => parse(["--memlimit", "-1", "true"])).toThrow('--memlimit: invalid value "-1"; give a positive number of bytes');
    expect(() => parse(["--timelimit", "0", "true"])).toThrow('--timelimit: invalid value "0"; give a positive number of seconds of CPU time');
    expect(() => parse(["--pidlimit", "ten", "true"])).toThrow('--pidlimit: invalid value "ten"; give a positive number of processes');
    expect(() => parse(["--rlimit", "files=3", "true"])).toThrow('--rlimit: "files=3" is not NAME=SOFT[:HARD] with NAME one of cpu, fsize');
    expect(() => parse(["--rlimit", "nofile=64:16", "true"])).toThrow('--rlimit: "nofile=64:16": the soft limit exceeds the hard one');
    expect(() => parse(["--rlimit", "nofile=lots", "true"])).toThrow('--rlimit: "nofile=lots": a value is a number (k, m, g suffixes allowed) or unlimited');
  });

  test("parsed plans validate", () => {
    const p = run([
      "--tmpfs", "/", "--ro-bind", "/usr", "/usr", "--dev", "/dev", "--proc", "/proc", "--symlink", "usr/bin", "/bin",
      "--setenv", "X", "y", "--same-dir", "--become-root", "sh", "-c", "true",
    ], { fds: [3] });
    expect(validatePlan(p)).toBe(p);
  });
});
