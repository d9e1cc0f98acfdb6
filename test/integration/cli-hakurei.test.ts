// The CLI options for the operations from hakurei's container package, as root and as the
// unprivileged test user: what the sandboxed command observes, and what the host sees afterwards.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { asWho, BIN, BUN, hostMounts, IS_ROOT, run, sandbox, tempDir, WHO, type TempDir } from "../support/run.ts";
import { hostQueueExists, MQ_CREATE, queueName } from "../support/mqueue.ts";

const RO = ["--ro-bind", "/", "/"];
// The host root read-only with a writable tmpfs on /mnt for new mount points.
const BASE = [...RO, "--tmpfs", "/mnt"];

/** mountinfo options of the topmost mount at `point`. */
function optionsAt(mountinfo: string, point: string): string[] {
  const lines = mountinfo.split("\n").filter((l) => l.split(" ")[4] === point);
  return lines.length ? lines[lines.length - 1]!.split(" ")[5]!.split(",") : [];
}

const sh = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

let mountsBefore = "";
beforeAll(() => {
  mountsBefore = hostMounts();
});
afterAll(() => {
  // Nothing any of these sandboxes did is left in the host's mount table.
  expect(hostMounts()).toBe(mountsBefore);
});

describe.each(WHO)("as %s", (who) => {
  let t: TempDir;
  beforeAll(() => {
    t = tempDir(who);
    mkdirSync(`${t.path}/data`);
    writeFileSync(`${t.path}/data/f`, "host");
    writeFileSync(`${t.path}/payload`, "placed\ncontent\n");
    writeFileSync(`${t.path}/second`, "second\n");
    symlinkSync("../some/where", `${t.path}/link`);
    t.own();
  });
  afterAll(() => t.cleanup());

  test("--bind and --ro-bind keep device nodes usable (mkosi-sandbox semantics)", () => {
    const r = sandbox(who, [...BASE, "--bind", "/dev/null", "/mnt/null", "--ro-bind", "/dev/zero", "/mnt/zero", "sh", "-c",
      "echo x > /mnt/null && head -c 2 /mnt/zero | od -An -tx1 | tr -d ' '"]);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("0000");
  });

  test("--size limits a tmpfs (ENOSPC beyond); --perms sets the mode of --tmpfs and --dir", () => {
    const r = sandbox(who, [...BASE, "--size", "64k", "--perms", "0710", "--tmpfs", "/mnt/t", "--perms", "0700", "--dir", "/mnt/t/d", "--dir", "/mnt/t/e",
      "sh", "-c", "stat -c '%a %n' /mnt/t /mnt/t/d /mnt/t/e; head -c 1048576 /dev/zero > /mnt/t/big; echo rc=$?; grep ' /mnt/t ' /proc/self/mountinfo"]);
    const lines = r.stdout.trim().split("\n");
    expect(lines.slice(0, 3)).toEqual(["710 /mnt/t", "700 /mnt/t/d", "755 /mnt/t/e"]);
    expect(r.stderr).toContain("No space left on device");
    expect(lines[3]).toBe("rc=1");
    expect(lines[4]).toContain("size=64k");
  });

  test("--perms and --size errors are one-line usage errors naming the option", () => {
    const bad = sandbox(who, [...BASE, "--perms", "0999", "--tmpfs", "/mnt/t", "true"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('sandbox: --perms: invalid mode "0999"; give an octal mode between 0000 and 7777\n');
    const size = sandbox(who, [...BASE, "--size", "lots", "--tmpfs", "/mnt/t", "true"]);
    expect(size.code).toBe(2);
    expect(size.stderr).toStartWith('sandbox: --size: invalid size "lots"');
    const orphan = sandbox(who, [...BASE, "--size", "1m", "--dir", "/mnt/t", "true"]);
    expect(orphan.code).toBe(2);
    expect(orphan.stderr).toBe("sandbox: --size 1m must be followed by --tmpfs; got --dir\n");
  });

  test("--remount-ro makes a writable bind read-only; flags not named are kept", () => {
    const r = sandbox(who, [...BASE, "--bind", `${t.path}/data`, "/mnt/data", "--remount-ro", "/mnt/data",
      "sh", "-c", "echo changed > /mnt/data/f; cat /mnt/data/f; cat /proc/self/mountinfo"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("Read-only file system");
    expect(r.stdout).toStartWith("host");
    expect(optionsAt(r.stdout, "/mnt/data")).toContain("ro");
    expect(readFileSync(`${t.path}/data/f`, "utf8")).toBe("host");
  });

  test("--remount with rec applies to every mount below; without rec only to the one at DST", () => {
    const r = sandbox(who, [...BASE, "--tmpfs", "/mnt/a", "--tmpfs", "/mnt/a/b", "--tmpfs", "/mnt/c", "--tmpfs", "/mnt/c/d",
      "--remount", "nosuid,nodev,noexec,rec", "/mnt/a", "--remount", "ro", "/mnt/c", "cat", "/proc/self/mountinfo"]);
    expect(r.code).toBe(0);
    for (const p of ["/mnt/a", "/mnt/a/b"]) expect(optionsAt(r.stdout, p)).toEqual(expect.arrayContaining(["rw", "nosuid", "nodev", "noexec"]));
    expect(optionsAt(r.stdout, "/mnt/c")).toContain("ro");
    expect(optionsAt(r.stdout, "/mnt/c/d")).toContain("rw");
    expect(optionsAt(r.stdout, "/mnt/c/d")).not.toContain("nosuid");
  });

  test("--remount of a path that is not a mount point, and bad options, are one-line errors", () => {
    const r = sandbox(who, [...RO, "--remount-ro", "/usr/share", "true"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("sandbox: remount /usr/share (ro): /usr/share is not a mount point in the sandbox; a remount changes the flags of a mount (bind or mount something on /usr/share first)\n");
    const bad = sandbox(who, [...RO, "--remount", "ro,rbind", "/", "true"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toStartWith('sandbox: --remount ro,rbind: "rbind" cannot be used in a remount');
  });

  // A tmpfs mounted nosuid,nodev,noexec outside (in a private mount namespace of the test) is
  // bound into the sandbox: in a user namespace those flags are locked, and a remount must keep
  // them; clearing one is refused by the kernel and explained.
  test.skipIf(!IS_ROOT)("--remount keeps flags locked by the host; clearing one fails with EPERM as the user", () => {
    const m = `${t.path}/locked`;
    mkdirSync(m, { recursive: true });
    const inner = (args: string[]) =>
      [...asWho(who), BIN, ...BASE, "--bind", m, "/mnt/l", ...args].map(sh).join(" ");
    const script = `mount -t tmpfs -o nosuid,nodev,noexec,mode=0777 bsb-locked ${sh(m)} && ` +
      `${inner(["--remount-ro", "/mnt/l", "cat", "/proc/self/mountinfo"])}; echo "rc=$?"; ${inner(["--remount", "exec", "/mnt/l", "true"])}; echo "rc=$?"`;
    const r = run("root", ["unshare", "-m", "--propagation", "private", "sh", "-c", script]);
    const opts = optionsAt(r.stdout, "/mnt/l");
    expect(opts).toEqual(expect.arrayContaining(["ro", "nosuid", "nodev", "noexec"]));
    const codes = r.stdout.match(/rc=\d+/g);
    expect(codes![0]).toBe("rc=0");
    if (who === "root") {
      expect(codes![1]).toBe("rc=0");
    } else {
      expect(codes![1]).toBe("rc=1");
      expect(r.stderr.trim()).toMatch(/^sandbox: remount \/mnt\/l \(exec\): mount(_setattr)?\(.*\): Operation not permitted \(EPERM\); a flag set by the host on this mount .* is locked in a user namespace/);
    }
    expect(existsSync(`${m}/x`)).toBe(false);
  });

  test("--mqueue: a private mqueue; a queue made inside shows there and not on the host", () => {
    const name = queueName(`cli-${who}`);
    const r = sandbox(who, [...RO, "--dev", "/dev", "--unshare-ipc", "--mqueue", "/dev/mqueue", "sh", "-c",
      `${BUN} -e ${sh(MQ_CREATE)} ${name} && ls /dev/mqueue && grep ' /dev/mqueue ' /proc/self/mountinfo`]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toBe(`created ${name}`);
    expect(lines[1]).toBe(name);
    expect(lines[2]).toContain(" - mqueue ");
    expect(hostQueueExists(name)).toBe(false);
  });

  test("--mqueue without --unshare-ipc is a one-line usage error naming it", () => {
    const r = sandbox(who, [...RO, "--mqueue", "/dev/mqueue", "true"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("sandbox: --mqueue /dev/mqueue needs an IPC namespace; add --unshare-ipc\n");
  });

  test("--copy-symlink: the host link's target is read on the host, the link made inside", () => {
    const r = sandbox(who, [...BASE, "--copy-symlink", `${t.path}/link`, "/mnt/l", "readlink", "/mnt/l"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe("../some/where");
    const notLink = sandbox(who, [...BASE, "--copy-symlink", `${t.path}/payload`, "/mnt/l", "true"]);
    expect(notLink.code).toBe(1);
    expect(notLink.stderr).toBe(`sandbox: symlink /mnt/l -> (target of host symlink ${t.path}/payload): ${t.path}/payload is not a symlink; give the path of a host symlink\n`);
    const missing = sandbox(who, [...BASE, "--copy-symlink", `${t.path}/nope`, "/mnt/l", "true"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("(ENOENT)");
    expect(missing.stderr.trim().split("\n")).toHaveLength(1);
  });

  test("--ro-bind-data and --bind-data place the bytes of an fd; the command does not get the fd; writes stay inside", () => {
    const cmd = [BIN, ...BASE, "--ro-bind-data", "3", "/mnt/etc/ro", "--perms", "0600", "--bind-data", "4", "/mnt/rw", "sh", "-c",
      "stat -c '%a %s' /mnt/etc/ro /mnt/rw; cat /mnt/etc/ro; echo more >> /mnt/rw; cat /mnt/rw; echo x > /mnt/etc/ro; " +
      "test -e /proc/self/fd/3 && echo fd3; test -e /proc/self/fd/4 && echo fd4; grep ' /mnt/etc/ro ' /proc/self/mountinfo"].map(sh).join(" ");
    const r = run(who, ["sh", "-c", `exec 3<${sh(`${t.path}/payload`)} 4<${sh(`${t.path}/second`)}; exec ${cmd}`]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines.slice(0, 6)).toEqual(["444 15", "600 7", "placed", "content", "second", "more"]);
    expect(r.stdout).not.toContain("fd3");
    expect(r.stdout).not.toContain("fd4");
    expect(lines[6]!.split(" ")[5]!.split(",")).toContain("ro");
    expect(r.stderr).toContain("Read-only file system");
    // The sources are untouched and nothing was written next to them.
    expect(readFileSync(`${t.path}/second`, "utf8")).toBe("second\n");
    expect(readdirSync(t.path).sort()).toEqual(["data", "link", "locked", "payload", "second"].filter((n) => n !== "locked" || existsSync(`${t.path}/locked`)));
  });

  test("--bind-data with an fd that was not passed is a one-line usage error", () => {
    const r = sandbox(who, [...BASE, "--ro-bind-data", "9", "/mnt/x", "true"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("sandbox: --ro-bind-data 9: fd 9 is not open in sandbox; pass it from the caller (e.g. 9<FILE)\n");
  });

  test("--chmod runs after the mounts, in the order given with --remount-ro", () => {
    const r = sandbox(who, [...BASE, "--chmod", "0700", "/mnt/t", "--tmpfs", "/mnt/t", "--chmod", "1777", "/mnt/t/d", "--dir", "/mnt/t/d", "--remount-ro", "/mnt/t",
      "stat", "-c", "%a %n", "/mnt/t", "/mnt/t/d"]);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim().split("\n")).toEqual(["700 /mnt/t", "1777 /mnt/t/d"]);
    const late = sandbox(who, [...BASE, "--tmpfs", "/mnt/t", "--remount-ro", "/mnt/t", "--chmod", "0700", "/mnt/t", "true"]);
    expect(late.code).toBe(1);
    expect(late.stderr).toBe('sandbox: chmod /mnt/t (mode=0700): chmod("/mnt/t"): Read-only file system (EROFS)\n');
    const missing = sandbox(who, [...BASE, "--chmod", "0700", "/mnt/nope", "true"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe("sandbox: chmod /mnt/nope (mode=0700): /mnt/nope does not exist in the sandbox\n");
  });

  test("--chmod on a writable bind changes the host file (like a write would)", () => {
    const r = sandbox(who, [...BASE, "--bind", `${t.path}/data`, "/mnt/data", "--chmod", "0640", "/mnt/data/f", "true"]);
    expect(r.code).toBe(0);
    expect(statSync(`${t.path}/data/f`).mode & 0o7777).toBe(0o640);
  });
});
