// The library's operations from hakurei's container package, through the stage server, as root
// and as the unprivileged test user: test/fixtures/api-hakurei.ts runs every case as that user
// and reports what each command saw and what the host looked like afterwards.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { BUN, hostMounts, ROOT, run, tempDir, WHO, type TempDir } from "../support/run.ts";
import { queueName } from "../support/mqueue.ts";
import type { Observed } from "../support/probe.ts";

const mountsBefore = hostMounts();
afterAll(() => {
  expect(hostMounts()).toBe(mountsBefore);
});

describe.each(WHO)("as %s", (who) => {
  let t: TempDir;
  let o: Observed;
  const queue = queueName(`api-${who}`);

  beforeAll(() => {
    t = tempDir(who);
    const r = run(who, [BUN, `${ROOT}/test/fixtures/api-hakurei.ts`, t.path, queue], { timeout: 50_000 });
    if (r.code !== 0 || r.stderr !== "") throw new Error(`fixture failed (exit ${r.code}):\n${r.stdout}${r.stderr}`);
    o = JSON.parse(r.stdout);
  }, 60_000);
  afterAll(() => t.cleanup());

  test("bind { device: false } is nodev: opening a bound device node fails with EACCES; the default keeps it usable", () => {
    expect(o.nodev.code).toBe(1);
    expect(o.nodev.err).toBe("cat: /mnt/null: Permission denied\n");
    expect(o.roNodev.code).toBe(1);
    expect(o.roNodev.err).toContain("Permission denied");
    expect(o.devDefault).toEqual({ code: 0, out: "0000\n", err: "", error: null });
  });

  test("bind { optional } skips a missing source; { writable: false } is read-only", () => {
    expect(o.optional.out).toBe("skipped\n");
    expect(o.optional.err).toContain("Read-only file system");
    expect(o.dataAfter).toEqual({ files: ["f"], f: "host" });
  });

  test("tmpfs { size } gives ENOSPC beyond it, { mode } shows in stat, { readonly } is empty and gives EROFS", () => {
    expect(o.tmpfs.out).toBe("710\nrc=1\nrc=1\n0\n");
    expect(o.tmpfs.err).toContain("No space left on device");
    expect(o.tmpfs.err).toContain("touch: cannot touch '/mnt/ro/x': Read-only file system");
  });

  test("dev { mqueue } with unshareIpc: a queue made inside is in /dev/mqueue and not on the host", () => {
    expect(o.mqueue).toEqual({ code: 0, out: `created ${queue}\n${queue}\n`, err: "", error: null });
    expect(o.mqueueOnHost).toBe(false);
    expect(o.mqueueOp.out).toContain(" /mnt/mq rw,nosuid,nodev,noexec");
    expect(o.mqueueOp.out).toContain(" - mqueue ");
  });

  test("an mqueue without unshareIpc is refused before anything runs, naming the fix", () => {
    expect(o.mqueueNoIpc.error).toBe("PlanError: ops[2]: a private mqueue needs an IPC namespace: set unshareIpc (CLI --unshare-ipc, library .unshareIpc())");
  });

  test("overlayPersistent: writes land in the upper directory on the host", () => {
    expect(o.persistent).toEqual({ code: 0, out: "from l2\np\n", err: "", error: null });
    expect(o.persistentUpper).toEqual(["p"]);
    expect(o.persistentHostFile).toBe("p\n");
  });

  test("overlayEphemeral: writable, and the writes vanish (the layers are unchanged)", () => {
    expect(o.ephemeral).toEqual({ code: 0, out: "e\nchanged\n", err: "", error: null });
    expect(o.layersAfter).toEqual({ l1: ["f", "only1"], l2: ["f"], only1: "1" });
  });

  test("overlayReadonly: the top layer wins and writes fail with EROFS", () => {
    expect(o.readonly.out).toBe("from l2\n1\n");
    expect(o.readonly.err).toBe("touch: cannot touch '/mnt/o/x': Read-only file system\n");
  });

  test("symlink { dereference }: the target of the host link; a non-link is a one-line setup error", () => {
    expect(o.deref.out).toBe("../some/where\n");
    expect(o.derefNotLink.code).toBe(1);
    expect(o.derefNotLink.error).toBe(`symlink /mnt/l -> (target of host symlink ${t.path}/data/f): ${t.path}/data/f is not a symlink; give the path of a host symlink`);
  });

  test("roBindData / bindData: the bytes at the destination, read-only 0444 or writable with the mode given", () => {
    expect(o.files.out).toBe("444 7\n600 3\nplaced\nhi\nhi\nmore\n");
    expect(o.files.err).toBe("sh: 1: cannot create /mnt/etc/ro: Read-only file system\n");
  });

  test("a placed file larger than one socket message travels through the warm and the cold server", () => {
    const expected = { code: 0, out: `320000\n${o.bigMd5}  -\n`, err: "", error: null };
    expect(o.bigWarm).toEqual(expected);
    expect(o.bigCold).toEqual(expected);
  });

  test("remountRo and remount(dst, \"nosuid,nodev,rec\") after the mounts; a non-mount point is a one-line error", () => {
    expect(o.remount.err).toContain("Read-only file system");
    const lines: string[] = o.remount.out.trim().split("\n");
    expect(lines).toContainEqual(expect.stringMatching(/^\/mnt\/data ro[,\s]/));
    expect(lines).toContainEqual(expect.stringMatching(/^\/mnt\/a rw,nosuid,nodev/));
    expect(lines).toContainEqual(expect.stringMatching(/^\/mnt\/a\/b rw,nosuid,nodev/));
    expect(o.remountNotMount.code).toBe(1);
    expect(o.remountNotMount.error).toBe("remount /mnt/nothing (ro): /mnt/nothing is not a mount point in the sandbox; a remount changes the flags of a mount (bind or mount something on /mnt/nothing first)");
  });

  test("chmod runs after the mounts; dir { mode }", () => {
    expect(o.chmod.out).toBe("700 /mnt/t\n750 /mnt/t/d\n");
  });
});
