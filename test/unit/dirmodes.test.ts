// Directory modes, the pure parts: defaults, validation, option parsing, which mode each mount
// point gets, what stays reachable, how a refused overlay is split, the builder and toArgs.
import { describe, expect, test } from "bun:test";
import {
  checkNumaNodes, checkTmpfsSize, Coverage, describeDirModes, dirModesTmpfsOptions, effectiveDirModes, overlayDowngrade,
  planOverlaySplit, resolveDirModes, type DirModeAction, type HostMount,
} from "../../src/plan/ops/dirmodes.ts";
import { parseMountinfo } from "../../src/stage/mounts.ts";
import { parseArgs, UsageError } from "../../src/cli/args.ts";
import { helpText } from "../../src/cli/help.ts";
import { validatePlan } from "../../src/plan/validate.ts";
import { optimizeOperations } from "../../src/plan/optimize.ts";
import { PlanError } from "../../src/plan/errors.ts";
import { describeOperation } from "../../src/plan/ops/index.ts";
import { emptyPlan, type DirMode, type DirModesOp, type Operation, type Plan } from "../../src/plan/types.ts";
import { sandbox } from "../../src/api/index.ts";
import { earlyPhase } from "../../src/stage/early.ts";

// A host like a typical systemd machine, in mountinfo form (stacked /dev/shm: the later is on top).
const MOUNTINFO = [
  "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw",
  "22 27 0:21 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw",
  "50 22 0:50 / /proc/sys/fs/binfmt_misc rw,relatime - binfmt_misc binfmt_misc rw",
  "23 27 0:22 / /sys rw,nosuid,nodev,noexec,relatime - sysfs sysfs rw",
  "31 23 0:28 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw",
  "24 27 0:6 / /dev rw,nosuid,relatime - devtmpfs devtmpfs rw,mode=755",
  "25 24 0:23 / /dev/shm rw,nosuid,nodev - tmpfs tmpfs rw",
  "30 25 0:27 / /dev/shm rw,nosuid,nodev,noexec - tmpfs shm rw",
  "26 24 0:24 / /dev/pts rw,nosuid,noexec,relatime - devpts devpts rw,mode=620",
  "40 27 0:40 / /run rw,nosuid,nodev - tmpfs tmpfs rw,mode=755",
  "41 40 0:41 / /run/user/1000 rw,nosuid,nodev,relatime - tmpfs tmpfs rw,mode=700",
  "42 27 259:2 / /home rw,relatime - ext4 /dev/nvme0n1p2 rw",
  "43 27 259:1 / /boot/efi rw,relatime - vfat /dev/nvme0n1p1 rw",
  "44 27 0:44 / /mnt/auto rw,relatime - autofs systemd-1 rw",
  "45 27 0:45 / /mnt/win rw,relatime - ntfs3 /dev/sdb1 rw",
  "46 42 0:46 / /home/u/remote rw,nosuid,nodev - fuse.sshfs u@h: rw",
  "47 27 0:47 / /mnt/cg rw - cgroup cgroup rw,cpu",
  "48 27 259:3 / /srv/data ro,relatime - xfs /dev/sdc1 rw",
].join("\n");

const HOST: HostMount[] = parseMountinfo(MOUNTINFO).map((m) => ({ path: m.mountPoint, fstype: m.fstype, options: m.options }));

function resolve(modes: Record<string, DirMode>, opts: { canEnter?: (d: string) => boolean; mounts?: HostMount[] } = {}) {
  const entries = Object.entries(modes).map(([dir, mode]) => ({ dir, mode }));
  return resolveDirModes({ mounts: opts.mounts ?? HOST, modes: effectiveDirModes(entries), configured: new Set(Object.keys(modes)), canEnter: opts.canEnter });
}

/** "path mode[ (reason)]" per action. */
function show(actions: DirModeAction[]): string[] {
  return actions.map((a) => `${a.path} ${a.mode}${a.reason ? ` (${a.reason})` : ""}${a.mountPoint ? "" : " [dir]"}`);
}

describe("effectiveDirModes", () => {
  test("without a mode for /: / overlay, /run and /tmp hidden", () => {
    expect([...effectiveDirModes([{ dir: "/usr", mode: "read-only" }])]).toEqual([["/usr", "read-only"], ["/", "overlay"], ["/run", "hidden"], ["/tmp", "hidden"]]);
  });

  test("an explicit mode for / means no defaults at all", () => {
    expect([...effectiveDirModes([{ dir: "/", mode: "read-only" }])]).toEqual([["/", "read-only"]]);
  });

  test("an explicit /tmp or /run mode wins over the default; paths are normalised", () => {
    const m = effectiveDirModes([{ dir: "/tmp/", mode: "full-access" }, { dir: "/run/./x/..", mode: "read-only" }]);
    expect(m.get("/tmp")).toBe("full-access");
    expect(m.get("/run")).toBe("read-only");
    expect(m.get("/")).toBe("overlay");
  });
});

describe("tmpfs size and NUMA nodes", () => {
  test("sizes: bytes, k/m/g suffixes, percentages", () => {
    for (const ok of ["1", "4096", "512k", "100m", "2G", "1t", "50%", "100%", "150%"]) expect([ok, checkTmpfsSize(ok)]).toEqual([ok, null]);
    for (const bad of ["", "0", "-1", "1.5g", "10x", "m", "%", "0%", "1 g", "10mb"]) expect(checkTmpfsSize(bad)).toContain("invalid size");
    expect(checkTmpfsSize(100)).toContain("invalid size");
  });

  test("node lists: numbers, ranges, commas", () => {
    for (const ok of ["0", "1", "0-3", "0,2", "0-1,3,5-7"]) expect([ok, checkNumaNodes(ok)]).toEqual([ok, null]);
    for (const bad of ["", "a", "0-", "-1", "0,", "0;1", "0 1", "bind:0", "1-0"]) expect(checkNumaNodes(bad)).toContain("invalid NUMA node list");
    expect(checkNumaNodes("3-1")).toContain("backwards");
  });

  test("tmpfs options: size=100% by default, mpol=bind when nodes are given", () => {
    expect(dirModesTmpfsOptions({})).toBe("size=100%");
    expect(dirModesTmpfsOptions({ tmpfsSize: "1g", tmpfsNuma: "0-1" })).toBe("size=1g,mpol=bind:0-1");
  });
});

describe("resolveDirModes", () => {
  test("defaults: / overlay; downgrades by tree and filesystem; /run hidden with its submounts skipped", () => {
    const r = resolve({});
    expect(show(r.actions)).toEqual([
      "/ overlay",
      "/boot/efi read-only (overlay impossible on vfat)",
      "/dev read-only (overlay impossible under /dev)",
      "/dev/pts read-only (overlay impossible under /dev)",
      "/dev/shm read-only (overlay impossible under /dev)",
      "/home overlay",
      "/home/u/remote read-only (overlay impossible on fuse.sshfs)",
      "/mnt/auto read-only (overlay impossible on autofs)",
      "/mnt/cg read-only (overlay impossible on cgroup)",
      "/mnt/win read-only (overlay impossible on ntfs3)",
      "/proc full-access (overlay impossible on proc; the host's procfs as --proc binds it)",
      "/run hidden",
      "/srv/data overlay",
      "/sys read-only (overlay impossible under /sys)",
      "/sys/fs/cgroup read-only (overlay impossible under /sys)",
      "/tmp hidden [dir]",
    ]);
    expect(r.shm).toEqual(["/dev/shm", "/run/shm"]);
  });

  test("the topmost of stacked mounts gives the filesystem type and options", () => {
    const shm = resolve({}).actions.find((a) => a.path === "/dev/shm")!;
    expect(shm.fstype).toBe("tmpfs");
    expect(shm.options).toBe("rw,nosuid,nodev,noexec");
  });

  test("the nearest configured ancestor wins, mount points and configured directories alike", () => {
    const r = resolve({ "/": "read-only", "/home": "overlay", "/home/u": "full-access", "/srv": "hidden" });
    const modes = Object.fromEntries(r.actions.map((a) => [a.path, a.mode]));
    expect(modes["/"]).toBe("read-only");
    expect(modes["/home"]).toBe("overlay");
    expect(modes["/home/u"]).toBe("full-access");
    expect(modes["/home/u/remote"]).toBe("full-access"); // fuse: only overlay is impossible
    expect(modes["/srv"]).toBe("hidden");
    expect(modes["/srv/data"]).toBeUndefined(); // below a hidden directory: skipped
    expect(modes["/tmp"]).toBeUndefined(); // no defaults with an explicit /
    expect(modes["/dev"]).toBe("read-only");
    const u = r.actions.find((a) => a.path === "/home/u")!;
    expect(u).toEqual({ path: "/home/u", mode: "full-access", mountPoint: false, fstype: "ext4", options: "rw,relatime" });
  });

  test("full-access and read-only are kept where overlay is impossible; hidden applies to anything", () => {
    const r = resolve({ "/": "full-access", "/dev": "hidden", "/sys": "read-only" });
    expect(show(r.actions).filter((l) => /^\/(dev|sys|proc|mnt\/win)/.test(l))).toEqual([
      "/dev hidden", "/mnt/win full-access", "/proc full-access", "/sys read-only", "/sys/fs/cgroup read-only",
    ]);
  });

  test("a non-hidden configured directory inside a hidden one is kept, and what is below it", () => {
    const r = resolve({ "/run/user/1000": "full-access", "/tmp/keep": "overlay", "/tmp/keep/secret": "hidden" });
    expect(show(r.actions).filter((l) => /^\/(run|tmp)/.test(l))).toEqual([
      "/run hidden", "/run/user/1000 full-access", "/tmp hidden [dir]", "/tmp/keep overlay [dir]", "/tmp/keep/secret hidden [dir]",
    ]);
  });

  test("a hidden configured directory inside a hidden one is skipped", () => {
    const r = resolve({ "/tmp/x": "hidden" });
    expect(r.actions.map((a) => a.path)).not.toContain("/tmp/x");
  });

  test("mount points below /proc come with /proc", () => {
    expect(resolve({}).actions.map((a) => a.path).filter((p) => p.startsWith("/proc"))).toEqual(["/proc"]);
  });

  test("a mount point whose parent the caller cannot enter: the topmost such directory is hidden", () => {
    const mounts = [...HOST, { path: "/root/a/b/m", fstype: "tmpfs", options: "rw" }, { path: "/root/z", fstype: "tmpfs", options: "rw" }];
    const closed = (d: string) => !(d === "/root" || d.startsWith("/root/"));
    const r = resolve({ "/root/a/cfg": "full-access" }, { mounts, canEnter: closed });
    const root = r.actions.filter((a) => a.path.startsWith("/root"));
    expect(show(root)).toEqual(["/root hidden (the caller cannot enter /root) [dir]"]);
    // The same when everything can be entered: each keeps its own mode.
    const open = resolve({ "/root/a/cfg": "full-access" }, { mounts });
    expect(show(open.actions.filter((a) => a.path.startsWith("/root")))).toEqual(["/root/a/b/m overlay", "/root/a/cfg full-access [dir]", "/root/z overlay"]);
  });

  test("an unenterable directory that is itself a mount point is hidden over it", () => {
    const mounts = [...HOST, { path: "/secret", fstype: "ext4", options: "rw" }, { path: "/secret/inner", fstype: "tmpfs", options: "rw" }];
    const r = resolve({}, { mounts, canEnter: (d) => d !== "/secret" });
    expect(show(r.actions.filter((a) => a.path.startsWith("/secret")))).toEqual(["/secret hidden (the caller cannot enter /secret)"]);
  });

  test("/dev/shm and /run/shm get a writable tmpfs unless configured", () => {
    expect(resolve({ "/dev/shm": "read-only" }).shm).toEqual(["/run/shm"]);
    expect(resolve({ "/run/shm": "hidden", "/dev/shm": "overlay" }).shm).toEqual([]);
    // A configured ancestor is not the directory itself.
    expect(resolve({ "/dev": "full-access" }).shm).toEqual(["/dev/shm", "/run/shm"]);
  });

  test("parents come before children", () => {
    const paths = resolve({ "/a/b": "read-only", "/a": "full-access", "/a/b/c": "hidden" }).actions.map((a) => a.path);
    expect(paths.indexOf("/a")).toBeLessThan(paths.indexOf("/a/b"));
    expect(paths.indexOf("/a/b")).toBeLessThan(paths.indexOf("/a/b/c"));
  });

  test("overlayDowngrade: read-only under /dev, /sys and on what overlayfs cannot use; a procfs stays writable", () => {
    expect(overlayDowngrade("/dev", "devtmpfs")).toEqual({ mode: "read-only", reason: "overlay impossible under /dev" });
    expect(overlayDowngrade("/devices", "ext4")).toBeNull();
    expect(overlayDowngrade("/sys/kernel/debug", "debugfs")).toEqual({ mode: "read-only", reason: "overlay impossible under /sys" });
    for (const fs of ["cgroup", "cgroup2", "autofs", "vfat", "ntfs", "ntfs3", "fuse", "fuseblk", "fuse.sshfs", "sysfs"]) {
      expect(overlayDowngrade("/x", fs)).toEqual({ mode: "read-only", reason: `overlay impossible on ${fs}` });
    }
    expect(overlayDowngrade("/proc", "proc")).toEqual({ mode: "full-access", reason: "overlay impossible on proc; the host's procfs as --proc binds it" });
    for (const fs of ["ext4", "xfs", "btrfs", "tmpfs", "overlay", "nfs4"]) expect(overlayDowngrade("/x", fs)).toBeNull();
  });
});

describe("Coverage", () => {
  test("a covering action (overlay, hidden) makes the copies below it unreachable until something is bound again", () => {
    const c = new Coverage();
    expect(c.reachable("/")).toBe(true);
    expect(c.reachable("/a")).toBe(true);
    c.record("/", true);
    expect(c.reachable("/a")).toBe(false);
    c.record("/a", false); // bound again (read-only or full-access): its copies are back
    expect(c.reachable("/a/b")).toBe(true);
    expect(c.reachable("/c")).toBe(false);
    c.record("/a/b", true);
    expect(c.reachable("/a/b/c")).toBe(false);
    expect(c.reachable("/a/x")).toBe(true);
  });
});

describe("planOverlaySplit", () => {
  const tree: Record<string, string[]> = {
    "/": ["etc", "home", "mnt", "proc", "tmp", "usr"],
    "/mnt": ["a", "b"],
    "/mnt/a": ["deep"],
    "/mnt/a/deep": ["m", "n"],
  };
  const list = (d: string) => tree[d] ?? [];

  test("subdirectories without mount points below are overlaid; ones with mount points are descended into", () => {
    const mounts = ["/", "/proc", "/mnt/a/deep/m"];
    expect(planOverlaySplit("/", mounts, new Set(["/", "/proc", "/tmp"]), list)).toEqual(["/etc", "/home", "/mnt/a/deep/n", "/mnt/b", "/usr"]);
  });

  test("a directory that cannot be read is left alone", () => {
    expect(planOverlaySplit("/", ["/mnt/a/x"], new Set(), (d) => (d === "/mnt" ? null : list(d)))).toEqual(["/etc", "/home", "/proc", "/tmp", "/usr"]);
  });
});

describe("validation", () => {
  const op = (o: Partial<DirModesOp> = {}): DirModesOp => ({ kind: "dirmodes", modes: [{ dir: "/", mode: "overlay" }], ...o });
  const plan = (...ops: Operation[]): Plan => ({ ...emptyPlan(), argv: ["true"], ops });
  const planError = (p: Plan): string => {
    try {
      validatePlan(p);
    } catch (e) {
      expect(e).toBeInstanceOf(PlanError);
      return (e as Error).message;
    }
    throw new Error("accepted");
  };

  test("a good plan passes and stays JSON", () => {
    const p = plan(op({ tmpfsSize: "1g", tmpfsNuma: "0", outputDir: "/out", modes: [{ dir: "/", mode: "overlay" }, { dir: "/usr", mode: "read-only" }, { dir: "/usr", mode: "read-only" }] }));
    expect(validatePlan(p)).toBe(p);
    expect(JSON.parse(JSON.stringify(p))).toEqual(p);
  });

  test("errors name the field", () => {
    expect(planError(plan(op({ modes: [] })))).toStartWith("ops[0].modes: directory modes need at least one directory");
    expect(planError(plan(op({ modes: [{ dir: "usr", mode: "read-only" }] })))).toStartWith('ops[0].modes[0].dir: "usr" is not an absolute path');
    expect(planError(plan(op({ modes: [{ dir: "/usr", mode: "ro" as DirMode }] })))).toStartWith('ops[0].modes[0].mode: unknown directory mode "ro" (known: hidden, read-only, overlay, full-access)');
    expect(planError(plan(op({ modes: [{ dir: "/usr", mode: "hidden" }, { dir: "/usr/", mode: "overlay" }] })))).toBe("ops[0].modes[1].mode: /usr is given two modes (hidden and overlay); give one");
    expect(planError(plan(op({ tmpfsSize: "lots" })))).toStartWith("ops[0].tmpfsSize: invalid size");
    expect(planError(plan(op({ tmpfsNuma: "node0" })))).toStartWith("ops[0].tmpfsNuma: invalid NUMA node list");
    expect(planError(plan(op({ outputDir: "out" })))).toStartWith("ops[0].outputDir:");
    expect(planError(plan(op(), op()))).toStartWith("ops[1]: a plan has at most one set of directory modes");
  });

  test("nothing else may replace / (bind, tmpfs, overlay); other operations on top are fine", () => {
    const bind: Operation = { kind: "bind", src: "/", dst: "/", readonly: true, optional: false, relative: false, nofollow: false };
    expect(planError(plan(op(), bind))).toStartWith("ops[1]: a bind on / cannot be combined with directory modes");
    expect(planError(plan({ kind: "tmpfs", dst: "/" }, op()))).toStartWith("ops[0]: a tmpfs on / cannot be combined");
    const p = plan(op(), { kind: "tmpfs", dst: "/tmp" }, { kind: "dev", dst: "/dev" }, { ...bind, dst: "/mnt" });
    expect(validatePlan(p)).toBe(p);
  });

  test("one-line description with the effective modes", () => {
    expect(describeOperation(op({ modes: [{ dir: "/usr", mode: "read-only" }], outputDir: "/out" }))).toBe(
      "dirmodes / overlay, /run hidden, /tmp hidden, /usr read-only (tmpfs size=100%; output to /out)",
    );
    expect(describeDirModes(op({ tmpfsNuma: "0" }))).toBe("dirmodes / overlay (tmpfs size=100%,mpol=bind:0)");
  });

  test("the optimiser puts directory modes first", () => {
    const ops: Operation[] = [{ kind: "tmpfs", dst: "/a" }, { kind: "dir", dst: "/" }, op()];
    expect(optimizeOperations(ops)[0]!.kind).toBe("dirmodes");
  });
});

describe("command line", () => {
  const parse = (argv: string[]) => {
    const r = parseArgs({ argv, env: {}, cwd: "/home/u", tty: null, fds: [] });
    if (r.kind !== "run") throw new Error(r.kind);
    return r.plan;
  };
  const usage = (argv: string[]): string => {
    try {
      parse(argv);
    } catch (e) {
      expect(e).toBeInstanceOf(UsageError);
      return (e as Error).message;
    }
    throw new Error(`accepted ${argv.join(" ")}`);
  };

  test("the four modes, repeatable, relative paths absolutised, one dirmodes op first", () => {
    const p = parse(["--tmpfs", "/x", "--hidden-dir", "secret", "--read-only-dir", "/usr", "--overlay-dir", "/", "--full-access-dir", "/home/u/out/",
      "--hidden-dir", "/var/cache", "--tmpfs-size", "2g", "--tmpfs-numa", "0-1", "--output-dir", "results", "make"]);
    expect(p.ops).toEqual([
      {
        kind: "dirmodes",
        modes: [
          { dir: "/home/u/secret", mode: "hidden" }, { dir: "/usr", mode: "read-only" }, { dir: "/", mode: "overlay" },
          { dir: "/home/u/out", mode: "full-access" }, { dir: "/var/cache", mode: "hidden" },
        ],
        tmpfsSize: "2g", tmpfsNuma: "0-1", outputDir: "/home/u/results",
      },
      { kind: "tmpfs", dst: "/x" },
    ]);
    expect(p.argv).toEqual(["make"]);
    expect(validatePlan(p)).toBe(p);
  });

  test("no directory-mode option: no dirmodes operation", () => {
    expect(parse(["--ro-bind", "/", "/", "true"]).ops.some((o) => o.kind === "dirmodes")).toBe(false);
  });

  test("usage errors", () => {
    expect(usage(["--hidden-dir", "/usr", "--read-only-dir", "/usr/", "true"])).toBe("--read-only-dir /usr/: /usr already has mode hidden (--hidden-dir); give one mode per directory");
    expect(usage(["--output-dir", "/o", "true"])).toStartWith("--output-dir only apply with directory modes");
    expect(usage(["--tmpfs-size", "1g", "--tmpfs-numa", "0", "true"])).toStartWith("--tmpfs-size, --tmpfs-numa only apply with directory modes");
    expect(usage(["--overlay-dir", "/", "--tmpfs-size", "huge", "true"])).toStartWith("--tmpfs-size: invalid size");
    expect(usage(["--overlay-dir", "/", "--tmpfs-numa", "0-", "true"])).toStartWith("--tmpfs-numa: invalid NUMA node list");
    expect(usage(["--overlay-dir", "/x", "--ro-bind", "/", "/", "true"])).toContain("cannot be combined with a bind on /");
    expect(usage(["--hidden-dir"])).toBe("--hidden-dir needs an argument (--hidden-dir DIR)");
    // The same mode twice is harmless.
    expect(parse(["--read-only-dir", "/usr", "--read-only-dir", "/usr", "true"]).ops[0]).toEqual({ kind: "dirmodes", modes: [{ dir: "/usr", mode: "read-only" }] });
  });

  test("a DIR missing on the host is a usage error naming the option and its -try form, which skips it", () => {
    const hostHas = (p: string) => p !== "/home/u/typo";
    const on = (argv: string[]) => parseArgs({ argv, env: {}, cwd: "/home/u", tty: null, fds: [], hostHas });
    for (const o of ["--hidden-dir", "--read-only-dir", "--overlay-dir", "--full-access-dir"]) {
      expect(() => on([o, "typo", "true"])).toThrow(new UsageError(`${o} typo: /home/u/typo does not exist on the host; create it, or use ${o}-try to skip it when missing`));
    }
    const r = on(["--hidden-dir-try", "typo", "--read-only-dir-try", "/usr", "--overlay-dir", "/", "true"]);
    expect(r.kind === "run" && r.plan.ops[0]).toEqual({
      kind: "dirmodes", modes: [{ dir: "/home/u/typo", mode: "hidden", optional: true }, { dir: "/usr", mode: "read-only", optional: true }, { dir: "/", mode: "overlay" }],
    });
    // Given both ways, it is required.
    const both = on(["--hidden-dir-try", "/x", "--hidden-dir", "/x", "true"]);
    expect(both.kind === "run" && both.plan.ops[0]).toEqual({ kind: "dirmodes", modes: [{ dir: "/x", mode: "hidden" }] });
  });

  test("--help documents the options", () => {
    for (const o of ["--hidden-dir DIR", "--read-only-dir DIR", "--overlay-dir DIR", "--full-access-dir DIR", "--tmpfs-size SIZE", "--tmpfs-numa NODES", "--output-dir DIR"]) {
      expect(helpText()).toContain(o);
    }
  });
});

describe("library builder", () => {
  test("dirMode, outputDir, tmpfsSize, tmpfsNuma make one dirmodes operation first in the plan", () => {
    const box = sandbox().tmpfs("/scratch").dirMode("/usr", "read-only").dirMode("/", "overlay").outputDir("/out").tmpfsSize(1 << 30).tmpfsNuma([0, 1]);
    const plan = box.toPlan(["true"]);
    expect(plan.ops[0]).toEqual({ kind: "dirmodes", modes: [{ dir: "/usr", mode: "read-only" }, { dir: "/", mode: "overlay" }], outputDir: "/out", tmpfsSize: "1073741824", tmpfsNuma: "0,1" });
    expect(plan.ops[1]).toEqual({ kind: "tmpfs", dst: "/scratch" });
    expect(validatePlan(plan)).toBe(plan);
  });

  test("toArgs gives the same plan back through the CLI parser; fromPlan keeps the settings", () => {
    const box = sandbox().dirMode("/tmp/x", "full-access").dirMode("/usr", "hidden").tmpfsSize("50%").outputDir("/o");
    const args = box.toArgs(["make"]);
    expect(args).toEqual(["--seal", "--full-access-dir", "/tmp/x", "--hidden-dir", "/usr", "--tmpfs-size", "50%", "--output-dir", "/o", "--", "make"]);
    const parsed = parseArgs({ argv: args, env: {}, cwd: "/", tty: null, fds: [] });
    expect(parsed.kind === "run" && parsed.plan.ops).toEqual(box.toPlan(["make"]).ops);
    const again = sandbox.fromPlan(box.toPlan());
    expect(again.toPlan(["make"]).ops).toEqual(box.toPlan(["make"]).ops);
    expect(again.dirMode("/usr", "hidden").toPlan().ops).toEqual(box.toPlan().ops);
  });

  test("dirMode(dir, mode, { optional: true }) is the -try form: toArgs gives it, the early phase leaves it; a required one missing fails there", () => {
    const missing = `/nonexistent-bsb-${process.pid}`;
    const box = sandbox().dirMode(missing, "hidden", { optional: true });
    expect(box.toPlan().ops[0]).toEqual({ kind: "dirmodes", modes: [{ dir: missing, mode: "hidden", optional: true }] });
    expect(box.toArgs()).toEqual(["--seal", "--hidden-dir-try", missing]);
    expect(sandbox.fromPlan(box.toPlan()).toPlan().ops).toEqual(box.toPlan().ops);
    expect(sandbox().dirMode("/x", "hidden", { optional: true }).dirMode("/x", "hidden").toPlan().ops[0]).toEqual({ kind: "dirmodes", modes: [{ dir: "/x", mode: "hidden" }] });
    const op = (optional: boolean): Operation => ({ kind: "dirmodes", modes: [{ dir: missing, mode: "read-only", ...(optional ? { optional } : {}) }] });
    expect(earlyPhase([op(true)])).toEqual([op(true)]);
    expect(() => earlyPhase([op(false)])).toThrow(`--read-only-dir ${missing}: does not exist on the host; create it, or make it optional (--read-only-dir-try, dirMode(dir, mode, { optional: true }))`);
    expect(() => sandbox().dirMode("/usr", "hidden", { optional: 1 } as never)).toThrow(PlanError);
  });

  test("bad settings throw PlanError at once; outputDir alone fails at spawn time", () => {
    expect(() => sandbox().dirMode("/usr", "ro" as DirMode)).toThrow(PlanError);
    expect(() => sandbox().dirMode("/usr", "hidden").dirMode("/usr", "overlay")).toThrow("/usr already has mode hidden");
    expect(() => sandbox().tmpfsSize("big")).toThrow("invalid size");
    expect(() => sandbox().tmpfsNuma("x")).toThrow("invalid NUMA node list");
    expect(() => sandbox().outputDir("/o").spawnSync(["true"])).toThrow("directory modes need at least one directory");
    expect(() => sandbox().dirMode("/x", "overlay").roBind("/", "/").spawnSync(["true"])).toThrow("cannot be combined with directory modes");
  });
});
