// Directory modes (BenchExec's container mode) through the CLI, as root and as the unprivileged
// test user: what the sandboxed command sees, and what the host looks like afterwards.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { asWho, BIN, BUN, envFor, hostMounts, ids, ROOT, sandbox, SINGLE_THREAD_ENV, tempDir, WHO, type Who } from "../support/run.ts";
import { buildProbe } from "../support/probe.ts";
import { HAVE_LXCFS, startLxcfs, type Lxcfs } from "../support/lxcfs.ts";

const RUN = `${process.pid}-${Date.now()}`;
const cleanups: (() => void)[] = [];
afterAll(() => cleanups.forEach((c) => c()));

/**
 * A directory owned by `who` (uid and gid: a user namespace cannot copy up files of ids it does
 * not map) under /var/tmp, which the default modes overlay (/tmp would be hidden).
 */
function varTemp(who: Who): string {
  const d = mkdtempSync("/var/tmp/bsb-dm-");
  chmodSync(d, 0o755);
  const { uid, gid } = ids(who);
  chownSync(d, uid, gid);
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

function write(path: string, data: string, who: Who): void {
  writeFileSync(path, data);
  const { uid, gid } = ids(who);
  chownSync(path, uid, gid);
}

/** Every file and symlink below `dir`, as paths relative to it. */
function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d)) {
      const p = `${d}/${e}`;
      const st = lstatSync(p);
      if (st.isDirectory()) walk(p, `${rel}${e}/`);
      else out.push(`${rel}${e}`);
    }
  };
  walk(dir, "");
  return out.sort();
}

function mountLine(mountinfo: string, point: string): string | undefined {
  return mountinfo.split("\n").filter((l) => l.split(" ")[4] === point).pop();
}

describe("usage", () => {
  test("directory modes next to a bind on /, or settings without a mode: one line, exit 2", () => {
    const both = sandbox("user", ["--overlay-dir", "/", "--ro-bind", "/", "/", "true"]);
    expect(both.code).toBe(2);
    expect(both.stderr.trim().split("\n")).toHaveLength(1);
    expect(both.stderr).toContain("cannot be combined with a bind on /");
    const alone = sandbox("user", ["--output-dir", "/tmp/x", "true"]);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toStartWith("sandbox: --output-dir only apply with directory modes");
  });
});

describe.each(WHO)("as %s", (who) => {
  const me = ids(who);

  test("default modes: / is an overlay (host unchanged), /tmp and /run are empty, /dev/shm is writable", () => {
    const t = varTemp(who);
    write(`${t}/existing`, "old\n", who);
    write(`${t}/doomed`, "x", who);
    const before = hostMounts();
    const name = `bsb-dm-${RUN}-${who}`;
    const r = sandbox(who, ["--overlay-dir", t, "sh", "-c",
      `set -e; echo new > ${t}/new; echo changed > ${t}/existing; rm ${t}/doomed; echo etc > /etc/${name}; echo home > "$HOME/${name}"; ` +
      `echo shm > /dev/shm/${name}; cat ${t}/new ${t}/existing /etc/${name} "$HOME/${name}" /dev/shm/${name}; find /tmp /run -mindepth 1 | wc -l; ` +
      `awk '$5 == "/" || $5 == "/etc"' /proc/self/mountinfo | grep -c ' - overlay '`]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines.slice(0, 5)).toEqual(["new", "changed", "etc", "home", "shm"]);
    expect(lines[5]).toBe("0");
    expect(Number(lines[6])).toBeGreaterThan(0);
    // The host saw none of it.
    expect(readdirSync(t).sort()).toEqual(["doomed", "existing"]);
    expect(readFileSync(`${t}/existing`, "utf8")).toBe("old\n");
    expect(existsSync(`/etc/${name}`)).toBe(false);
    expect(existsSync(`/root/${name}`) || existsSync(`/home/${me.name}/${name}`)).toBe(false);
    expect(existsSync(`/dev/shm/${name}`)).toBe(false);
    expect(hostMounts()).toBe(before);
  });

  test("a --hidden-dir missing on the host: one line naming it and the -try form, exit 2; --hidden-dir-try skips it", () => {
    const missing = `/var/tmp/bsb-dm-missing-${RUN}`;
    const r = sandbox(who, ["--hidden-dir", missing, "true"]);
    expect([r.code, r.stderr]).toEqual([2, `sandbox: --hidden-dir ${missing}: ${missing} does not exist on the host; create it, or use --hidden-dir-try to skip it when missing\n`]);
    const t = sandbox(who, ["--debug", "--hidden-dir-try", missing, "true"]);
    expect(t.code).toBe(0);
    expect(t.stderr).toContain(`sandbox: dirmode ${missing}: does not exist on the host; ignored\n`);
  });

  test("--read-only-dir makes a directory read-only; --hidden-dir makes one empty (and writable in the sandbox only)", () => {
    const t = varTemp(who);
    mkdirSync(`${t}/hide/sub`, { recursive: true });
    write(`${t}/hide/secret`, "s", who);
    const r = sandbox(who, ["--read-only-dir", "/usr", "--hidden-dir", `${t}/hide`, "sh", "-c",
      `touch /usr/bsb-dm-x 2>&1; ls -A ${t}/hide | wc -l; echo mine > ${t}/hide/f && cat ${t}/hide/f`]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual([expect.stringContaining("Read-only file system"), "0", "mine"]);
    expect(readdirSync(`${t}/hide`).sort()).toEqual(["secret", "sub"]);
  });

  test("--full-access-dir inside the hidden /tmp: writes reach the host; the rest of /tmp stays hidden", () => {
    const t = tempDir(who);
    try {
      const r = sandbox(who, ["--full-access-dir", t.path, "sh", "-c", `echo through > ${t.path}/out && ls -A /tmp`]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe(t.path.slice("/tmp/".length));
      expect(readFileSync(`${t.path}/out`, "utf8")).toBe("through\n");
      expect(lstatSync(`${t.path}/out`).uid).toBe(me.uid);
    } finally {
      t.cleanup();
    }
  });

  test("--debug shows each mount point's mode: /sys and /dev downgraded from overlay to read-only", () => {
    const r = sandbox(who, ["--debug", "--read-only-dir", "/usr", "sh", "-c", "touch /sys/x 2>&1; touch /dev/bsb-dm-x 2>&1; true"]);
    expect(r.code).toBe(0);
    expect(r.stdout.match(/Read-only file system/g)).toHaveLength(2);
    expect(r.stderr).toContain("sandbox: dirmode /sys: read-only (overlay impossible under /sys)\n");
    expect(r.stderr).toContain("sandbox: dirmode /dev: read-only (overlay impossible under /dev)\n");
    expect(r.stderr).toContain("sandbox: dirmode /proc: full-access (overlay impossible on proc; the host's procfs as --proc binds it)\n");
    expect(r.stderr).toContain("sandbox: dirmode /tmp: hidden\n");
    expect(r.stderr).toContain("sandbox: dirmode /dev/shm: writable tmpfs\n");
    expect(r.stderr).toContain("sandbox: dirmodes / overlay, /run hidden, /tmp hidden, /usr read-only (tmpfs size=100%)\n");
    if (who === "root") {
      expect(r.stderr).toContain("sandbox: dirmode /: overlay\n");
    } else {
      // A user namespace cannot overlay / (host mounts below it are locked): its subdirectories are.
      expect(r.stderr).toContain("sandbox: dirmode /: read-only, its subdirectories overlaid one by one");
      expect(r.stderr).toContain("sandbox: dirmode /etc: overlay\n");
    }
  });

  test("--output-dir collects what the command wrote in overlay directories; the exit status is the command's", () => {
    const t = varTemp(who);
    write(`${t}/gone`, "g", who);
    const o = tempDir(who);
    try {
      const out = `${o.path}/results`; // made by the sandbox
      const r = sandbox(who, ["--overlay-dir", t, "--output-dir", out, "sh", "-c",
        `mkdir ${t}/sub && echo a > ${t}/sub/f && chmod 640 ${t}/sub/f && ln -s f ${t}/sub/l && rm ${t}/gone && echo t > /tmp/t && exit 7`]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(7);
      const rel = t.slice(1);
      expect(listFiles(out)).toEqual([`${rel}/sub/f`, `${rel}/sub/l`]);
      expect(readFileSync(`${out}/${rel}/sub/f`, "utf8")).toBe("a\n");
      expect(lstatSync(`${out}/${rel}/sub/f`).mode & 0o7777).toBe(0o640);
      expect(lstatSync(`${out}/${rel}/sub/f`).uid).toBe(me.uid);
      expect(readlinkSync(`${out}/${rel}/sub/l`)).toBe("f");
      // The overlay kept the host's directory as it was.
      expect(readdirSync(t)).toEqual(["gone"]);
    } finally {
      o.cleanup();
    }
  });

  test("--output-dir on a terminal: ^C reaches the command once, from the terminal (the waiting CLI does not forward it again)", async () => {
    const t = varTemp(who);
    const o = tempDir(who);
    try {
      const threadEnv = Object.entries(SINGLE_THREAD_ENV).map(([k, v]) => `${k}=${v}`).join(" ");
      // the checkout stays visible (read-only) even where it lies in /tmp, which is hidden by default
      // script(1) runs this with $SHELL -c (/bin/sh where SHELL is unset, as under CI): `exec` so
      // that no shell waits in the foreground group (dash would die of the ^C itself, exit 130)
      const inner = `exec ${BIN} --overlay-dir ${t} --read-only-dir ${ROOT} --output-dir ${o.path}/results -- env ${threadEnv} ${BUN} ${buildProbe()} sigcodes 700`;
      // script(1) runs it on a new pseudo-terminal; ^C written there is the terminal's SIGINT
      // to its foreground process group: the waiting CLI and the command.
      const p = Bun.spawn([...asWho(who), "script", "-qefc", inner, "/dev/null"], { stdin: "pipe", stdout: "pipe", stderr: "pipe", env: envFor(who) });
      let out = "";
      const decoder = new TextDecoder();
      for await (const chunk of p.stdout) {
        const before = out;
        out += decoder.decode(chunk);
        if (!before.includes("ready") && out.includes("ready")) {
          await Bun.sleep(100);
          p.stdin.write("\x03");
          p.stdin.flush();
        }
      }
      expect(await p.exited).toBe(0);
      // the terminal echoes ^C in front of the probe's JSON
      const json = /\{"signals".*\}/.exec(out)?.[0];
      expect(JSON.parse(json ?? "{}").signals).toEqual([{ signo: 2, code: 0x80 /* SI_KERNEL: the terminal's */ }]);
    } finally {
      o.cleanup();
    }
  }, 20_000);

  test("--output-dir never writes through a symlink in the output directory: one-line error, exit 1", () => {
    const t = varTemp(who);
    const o = tempDir(who);
    const elsewhere = tempDir(who);
    try {
      symlinkSync(elsewhere.path, `${o.path}/var`);
      const r = sandbox(who, ["--overlay-dir", t, "--output-dir", o.path, "sh", "-c", `echo a > ${t}/f`]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toStartWith(`sandbox: output-dir ${o.path}: openat("/var"): Not a directory (ENOTDIR); exists in the output directory and is not a directory (symlinks there are not followed)`);
      expect(readdirSync(elsewhere.path)).toEqual([]);
    } finally {
      o.cleanup();
      elsewhere.cleanup();
    }
  });

  test("--tmpfs-size bounds the sandbox's writes (ENOSPC past it)", () => {
    const r = sandbox(who, ["--tmpfs-size", "1m", "--read-only-dir", "/usr", "sh", "-c",
      "head -c 500000 /dev/zero > /tmp/a && echo small-ok; head -c 2000000 /dev/zero > /tmp/b || echo big-failed; grep ' /tmp ' /proc/self/mountinfo"]);
    expect(r.stdout).toContain("small-ok\nbig-failed\n");
    expect(r.stderr).toContain("No space left on device");
    expect(r.stdout).toContain("size=1024k");
  });

  test("--tmpfs-numa binds the tmpfs's memory policy; a bad list is a usage error, a missing node a one-line error", () => {
    const ok = sandbox(who, ["--tmpfs-numa", "0", "--read-only-dir", "/usr", "grep", " /tmp ", "/proc/self/mountinfo"]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("mpol=bind:0");
    const bad = sandbox(who, ["--tmpfs-numa", "0-x", "--read-only-dir", "/usr", "true"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe('sandbox: --tmpfs-numa: invalid NUMA node list "0-x"; give node numbers and ranges like 0, 0-1 or 0,2-3');
    // A failed setup leaves nothing behind, not even the output directory.
    const never = `/tmp/bsb-dm-never-${RUN}-${who}`;
    const missing = sandbox(who, ["--tmpfs-numa", "63", "--read-only-dir", "/usr", "--output-dir", never, "true"]);
    expect(existsSync(never)).toBe(false);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split("\n")).toHaveLength(1);
    const nodes = readFileSync("/sys/devices/system/node/has_memory", "utf8").trim();
    expect(missing.stderr).toContain(`Invalid argument (EINVAL); the kernel refused mpol=bind:63: this machine has memory on NUMA node(s) ${nodes} only`);
  });

  test("lxcfs (BUN_SANDBOX_LXCFS_PROC): its files are bound read-only over /proc, a clean procfs stays at /proc/1/ns", () => {
    const l = tempDir(who);
    try {
      writeFileSync(`${l.path}/uptime`, "4242.42 1.00\n");
      writeFileSync(`${l.path}/meminfo`, "MemTotal: 1234 kB\n");
      writeFileSync(`${l.path}/no-such-proc-file`, "x");
      l.own();
      const argv = ["--debug", "--read-only-dir", "/usr", "sh", "-c",
        "cat /proc/uptime /proc/meminfo; test -e /proc/no-such-proc-file || echo skipped; echo x 2>/dev/null > /proc/uptime || echo ro; " +
        "head -c 7 /proc/1/ns/uptime | grep -c '^4242.42' ; grep -c MemFree /proc/1/ns/meminfo"];
      const r = sandbox(who, argv, { env: { BUN_SANDBOX_LXCFS_PROC: l.path } });
      expect(r.code).toBe(0);
      expect(r.stdout.trim().split("\n")).toEqual(["4242.42 1.00", "MemTotal: 1234 kB", "skipped", "ro", "0", "1"]);
      expect(r.stderr).toContain(`sandbox: lxcfs: meminfo uptime from ${l.path} bound over /proc; a clean procfs at /proc/1/ns\n`);
      expect(readFileSync(`${l.path}/uptime`, "utf8")).toBe("4242.42 1.00\n");
      // A nested sandbox (util-linux unshare here) can mount a procfs thanks to the clean one:
      // without it the lxcfs binds leave no fully visible procfs and the kernel refuses.
      // (--no-seal: the command may unmount the clean procfs, which the seal forbids.)
      const nested = sandbox(who, ["--no-seal", "--read-only-dir", "/usr", "sh", "-c",
        "unshare -Urpf --mount-proc cat /proc/uptime | grep -c '^4242.42'; umount /proc/1/ns && unshare -Urpf --mount-proc true 2>&1"], { env: { BUN_SANDBOX_LXCFS_PROC: l.path } });
      expect(nested.stdout.trim().split("\n")).toEqual(["0", "unshare: mount /proc failed: Operation not permitted"]);
      const sealed = sandbox(who, ["--seal", "--read-only-dir", "/usr", "sh", "-c",
        "unshare -Urpf --mount-proc cat /proc/uptime | grep -c '^4242.42'; umount /proc/1/ns 2>/dev/null || echo locked"], { env: { BUN_SANDBOX_LXCFS_PROC: l.path } });
      expect(sealed.stdout.trim().split("\n")).toEqual(["0", "locked"]);
      // Without lxcfs (the default directory does not exist here) /proc is the kernel's, writable
      // like --proc (a read-only one would refuse /proc/self/uid_map to a nested sandbox).
      const plain = sandbox(who, ["--read-only-dir", "/usr", "sh", "-c", "grep -c MemFree /proc/meminfo; unshare -Urpf --mount-proc echo nested"], { env: { BUN_SANDBOX_LXCFS_PROC: `${l.path}/missing` } });
      expect(plain.stdout.trim().split("\n")).toEqual(["1", "nested"]);
    } finally {
      l.cleanup();
    }
  });

  test("a mount point in a directory the caller cannot enter: that directory is hidden", () => {
    const t = tempDir("root");
    try {
      mkdirSync(`${t.path}/locked/sub`, { recursive: true });
      chmodSync(`${t.path}/locked`, 0o700);
      writeFileSync(`${t.path}/locked/sub/secret`, "s");
      const r = sandbox(who, ["--debug", "--full-access-dir", t.path, "--full-access-dir", `${t.path}/locked/sub`, "sh", "-c",
        `cat ${t.path}/locked/sub/secret 2>/dev/null || ls -A ${t.path}/locked | wc -l`]);
      expect(r.code).toBe(0);
      if (who === "root") {
        expect(r.stdout.trim()).toBe("s");
        expect(r.stderr).toContain(`sandbox: dirmode ${t.path}/locked/sub: full-access\n`);
      } else {
        expect(r.stdout.trim()).toBe("0");
        expect(r.stderr).toContain(`sandbox: dirmode ${t.path}/locked: hidden (the caller cannot enter ${t.path}/locked)\n`);
      }
    } finally {
      t.cleanup();
    }
  });

  test("other operations apply on top: --dev replaces the host's /dev, --tmpfs covers an overlay directory", () => {
    const r = sandbox(who, ["--read-only-dir", "/usr", "--dev", "/dev", "--tmpfs", "/var/tmp", "sh", "-c",
      "ls /dev | grep -c -E '^(vda|sda|nvme0n1|tty0|mem)$'; grep ' /var/tmp ' /proc/self/mountinfo | tail -1; touch /var/tmp/x && echo w"]);
    expect(r.stdout.trim().split("\n")[0]).toBe("0");
    expect(mountLine(r.stdout, "/var/tmp")).toContain(" - tmpfs ");
    expect(r.stdout.trim().split("\n").pop()).toBe("w");
  });
});

// The real lxcfs, pointed at with BUN_SANDBOX_LXCFS_PROC instead of /var/lib/lxcfs/proc.
describe.skipIf(!HAVE_LXCFS)("real lxcfs", () => {
  let lxcfs: Lxcfs | undefined;
  let dir = "";
  let mountsBefore = "";

  beforeAll(async () => {
    mountsBefore = hostMounts();
    lxcfs = await startLxcfs();
    dir = lxcfs.dir;
  });

  afterAll(() => lxcfs?.stop());

  test.each(WHO)("as %s: its files are the sandbox's /proc files (fuse.lxcfs mounts), a clean procfs stays at /proc/1/ns", (who) => {
    const r = sandbox(who, ["--read-only-dir", "/usr", "sh", "-c",
      "awk '$5 ~ /^\\/proc\\/(meminfo|uptime)$/ { for (i = 7; i <= NF; i++) if ($i == \"-\") print $5, $(i + 1) }' /proc/self/mountinfo; " +
      "head -1 /proc/meminfo; grep -c MemFree /proc/1/ns/meminfo"],
    { env: { BUN_SANDBOX_LXCFS_PROC: `${dir}/proc` } });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines.slice(0, 2)).toEqual(["/proc/meminfo fuse.lxcfs", "/proc/uptime fuse.lxcfs"]);
    expect(lines[2]).toBe(readFileSync(`${dir}/proc/meminfo`, "utf8").split("\n")[0]);
    expect(lines[3]).toBe("1");
    // nothing of the sandbox is left in the host's mount table (lxcfs's own mount aside)
    expect(hostMounts().split("\n").filter((l) => !l.includes(dir)).join("\n")).toBe(mountsBefore);
  });
});
