// The seal: once its root is built, a sandboxed command cannot change or remove the mounts it
// was given (remount, mount_setattr, a writable clone, umount, MS_MOVE, a non-recursive bind that
// shows what submounts cover), nor from a user namespace of its own. Each attempt is made by the
// attack fixture as the sandboxed command, through the CLI and the library (warm worker and
// forked stage), as root and as the test user; each has a control run with the seal off where
// the same attempt succeeds, and the host file behind the read-only bind is checked afterwards.
import { afterAll, describe, expect, test } from "bun:test";
import { BIN, BUN, ROOT, run, WHO, type Who } from "../support/run.ts";
import { ATTACK_ENV, attackArgv, mountLayout, removeAttacksBundle, type Layout } from "../support/attacks.ts";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

afterAll(() => removeAttacksBundle());

const BASE = ["--ro-bind", "/", "/", "--tmpfs", "/tmp"];

/** --setenv for the fixture's environment: the CLI keeps its own single-thread variables out of the command's. */
const SETENV = Object.entries(ATTACK_ENV).flatMap(([k, v]) => ["--setenv", k, v]);

/** The attack fixture's line from a CLI sandbox. */
function cli(who: Who, flags: string[], layout: Layout, ...args: string[]): Json {
  const r = run(who, [BIN, ...flags, ...BASE, ...layout.cover, ...SETENV, "--", ...attackArgv("mounts", layout.dir.path, ...args)]);
  return parse(r.stdout, r.stderr, r.code);
}

/** The attack fixture's line from a library sandbox (worker, or forked with BUN_SANDBOX_NO_WORKER=1). */
function lib(who: Who, spec: Json, forked: boolean): Json {
  const r = run(who, [BUN, `${ROOT}/test/fixtures/escape-lib.ts`, "run", JSON.stringify({ ...spec, env: ATTACK_ENV })], {
    env: forked ? { BUN_SANDBOX_NO_WORKER: "1" } : { BUN_SANDBOX_NO_WORKER: undefined },
  });
  const o = parse(r.stdout, r.stderr, r.code);
  if (o.error) throw new Error(`library sandbox: ${o.error}\n${o.stderr}`);
  return parse(o.stdout, o.stderr, o.exitCode);
}

function parse(stdout: string, stderr: string, code: number | null): Json {
  const line = stdout.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line);
  } catch {
    throw new Error(`no JSON (exit ${code}): ${stdout}\n${stderr}`);
  }
}

/** What a sealed sandbox must give: every attempt refused, nothing hidden seen, the host file intact. */
function expectSealed(o: Json, layout: Layout): void {
  expect(o.error).toBeUndefined();
  expect({ remount: o.remount, setattr: o.setattr, clone: o.clone }).toEqual({ remount: "EPERM", setattr: "EPERM", clone: "EPERM" });
  expect({ remountWrite: o.remountWrite, setattrWrite: o.setattrWrite }).toEqual({ remountWrite: "EROFS", setattrWrite: "EROFS" });
  expect({ umount: o.umount, umountDetach: o.umountDetach, private: o.private, move: o.move, peek: o.peek })
    .toEqual({ umount: "EINVAL", umountDetach: "EINVAL", private: "ok", move: "EINVAL", peek: "EINVAL" });
  expect({ hidden: o.hiddenSeen, covered: o.coveredSeen }).toEqual({ hidden: null, covered: null });
  expect(layout.hostFile()).toBe("host");
}

/** The control: with the seal off the same attempts work, and the write reaches the host. */
function expectOpen(o: Json, layout: Layout): void {
  expect(o.error).toBeUndefined();
  expect({ remount: o.remount, remountWrite: o.remountWrite, umount: o.umount, move: o.move, peek: o.peek })
    .toEqual({ remount: "ok", remountWrite: "ok", umount: "ok", move: "ok", peek: "ok" });
  expect({ hidden: o.hiddenSeen, covered: o.coveredSeen }).toEqual({ hidden: "secret", covered: "covered" });
  expect(layout.hostFile()).not.toBe("host");
  layout.restore();
}

describe.each(WHO)("as %s", (who) => {
  // Root: the CLI keeps mkosi-sandbox's semantics (no user namespace) unless --seal.
  const sealFlag = who === "root" ? ["--seal"] : [];
  const openFlag = who === "root" ? [] : ["--no-seal"];

  test("CLI: the mounts cannot be changed or removed; the host file is untouched", () => {
    const layout = mountLayout(who);
    try {
      expectSealed(cli(who, sealFlag, layout), layout);
    } finally {
      layout.dir.cleanup();
    }
  });

  test("CLI control: unsealed, the same attempts succeed and the write reaches the host", () => {
    const layout = mountLayout(who);
    try {
      expectOpen(cli(who, openFlag, layout), layout);
    } finally {
      layout.dir.cleanup();
    }
  });

  test("CLI: from a user namespace the command makes itself, still locked; its own mounts stay its own", () => {
    const layout = mountLayout(who);
    try {
      // (--proc: the read-only root bind makes the host's /proc read-only too, where the nested namespace's maps are written.)
      const o = cli(who, [...sealFlag, "--proc", "/proc"], layout, "nested");
      expectSealed(o, layout);
      expect(o.ownMount).toBe("ok");
    } finally {
      layout.dir.cleanup();
    }
  });

  for (const forked of [false, true]) {
    const path = forked ? "forked stage" : "warm worker";
    test(`library (${path}): sealed by default, as root too`, () => {
      const layout = mountLayout(who);
      try {
        const spec = { tmpfs: [`${layout.dir.path}/hide`, `${layout.dir.path}/parent/child`], argv: attackArgv("mounts", layout.dir.path) };
        expectSealed(lib(who, spec, forked), layout);
        const nested = lib(who, { ...spec, proc: true, argv: attackArgv("mounts", layout.dir.path, "nested") }, forked);
        expectSealed(nested, layout);
        expect(nested.ownMount).toBe("ok");
      } finally {
        layout.dir.cleanup();
      }
    });
  }

  test("library control: unsealed(), the same attempts succeed", () => {
    const layout = mountLayout(who);
    try {
      const spec = { tmpfs: [`${layout.dir.path}/hide`, `${layout.dir.path}/parent/child`], unsealed: true, argv: attackArgv("mounts", layout.dir.path) };
      expectOpen(lib(who, spec, false), layout);
    } finally {
      layout.dir.cleanup();
    }
  });

  test("the maps, ids and capability sets the command sees are those of an unsealed sandbox", () => {
    const show = ["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; id; grep -E '^Cap' /proc/self/status"];
    for (const extra of [[], ["--become-root"], ["--unshare-net"]]) {
      const sealed = run(who, [BIN, ...sealFlag, ...extra, ...BASE, ...show]);
      const open = run(who, [BIN, ...openFlag, ...extra, ...BASE, ...show]);
      expect(sealed.code).toBe(0);
      expect([extra, sealed.stdout]).toEqual([extra, open.stdout]);
    }
  });
});
