import { describe, expect, test } from "bun:test";
import { validatePlan } from "../../src/plan/validate.ts";
import { PlanError } from "../../src/plan/errors.ts";
import { emptyPlan, type Operation, type Plan } from "../../src/plan/types.ts";
import { describeOperation, OPERATION_KINDS, validateOperation } from "../../src/plan/ops/index.ts";

function plan(overrides: Partial<Plan> = {}): Plan {
  return { ...emptyPlan(), argv: ["true"], ...overrides };
}

/** The PlanError validatePlan throws for `p` (fails the test when it does not throw one). */
function planError(p: unknown): PlanError {
  try {
    validatePlan(p as Plan);
  } catch (e) {
    expect(e).toBeInstanceOf(PlanError);
    return e as PlanError;
  }
  throw new Error("validatePlan accepted the plan");
}

const withOp = (op: unknown): Plan => plan({ ops: [op as Operation] });

const GOOD_OPS: Operation[] = [
  { kind: "bind", src: "/usr", dst: "/usr", readonly: true, optional: false, relative: false, nofollow: false },
  { kind: "bind", src: "/etc", dst: "/etc", readonly: false, optional: true, relative: true, nofollow: false, device: false },
  { kind: "tmpfs", dst: "/tmp", size: 1024 * 1024, mode: 0o1777, readonly: false },
  { kind: "dev", dst: "/dev", console: "/dev/pts/0", mqueue: true },
  { kind: "proc", dst: "/proc" },
  { kind: "dir", dst: "/var/tmp", mode: 0o700 },
  { kind: "symlink", target: "usr/bin", dst: "/bin" },
  { kind: "write", data: "hello\n", dst: "/etc/hostname" },
  { kind: "overlay", lower: ["/a", "/b"], upper: null, work: null, dst: "/o1" },
  { kind: "overlay", lower: ["/a"], upper: "tmpfs", work: null, dst: "/o2" },
  { kind: "overlay", lower: ["/a"], upper: "/up", work: "/work", dst: "/o3" },
  { kind: "mqueue", dst: "/dev/mqueue" },
  { kind: "remount", dst: "/usr", options: "ro,nosuid,nodev,rec" },
  { kind: "file", dst: "/etc/passwd", base64: "cm9vdDp4OjA6MDo6L3Jvb3Q6L2Jpbi9zaAo=", readonly: true, mode: 0o444 },
  { kind: "chmod", dst: "/tmp", mode: 0o1777 },
  { kind: "dirmodes", modes: [{ dir: "/", mode: "overlay" }, { dir: "/usr", mode: "read-only" }], tmpfsSize: "50%", tmpfsNuma: "0", outputDir: "/out" },
];

describe("validatePlan", () => {
  test("accepts emptyPlan() with argv set and returns it", () => {
    const p = plan();
    expect(validatePlan(p)).toBe(p);
  });

  test("accepts one operation of every kind", () => {
    // unshareIpc: the mqueue operations need an IPC namespace.
    const p = plan({ ops: GOOD_OPS, env: { PATH: "/usr/bin", EMPTY: "" }, cwd: "/home", fds: [3, 7], hostname: "box", unshareUts: true, unshareIpc: true });
    expect(validatePlan(p)).toBe(p);
    expect(new Set(GOOD_OPS.map((o) => o.kind))).toEqual(new Set(OPERATION_KINDS));
  });

  test("PlanError carries the field and puts it in the message", () => {
    const e = planError(withOp({ kind: "tmpfs", dst: "tmp" }));
    expect(e.name).toBe("PlanError");
    expect(e.field).toBe("ops[0].dst");
    expect(e.message.startsWith("ops[0].dst: ")).toBe(true);
    expect(e.message).toContain('"tmp"');
  });

  test("non-object plans", () => {
    expect(planError(null).field).toBe("plan");
    expect(planError("x").field).toBe("plan");
  });

  test.each([
    ["bind dst", { kind: "bind", src: "/a", dst: "b", readonly: false, optional: false, relative: false, nofollow: false }, "ops[0].dst"],
    ["bind src", { kind: "bind", src: "a", dst: "/b", readonly: false, optional: false, relative: false, nofollow: false }, "ops[0].src"],
    ["dir dst", { kind: "dir", dst: "var" }, "ops[0].dst"],
    ["proc dst", { kind: "proc", dst: "" }, "ops[0].dst"],
    ["dev dst", { kind: "dev", dst: "dev" }, "ops[0].dst"],
    ["dev console", { kind: "dev", dst: "/dev", console: "pts/0" }, "ops[0].console"],
    ["symlink dst", { kind: "symlink", target: "x", dst: "x" }, "ops[0].dst"],
    ["write dst", { kind: "write", data: "", dst: "etc/x" }, "ops[0].dst"],
    ["overlay dst", { kind: "overlay", lower: ["/a", "/b"], upper: null, work: null, dst: "o" }, "ops[0].dst"],
    ["overlay lower[1]", { kind: "overlay", lower: ["/a", "b"], upper: null, work: null, dst: "/o" }, "ops[0].lower[1]"],
    ["overlay upper", { kind: "overlay", lower: ["/a"], upper: "up", work: "/w", dst: "/o" }, "ops[0].upper"],
    ["overlay work", { kind: "overlay", lower: ["/a"], upper: "/up", work: "w", dst: "/o" }, "ops[0].work"],
    ["NUL in dst", { kind: "proc", dst: "/pr\0c" }, "ops[0].dst"],
  ])("relative or bad path: %s", (_what, op, field) => {
    expect(planError(withOp(op)).field).toBe(field);
  });

  test("field index points at the bad operation", () => {
    expect(planError(plan({ ops: [GOOD_OPS[0]!, GOOD_OPS[4]!, { kind: "dir", dst: "rel" }] })).field).toBe("ops[2].dst");
  });

  test("argv", () => {
    expect(planError(emptyPlan()).field).toBe("argv");
    expect(planError(plan({ argv: [] })).field).toBe("argv");
    expect(planError(plan({ argv: [""] })).field).toBe("argv[0]");
    expect(planError(plan({ argv: ["ls", 3 as unknown as string] })).field).toBe("argv[1]");
    expect(planError(plan({ argv: ["ls", "a\0b"] })).field).toBe("argv[1]");
  });

  test("env", () => {
    expect(planError(plan({ env: { "A=B": "x" } })).field).toBe("env.A=B");
    expect(planError(plan({ env: { "": "x" } })).field).toBe("env.");
    expect(planError(plan({ env: { "A\0": "x" } })).field).toBe("env.A\0");
    expect(planError(plan({ env: { A: 1 as unknown as string } })).field).toBe("env.A");
    expect(planError(plan({ env: { A: "a\0b" } })).field).toBe("env.A");
    expect(planError(plan({ env: null as unknown as Record<string, string> })).field).toBe("env");
  });

  test("cwd must be absolute", () => {
    expect(planError(plan({ cwd: "home" })).field).toBe("cwd");
    expect(planError(plan({ cwd: "" })).field).toBe("cwd");
  });

  test.each([
    ["dir mode 0o10000", { kind: "dir", dst: "/d", mode: 0o10000 }],
    ["dir mode 1.5", { kind: "dir", dst: "/d", mode: 1.5 }],
    ["dir mode -1", { kind: "dir", dst: "/d", mode: -1 }],
    ["dir mode string", { kind: "dir", dst: "/d", mode: "755" }],
    ["tmpfs mode 0o10000", { kind: "tmpfs", dst: "/t", mode: 0o10000 }],
    ["tmpfs mode 1.5", { kind: "tmpfs", dst: "/t", mode: 1.5 }],
  ])("invalid mode: %s", (_what, op) => {
    const e = planError(withOp(op));
    expect(e.field).toBe("ops[0].mode");
    expect(e.message).toContain("invalid mode");
  });

  test("modes at the edges are accepted", () => {
    expect(() => validatePlan(withOp({ kind: "dir", dst: "/d", mode: 0 }))).not.toThrow();
    expect(() => validatePlan(withOp({ kind: "dir", dst: "/d", mode: 0o7777 }))).not.toThrow();
  });

  test.each([0, -1, 1.5, Number.NaN, "1M"])("tmpfs size %p is refused", (size) => {
    expect(planError(withOp({ kind: "tmpfs", dst: "/t", size })).field).toBe("ops[0].size");
  });

  test("tmpfs readonly must be a boolean", () => {
    expect(planError(withOp({ kind: "tmpfs", dst: "/t", readonly: "yes" })).field).toBe("ops[0].readonly");
  });

  test("overlay without lower dirs", () => {
    const e = planError(withOp({ kind: "overlay", lower: [], upper: "tmpfs", work: null, dst: "/o" }));
    expect(e.field).toBe("ops[0].lower");
    expect(planError(withOp({ kind: "overlay", upper: "tmpfs", work: null, dst: "/o" })).field).toBe("ops[0].lower");
  });

  test("overlay with upper but no work", () => {
    expect(planError(withOp({ kind: "overlay", lower: ["/a"], upper: "/up", work: null, dst: "/o" })).field).toBe("ops[0].work");
  });

  test("overlay with work but no upper", () => {
    expect(planError(withOp({ kind: "overlay", lower: ["/a", "/b"], upper: null, work: "/w", dst: "/o" })).field).toBe("ops[0].work");
  });

  test("read-only overlay with a single lower", () => {
    const e = planError(withOp({ kind: "overlay", lower: ["/a"], upper: null, work: null, dst: "/o" }));
    expect(e.field).toBe("ops[0].lower");
    expect(e.message).toContain("two lower");
  });

  test("unknown op kind", () => {
    const e = planError(withOp({ kind: "binfmt", dst: "/x" }));
    expect(e.field).toBe("ops[0].kind");
    expect(e.message).toContain('"binfmt"');
    expect(planError(withOp({ dst: "/x" })).field).toBe("ops[0].kind");
    expect(planError(withOp(null)).field).toBe("ops[0]");
    expect(planError(plan({ ops: "x" as unknown as Operation[] })).field).toBe("ops");
  });

  test("unknown plan field", () => {
    const e = planError({ ...plan(), bogus: 1 });
    expect(e.field).toBe("bogus");
    expect(e.message).toContain("unknown plan field");
  });

  test("boolean fields must be booleans", () => {
    expect(planError(plan({ becomeRoot: "yes" as unknown as boolean })).field).toBe("becomeRoot");
    expect(planError(plan({ debug: undefined as unknown as boolean })).field).toBe("debug");
  });

  test("bind flags must be booleans; relative and nofollow exclude each other", () => {
    const base = { kind: "bind", src: "/a", dst: "/b", readonly: false, optional: false, relative: false, nofollow: false };
    expect(planError(withOp({ ...base, readonly: 1 })).field).toBe("ops[0].readonly");
    expect(planError(withOp({ ...base, device: "no" })).field).toBe("ops[0].device");
    expect(planError(withOp({ ...base, relative: true, nofollow: true })).field).toBe("ops[0]");
  });

  test("symlink needs a target; write needs string data", () => {
    expect(planError(withOp({ kind: "symlink", target: "", dst: "/x" })).field).toBe("ops[0].target");
    expect(planError(withOp({ kind: "write", data: 5, dst: "/x" })).field).toBe("ops[0].data");
  });

  test("hostname needs unshareUts and 1-64 characters", () => {
    expect(planError(plan({ hostname: "box" })).field).toBe("hostname");
    expect(planError(plan({ hostname: "", unshareUts: true })).field).toBe("hostname");
    expect(planError(plan({ hostname: "x".repeat(65), unshareUts: true })).field).toBe("hostname");
    expect(() => validatePlan(plan({ hostname: "x".repeat(64), unshareUts: true }))).not.toThrow();
  });

  test("fds must be integers above 2", () => {
    expect(planError(plan({ fds: [2] })).field).toBe("fds");
    expect(planError(plan({ fds: [3, 0] })).field).toBe("fds");
    expect(planError(plan({ fds: [3.5] })).field).toBe("fds");
    expect(planError(plan({ fds: "3" as unknown as number[] })).field).toBe("fds");
    expect(() => validatePlan(plan({ fds: [3, 4, 10] }))).not.toThrow();
  });
});

describe("describeOperation", () => {
  test("bind", () => {
    expect(describeOperation(GOOD_OPS[0]!)).toBe("bind /usr -> /usr (ro)");
    expect(describeOperation(GOOD_OPS[1]!)).toBe("bind +/etc -> /etc (rw,try,relative,nodev)");
    expect(describeOperation({ kind: "bind", src: "/l", dst: "/m", readonly: false, optional: false, relative: false, nofollow: true })).toBe("bind /l -> /m (rw,nofollow)");
  });

  test("tmpfs", () => {
    expect(describeOperation({ kind: "tmpfs", dst: "/tmp" })).toBe("tmpfs /tmp (mode=1777)");
    expect(describeOperation({ kind: "tmpfs", dst: "/run" })).toBe("tmpfs /run (mode=0755)");
    expect(describeOperation({ kind: "tmpfs", dst: "/x", size: 1024, mode: 0o700, readonly: true })).toBe("tmpfs /x (mode=0700,size=1024,ro)");
  });

  test("dev", () => {
    expect(describeOperation({ kind: "dev", dst: "/dev" })).toBe("dev /dev");
    expect(describeOperation({ kind: "dev", dst: "/dev", console: null })).toBe("dev /dev");
    expect(describeOperation(GOOD_OPS[3]!)).toBe("dev /dev (console=/dev/pts/0,mqueue)");
  });

  test("proc, dir, symlink, write", () => {
    expect(describeOperation({ kind: "proc", dst: "/proc" })).toBe("proc /proc");
    expect(describeOperation({ kind: "dir", dst: "/var/tmp" })).toBe("dir /var/tmp (mode=1777)");
    expect(describeOperation({ kind: "dir", dst: "/srv" })).toBe("dir /srv (mode=0755)");
    expect(describeOperation(GOOD_OPS[5]!)).toBe("dir /var/tmp (mode=0700)");
    expect(describeOperation(GOOD_OPS[6]!)).toBe("symlink /bin -> usr/bin");
    expect(describeOperation(GOOD_OPS[7]!)).toBe("write /etc/hostname (6 bytes)");
    expect(describeOperation({ kind: "write", data: "héllo", dst: "/f" })).toBe("write /f (6 bytes)");
  });

  test("overlay", () => {
    expect(describeOperation(GOOD_OPS[8]!)).toBe("overlay /o1 (lower=/a:/b, read-only)");
    expect(describeOperation(GOOD_OPS[9]!)).toBe("overlay /o2 (lower=/a, upper=tmpfs)");
    expect(describeOperation(GOOD_OPS[10]!)).toBe("overlay /o3 (lower=/a, upper=/up)");
  });

  test("every kind gives one line containing the destination", () => {
    for (const op of GOOD_OPS) {
      const d = describeOperation(op);
      if (op.kind !== "dirmodes") expect(d).toContain(op.dst);
      expect(d.startsWith(op.kind + " ")).toBe(true);
      expect(d.includes("\n")).toBe(false);
    }
  });

  test("unknown kind throws PlanError", () => {
    let err: unknown;
    try {
      describeOperation({ kind: "nope", dst: "/x" } as unknown as Operation);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PlanError);
    expect((err as PlanError).field).toBe("op.kind");
  });

  test("validateOperation uses the given field prefix", () => {
    expect(() => validateOperation({ kind: "proc", dst: "p" }, "x")).toThrow("x.dst");
  });
});
