// Directory modes through the library (the stage server's forked stage), as root and as the
// unprivileged test user: test/fixtures/api-dirmodes.ts runs the sandboxes and reports.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { BUN, ids, ROOT, run, tempDir, WHO, type Who } from "../support/run.ts";

const cleanups: (() => void)[] = [];
afterAll(() => cleanups.forEach((c) => c()));

/** A directory owned by `who` under /var/tmp (the default modes overlay it; /tmp is hidden). */
function varTemp(who: Who): string {
  const d = mkdtempSync("/var/tmp/bsb-dm-api-");
  chmodSync(d, 0o755);
  chownSync(d, ids(who).uid, ids(who).gid);
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

describe.each(WHO)("as %s", (who) => {
  test("output directory, exit status, PID namespace, read-only/hidden, tmpfs size and NUMA, lxcfs, copy errors", () => {
    const me = ids(who);
    const overlay = varTemp(who);
    writeFileSync(`${overlay}/kept`, "k");
    const hide = varTemp(who);
    writeFileSync(`${hide}/secret`, "s");
    const t = tempDir(who);
    const lx = tempDir(who);
    try {
      writeFileSync(`${lx.path}/uptime`, "777.77 1.00\n");
      const dirs = { overlay, out: `${t.path}/out`, outPid: `${t.path}/out-pid`, hide, lxcfs: lx.path, badOut: `${t.path}/bad` };
      mkdirSync(dirs.badOut);
      symlinkSync("/nowhere", `${dirs.badOut}/var`);
      t.own();
      lx.own();
      const r = run(who, [BUN, `${ROOT}/test/fixtures/api-dirmodes.ts`, JSON.stringify(dirs)], { timeout: 60_000 });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const o = JSON.parse(r.stdout);
      const rel = overlay.slice(1);

      // spawnSync: exit status 3 from the waiting stage; /tmp and /run empty; only the overlay's file copied.
      expect(o.sync).toEqual({ exitCode: 3, error: null, stdout: "0\n", stderr: "" });
      expect(readFileSync(`${dirs.out}/${rel}/one`, "utf8")).toBe("one\n");
      expect(readdirSync(dirs.out)).toEqual(["var"]);
      expect(lstatSync(`${dirs.out}/${rel}/one`).uid).toBe(me.uid);
      // The host's directory is unchanged.
      expect(readdirSync(overlay)).toEqual(["kept"]);

      // PID namespace: PID 1 copied after killing the background writer.
      expect(o.pid).toEqual({ exitCode: 4, stderr: "" });
      expect(readFileSync(`${dirs.outPid}/${rel}/two`, "utf8")).toBe("two\n");
      expect(existsSync(`${dirs.outPid}/${rel}/late`)).toBe(false);

      expect(o.modes.exitCode).toBe(0);
      expect(o.modes.stdout).toMatch(/Read-only file system\n0\n$/);
      expect(o.modes.stderr).toContain(`sandbox: dirmode ${hide}: hidden\n`);
      expect(o.modes.stderr).toContain("sandbox: dirmode /usr: read-only\n");
      expect(o.modes.stderr).toContain("sandbox: dirmode /sys: read-only (overlay impossible under /sys)\n");

      expect(o.tmpfs.exitCode).toBe(1);
      expect(o.tmpfs.stdout).toContain("size=1024k");
      expect(o.tmpfs.stdout).toContain("mpol=bind:0");
      expect(o.tmpfs.stderr).toContain("No space left on device");

      expect(o.numa.exitCode).toBe(1);
      expect(o.numa.isSandboxError).toBe(true);
      expect(o.numa.error).toContain("the kernel refused mpol=bind:63: this machine has memory on NUMA node(s)");

      expect(o.lxcfs).toEqual({ exitCode: 0, stdout: "777.77 1.00\n1\n", error: null });

      expect(o.badCopy.exitCode).toBe(1);
      expect(o.badCopy.error).toStartWith(`output-dir ${dirs.badOut}: openat("/var"): Not a directory (ENOTDIR)`);
      expect(readdirSync(dirs.badOut)).toEqual(["var"]);

      expect(o.planError).toStartWith("ops[0].modes: directory modes need at least one directory");
    } finally {
      t.cleanup();
      lx.cleanup();
    }
  }, 90_000);
});
