// Kernel-facing tests of the raw-syscall layer (src/sys). The test runner is multithreaded, so
// every check runs in a single-threaded probe process (test/fixtures/probe.ts, bundled), as root
// and as the unprivileged test user; the probe prints what it observed and the tests assert it.
// With BUN_SANDBOX_TEST_FALLBACKS=1 the probes run with the raw-syscall, own-BPF and raw-keyctl
// paths forced, and the tests check that those paths were the ones taken.
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { spawnSync } from "bun";
import { dlopen, FFIType } from "bun:ffi";
import { FALLBACKS, ids, tempDir, WHO, type Who } from "../support/run.ts";
import { buildProbe, probe, type Observed, type ProbeResult } from "../support/probe.ts";
import { Errno } from "../../src/sys/errno.ts";
import { FS_MAGIC } from "../../src/sys/mount.ts";
import { CAP } from "../../src/sys/caps.ts";
import { LANDLOCK_FILE_RIGHTS, fsRightsForAbi } from "../../src/sys/landlock.ts";

beforeAll(() => {
  buildProbe();
});

/** The probe's observations; fails the test with the probe's error and stderr otherwise. */
function ok(r: ProbeResult): Observed {
  if (r.code !== 0 || r.out?.error !== undefined) {
    throw new Error(`probe failed (exit ${r.code}, signal ${r.signal}): ${r.out?.error ?? "no error message"}\n${r.stderr}`);
  }
  // Sync checks report the thread count at the end: the src/sys calls they made started no thread.
  if (r.out.threadsAtEnd !== undefined && r.out.threadsAtEnd !== null) expect(r.out.threadsAtEnd).toBe(1);
  return r.out;
}

/** Runs `fn` with a fresh temp dir owned by `who`, removed afterwards. */
function withTemp<T>(who: Who, fn: (dir: string) => T): T {
  const t = tempDir(who);
  try {
    return fn(t.path);
  } finally {
    t.cleanup();
  }
}

/** How a caught SysError must look. */
function sysError(o: Observed, code: keyof typeof Errno, fields: Record<string, unknown> = {}): void {
  expect(o.ok).toBe(false);
  expect(o.isSysError).toBe(true);
  expect(o.name).toBe("SysError");
  expect(o.code).toBe(code);
  expect(o.errno).toBe(Errno[code]);
  for (const [k, v] of Object.entries(fields)) expect(o[k]).toEqual(v);
}

// ---- which paths the machine offers ------------------------------------------------------------

/** Calls glibc 2.36 wraps (clone3, openat2, keyctl and seccomp it does not). */
const GLIBC_236_WRAPPERS = ["open_tree", "move_mount", "mount_setattr", "fsopen", "fsconfig", "fsmount", "fspick", "pidfd_open", "pidfd_send_signal", "close_range"];
const LANDLOCK_CALLS = ["landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self"];
const NEVER_WRAPPED = ["clone3", "seccomp", "keyctl", ...LANDLOCK_CALLS]; // src/sys binds these to syscall() by design

/** Whether the dynamic linker can find `soname`, asked independently of src/sys. */
function machineHasLib(soname: string): boolean {
  for (const ldconfig of ["/sbin/ldconfig", "/usr/sbin/ldconfig"]) {
    if (!existsSync(ldconfig)) continue;
    const r = spawnSync([ldconfig, "-p"], { stdout: "pipe", stderr: "ignore" });
    if (r.exitCode === 0) return r.stdout.toString().includes(`${soname} `);
  }
  const dirs = ["/lib", "/usr/lib", "/lib64", "/usr/lib64", "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu"];
  return dirs.some((d) => existsSync(`${d}/${soname}`));
}
const HAS_LIBSECCOMP = machineHasLib("libseccomp.so.2");
const HAS_LIBKEYUTILS = machineHasLib("libkeyutils.so.1");

/** libc symbols as the probe found them (dlsym), filled by the bindings test per identity. */
let libcHas: Record<string, boolean> | null = null;
function libcHasSymbol(name: string): boolean {
  if (libcHas === null) libcHas = ok(probe(WHO[0]!, "bindings")).libcHas as Record<string, boolean>;
  return libcHas[name] === true;
}

/** The path a late-bound call must take: raw syscall when forced, else the libc wrapper where one exists. */
function expectedVia(name: string): "libc" | "syscall" {
  if (FALLBACKS || NEVER_WRAPPED.includes(name)) return "syscall";
  return libcHasSymbol(name) ? "libc" : "syscall";
}

const hex = (v: bigint) => v.toString(16);
const KEPT = (1n << BigInt(CAP.SYS_ADMIN)) | (1n << BigInt(CAP.CHOWN));

describe("bindings", () => {
  for (const who of WHO) {
    test(`late-bound calls take the ${FALLBACKS ? "forced raw-syscall" : "libc-wrapper"} path; libseccomp/libkeyutils ${FALLBACKS ? "disabled" : "used when present"} [${who}]`, () => {
      const o = ok(probe(who, "bindings"));
      libcHas ??= o.libcHas;
      expect(o.threads).toBe(1);
      const [major, minor] = String(o.glibc).split(".").map(Number);
      if (major! > 2 || (major === 2 && minor! >= 36)) {
        for (const name of GLIBC_236_WRAPPERS) expect([name, o.libcHas[name]]).toEqual([name, true]);
      }
      for (const name of ["clone3", "keyctl", "seccomp", ...LANDLOCK_CALLS]) expect([name, o.libcHas[name]]).toEqual([name, false]);
      for (const [name, via] of Object.entries(o.via as Record<string, string>)) {
        expect([name, via]).toEqual([name, expectedVia(name)]);
      }
      if (FALLBACKS) {
        for (const via of Object.values(o.via as Record<string, string>)) expect(via).toBe("syscall");
        expect(o.libseccomp).toBe(false);
        expect(o.libkeyutils).toBe(false);
      } else {
        expect(o.libseccomp).toBe(HAS_LIBSECCOMP);
        expect(o.libkeyutils).toBe(HAS_LIBKEYUTILS);
        for (const name of GLIBC_236_WRAPPERS) if (o.libcHas[name]) expect([name, o.via[name]]).toEqual([name, "libc"]);
      }
    });
  }
});

// 1. single-thread ---------------------------------------------------------------------------------

describe("single thread", () => {
  for (const who of WHO) {
    test(`the single-thread variables give one thread and assertSingleThreaded passes [${who}]`, () => {
      const o = ok(probe(who, "threads"));
      expect(o.threads).toBe(1);
      expect(o.taskDir).toBe(1);
      expect(o.assert).toEqual({ ok: true, value: null });
    });

    test(`with a pool thread, assertSingleThreaded, fork and unshare(CLONE_NEWUSER) refuse with EINVAL [${who}]`, () => {
      const o = ok(probe(who, "threads-forced", [], {}, { multithreaded: true }));
      expect(o.readOk).toBe(true);
      expect(o.threads).toBeGreaterThan(1);
      sysError(o.assert, "EINVAL");
      expect(o.assert.message).toContain(`this one has ${o.threads} threads`);
      sysError(o.fork, "EINVAL");
      expect(o.fork.message).toStartWith(`fork(): Invalid argument (EINVAL); fork needs a single-threaded process, this one has ${o.threads} threads`);
      // The kernel itself refuses a user namespace to a multithreaded process.
      sysError(o.unshareUser, "EINVAL", { syscall: "unshare", message: "unshare(): Invalid argument (EINVAL)" });
    });
  }
});

// 2. errors ------------------------------------------------------------------------------------------

describe("errors", () => {
  for (const who of WHO) {
    test(`a failed call throws SysError with errno, code, syscall, path, dest and message [${who}]`, () => {
      const o = ok(probe(who, "errors"));
      sysError(o.mount, "ENOENT", {
        syscall: "mount", path: "/nonexistent-src", dest: "/nonexistent-dst",
        message: 'mount("/nonexistent-src" -> "/nonexistent-dst"): No such file or directory (ENOENT)',
      });
      sysError(o.open, "ENOENT", { syscall: "open", path: "/nonexistent-probe-file", dest: null, message: 'open("/nonexistent-probe-file"): No such file or directory (ENOENT)' });
      sysError(o.dup3, "EBADF", { syscall: "dup3", path: "fd -1", dest: "fd 50", message: 'dup3("fd -1" -> "fd 50"): Bad file descriptor (EBADF)' });
      sysError(o.cstr, "EINVAL", { syscall: "cstr" });
      sysError(o.waitNoChild, "ECHILD", { syscall: "waitpid", path: "-1", message: 'waitpid("-1"): No child processes (ECHILD)' });
      // errno read through the cached view right after a raw libc call.
      expect(o.rawClose).toEqual({ ret: -1, errno: Errno.EBADF });
      expect(o.names).toEqual({ 1: "EPERM", 18: "EXDEV", 9999: "E9999" });
      expect(o.messages).toEqual({ 2: "No such file or directory", 9999: "Unknown error 9999" });
      expect(o.bare).toBe("frobnicate(): Operation not permitted (EPERM)");
      // Every errno we name has the C library's name (strerrorname_np) and text (strerror).
      expect(o.libcMismatches).toEqual([]);
    });
  }
});

// 3. namespaces ------------------------------------------------------------------------------------

describe("namespaces", () => {
  for (const who of WHO) {
    test(`unshare(NEWUSER|NEWNS) and id maps make us uid/gid 0 inside [${who}]`, () => {
      const o = ok(probe(who, "userns"));
      const { uid, gid } = ids(who);
      expect(o.before).toMatchObject({ uid, euid: uid, gid, egid: gid });
      expect(o.after).toMatchObject({ uid: 0, euid: 0, gid: 0, egid: 0 });
      expect(o.after.user).not.toBe(o.before.user);
      expect(o.after.mnt).not.toBe(o.before.mnt);
      expect(o.uidMap).toEqual([0, uid, 1]);
      expect(o.gidMap).toEqual([0, gid, 1]);
      expect(o.setgroups).toBe("deny");
      expect(o.sysAdmin).toBe(true);
    });

    test(`unshare(NEWNS) without a user namespace: ${who === "root" ? "works" : "EPERM"} [${who}]`, () => {
      const o = ok(probe(who, "mntns-only"));
      expect(o.after.user).toBe(o.before.user);
      if (who === "root") {
        expect(o.unshare).toEqual({ ok: true, value: null });
        expect(o.after.mnt).not.toBe(o.before.mnt);
      } else {
        sysError(o.unshare, "EPERM", { syscall: "unshare" });
        expect(o.after.mnt).toBe(o.before.mnt);
      }
    });

    test(`setns back into a mount namespace: ${who === "root" ? "allowed" : "EPERM for the initial one"}, allowed in our own user namespace [${who}]`, () => {
      const o = ok(probe(who, "setns"));
      expect(o.unshared).not.toBe(o.orig);
      if (who === "root") {
        expect(o.back).toEqual({ ok: true, value: null });
        expect(o.afterBack).toBe(o.orig);
      } else {
        sysError(o.back, "EPERM", { syscall: "setns", path: "/proc/self/ns/mnt" });
        expect(o.afterBack).toBe(o.unshared);
      }
      expect(o.inner.b).not.toBe(o.inner.a);
      expect(o.inner.setns).toEqual({ ok: true, value: null });
      expect(o.inner.after).toBe(o.inner.a);
      sysError(o.inner.wrongType, "EINVAL", { syscall: "setns", path: "wrong type" });
    });
  }
});

// 4. mounts ----------------------------------------------------------------------------------------

describe("mount API", () => {
  for (const who of WHO) {
    test(`fsopen/fsconfig/fsmount/move_mount tmpfs, open_tree+mount_setattr read-only, fspick reconfigure [${who}]`, () => {
      withTemp(who, (dir) => {
        const o = ok(probe(who, "newmount", [dir]));
        expect(o.hostType).not.toBe(FS_MAGIC.TMPFS);
        expect(o.tmpfs.type).toBe(FS_MAGIC.TMPFS);
        expect(o.tmpfs.mountinfo.fstype).toBe("tmpfs");
        expect(o.tmpfs.mountinfo.superOptions.split(",")).toEqual(expect.arrayContaining(["size=1024k", "mode=750"]));
        expect(o.tmpfs.mode).toBe("750");
        expect(o.tmpfs.read).toBe("on tmpfs");

        expect(o.ro.read).toBe("content");
        sysError(o.ro.write, "EROFS", { syscall: "open", path: `${dir}/ro/new` });
        expect(o.ro.mountinfo.options.split(",")).toEqual(expect.arrayContaining(["ro", "nosuid"]));
        expect(o.ro.srcStillWritable).toEqual({ ok: true, value: null });

        expect(o.picked.fd).toBeGreaterThanOrEqual(0);
        expect(o.picked.mountinfo.superOptions.split(",")).toContain("size=2048k");

        sysError(o.errors.fsopen, "ENODEV", { syscall: "fsopen", path: "no-such-fs-type" });
        sysError(o.errors.fspick, "ENOENT", { syscall: "fspick", path: `${dir}/missing` });
        sysError(o.errors.openTree, "ENOENT", { syscall: "open_tree", path: `${dir}/missing` });
        for (const [name, via] of Object.entries(o.via as Record<string, string>)) expect([name, via]).toEqual([name, expectedVia(name)]);
      });
    });

    test(`mount tmpfs, MS_BIND, read-only remount, umount2 [${who}]`, () => {
      withTemp(who, (dir) => {
        const o = ok(probe(who, "oldmount", [dir]));
        expect(o.aType).toBe(FS_MAGIC.TMPFS);
        expect(o.aInfo.fstype).toBe("tmpfs");
        expect(o.aInfo.options.split(",")).toEqual(expect.arrayContaining(["nosuid", "nodev"]));
        expect(o.aInfo.superOptions.split(",")).toContain("size=1024k");
        expect(o.bound).toEqual({ type: FS_MAGIC.TMPFS, read: "x" });
        sysError(o.roWrite, "EROFS", { path: `${dir}/b/g` });
        expect(o.rwWrite).toEqual({ ok: true, value: null });
        expect(o.afterUmount).toEqual({ type: o.hostType, seesFile: false });
        sysError(o.umountAgain, "EINVAL", { syscall: "umount2", path: `${dir}/b` });
        expect(o.afterDetach).toEqual({ type: o.hostType, seesFile: false });
      });
    });

    test(`pivot_root into a new tmpfs, then chroot, chdir and fchdir [${who}]`, () => {
      withTemp(who, (dir) => {
        const o = ok(probe(who, "pivot", [dir]));
        sysError(o.bad, "ENOENT", {
          syscall: "pivot_root", path: "/nonexistent-new", dest: "/nonexistent-old",
          message: 'pivot_root("/nonexistent-new" -> "/nonexistent-old"): No such file or directory (ENOENT)',
        });
        expect(o.afterPivot).toEqual(["marker", "old", "sub"]);
        expect(o.oldHasProc).toBe(true);
        expect(o.afterDetach).toEqual(["marker", "sub"]);
        expect(o.rootType).toBe(FS_MAGIC.TMPFS);
        expect(o.inChroot).toEqual(["inner"]);
        expect(o.viaFchdir).toEqual(["marker", "sub"]);
        expect(o.marker).toBe("m");
      });
    });
  }
});

// 5. openat2 -------------------------------------------------------------------------------------------

describe("openat2", () => {
  for (const who of WHO) {
    test(`RESOLVE_IN_ROOT keeps an absolute symlink inside the dir; RESOLVE_BENEATH refuses it with EXDEV [${who}]`, () => {
      withTemp(who, (dir) => {
        const o = ok(probe(who, "openat2", [dir]));
        expect(o.content).toBe("inner");
        expect(o.target).toBe(`${dir}/root/etc/marker`);
        expect(o.dotdotTarget).toBe(`${dir}/root/etc/marker`);
        expect(o.hostInRoot).toBe(-Errno.ENOENT); // the host's /etc/passwd is out of reach
        expect(o.hostPlain).toBe(true); // without RESOLVE flags the link escapes
        expect(o.plainTarget).toBe("/etc/passwd");
        expect(o.beneath).toBe(-Errno.EXDEV);
        sysError(o.beneathThrow, "EXDEV", { syscall: "openat2", path: "link/marker" });
        expect(o.noSymlinks).toBe(-Errno.ELOOP);
        expect(o.via).toBe(expectedVia("openat2"));
      });
    });
  }
});

// 6. inode flags -----------------------------------------------------------------------------------------

describe("inode flags", () => {
  const NODUMP = 0x40;
  for (const who of WHO) {
    test(`FS_IOC_GETFLAGS/SETFLAGS toggle FS_NODUMP_FL on an owned file (disk and tmpfs) [${who}]`, () => {
      withTemp(who, (dir) => {
        const o = ok(probe(who, "inodeflags", [dir]));
        for (const side of [o.ext, o.tmp]) {
          expect(side.before & NODUMP).toBe(0);
          expect(side.set).toBe(side.before | NODUMP);
          expect(side.cleared).toBe(side.before);
        }
        expect(o.ext.fsType).not.toBe(FS_MAGIC.TMPFS);
        expect(o.tmp.fsType).toBe(FS_MAGIC.TMPFS);
        sysError(o.onPipe, "ENOTTY", { syscall: "ioctl(FS_IOC_GETFLAGS)", path: "pipe" });
      });
    });
  }
});

// 7. capabilities -------------------------------------------------------------------------------------------

describe("capabilities", () => {
  for (const who of WHO) {
    test(`a fresh user namespace has every capability; keepCapabilities leaves exactly SYS_ADMIN and CHOWN [${who}]`, () => {
      const o = ok(probe(who, "caps"));
      const lastCap = Number(readFileSync("/proc/sys/kernel/cap_last_cap", "latin1").trim());
      const full = hex((1n << BigInt(lastCap + 1)) - 1n);
      if (who === "user") expect(o.hostPermitted).toBe("0");
      expect(o.full).toBe(full);
      expect(o.freshPermitted).toBe(full);
      expect(o.freshEffective).toBe(full);
      expect(o.kept).toBe(hex(KEPT));
      expect(o.keptNames).toEqual(["chown", "sys_admin"]);
      expect(o.after).toEqual({ effective: hex(KEPT), permitted: hex(KEPT), inheritable: hex(KEPT) });
      expect(o.status).toEqual({ CapInh: hex(KEPT), CapPrm: hex(KEPT), CapEff: hex(KEPT), CapBnd: hex(KEPT), CapAmb: hex(KEPT) });
      // The kept set survives execve (ambient + bounding).
      expect(o.execCode).toBe(0);
      expect(BigInt(`0x${o.execCapEff}`)).toBe(KEPT);
      expect(BigInt(`0x${o.execCapAmb}`)).toBe(KEPT);
      expect(o.ambient).toEqual({ sysAdmin: true, chown: true, dacOverride: false });
      expect(o.bounding).toEqual({ sysAdmin: true, chown: true, setuid: false, setpcap: false });
      expect(o.effective).toEqual({ sysAdmin: true, chown: true, setpcap: false });
      expect(o.lowered).toEqual({ chown: false, sysAdmin: true });
      expect(o.cleared).toEqual({ sysAdmin: false, capAmb: "0000000000000000" });
    });
  }
});

// 8. prctl ------------------------------------------------------------------------------------------------

describe("prctl", () => {
  for (const who of WHO) {
    test(`PDEATHSIG, CHILD_SUBREAPER (orphan re-parented to us), NO_NEW_PRIVS, DUMPABLE [${who}]`, () => {
      const o = ok(probe(who, "prctl"));
      expect(o.pdeath).toEqual([0, 15, 0]);
      expect(o.subreaper).toEqual([0, 1]);
      expect(o.orphan.childExit).toBe(0);
      expect(o.orphan.gppid).toBe(o.orphan.me);
      expect(o.orphan.reapedPid).toBe(o.orphan.gpid);
      expect(o.orphan.reapedCode).toBe(0);
      expect(o.noNewPrivs).toEqual([0, "0", 1, "1"]);
      expect(o.dumpable).toEqual([1, 0, 1]);
      sysError(o.badOption, "EINVAL", { syscall: "PR_BOGUS" });
    });
  }
});

// 9. fds -------------------------------------------------------------------------------------------------

describe("file descriptors", () => {
  for (const who of WHO) {
    test(`pipe2, dup3, fcntl, close_range, closeAllExcept, eventfd [${who}]`, () => {
      const o = ok(probe(who, "fds"));
      expect(o.pipeCloexec).toEqual([true, true]);
      expect(o.wrote).toBe(5);
      expect(o.got).toBe("hello");
      expect(o.plainCloexec).toEqual([false, false]);
      expect(o.dups).toEqual([40, 41]);
      expect(o.dupCloexec).toEqual([false, true]);
      expect(o.getfd).toEqual([0, 1]);
      expect(o.toggled).toEqual([true, false]);
      expect(o.accmode).toEqual([0, 1]); // O_RDONLY read end, O_WRONLY write end
      expect(o.dupfd).toBeGreaterThanOrEqual(45);
      expect(o.dupfdCloexec).toBe(true);
      expect(o.dupSameFile).toBe(true);
      expect(o.markedCloexec).toEqual([true, true]);
      expect(o.before).toEqual([40, 41, o.dupfd]);
      expect(o.afterRange).toEqual([o.dupfd]);
      expect(o.closedState).toEqual([null, null]);
      expect(o.afterExcept).toEqual([51, 55]);
      expect(o.afterAll).toEqual([]);
      sysError(o.closeBad, "EBADF", { syscall: "close", path: "fd 77" });
      expect(o.eventfd.sum).toBe("7");
      expect(o.eventfd.semReads).toEqual(["1", "1"]);
      sysError(o.eventfd.semEmpty, "EAGAIN", { syscall: "read" });
      expect(o.eventfd.blocked).toBe("5");
      expect(o.eventfd.waitedMs).toBeGreaterThanOrEqual(50); // the read really waited for the writer
      expect(o.eventfd.writerCode).toBe(0);
      expect(o.via.close_range).toBe(expectedVia("close_range"));
    });

    test(`eventfdReadAsync resolves with the counter, also when the write comes later [${who}]`, () => {
      const o = ok(probe(who, "eventfd-async"));
      expect(o).toEqual({ ready: "9", later: "2" });
    });
  }
});

// 10. processes ----------------------------------------------------------------------------------------

describe("processes", () => {
  for (const who of WHO) {
    test(`fork: child _exit(42) is seen by waitpid [${who}]`, () => {
      const o = ok(probe(who, "fork-exit"));
      expect(o.pid).toBeGreaterThan(0);
      expect(o.waited).toBe(o.pid);
      expect(o.status).toBe(42 << 8);
      expect(o).toMatchObject({ exited: true, signaled: false, exitStatus: 42, code: 42 });
    });

    test(`kill(SIGKILL) and pidfd_send_signal(SIGTERM) end children; status decoded [${who}]`, () => {
      const o = ok(probe(who, "fork-kill"));
      expect(o.killed).toEqual({ exited: false, signaled: true, sig: 9, code: 137 });
      expect(o.viaPidfd.pidfd).toBeGreaterThanOrEqual(0);
      expect(o.viaPidfd).toMatchObject({ signaled: true, sig: 15, code: 143 });
      sysError(o.gone, "ESRCH", { syscall: "kill" });
      sysError(o.pidfdGone, "ESRCH", { syscall: "pidfd_open" });
      expect(o.via).toEqual({ pidfd_open: expectedVia("pidfd_open"), pidfd_send_signal: expectedVia("pidfd_send_signal") });
    });

    test(`clone3(NEWUSER|NEWPID) child is pid 1 in its namespace; clone3(PIDFD) gives a usable pidfd [${who}]`, () => {
      const o = ok(probe(who, "clone3"));
      const overflowUid = Number(readFileSync("/proc/sys/kernel/overflowuid", "latin1").trim());
      expect(o.first.code).toBe(42); // the child's own verdict: getpid() === 1
      expect(o.first.seen).toMatchObject({ pid: 1, ppid: 0, uid: overflowUid });
      expect(o.first.seen.user).not.toBe(o.first.parentUser);
      expect(o.first.pidfd).toBe(-1);
      expect(o.withPidfd).toEqual({ pidfdValid: true, sig: 9, code: 137 });
      expect(o.via).toBe(expectedVia("clone3"));
    });

    test(`execvpe: PATH search, argv and env, ENOEXEC script, EACCES skipped, ENOENT/EACCES returned [${who}]`, () => {
      withTemp(who, (dir) => {
        const o = ok(probe(who, "execvpe", [dir]));
        expect(o.sh).toEqual({ out: "zero|one|bar baz|/nonexistent-dir:/usr/bin:/bin|unset", status: 0, code: 0 });
        expect(o.script).toEqual({ out: "noshebang:arg1\n", status: 0, code: 0 });
        expect(o.skipsEacces).toEqual({ out: "found\n", status: 0, code: 0 });
        expect(o.missing).toBe(Errno.ENOENT);
        expect(o.missingPath).toBe(Errno.ENOENT);
        expect(o.notExecutable).toBe(Errno.EACCES);
        expect(o.notExecutableSlash).toBe(Errno.EACCES);
        expect(o.empty).toBe(Errno.ENOENT);
      });
    });

    test(`setsid in a forked child makes it session and group leader [${who}]`, () => {
      const o = ok(probe(who, "setsid"));
      expect(o.code).toBe(0);
      expect(o.child.sid).toBe(o.child.pid);
      expect(o.child.statSession).toBe(o.child.pid);
      expect(o.child.statPgrp).toBe(o.child.pid);
      expect(o.parentSession).not.toBe(o.child.pid);
      sysError(o.child.again, "EPERM", { syscall: "setsid" });
    });

    test(`sethostname inside a user+UTS namespace [${who}]`, () => {
      const before = hostname();
      const o = ok(probe(who, "hostname"));
      expect(o.utsChanged).toBe(true);
      expect(o.osHostname).toBe("bsb-probe-host");
      expect(o.proc).toBe("bsb-probe-host");
      if (who === "user") sysError(o.outside, "EPERM", { syscall: "sethostname", path: "bsb-never" });
      expect(hostname()).toBe(before);
      expect(o.host).toBe(before);
    });
  }
});

// 11. seccomp -----------------------------------------------------------------------------------------

describe("seccomp", () => {
  const expectedLoader = FALLBACKS || !HAS_LIBSECCOMP ? "bpf" : "libseccomp";
  for (const who of WHO) {
    test(`suppressSyscalls({chown, sync}) makes chown and fsync return 0 without effect (loader ${expectedLoader}) [${who}]`, () => {
      withTemp(who, (dir) => {
        const { uid, gid } = ids(who);
        const o = ok(probe(who, "seccomp", [dir]));
        expect(o.owner).toBe(uid);
        expect(o.status0.seccomp).toBe("0");
        expect(o.fsyncBefore).toBe(-1);
        expect(o.fsyncBeforeErrno).toBe(Errno.EBADF);
        if (who === "user") expect(o.chownBefore).toMatchObject({ ok: false, code: "EPERM" });
        expect(o.loader).toBe(expectedLoader);
        expect(o.libseccomp).toBe(expectedLoader === "libseccomp");
        expect(o.chown).toEqual({ ok: true, value: null });
        expect(o.fchown).toEqual({ ok: true, value: null });
        expect(o.ownerAfter).toEqual([uid, gid]);
        expect(o.fsyncAfter).toBe(0);
        expect(o.rawFsync).toBe(0);
        sysError(o.otherStillFails, "EBADF", { syscall: "close" });
        expect(o.status.seccomp).toBe("2");
        expect(o.status.filters).toBe("1");
        // no_new_privs only when the caller lacks CAP_SYS_ADMIN.
        expect(o.status.nnp).toBe(who === "root" ? "0" : "1");
        expect(o.via).toBe("syscall");
      });
    });
  }
});

// 11b. seccomp policies: the hardened mode and --disable-userns --------------------------------------

describe("seccomp policies", () => {
  const expectedLoader = FALLBACKS || !HAS_LIBSECCOMP ? "bpf" : "libseccomp";
  const { EPERM, ENOSYS, EINVAL, ENOTTY } = Errno;
  /** Attacks the hardened filter must refuse, with the errno it gives. */
  const REFUSED: Record<string, number> = {
    ptraceTraceme: EPERM, unshareUser: EPERM, unshareMount: EPERM, cloneUser: EPERM, clone3: ENOSYS, mount: EPERM,
    keyctl: EPERM, bpf: EPERM, ioUringSetup: EPERM, personalitySet: EPERM, tiocsti: EPERM, tiocstiHighBits: EPERM,
    tiocstiDevNull: EPERM, tioclinuxDevNull: EPERM, setnsOwnUts: EPERM, setnsNotNs: EPERM,
  };
  /** What must keep working under it. */
  const ALLOWED: Record<string, number> = { clonePlain: 0, fork: 0, personalityQuery: 0, personalityDefault: 0, ioctlOther: ENOTTY, getpid: 0 };

  const run = (who: Who, dir: string, policy: string, compiler = "auto", env: Record<string, string | undefined> = {}) =>
    ok(probe(who, "seccomp-policy", [dir, policy, compiler], env));

  for (const who of WHO) {
    test(`hardenRules via loadFilter (${expectedLoader}): each attack fails with the filter's errno, ordinary calls work [${who}]`, () => {
      withTemp(who, (dir) => {
        const o = run(who, dir, "harden");
        expect(o.loadedCode).toBe(0);
        expect(o.loaded.via).toBe(expectedLoader);
        expect(o.loaded.status).toEqual({ seccomp: "2", filters: "1", nnp: who === "root" ? "0" : "1" });
        expect(o.results).toEqual({ ...REFUSED, ...ALLOWED });
      });
    });

    test(`control: without the filter the same attempts do not fail with the filter's errno [${who}]`, () => {
      withTemp(who, (dir) => {
        const o = run(who, dir, "none");
        const r = o.results;
        expect(o.loaded.status.seccomp).toBe("0");
        expect(r.ptraceTraceme).toBe(o.ptraceScope === "3" ? EPERM : 0);
        expect(r.unshareUser).toBe(0);
        expect(r.cloneUser).toBe(0);
        expect(r.clone3).toBe(0);
        expect(r.mount).toBe(0); // in a user and mount namespace of its own
        expect(r.keyctl).toBe(0);
        expect(r.bpf).toBe(EINVAL); // an unknown command, refused by the kernel itself
        if (o.ioUringDisabled === "0") expect(r.ioUringSetup).toBe(0);
        expect(r.personalitySet).toBe(0);
        // on its controlling terminal; EIO where the kernel turned TIOCSTI off for non-admins
        for (const k of ["tiocsti", "tiocstiHighBits"]) expect([k, r[k]]).toEqual([k, o.legacyTiocsti === "0" && who === "user" ? Errno.EIO : 0]);
        expect(r.tiocstiDevNull).toBe(ENOTTY);
        expect(r.tioclinuxDevNull).toBe(ENOTTY);
        expect(r.setnsNotNs).toBe(EINVAL);
        expect(r.setnsOwnUts).toBe(who === "root" ? 0 : EPERM);
        expect(r.unshareMount).toBe(who === "root" ? 0 : EPERM);
        for (const [k, v] of Object.entries(ALLOWED)) expect([k, r[k]]).toEqual([k, v]);
        // Every refusal the filtered run reports is the filter's: here the call gives something else
        // (for the user, setns and unshare(CLONE_NEWNS) on their own are the kernel's EPERM too;
        // setnsNotNs and unshareUser show the filter for them).
        const same = who === "root" ? [] : ["setnsOwnUts", "unshareMount"];
        for (const [k, v] of Object.entries(REFUSED)) if (!same.includes(k) && !(k === "ioUringSetup" && o.ioUringDisabled !== "0")) expect([k, r[k]]).not.toEqual([k, v]);
      });
    });

    test(`disableUsernsRules (${expectedLoader}): no new user namespace, the rest works [${who}]`, () => {
      withTemp(who, (dir) => {
        const o = run(who, dir, "disable-userns");
        expect(o.loaded.via).toBe(expectedLoader);
        const r = o.results;
        expect([r.unshareUser, r.cloneUser, r.clone3]).toEqual([EPERM, EPERM, ENOSYS]);
        expect([r.fork, r.clonePlain, r.getpid, r.personalitySet, r.keyctl]).toEqual([0, 0, 0, 0, 0]);
        expect(r.bpf).toBe(EINVAL);
        expect(r.setnsNotNs).toBe(EINVAL);
        expect(r.tiocstiDevNull).toBe(ENOTTY);
        // unshare(CLONE_NEWNS) needs CAP_SYS_ADMIN: root only
        expect(r.unshareMount).toBe(who === "root" ? 0 : EPERM);
        if (who === "root") expect(r.setnsOwnUts).toBe(0);
      });
    });

    test.skipIf(!HAS_LIBSECCOMP)(`libseccomp's and our BPF compile the same policies: the same result for every attempt [${who}]`, () => {
      withTemp(who, (dir) => {
        const lib = { BUN_SANDBOX_NO_LIBSECCOMP: undefined }; // libseccomp on, in either variant
        for (const policy of ["harden", "disable-userns"]) {
          const theirs = run(who, dir, policy, "libseccomp", lib);
          const ours = run(who, dir, policy, "bpf", lib);
          expect([policy, theirs.loaded.via, ours.loaded.via]).toEqual([policy, "libseccomp", "bpf"]);
          expect(ours.results).toEqual(theirs.results);
          expect(ours.results.unshareUser).toBe(EPERM);
          expect(ours.results.clone3).toBe(ENOSYS);
          if (policy === "harden") expect(ours.results).toEqual({ ...REFUSED, ...ALLOWED });
        }
      });
    });
  }
});

// 12. keyring -------------------------------------------------------------------------------------------

describe("keyring", () => {
  const expectedVia = FALLBACKS || !HAS_LIBKEYUTILS ? "syscall" : "libkeyutils";
  for (const who of WHO) {
    test(`joinNewSessionKeyring gives a new session keyring (via ${expectedVia}) [${who}]`, () => {
      const o = ok(probe(who, "keyring"));
      expect(o.before).toBeGreaterThan(0);
      expect(o.joined.serial).toBeGreaterThan(0);
      expect(o.after).toBe(o.joined.serial);
      expect(o.after).not.toBe(o.before);
      expect(o.joined.via).toBe(expectedVia);
      expect(o.libkeyutils).toBe(expectedVia === "libkeyutils");
      expect(o.keyctlVia).toBe("syscall");
    });
  }
});

// 13. fd packing ---------------------------------------------------------------------------------------

describe("fd packing", () => {
  for (const who of WHO) {
    test(`packFds moves scattered fds to 3.. in order, closes the rest, clears CLOEXEC [${who}]`, () => {
      withTemp(who, (dir) => {
        const o = ok(probe(who, "fdpack", [dir]));
        const before = Object.fromEntries(o.before.map((f: Observed) => [f.fd, [f.target, f.cloexec]]));
        expect(before[17]).toEqual([`${dir}/a`, false]);
        expect(before[19]).toEqual([`${dir}/b`, true]);
        expect(before[22]).toEqual([`${dir}/c`, false]);
        expect(before[25]).toEqual([`${dir}/d`, false]);
        expect(o.n).toBe(3);
        expect(o.after.map((f: Observed) => f.fd)).toEqual([0, 1, 2, 3, 4, 5]);
        expect(o.after.slice(3)).toEqual([
          { fd: 3, target: `${dir}/a`, cloexec: false },
          { fd: 4, target: `${dir}/b`, cloexec: false },
          { fd: 5, target: `${dir}/c`, cloexec: false },
        ]);
      });
    });

    test(`keepOnlyFds keeps the listed fds in place, closes the rest, clears CLOEXEC [${who}]`, () => {
      withTemp(who, (dir) => {
        const o = ok(probe(who, "keeponly", [dir]));
        expect(o.after.map((f: Observed) => f.fd)).toEqual([0, 1, 2, 17, 22]);
        expect(o.after.slice(3)).toEqual([
          { fd: 17, target: `${dir}/a`, cloexec: false },
          { fd: 22, target: `${dir}/c`, cloexec: false },
        ]);
      });
    });
  }
});

// 14. fdscan ----------------------------------------------------------------------------------------

describe("fdscan", () => {
  for (const who of WHO) {
    test(`inheritedFds returns the fd the caller passed and none of Bun's own [${who}]`, () => {
      const o = ok(probe(who, "fdscan", [], {}, { prefix: ["sh", "-c", 'exec 7</etc/passwd; exec "$0" "$@"'] }));
      expect(o.inherited).toEqual([7]);
      const open = Object.fromEntries(o.open.map((f: Observed) => [f.fd, f.target]));
      expect(open[7]).toBe("/etc/passwd");
      expect(o.internal.length).toBeGreaterThan(0);
      expect(o.internal).not.toContain(7);
      for (const fd of o.internal) expect(["anon_inode:[eventpoll]", "anon_inode:[eventfd]"]).toContain(open[fd]);
      // Bun's own fds are open, just not reported.
      expect(Object.keys(open).map(Number).filter((fd) => fd > 2 && fd !== 7)).toEqual(o.internal);
    });

    test(`inheritedFds is empty when nothing was passed [${who}]`, () => {
      const o = ok(probe(who, "fdscan"));
      expect(o.inherited).toEqual([]);
      expect(o.internal.length).toBeGreaterThan(0);
    });
  }
});

// 15. net -------------------------------------------------------------------------------------------------

describe("net", () => {
  for (const who of WHO) {
    test(`interfaceUp("lo") in a new network namespace sets IFF_UP [${who}]`, () => {
      withTemp(who, (dir) => {
        const o = ok(probe(who, "net", [dir]));
        expect(o.netChanged).toBe(true);
        expect(o.interfaces).toEqual(["lo"]); // the sysfs of the new namespace
        expect(Number.parseInt(o.before.sysfs, 16) & 1).toBe(0);
        expect(o.before.ioctl & 1).toBe(0);
        expect(o.before.operstate).toBe("down");
        expect(Number.parseInt(o.after.sysfs, 16) & 1).toBe(1);
        expect(o.after.ioctl & 1).toBe(1);
        expect(o.after.operstate).not.toBe("down");
        sysError(o.missing, "ENODEV", { syscall: "ioctl(SIOCGIFFLAGS)", path: "nonexistent0" });
      });
    });
  }
});

// 16. Landlock ---------------------------------------------------------------------------------------

/** The kernel's Landlock ABI, asked here with landlock_create_ruleset(NULL, 0, VERSION) (444 on both architectures), not through src/sys. */
function kernelLandlockAbi(): number {
  const { symbols } = dlopen("libc.so.6", { syscall: { args: [FFIType.i64, FFIType.i64, FFIType.i64, FFIType.i64], returns: FFIType.i64_fast } });
  const r = Number(symbols.syscall(444, 0, 0, 1));
  return r < 0 ? 0 : r;
}

describe("landlock", () => {
  const ABI = kernelLandlockAbi();
  const READ_ONLY = "13"; // READ_FILE | READ_DIR | EXECUTE
  for (const who of WHO) {
    test(`landlockAbi() is the kernel's (${ABI}), through syscall(); BUN_SANDBOX_LANDLOCK_ABI caps it, 0 pretends none [${who}]`, () => {
      const o = ok(probe(who, "landlock-status"));
      expect(o.status).toEqual({ abi: ABI, reason: null });
      expect(o.abi).toBe(ABI);
      expect(o.via).toEqual(Object.fromEntries(LANDLOCK_CALLS.map((n) => [n, "syscall"])));
      if (ABI > 0) expect(o.created.value).toBeGreaterThanOrEqual(0);
      expect(ok(probe(who, "landlock-status", [], { BUN_SANDBOX_LANDLOCK_ABI: "3" })).status).toEqual({ abi: Math.min(3, ABI), reason: null });
      expect(ok(probe(who, "landlock-status", [], { BUN_SANDBOX_LANDLOCK_ABI: "99" })).status).toEqual({ abi: ABI, reason: null });
      expect(ok(probe(who, "landlock-status", [], { BUN_SANDBOX_LANDLOCK_ABI: "x" })).status).toEqual({ abi: ABI, reason: null });
      const none = ok(probe(who, "landlock-status", [], { BUN_SANDBOX_LANDLOCK_ABI: "0" }));
      expect(none.abi).toBe(0);
      if (ABI > 0) expect(none.status.reason).toBe("BUN_SANDBOX_LANDLOCK_ABI=0 pretends this kernel has none");
      sysError(none.created, "ENOSYS", { syscall: "landlock_create_ruleset" });
      expect(none.created.message).toEndWith(`; ${none.status.reason}`);
    });

    test.skipIf(ABI < 1)(`file rights: writes only beneath the rule's dir, reads everywhere; a file rule drops directory-only rights [${who}]`, () => {
      withTemp(who, (dir) => {
        const o = ok(probe(who, "landlock-fs", [dir]));
        const all = fsRightsForAbi(ABI);
        const fileRights = String(all & LANDLOCK_FILE_RIGHTS);
        // The kernel itself refuses directory-only rights on a file; addPathRule dropped them.
        expect(o.rawFileRule).toEqual({ ret: -1, errno: Errno.EINVAL });
        expect(o.viaFd).toEqual({ ok: true, value: fileRights });
        const r = o.restricted;
        expect(r.code).toBe(0);
        expect(r.setup).toEqual({ ok: true, value: { root: READ_ONLY, rw: String(all), file: fileRights } });
        expect(r.nnp).toBe("1");
        expect(r.writeInside).toEqual({ ok: true, value: null });
        sysError(r.createOutside, "EACCES", { syscall: "open", path: `${dir}/other/made` });
        expect(r.readOutside).toEqual({ ok: true, value: "outside" });
        expect(r.appendRuledFile).toEqual({ ok: true, value: null });
        sysError(r.appendOtherFile, "EACCES", { syscall: "open", path: `${dir}/other/locked` });
        expect(o.madeAfterRestricted).toBe(false);
        // Control: the same child unrestricted can do all of it.
        const c = o.control;
        expect(c.setup).toBeNull();
        expect(c.createOutside).toEqual({ ok: true, value: null });
        expect(c.appendOtherFile).toEqual({ ok: true, value: null });
        expect(c.readOutside).toEqual({ ok: true, value: "outside+" }); // with the restricted child's append
        expect(o.madeAfterControl).toBe(true);
      });
    });

    test.skipIf(ABI < 6)(`signal scoping: kill(pid, 0) of the probe or a sibling is EPERM, of a child made inside works [${who}]`, () => {
      const o = ok(probe(who, "landlock-signal"));
      const r = o.restricted;
      expect(r.setup).toEqual({ ok: true, value: null });
      sysError(r.parent, "EPERM", { syscall: "kill" });
      sysError(r.sibling, "EPERM", { syscall: "kill" });
      expect(r.ownChild).toEqual({ ok: true, value: null });
      expect(o.control).toMatchObject({ code: 0, parent: { ok: true }, sibling: { ok: true }, ownChild: { ok: true } });
    });

    test.skipIf(ABI < 6)(`abstract unix socket scoping: connect to a listener from outside the domain is EPERM, to one made inside works [${who}]`, () => {
      const o = ok(probe(who, "landlock-unix"));
      const r = o.restricted;
      expect(r.setup).toEqual({ ok: true, value: null });
      sysError(r.outside, "EPERM", { syscall: "connect" });
      expect(r.outside.path).toStartWith("@bsb-landlock-");
      expect(r.inside).toEqual({ ok: true, value: null });
      expect(o.control).toMatchObject({ code: 0, outside: { ok: true }, inside: { ok: true } });
    });

    test.skipIf(ABI < 4)(`TCP: with CONNECT_TCP handled, connect works to the ruled loopback port only (EACCES on another) [${who}]`, () => {
      const o = ok(probe(who, "landlock-tcp"));
      const [allowed, other] = o.ports;
      expect(allowed).not.toBe(other);
      const r = o.restricted;
      expect(r.setup).toEqual({ ok: true, value: "2" });
      expect(r.allowed).toEqual({ ok: true, value: null });
      sysError(r.other, "EACCES", { syscall: "connect", path: `127.0.0.1:${other}` });
      expect(o.control).toMatchObject({ code: 0, allowed: { ok: true }, other: { ok: true } });
    });

    test.skipIf(ABI < 6)(`"everything" is cut to the ABI: with BUN_SANDBOX_LANDLOCK_ABI=3 the 8-byte struct still restricts files but no ioctl, TCP or signal [${who}]`, () => {
      withTemp(who, (dir) => {
        const full = ok(probe(who, "landlock-everything", [dir]));
        expect(full.abi).toBe(ABI);
        expect(full.attrSize).toBe(24);
        const f = full.restricted;
        expect(f.setup).toEqual({ ok: true, value: [READ_ONLY, String(fsRightsForAbi(ABI))] });
        expect(f.writeInside).toEqual({ ok: true, value: null });
        sysError(f.createOutside, "EACCES");
        expect(f.devIoctlErrno).toBe(Errno.EACCES);
        sysError(f.killParent, "EPERM", { syscall: "kill" });
        sysError(f.tcpConnect, "EACCES", { syscall: "connect" });
        expect(full.control).toMatchObject({ createOutside: { ok: true }, devIoctlErrno: Errno.ENOTTY, killParent: { ok: true }, tcpConnect: { ok: true } });
      });
      withTemp(who, (dir) => {
        const capped = ok(probe(who, "landlock-everything", [dir], { BUN_SANDBOX_LANDLOCK_ABI: "3" }));
        expect(capped.status).toEqual({ abi: 3, reason: null });
        expect(capped.attrSize).toBe(8);
        const c = capped.restricted;
        expect(c.setup).toEqual({ ok: true, value: [READ_ONLY, String(fsRightsForAbi(3))] });
        expect(c.writeInside).toEqual({ ok: true, value: null });
        sysError(c.createOutside, "EACCES", { syscall: "open", path: `${dir}/other/made` });
        expect(c.readOutside).toEqual({ ok: true, value: "outside" });
        expect(c.devIoctlErrno).toBe(Errno.ENOTTY); // IOCTL_DEV (ABI 5) not handled
        expect(c.killParent).toEqual({ ok: true, value: null }); // no scoping (ABI 6)
        expect(c.tcpConnect).toEqual({ ok: true, value: null }); // no TCP rights (ABI 4)
      });
    });

    test.skipIf(ABI < 1)(`restrictSelf without no_new_privs: ${who === "root" ? "allowed with CAP_SYS_ADMIN" : "EPERM naming no_new_privs"} [${who}]`, () => {
      withTemp(who, (dir) => {
        const o = ok(probe(who, "landlock-nnp", [dir]));
        expect(o.probeNnp).toBe(0);
        const r = o.restricted;
        expect(r.nnp).toBe("0");
        if (who === "root") {
          expect(r.setup).toEqual({ ok: true, value: null });
          sysError(r.create, "EACCES", { path: `${dir}/made` });
        } else {
          sysError(r.setup, "EPERM", { syscall: "landlock_restrict_self" });
          expect(r.setup.message).toContain("; Landlock needs no_new_privs (prctl PR_SET_NO_NEW_PRIVS, setNoNewPrivs()) or CAP_SYS_ADMIN");
          expect(r.create).toBeUndefined();
        }
      });
    });
  }
});
