// The operations taken from hakurei's container package (seed 004): validation, descriptions,
// command-line parsing, the library's builder and toArgs(), the optimizer's ordering and the
// pure flag arithmetic of remounts.
import { describe, expect, test } from "bun:test";
import { parseArgs, parseOctalMode, parseSize, UsageError, type ParseInput } from "../../src/cli/args.ts";
import { emptyPlan, type Operation, type Plan } from "../../src/plan/types.ts";
import { validatePlan } from "../../src/plan/validate.ts";
import { PlanError } from "../../src/plan/errors.ts";
import { describeOperation, validateOperation } from "../../src/plan/ops/index.ts";
import { parseRemountOptions } from "../../src/plan/ops/remount.ts";
import { base64Bytes, fileMode } from "../../src/plan/ops/file.ts";
import { isLateOperation, optimizeOperations } from "../../src/plan/optimize.ts";
import { mountAttrChange, mountsUnder, parseMountinfo, remountedFlags } from "../../src/stage/mounts.ts";
import { MOUNT_ATTR, MS } from "../../src/sys/flags.ts";
import { sandbox } from "../../src/api/index.ts";
import { planError } from "../support/errors.ts";

const ENV = { PATH: "/usr/bin:/bin" };

function parse(argv: string[], extra: Partial<ParseInput> = {}): Plan {
  const r = parseArgs({ argv, env: ENV, cwd: "/home/u", tty: null, fds: [], ...extra });
  if (r.kind !== "run") throw new Error(`expected a run result, got ${r.kind}`);
  return r.plan;
}

function usage(argv: string[], extra: Partial<ParseInput> = {}): string {
  try {
    parse(argv, extra);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    expect((e as Error).message).not.toContain("\n");
    return (e as Error).message;
  }
  throw new Error(`parseArgs accepted ${JSON.stringify(argv)}`);
}

/** The field of the PlanError validateOperation throws for `op`. */
function opError(op: unknown): PlanError {
  try {
    validateOperation(op as Operation, "ops[0]");
  } catch (e) {
    expect(e).toBeInstanceOf(PlanError);
    expect((e as Error).message).not.toContain("\n");
    return e as PlanError;
  }
  throw new Error(`accepted ${JSON.stringify(op)}`);
}


const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("validation", () => {
  test("remount: absolute dst, a string of per-mount flags, at least one flag", () => {
    expect(() => validateOperation({ kind: "remount", dst: "/x", options: "ro,nosuid,nodev" }, "ops[0]")).not.toThrow();
    expect(() => validateOperation({ kind: "remount", dst: "/x", options: "rw,suid,dev,exec,symfollow,diratime,rec" }, "ops[0]")).not.toThrow();
    expect(opError({ kind: "remount", dst: "x", options: "ro" }).field).toBe("ops[0].dst");
    expect(opError({ kind: "remount", dst: "/x", options: 1 }).field).toBe("ops[0].options");
    const bad = opError({ kind: "remount", dst: "/x", options: "ro,bind" });
    expect(bad.field).toBe("ops[0].options");
    expect(bad.message).toContain('"bind" cannot be used in a remount');
    expect(opError({ kind: "remount", dst: "/x", options: "rprivate" }).message).toContain('"rprivate" cannot be used');
    expect(opError({ kind: "remount", dst: "/x", options: "sync" }).message).toContain('"sync" cannot be used');
    expect(opError({ kind: "remount", dst: "/x", options: "bogus" }).field).toBe("ops[0].options");
    expect(opError({ kind: "remount", dst: "/x", options: "ro,rw" }).message).toContain("conflicting");
    expect(opError({ kind: "remount", dst: "/x", options: "noatime,relatime" }).message).toContain("conflicting");
    expect(opError({ kind: "remount", dst: "/x", options: "" }).message).toContain("changes no flag");
    expect(opError({ kind: "remount", dst: "/x", options: "rec" }).message).toContain("changes no flag");
  });

  test("mqueue: absolute dst; validatePlan wants an IPC namespace for it and for dev's mqueue", () => {
    expect(opError({ kind: "mqueue", dst: "dev/mqueue" }).field).toBe("ops[0].dst");
    const plan = (ops: Operation[], unshareIpc: boolean): Plan => ({ ...emptyPlan(), argv: ["true"], ops, unshareIpc });
    const e = planError(() => validatePlan(plan([{ kind: "tmpfs", dst: "/t" }, { kind: "mqueue", dst: "/m" }], false)));
    expect(e.field).toBe("ops[1]");
    expect(e.message).toContain("IPC namespace");
    expect(e.message).toContain("--unshare-ipc");
    expect(planError(() => validatePlan(plan([{ kind: "dev", dst: "/dev", mqueue: true }], false))).field).toBe("ops[0]");
    expect(() => validatePlan(plan([{ kind: "mqueue", dst: "/m" }, { kind: "dev", dst: "/dev", mqueue: true }], true))).not.toThrow();
    expect(() => validatePlan(plan([{ kind: "dev", dst: "/dev", mqueue: false }], false))).not.toThrow();
  });

  test("file: absolute dst, base64 contents, boolean readonly, a valid mode", () => {
    const good = { kind: "file", dst: "/etc/x", base64: b64("hello"), readonly: true };
    expect(() => validateOperation(good as Operation, "ops[0]")).not.toThrow();
    expect(() => validateOperation({ ...good, base64: "" } as Operation, "ops[0]")).not.toThrow();
    expect(opError({ ...good, dst: "etc/x" }).field).toBe("ops[0].dst");
    expect(opError({ ...good, base64: "not base64!" }).field).toBe("ops[0].base64");
    expect(opError({ ...good, base64: "abc" }).field).toBe("ops[0].base64");
    expect(opError({ ...good, base64: Buffer.from("x") }).field).toBe("ops[0].base64");
    expect(opError({ ...good, readonly: "yes" }).field).toBe("ops[0].readonly");
    expect(opError({ ...good, mode: 0o10000 }).field).toBe("ops[0].mode");
    expect(opError({ ...good, mode: -1 }).field).toBe("ops[0].mode");
    expect(opError({ ...good, mode: "0644" }).field).toBe("ops[0].mode");
    expect(opError({ ...good, base64: "A".repeat(4 * Math.ceil((16 * 1024 * 1024 + 1) / 3)) }).message).toContain("at most");
  });

  test("chmod: absolute dst and a mode 0..7777", () => {
    expect(() => validateOperation({ kind: "chmod", dst: "/x", mode: 0o7777 }, "ops[0]")).not.toThrow();
    expect(opError({ kind: "chmod", dst: "x", mode: 0o755 }).field).toBe("ops[0].dst");
    for (const mode of [0o10000, -1, 1.5, "755", undefined]) expect(opError({ kind: "chmod", dst: "/x", mode }).field).toBe("ops[0].mode");
  });

  test("symlink with dereference: the host link must be an absolute path", () => {
    expect(() => validateOperation({ kind: "symlink", target: "/etc/alternatives/x", dst: "/x", dereference: true }, "ops[0]")).not.toThrow();
    expect(() => validateOperation({ kind: "symlink", target: "relative", dst: "/x", dereference: false }, "ops[0]")).not.toThrow();
    expect(opError({ kind: "symlink", target: "rel/link", dst: "/x", dereference: true }).field).toBe("ops[0].target");
    expect(opError({ kind: "symlink", target: "/l", dst: "/x", dereference: 1 }).field).toBe("ops[0].dereference");
  });

  test("tmpfs size, mode and readonly; dir mode; bind device", () => {
    for (const size of [0, -1, 1.5, "1k", 2 ** 60]) expect(opError({ kind: "tmpfs", dst: "/t", size }).field).toBe("ops[0].size");
    expect(opError({ kind: "tmpfs", dst: "/t", mode: 0o17777 }).field).toBe("ops[0].mode");
    expect(opError({ kind: "tmpfs", dst: "/t", readonly: "true" }).field).toBe("ops[0].readonly");
    expect(opError({ kind: "dir", dst: "/d", mode: 0o10000 }).field).toBe("ops[0].mode");
    const bind = { kind: "bind", src: "/a", dst: "/b", readonly: false, optional: false, relative: false, nofollow: false };
    expect(opError({ ...bind, device: "no" }).field).toBe("ops[0].device");
  });
});

describe("descriptions", () => {
  test("one line each, naming the destination and what is special", () => {
    expect(describeOperation({ kind: "remount", dst: "/usr", options: "ro,nosuid" })).toBe("remount /usr (ro,nosuid)");
    expect(describeOperation({ kind: "mqueue", dst: "/dev/mqueue" })).toBe("mqueue /dev/mqueue");
    expect(describeOperation({ kind: "chmod", dst: "/x", mode: 0o700 })).toBe("chmod /x (mode=0700)");
    expect(describeOperation({ kind: "file", dst: "/etc/x", base64: b64("hello"), readonly: true })).toBe("file /etc/x (5 bytes, ro, mode=0444)");
    expect(describeOperation({ kind: "file", dst: "/etc/x", base64: "", readonly: false })).toBe("file /etc/x (0 bytes, rw, mode=0644)");
    expect(describeOperation({ kind: "file", dst: "/etc/x", base64: b64("ab"), readonly: false, mode: 0o600 })).toBe("file /etc/x (2 bytes, rw, mode=0600)");
    expect(describeOperation({ kind: "symlink", target: "/host/link", dst: "/x", dereference: true })).toBe("symlink /x -> (target of host symlink /host/link)");
    expect(describeOperation({ kind: "tmpfs", dst: "/t", size: 4096, mode: 0o700, readonly: true })).toBe("tmpfs /t (mode=0700,size=4096,ro)");
    expect(describeOperation({ kind: "bind", src: "/dev", dst: "/d", readonly: true, optional: true, relative: false, nofollow: false, device: false })).toBe("bind /dev -> /d (ro,try,nodev)");
  });

  test("base64 sizes and default file modes", () => {
    for (const s of ["", "a", "ab", "abc", "abcd", "x".repeat(1000)]) expect(base64Bytes(b64(s))).toBe(s.length);
    expect(fileMode({ kind: "file", dst: "/x", base64: "", readonly: true })).toBe(0o444);
    expect(fileMode({ kind: "file", dst: "/x", base64: "", readonly: false })).toBe(0o644);
    expect(fileMode({ kind: "file", dst: "/x", base64: "", readonly: false, mode: 0o4755 })).toBe(0o4755);
  });
});

describe("command line", () => {
  test("--perms and --size apply to the next --tmpfs; --perms to --dir, --bind-data, --ro-bind-data", () => {
    const p = parse(["--size", "1m", "--perms", "0700", "--tmpfs", "/a", "--tmpfs", "/b", "--perms", "750", "--size", "4096", "--tmpfs", "c",
      "--perms", "0711", "--dir", "/d", "--dir", "/e", "--perms", "0600", "--ro-bind-data", "3", "/f", "true"], { fds: [3], readFd: () => new Uint8Array([1, 2]) });
    expect(p.ops).toEqual([
      { kind: "tmpfs", dst: "/a", size: 1024 * 1024, mode: 0o700 },
      { kind: "tmpfs", dst: "/b" },
      { kind: "tmpfs", dst: "/home/u/c", size: 4096, mode: 0o750 },
      { kind: "dir", dst: "/d", mode: 0o711 },
      { kind: "dir", dst: "/e" },
      { kind: "file", dst: "/f", base64: "AQI=", readonly: true, mode: 0o600 },
    ]);
    expect(validatePlan(p)).toBe(p);
  });

  test("--perms and --size errors name the option", () => {
    expect(usage(["--perms", "0800", "--dir", "/d"])).toBe('--perms: invalid mode "0800"; give an octal mode between 0000 and 7777');
    expect(usage(["--perms", "17777", "--dir", "/d"])).toContain("--perms: invalid mode");
    expect(usage(["--perms", "", "--dir", "/d"])).toContain("--perms: invalid mode");
    expect(usage(["--perms", "0700", "--bind", "/a", "/b"])).toBe("--perms 0700 must be followed by --tmpfs, --dir, --bind-data, --ro-bind-data; got --bind");
    expect(usage(["--perms", "0700", "true"])).toContain('--perms 0700 must be followed by --tmpfs, --dir, --bind-data, --ro-bind-data; got the command "true"');
    expect(usage(["--perms", "0700"])).toContain("got nothing");
    expect(usage(["--perms", "0700", "--perms", "0755", "--dir", "/d"])).toContain("--perms given twice");
    expect(usage(["--size", "1k", "--dir", "/d"])).toBe("--size 1k must be followed by --tmpfs; got --dir");
    expect(usage(["--size", "1k", "--size", "2k", "--tmpfs", "/t"])).toContain("--size given twice");
    for (const bad of ["0", "-1", "1.5", "1t", "k", "", "99999999999999999999"]) expect(usage(["--size", bad, "--tmpfs", "/t"])).toContain(`--size: invalid size "${bad}"`);
    expect(usage(["--size"])).toContain("--size needs an argument (--size BYTES)");
  });

  test("parseSize and parseOctalMode", () => {
    expect(parseSize("--size", "1")).toBe(1);
    expect(parseSize("--size", "2K")).toBe(2048);
    expect(parseSize("--size", "3m")).toBe(3 * 1024 ** 2);
    expect(parseSize("--size", "1g")).toBe(1024 ** 3);
    expect(parseOctalMode("--chmod", "0")).toBe(0);
    expect(parseOctalMode("--chmod", "1777")).toBe(0o1777);
    expect(() => parseOctalMode("--chmod", "u+x")).toThrow('--chmod: invalid mode "u+x"');
  });

  test("--remount-ro, --remount, --chmod: in order, relative paths absolutized", () => {
    const p = parse(["--remount-ro", "/usr", "--remount", "nosuid,nodev,rec", "rel", "--chmod", "0700", "/x", "--chmod", "1777", "tmp"]);
    expect(p.ops).toEqual([
      { kind: "remount", dst: "/usr", options: "ro" },
      { kind: "remount", dst: "/home/u/rel", options: "nosuid,nodev,rec" },
      { kind: "chmod", dst: "/x", mode: 0o700 },
      { kind: "chmod", dst: "/home/u/tmp", mode: 0o1777 },
    ]);
    expect(usage(["--remount", "ro,bind", "/x"])).toContain('--remount ro,bind: "bind" cannot be used in a remount');
    expect(usage(["--remount", "", "/x"])).toContain("changes no flag");
    expect(usage(["--chmod", "rwx", "/x"])).toBe('--chmod: invalid mode "rwx"; give an octal mode between 0000 and 7777');
    expect(usage(["--chmod", "0700"])).toContain("--chmod needs 2 arguments (--chmod OCTAL PATH)");
  });

  test("--mqueue needs --unshare-ipc, given before or after it", () => {
    expect(parse(["--mqueue", "/dev/mqueue", "--unshare-ipc"]).ops).toEqual([{ kind: "mqueue", dst: "/dev/mqueue" }]);
    expect(parse(["--unshare-ipc", "--mqueue", "/m"]).unshareIpc).toBe(true);
    expect(usage(["--dev", "/dev", "--mqueue", "/dev/mqueue", "true"])).toBe("--mqueue /dev/mqueue needs an IPC namespace; add --unshare-ipc");
  });

  test("--copy-symlink: a symlink whose target is read from the host link", () => {
    expect(parse(["--copy-symlink", "link", "/x"]).ops).toEqual([{ kind: "symlink", target: "/home/u/link", dst: "/x", dereference: true }]);
  });

  test("--bind-data and --ro-bind-data read the fd, which the command then does not get", () => {
    const reads: number[] = [];
    const readFd = (fd: number) => {
      reads.push(fd);
      return new TextEncoder().encode(`data of ${fd}`);
    };
    const p = parse(["--ro-bind-data", "3", "/etc/a", "--bind-data", "5", "b", "true"], { fds: [3, 4, 5], readFd });
    expect(reads).toEqual([3, 5]);
    expect(p.ops).toEqual([
      { kind: "file", dst: "/etc/a", base64: b64("data of 3"), readonly: true },
      { kind: "file", dst: "/home/u/b", base64: b64("data of 5"), readonly: false },
    ]);
    expect(p.fds).toEqual([4]);
    expect(parse(["--ro-bind-data", "0", "/x"], { readFd }).ops).toHaveLength(1);
  });

  test("--bind-data errors: not an fd, an fd not passed, read twice, unreadable", () => {
    const readFd = () => new Uint8Array(0);
    expect(usage(["--ro-bind-data", "x", "/a"], { readFd })).toBe('--ro-bind-data: "x" is not an fd number');
    expect(usage(["--ro-bind-data", "7", "/a"], { fds: [3], readFd })).toBe("--ro-bind-data 7: fd 7 is not open in sandbox; pass it from the caller (e.g. 7<FILE)");
    expect(usage(["--bind-data", "3", "/a", "--ro-bind-data", "3", "/b"], { fds: [3], readFd })).toContain("fd 3 was already read");
    expect(usage(["--bind-data", "3", "/a"], { fds: [3] })).toContain("not available");
    const failing = () => {
      throw new Error("read(fd 3): Is a directory (EISDIR)");
    };
    expect(usage(["--bind-data", "3", "/a"], { fds: [3], readFd: failing })).toBe("--bind-data 3: cannot read fd 3: read(fd 3): Is a directory (EISDIR)");
  });
});

describe("library builder", () => {
  const ops = (b: ReturnType<typeof sandbox>) => b.toPlan().ops;

  test("bind flags: writable, optional, device, next to the mkosi-style methods", () => {
    const got = ops(sandbox()
      .bind("/a", "/A")
      .bind("/b", "/B", { writable: false, optional: true, device: false })
      .bind("/c", "/C", { device: true })
      .roBind("/d", "/D", { device: false })
      .roBindTry("/e", "/E"));
    const bind = (src: string, dst: string, o: object) => ({ kind: "bind", src, dst, readonly: false, optional: false, relative: false, nofollow: false, ...o });
    expect(got).toEqual([
      bind("/a", "/A", {}), bind("/b", "/B", { readonly: true, optional: true, device: false }), bind("/c", "/C", { device: true }),
      bind("/d", "/D", { readonly: true, device: false }), bind("/e", "/E", { readonly: true, optional: true }),
    ] as Operation[]);
    expect(planError(() => sandbox().bind("/a", "/b", { device: "no" } as never)).field).toBe("bind().device");
    expect(planError(() => sandbox().bind("/a", "/b", { rw: true } as never)).field).toBe("bind().rw");
    expect(planError(() => sandbox().roBind("/a", "/b", { writable: true } as never)).field).toBe("roBind().writable");
  });

  test("tmpfs size/mode/readonly, dev mqueue, mqueue, dir mode", () => {
    expect(ops(sandbox().tmpfs("/t", { size: 65536, mode: 0o700, readonly: true }).dev("/dev", { mqueue: true }).mqueue("/m").dir("/d", { mode: 0o711 }))).toEqual([
      { kind: "tmpfs", dst: "/t", size: 65536, mode: 0o700, readonly: true },
      { kind: "dev", dst: "/dev", console: null, mqueue: true },
      { kind: "mqueue", dst: "/m" },
      { kind: "dir", dst: "/d", mode: 0o711 },
    ]);
    expect(planError(() => sandbox().tmpfs("/t", { size: -5 })).field).toBe("tmpfs().size");
    expect(planError(() => sandbox().tmpfs("/t", { mode: 0o10000 })).field).toBe("tmpfs().mode");
    expect(planError(() => sandbox().tmpfs("/t", { readonly: 1 } as never)).field).toBe("tmpfs().readonly");
    expect(planError(() => sandbox().dev("/dev", { mqueue: "yes" } as never)).field).toBe("dev().mqueue");
    // The IPC namespace is checked for the whole plan, at spawn.
    expect(planError(() => sandbox().mqueue("/m").spawnSync(["true"])).message).toContain("IPC namespace");
  });

  test("overlay: persistent, ephemeral and read-only forms", () => {
    expect(ops(sandbox().overlayPersistent(["/l1", "/l2"], "/up", "/wk", "/o").overlayEphemeral(["/l1"], "/e").overlayReadonly(["/l1", "/l2"], "/r"))).toEqual([
      { kind: "overlay", lower: ["/l1", "/l2"], upper: "/up", work: "/wk", dst: "/o" },
      { kind: "overlay", lower: ["/l1"], upper: "tmpfs", work: null, dst: "/e" },
      { kind: "overlay", lower: ["/l1", "/l2"], upper: null, work: null, dst: "/r" },
    ]);
    expect(planError(() => sandbox().overlayReadonly(["/l1"], "/r")).field).toBe("overlay().lower");
    expect(planError(() => sandbox().overlayPersistent(["/l1"], "tmpfs", "/w", "/o")).field).toBe("overlayPersistent().upper");
  });

  test("remount, symlink dereference, placed files, chmod", () => {
    const got = ops(sandbox().remountRo("/usr").remount("/x", "nosuid,nodev,rec").symlink("/host/link", "/l", { dereference: true }).symlink("rel", "/r")
      .roBindData("hi", "/etc/hi").bindData(new Uint8Array([0, 255]), "/w", { mode: 0o600 }).chmod("/x", 0o700));
    expect(got).toEqual([
      { kind: "remount", dst: "/usr", options: "ro" },
      { kind: "remount", dst: "/x", options: "nosuid,nodev,rec" },
      { kind: "symlink", target: "/host/link", dst: "/l", dereference: true },
      { kind: "symlink", target: "rel", dst: "/r" },
      { kind: "file", dst: "/etc/hi", base64: b64("hi"), readonly: true },
      { kind: "file", dst: "/w", base64: "AP8=", readonly: false, mode: 0o600 },
      { kind: "chmod", dst: "/x", mode: 0o700 },
    ]);
    expect(planError(() => sandbox().remount("/x", "ro,move")).field).toBe("remount().options");
    expect(planError(() => sandbox().chmod("/x", 0o20000)).field).toBe("chmod().mode");
    expect(planError(() => sandbox().roBindData(42 as never, "/x")).field).toBe("roBindData()");
    expect(planError(() => sandbox().bindData("x", "/x", { mode: 9999 })).field).toBe("bindData().mode");
    expect(planError(() => sandbox().symlink("/l", "/x", { deref: true } as never)).field).toBe("symlink().deref");
  });

  test("relative paths are taken against the current directory", () => {
    const cwd = process.cwd();
    expect(ops(sandbox().symlink("link", "/x", { dereference: true }).chmod("f", 0o600).remountRo("m"))).toEqual([
      { kind: "symlink", target: `${cwd}/link`, dst: "/x", dereference: true },
      { kind: "chmod", dst: `${cwd}/f`, mode: 0o600 },
      { kind: "remount", dst: `${cwd}/m`, options: "ro" },
    ]);
  });

  test("fromPlan rejects bad fields of the new operations, naming them", () => {
    const plan = (op: unknown): Plan => ({ ...emptyPlan(), ops: [op as Operation] });
    expect(planError(() => sandbox.fromPlan(plan({ kind: "chmod", dst: "rel", mode: 0o700 }))).field).toBe("ops[0].dst");
    expect(planError(() => sandbox.fromPlan(plan({ kind: "file", dst: "/x", base64: "%%%", readonly: true }))).field).toBe("ops[0].base64");
  });

  test("toArgs: what the command line can say round-trips through parseArgs", () => {
    const box = sandbox().unshareIpc()
      .tmpfs("/t", { size: 8192, mode: 0o700 }).tmpfs("/tmp").dir("/d", { mode: 0o711 }).dev("/dev", { mqueue: true }).mqueue("/m")
      .symlink("/host/link", "/l", { dereference: true }).remountRo("/usr").remount("/x", "nosuid,rec").chmod("/x", 0o1777);
    const args = box.toArgs(["true"]);
    expect(args).toEqual([
      "--seal", "--size", "8192", "--perms", "0700", "--tmpfs", "/t", "--tmpfs", "/tmp", "--perms", "0711", "--dir", "/d",
      "--dev", "/dev", "--mqueue", "/dev/mqueue", "--mqueue", "/m", "--copy-symlink", "/host/link", "/l",
      "--remount-ro", "/usr", "--remount", "nosuid,rec", "/x", "--chmod", "1777", "/x", "--unshare-ipc", "--", "true",
    ]);
    const reparsed = parse(args);
    const expected = box.toPlan().ops.flatMap((op): Operation[] =>
      op.kind === "dev" ? [{ ...op, mqueue: undefined } as Operation, { kind: "mqueue", dst: "/dev/mqueue" }] : [op]);
    expect(JSON.parse(JSON.stringify(reparsed.ops))).toEqual(JSON.parse(JSON.stringify(expected)));
  });

  test("toArgs refuses what the command line cannot say, naming the field", () => {
    expect(planError(() => sandbox().bind("/a", "/b", { device: false }).toArgs()).field).toBe("ops[0].device");
    expect(planError(() => sandbox().tmpfs("/t", { readonly: true }).toArgs()).field).toBe("ops[0].readonly");
    expect(planError(() => sandbox().roBindData("x", "/x").toArgs()).field).toBe("ops[0]");
  });
});

describe("optimizer ordering", () => {
  const show = (list: readonly Operation[]) => list.map((op) => `${op.kind} ${op.kind === "bind" && op.relative ? "+" : ""}${"dst" in op ? op.dst : ""}`);
  const bind = (src: string, dst: string, relative = false): Operation => ({ kind: "bind", src, dst, readonly: false, optional: false, relative, nofollow: false });
  const file = (dst: string): Operation => ({ kind: "file", dst, base64: "", readonly: true });

  test("remount and chmod run after every mount operation, +SRC binds included, in the order given", () => {
    const out = optimizeOperations([
      { kind: "chmod", dst: "/a/b", mode: 0o700 }, { kind: "remount", dst: "/", options: "ro" }, bind("/x", "/z"),
      { kind: "remount", dst: "/a", options: "nosuid" }, bind("/a", "/q", true), { kind: "tmpfs", dst: "/a" }, { kind: "chmod", dst: "/", mode: 0o755 },
      { kind: "mqueue", dst: "/a/mq" },
    ]);
    expect(show(out)).toEqual(["tmpfs /a", "mqueue /a/mq", "bind /z", "bind +/q", "chmod /a/b", "remount /", "remount /a", "chmod /"]);
    expect(isLateOperation({ kind: "chmod", dst: "/", mode: 0 })).toBe(true);
    expect(isLateOperation({ kind: "remount", dst: "/", options: "ro" })).toBe(true);
    expect(isLateOperation({ kind: "mqueue", dst: "/" })).toBe(false);
    expect(isLateOperation(file("/x"))).toBe(false);
  });

  test("a placed file is a bind: on top of a tmpfs/dir at its destination, and the later of bind/file on top", () => {
    expect(show(optimizeOperations([file("/etc/x"), { kind: "dir", dst: "/etc/x" }]))).toEqual(["dir /etc/x", "file /etc/x"]);
    expect(show(optimizeOperations([file("/etc/x"), bind("/h", "/etc/x")]))).toEqual(["file /etc/x", "bind /etc/x"]);
    expect(show(optimizeOperations([bind("/h", "/etc/x"), file("/etc/x")]))).toEqual(["bind /etc/x", "file /etc/x"]);
    expect(show(optimizeOperations([file("/etc/a/b"), { kind: "tmpfs", dst: "/etc" }, file("/etc/a")]))).toEqual(["tmpfs /etc", "file /etc/a", "file /etc/a/b"]);
  });

  test("the bind rules are unchanged: duplicates collapse (also the same object twice), nested binds drop", () => {
    const a = bind("/usr", "/usr");
    expect(optimizeOperations([a, a, bind("/usr", "/usr"), bind("/usr/lib", "/usr/lib")])).toEqual([a]);
  });
});

describe("remount flag arithmetic", () => {
  test("parseRemountOptions: bits to set and clear, and rec", () => {
    expect(parseRemountOptions("ro")).toEqual({ set: MS.RDONLY, clear: 0, recursive: false });
    expect(parseRemountOptions("ro,nosuid,nodev,rec")).toEqual({ set: MS.RDONLY | MS.NOSUID | MS.NODEV, clear: 0, recursive: true });
    expect(parseRemountOptions("rw,exec")).toEqual({ set: 0, clear: MS.RDONLY | MS.NOEXEC, recursive: false });
  });

  test("legacy remount flags keep what the mount has (locked flags, nosymfollow), then clear and set", () => {
    expect(remountedFlags("rw,nosuid,nodev,relatime", MS.RDONLY, 0)).toBe(MS.RDONLY | MS.NOSUID | MS.NODEV | MS.RELATIME);
    expect(remountedFlags("ro,nosuid,noexec,noatime,nosymfollow", 0, MS.RDONLY)).toBe(MS.NOSUID | MS.NOEXEC | MS.NOATIME | MS.NOSYMFOLLOW);
    // An access-time word replaces the current one instead of adding a conflicting one.
    expect(remountedFlags("rw,relatime", MS.NOATIME, 0)).toBe(MS.NOATIME);
    expect(remountedFlags("rw,noatime,nodiratime", MS.STRICTATIME, MS.NODIRATIME)).toBe(MS.STRICTATIME);
    expect(remountedFlags("rw", MS.NODEV, 0)).toBe(MS.NODEV);
  });

  test("mount_setattr change: only what was asked; an access-time word clears the access-time field", () => {
    expect(mountAttrChange(MS.RDONLY | MS.NOSUID, 0)).toEqual({ set: MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID, clear: 0 });
    expect(mountAttrChange(0, MS.RDONLY | MS.NODEV | MS.NOEXEC)).toEqual({ set: 0, clear: MOUNT_ATTR.RDONLY | MOUNT_ATTR.NODEV | MOUNT_ATTR.NOEXEC });
    expect(mountAttrChange(MS.NOATIME, 0)).toEqual({ set: MOUNT_ATTR.NOATIME, clear: MOUNT_ATTR._ATIME });
    expect(mountAttrChange(MS.RELATIME | MS.NOSYMFOLLOW, 0)).toEqual({ set: MOUNT_ATTR.NOSYMFOLLOW, clear: MOUNT_ATTR._ATIME });
    expect(mountAttrChange(MS.STRICTATIME | MS.NODIRATIME, 0)).toEqual({ set: MOUNT_ATTR.STRICTATIME | MOUNT_ATTR.NODIRATIME, clear: MOUNT_ATTR._ATIME });
  });

  test("mountsUnder: the topmost mount at the destination and its subtree, not mounts hidden under it", () => {
    const info = parseMountinfo([
      "10 1 0:1 / /newroot rw - ext4 /dev/vda rw",
      "11 10 0:2 / /newroot/mnt/hidden ro,nosuid - tmpfs t rw", // child of the root bind, covered by 12
      "12 10 0:3 / /newroot/mnt rw - tmpfs t rw",
      "13 12 0:4 / /newroot/mnt/a rw - tmpfs t rw",
      "14 13 0:5 / /newroot/mnt/a/b rw - tmpfs t rw",
      "15 14 0:6 / /newroot/mnt/a/b rw - tmpfs t rw", // stacked on 14: the one reachable by path
      "16 10 0:7 / /newroot/mnt2 rw - tmpfs t rw",
    ].join("\n"));
    // What statx would say: the path of the hidden mount reaches the tmpfs covering it.
    // (or, when the covered directory does not exist there, nothing: -1).
    const reach: Record<string, number> = { "/newroot": 10, "/newroot/mnt/hidden": 12, "/newroot/mnt": 12, "/newroot/mnt/a": 13, "/newroot/mnt/a/b": 15, "/newroot/mnt2": 16 };
    const ids = (dst: string, rec: boolean) => mountsUnder(info, dst, rec, (p) => reach[p] ?? null).map((e) => e.id);
    expect(mountsUnder(info, "/newroot", true, (p) => (p === "/newroot/mnt/hidden" ? -1 : reach[p]!)).map((e) => e.id)).toEqual([10, 12, 16, 13, 15]);
    expect(ids("/newroot/mnt", false)).toEqual([12]);
    expect(ids("/newroot/mnt", true)).toEqual([12, 13, 15]);
    expect(ids("/newroot/mnt/a/b", false)).toEqual([15]);
    expect(ids("/newroot", true)).toEqual([10, 12, 16, 13, 15]);
    expect(ids("/newroot/mnt/hidden", false)).toEqual([]);
    expect(ids("/newroot/nothing", true)).toEqual([]);
    // Without mount ids (kernels before 5.8) the last mount listed at a mount point is the top one.
    const guess = (dst: string, rec: boolean) => mountsUnder(info, dst, rec).map((e) => e.id);
    expect(guess("/newroot/mnt/a/b", false)).toEqual([15]);
    expect(guess("/newroot/mnt", true)).toEqual([12, 13, 15]);
    expect(guess("/newroot", true)).toEqual([10, 12, 16, 13, 15, 11]);
  });
});
