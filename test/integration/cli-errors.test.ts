// Kernel refusals and old kernels, made real with a seccomp filter that fails chosen syscalls:
// the error names the call and the fix, or the fallback path does the job.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { dlopen, FFIType } from "bun:ffi";
import { BIN, BUN, FALLBACKS, hostMounts, IS_ROOT, ROOT, run, sandbox, WHO, type RunOptions } from "../support/run.ts";
import { describeAbi } from "../../src/sys/landlock.ts";

const FILTER = `${ROOT}/test/fixtures/errno-filter.ts`;
const RO = ["--ro-bind", "/", "/"];

function withErrors(who: (typeof WHO)[number], rules: string, args: string[], opts: RunOptions = {}) {
  return run(who, [BUN, FILTER, rules, "--", BIN, ...args], opts);
}

describe.each(WHO)("as %s", (who) => {
  test("EPERM from unshare: one line naming the call, the reason and the fix; nothing left behind", () => {
    const before = hostMounts();
    const r = withErrors(who, "unshare=EPERM", [...RO, "true"]);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    const flags = who === "root" ? "mnt" : "user|mnt";
    expect(lines[0]).toStartWith(`sandbox: unshare(${flags}): unshare(): Operation not permitted (EPERM); `);
    expect(lines[0]).toContain("sandbox --doctor");
    expect(hostMounts()).toBe(before);
  });

  test("ENOSYS from unshare names the syscall and the kernel", () => {
    const r = withErrors(who, "unshare=ENOSYS", [...RO, "true"]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toContain(`Function not implemented (ENOSYS); the running kernel (${readFileSync("/proc/sys/kernel/osrelease", "utf8").trim()}) does not implement unshare()`);
  });

  test("a kernel without the new mount API: binds still work and are read-only on every submount", () => {
    const r = withErrors(who, "open_tree=ENOSYS,mount_setattr=ENOSYS,move_mount=ENOSYS,openat2=ENOSYS", [...RO, "--tmpfs", "/mnt", "--bind", "/tmp", "/mnt/t",
      "sh", "-c", "touch /dev/shm/x-$$ 2>&1; touch /usr/x 2>&1; test -d /mnt/t && echo bound"]);
    expect(r.code).toBe(0);
    expect(r.stdout.match(/Read-only file system/g)?.length).toBe(2);
    expect(r.stdout).toContain("bound");
  });

  test("a kernel without mount_setattr: open_tree binds, then per-mount read-only remounts", () => {
    const r = withErrors(who, "mount_setattr=ENOSYS", [...RO, "sh", "-c", "touch /dev/shm/x-$$ 2>&1; touch /usr/x 2>&1; true"]);
    expect(r.code).toBe(0);
    expect(r.stdout.match(/Read-only file system/g)?.length).toBe(2);
  });

  test("binding a symlink itself without open_tree is a clear error", () => {
    const r = withErrors(who, "open_tree=ENOSYS", [...RO, "--tmpfs", "/mnt", "--ro-bind-nofollow", "/proc/self", "/mnt/self", "true"]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('sandbox: bind /proc/self -> /mnt/self (ro,nofollow): open_tree (needed to bind a symlink itself)("/proc/self"): Function not implemented (ENOSYS)');
  });

  test("where pivot_root fails (an initramfs), MS_MOVE and chroot build the same sandbox", () => {
    // Both pivots refused, as in an initramfs: the kernel's answer, and the switch that skips them.
    const refused = withErrors(who, "pivot_root=EINVAL", [...RO, "--tmpfs", "/tmp", "sh", "-c", "cat /proc/self/mountinfo; ls -d /oldroot /newroot 2>&1; echo end"]);
    const forced = sandbox(who, [...RO, "--tmpfs", "/tmp", "sh", "-c", "cat /proc/self/mountinfo; ls -d /oldroot /newroot 2>&1; echo end"], { env: { BUN_SANDBOX_NO_PIVOT_ROOT: "1" } });
    for (const r of [refused, forced]) {
      expect([r.code, r.stderr]).toEqual([0, ""]);
      const mounts = r.stdout.split("\n").filter((l) => / - /.test(l));
      expect(mounts.map((l) => l.split(" ")[4]).filter((p) => p!.includes("oldroot") || p!.includes("newroot"))).toEqual([]);
      expect(mounts.filter((l) => l.split(" ")[4] === "/tmp").pop()).toContain(" - tmpfs ");
      expect(r.stdout).toContain("ls: cannot access '/oldroot': No such file or directory");
      expect(r.stdout).toContain("ls: cannot access '/newroot': No such file or directory");
      expect(r.stdout.trim().endsWith("end")).toBe(true);
    }
  });
});

test.skipIf(!IS_ROOT)("mounts made inside never propagate back to the host", () => {
  const before = hostMounts();
  const r = sandbox("root", [...RO, "--bind", "/tmp", "/tmp", "sh", "-c", "mkdir -p /tmp/bsb-prop-$$ && mount -t tmpfs none /tmp/bsb-prop-$$ && grep -c bsb-prop /proc/self/mountinfo; umount /tmp/bsb-prop-$$; rmdir /tmp/bsb-prop-$$; echo $$"]);
  expect(r.code).toBe(0);
  expect(r.stdout.split("\n")[0]).toBe("1");
  expect(hostMounts()).toBe(before);
  expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain("bsb-prop");
});

/** landlock_create_ruleset(NULL, 0, VERSION) asked here, not through src/sys: the kernel's Landlock ABI, 0 without. */
function kernelLandlockAbi(): number {
  const { symbols } = dlopen("libc.so.6", { syscall: { args: [FFIType.i64, FFIType.i64, FFIType.i64, FFIType.i64], returns: FFIType.i64_fast } });
  return Math.max(0, Number(symbols.syscall(444, 0, 0, 1)));
}

describe("--doctor", () => {
  const landlockAbi = kernelLandlockAbi();
  test.each(WHO)("as %s: reports a machine where a sandbox can be made, in words and as JSON", (who) => {
    const words = sandbox(who, ["--doctor"]);
    expect(words.code).toBe(0);
    expect(words.stdout).toContain("result:                 a sandbox can be made");
    expect(words.stdout).toContain(`kernel:                 ${readFileSync("/proc/sys/kernel/osrelease", "utf8").trim()}`);
    const json = sandbox(who, ["--doctor", "--json"]);
    expect(json.code).toBe(0);
    const r = JSON.parse(json.stdout);
    expect(r.canSandbox).toBe(true);
    expect(r.threads).toBe(1);
    expect(r.userns.works).toBe(true);
    expect(r.userns.maxUserNamespaces).toBe(readFileSync("/proc/sys/user/max_user_namespaces", "utf8").trim());
    expect(r.newMountApi.works).toBe(true);
    expect(r.overlayInUserns.works).toBe(true);
    expect(r.libseccomp).toBe(!FALLBACKS);
    expect(r.libkeyutils).toBe(!FALLBACKS);
    expect(r.calls.open_tree).toBe(FALLBACKS ? "syscall" : "libc");
    expect(r.calls.openat2).toBe("syscall");
    expect(r.landlock).toEqual({ abi: landlockAbi, reason: landlockAbi > 0 ? null : expect.any(String) });
    if (landlockAbi > 0) expect(words.stdout).toContain(`\nlandlock:               ABI ${landlockAbi} (${describeAbi(landlockAbi)})\n`);
    else expect(words.stdout).toContain("\nlandlock:               unavailable (");
  });

  test.each(WHO)("as %s: with BUN_SANDBOX_LANDLOCK_ABI=0 Landlock is reported unavailable, with the reason", (who) => {
    const env = { BUN_SANDBOX_LANDLOCK_ABI: "0" };
    const words = sandbox(who, ["--doctor"], { env });
    expect(words.code).toBe(0);
    const reason = landlockAbi > 0 ? "BUN_SANDBOX_LANDLOCK_ABI=0 pretends this kernel has none" : "";
    expect(words.stdout).toContain(`\nlandlock:               unavailable (${reason}`);
    const json = JSON.parse(sandbox(who, ["--doctor", "--json"], { env }).stdout);
    expect(json.landlock.abi).toBe(0);
    if (landlockAbi > 0) expect(json.landlock.reason).toBe(reason);
  });

  test.each(WHO)("as %s: where namespaces are refused it points to Landlock; with neither it exits 1 with the reason and the fix", (who) => {
    const r = withErrors(who, "unshare=EPERM", ["--doctor"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^confinement namespaces: no \(unshare\(.+\) fails with EPERM/m);
    expect(r.stdout).toContain("result:                 a sandbox can be made with --confinement auto or landlock only: namespaces are refused (");
    const env = { BUN_SANDBOX_LANDLOCK_ABI: "0" };
    const none = withErrors(who, "unshare=EPERM", ["--doctor"], { env });
    expect(none.code).toBe(1);
    expect(none.stdout).toContain("no sandbox possible: namespaces are refused (");
    expect(none.stdout).toContain("and Landlock cannot confine (Landlock is unavailable: BUN_SANDBOX_LANDLOCK_ABI=0 pretends this kernel has none)");
    expect(none.stdout).toMatch(/fix: {20}\S/);
    const j = JSON.parse(withErrors(who, "unshare=EPERM", ["--doctor", "--json"], { env }).stdout);
    expect([j.canSandbox, j.confinement.auto, j.confinement.landlock.allowed]).toEqual([false, null, false]);
    expect(j.reason).toContain("EPERM");
    expect(typeof j.fix).toBe("string");
  });
});

describe.skipIf(!IS_ROOT)("--map-subids errors", () => {
  test("a user without subordinate ranges gets a one-line error naming the file and the fix", () => {
    // A user of this test's own, removed afterwards (one left by an older run is reused, then removed).
    const name = "sbtest-nosub";
    if (run("root", ["id", "-u", name]).code !== 0) expect(run("root", ["useradd", "-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0", "--no-create-home", "--shell", "/bin/sh", name]).code).toBe(0);
    try {
      const uid = run("root", ["id", "-u", name]).stdout.trim();
      const before = hostMounts();
      const r = run("root", ["setpriv", `--reuid=${uid}`, `--regid=${uid}`, "--clear-groups", "--", BIN, ...RO, "--map-subids", "true"]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toBe(`sandbox: map subordinate ids: --map-subids: no range for ${name} in /etc/subuid; add one, e.g. usermod --add-subuids 100000-165535 ${name}`);
      expect(hostMounts()).toBe(before);
    } finally {
      expect(run("root", ["userdel", name]).code).toBe(0);
    }
  });

  test("without newuidmap/newgidmap it says which package to install", () => {
    // An outer sandbox hides the setuid helpers; the inner one needs them.
    const r = sandbox("user", [...RO, "--ro-bind", "/dev/null", "/usr/bin/newuidmap", "--ro-bind", "/dev/null", "/usr/bin/newgidmap", BIN, ...RO, "--map-subids", "true"]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe("sandbox: map subordinate ids: --map-subids needs the setuid helpers newuidmap and newgidmap; install them (Debian/Ubuntu: apt-get install uidmap)");
  });
});
