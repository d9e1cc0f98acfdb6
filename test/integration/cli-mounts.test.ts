// Mount operations as the sandboxed command sees them (modes, contents, mountinfo), and what
// the host sees afterwards (nothing), as root and as the unprivileged test user.
import { describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { hostMounts, ids, IS_ROOT, run, sandbox, tempDir, WHO, BIN } from "../support/run.ts";

const RO = ["--ro-bind", "/", "/"];
// The host root read-only with a writable tmpfs on /mnt for destinations that do not exist on the host.
const BASE = [...RO, "--tmpfs", "/mnt"];

function mountsAt(mountinfo: string, point: string): string[] {
  return mountinfo.split("\n").filter((l) => l.split(" ")[4] === point);
}

function optionsOf(line: string): string[] {
  return line.split(" ")[5]!.split(",");
}

describe.each(WHO)("as %s", (who) => {
  const me = ids(who);

  test("--tmpfs: 0755, or 1777 under /tmp and /var/tmp; --dir: mkdir -p with the same rule", () => {
    const r = sandbox(who, [...BASE, "--tmpfs", "/tmp", "--tmpfs", "/var/tmp", "--tmpfs", "/mnt", "--dir", "/tmp/a/b/tmp", "--dir", "/mnt/x/y",
      "sh", "-c", "stat -c '%a %n' /tmp /var/tmp /mnt /tmp/a /tmp/a/b/tmp /mnt/x /mnt/x/y; grep -c ' tmpfs ' /proc/self/mountinfo"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual(["1777 /tmp", "1777 /var/tmp", "755 /mnt", "755 /tmp/a", "1777 /tmp/a/b/tmp", "755 /mnt/x", "755 /mnt/x/y", expect.any(String)]);
  });

  test("--dir leaves an existing directory untouched", () => {
    // The directory and its file come from a writable bind, which runs before the --dir below it
    // (parents first), so a --dir that emptied, replaced or remade it would show here and on the host.
    const t = tempDir(who);
    try {
      mkdirSync(`${t.path}/d`, { mode: 0o750 });
      writeFileSync(`${t.path}/d/f`, "keep");
      t.own();
      const r = sandbox(who, [...BASE, "--bind", t.path, "/mnt/w", "--dir", "/mnt/w/d", "--debug", "sh", "-c", "cat /mnt/w/d/f; stat -c ' %a' /mnt/w/d"]);
      expect(r.stderr.split("\n").filter((l) => l.includes("/mnt/w"))).toEqual([`sandbox: bind ${t.path} -> /mnt/w (rw)`, "sandbox: dir /mnt/w/d (mode=0755)"]);
      expect([r.code, r.stdout]).toEqual([0, "keep 750\n"]);
      expect(readFileSync(`${t.path}/d/f`, "utf8")).toBe("keep");
    } finally {
      t.cleanup();
    }
  });

  test("--dev: the device nodes, symlinks, shm, a private devpts and no host devices beyond those", () => {
    const r = sandbox(who, [...RO, "--dev", "/dev", "sh", "-c",
      "ls -1 /dev | sort | tr '\\n' ' '; echo; readlink /dev/stdin /dev/stdout /dev/stderr /dev/fd /dev/core /dev/ptmx; stat -c '%a' /dev /dev/shm; " +
      "echo x > /dev/null && head -c 4 /dev/zero | od -An -tx1 | tr -d ' \\n'; echo; grep ' /dev/pts ' /proc/self/mountinfo | tail -1; grep ' /dev ' /proc/self/mountinfo | tail -1"]);
    expect(r.code).toBe(0);
    const [list, ...rest] = r.stdout.trim().split("\n");
    const expected = ["core", "fd", "full", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin", "stdout", "tty", "urandom", "zero"];
    if (existsSync("/dev/fuse")) expected.push("fuse");
    expect(list!.trim().split(" ").sort()).toEqual(expected.sort());
    expect(rest.slice(0, 6)).toEqual(["/proc/self/fd/0", "/proc/self/fd/1", "/proc/self/fd/2", "/proc/self/fd", "/proc/kcore", "pts/ptmx"]);
    expect(rest.slice(6, 8)).toEqual(["755", "1777"]);
    expect(rest[8]).toBe("00000000");
    const pts = rest[9]!;
    expect(pts).toContain(" - devpts ");
    expect(pts).toContain("mode=620");
    expect(pts).toContain("ptmxmode=666");
    expect(rest[10]).toContain(" - tmpfs ");
  });

  test("--dev binds /dev/console from the terminal when stderr is one", () => {
    // script(1) gives the sandbox a pseudo-terminal on all three stdio fds.
    const r = run(who, ["script", "-qec", `${BIN} --ro-bind / / --dev /dev sh -c 'test -e /dev/console && echo console=yes || echo console=no'`, "/dev/null"]);
    expect(r.stdout).toContain("console=yes");
    const noTty = sandbox(who, [...RO, "--dev", "/dev", "sh", "-c", "test -e /dev/console && echo console=yes || echo console=no"]);
    expect(noTty.stdout.trim()).toBe("console=no");
  });

  test("--proc without a PID namespace binds the host's procfs", () => {
    const r = sandbox(who, [...RO, "--tmpfs", "/proc", "--proc", "/proc", "sh", "-c", `test -d /proc/${process.pid} && echo host-pids; grep ' /proc ' /proc/self/mountinfo | tail -1`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("host-pids");
    expect(r.stdout).toContain(" - proc ");
  });

  test("--bind is writable and writes through; --ro-bind is read-only on every submount", () => {
    const t = tempDir(who);
    try {
      const w = sandbox(who, [...BASE, "--bind", t.path, "/mnt/data", "sh", "-c", "echo hi > /mnt/data/new"]);
      expect(w.code).toBe(0);
      expect(readFileSync(`${t.path}/new`, "utf8")).toBe("hi\n");
      // /dev/shm is a submount of /dev on the host: it must be read-only too.
      const ro = sandbox(who, [...RO, "sh", "-c", "touch /dev/shm/x-$$ 2>&1; touch /usr/x-$$ 2>&1; true"]);
      expect(ro.stdout.match(/Read-only file system/g)?.length).toBe(2);
      // Every reachable mount (the topmost at each mount point) is read-only.
      const info = sandbox(who, [...RO, "cat", "/proc/self/mountinfo"]).stdout;
      const top = new Map<string, string>();
      for (const line of info.trim().split("\n")) top.set(line.split(" ")[4]!, line);
      expect(top.size).toBeGreaterThan(5);
      for (const line of top.values()) expect(optionsOf(line)).toContain("ro");
    } finally {
      t.cleanup();
    }
  });

  test("-try binds skip a missing source; a missing required source is a one-line error", () => {
    const ok = sandbox(who, [...BASE, "--bind-try", "/no/such", "/mnt/x", "--ro-bind-try", "/no/such2", "/y", "sh", "-c", "test -e /x || test -e /y || echo skipped"]);
    expect(ok.stdout.trim()).toBe("skipped");
    const bad = sandbox(who, [...BASE, "--ro-bind", "/no/such", "/mnt/x", "true"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toBe("sandbox: bind /no/such -> /mnt/x (ro): source /no/such does not exist; create it or use the -try variant");
  });

  test("missing mount points are created: directories 0755, files 0644 for file sources", () => {
    const t = tempDir(who);
    try {
      writeFileSync(`${t.path}/file`, "content");
      mkdirSync(`${t.path}/dir`);
      const r = sandbox(who, ["--tmpfs", "/", "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib",
        "--symlink", "usr/lib64", "/lib64", "--ro-bind", `${t.path}/file`, "/a/b/file", "--ro-bind", `${t.path}/dir`, "/c/d/dir",
        "sh", "-c", "stat -c '%a %F %n' /a /a/b /a/b/file /c/d /c/d/dir; cat /a/b/file"]);
      expect(r.code).toBe(0);
      const lines = r.stdout.trim().split("\n");
      expect(lines.slice(0, 5)).toEqual(["755 directory /a", "755 directory /a/b", `${(lstatSync(`${t.path}/file`).mode & 0o777).toString(8)} regular file /a/b/file`, "755 directory /c/d", `${(lstatSync(`${t.path}/dir`).mode & 0o777).toString(8)} directory /c/d/dir`]);
      expect(lines[5]).toBe("content");
    } finally {
      t.cleanup();
    }
  });

  test("+SRC resolves the source inside the sandbox and is applied last", () => {
    const r = sandbox(who, [...BASE, "--ro-bind", "+/etc", "/mnt/mirror", "--tmpfs", "/etc", "--write", "inside", "/etc/marker", "cat", "/mnt/mirror/marker"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("inside");
  });

  test("-nofollow binds a symlink itself", () => {
    const t = tempDir(who);
    try {
      symlinkSync("/some/where", `${t.path}/link`);
      const r = sandbox(who, [...BASE, "--tmpfs", "/mnt/x", "--ro-bind-nofollow", `${t.path}/link`, "/mnt/x/link", "readlink", "/mnt/x/link"]);
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe("/some/where");
      // Without -nofollow the link is followed: a directory is bound, which readlink refuses (its
      // exit 1), while the sandbox itself reports nothing.
      const follow = sandbox(who, [...BASE, "--tmpfs", "/mnt/x", "--ro-bind", "/proc/self", "/mnt/x/self", "sh", "-c", 'readlink /mnt/x/self; echo "readlink $?"; stat -c %F /mnt/x/self']);
      expect([follow.code, follow.stdout, follow.stderr]).toEqual([0, "readlink 1\ndirectory\n", ""]);
    } finally {
      t.cleanup();
    }
  });

  test("--symlink creates, tolerates the same link, covers a file or another symlink, refuses a directory", () => {
    const r = sandbox(who, [...BASE, "--tmpfs", "/mnt/x", "--write", "f", "/mnt/x/file", "--symlink", "/a", "/mnt/x/new", "--symlink", "/a", "/mnt/x/new",
      "--symlink", "/target", "/mnt/x/file", "--dir", "/mnt/x/d", "sh", "-c", "readlink /mnt/x/new /mnt/x/file"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual(["/a", "/target"]);
    const dir = sandbox(who, [...BASE, "--tmpfs", "/mnt/x", "--dir", "/mnt/x/d", "--symlink", "/a", "/mnt/x/d", "true"]);
    expect(dir.code).toBe(1);
    expect(dir.stderr.trim()).toBe("sandbox: symlink /mnt/x/d -> /a: /mnt/x/d exists and is a directory; a symlink cannot replace it (remove it from the source, or pick another path)");
  });

  test("--write creates parents (0755) and the file (0644) with DATA", () => {
    const r = sandbox(who, [...BASE, "--tmpfs", "/mnt/x", "--write", "hello\nworld", "/mnt/x/a/b/c.txt", "sh", "-c", "stat -c '%a' /mnt/x/a /mnt/x/a/b /mnt/x/a/b/c.txt; cat /mnt/x/a/b/c.txt"]);
    expect(r.stdout).toBe("755\n755\n644\nhello\nworld");
  });

  test("--overlay: lowerdirs bottom first, tmpfs upper, persistent upper, read-only; settings reset after each overlay", () => {
    const t = tempDir(who);
    try {
      for (const d of ["l1", "l2", "up", "wk"]) mkdirSync(`${t.path}/${d}`);
      writeFileSync(`${t.path}/l1/f`, "from l1");
      writeFileSync(`${t.path}/l2/f`, "from l2");
      writeFileSync(`${t.path}/l1/only1`, "1");
      t.own();
      const tm = sandbox(who, [...BASE, "--overlay-lowerdir", `${t.path}/l1`, "--overlay-lowerdir", `${t.path}/l2`, "--overlay-upperdir", "tmpfs", "--overlay", "/mnt/o",
        "sh", "-c", "cat /mnt/o/f; echo; cat /mnt/o/only1; echo; echo new > /mnt/o/n && cat /mnt/o/n; ls -a /mnt/o | tr '\\n' ' '; echo; grep ' /mnt/o .* - overlay ' /proc/self/mountinfo"]);
      expect(tm.code).toBe(0);
      const lines = tm.stdout.split("\n");
      expect(lines[0]).toBe("from l2"); // the last given lowerdir is on top
      expect(lines[1]).toBe("1");
      expect(lines[2]).toBe("new");
      expect(lines[3]!.trim().split(" ").sort()).toEqual([".", "..", "f", "n", "only1"]);
      expect(lines[4]).toContain("userxattr");
      expect(existsSync(`${t.path}/l2/n`)).toBe(false);

      const persistent = sandbox(who, [...BASE, "--overlay-lowerdir", `${t.path}/l1`, "--overlay-upperdir", `${t.path}/up`, "--overlay-workdir", `${t.path}/wk`, "--overlay", "/mnt/o",
        "--overlay-lowerdir", `${t.path}/l1`, "--overlay-lowerdir", `${t.path}/l2`, "--overlay", "/mnt/ro", "sh", "-c", "echo p > /mnt/o/p; touch /mnt/ro/x 2>&1; cat /mnt/ro/f"]);
      expect(persistent.code).toBe(0);
      expect(readFileSync(`${t.path}/up/p`, "utf8")).toBe("p\n");
      expect(persistent.stdout).toContain("Read-only file system");
      expect(persistent.stdout).toContain("from l2");
    } finally {
      t.cleanup();
    }
  });

  test("--overlay escapes \\ , and : in paths", () => {
    const t = tempDir(who);
    try {
      const weird = ["low,er", "lo:w", "lo\\w"];
      for (const d of weird) mkdirSync(`${t.path}/${d}`);
      weird.forEach((d, i) => writeFileSync(`${t.path}/${d}/f${i}`, d));
      const args = weird.flatMap((d) => ["--overlay-lowerdir", `${t.path}/${d}`]);
      const r = sandbox(who, [...BASE, ...args, "--overlay", "/mnt/o", "sh", "-c", "cat /mnt/o/f0 /mnt/o/f1 /mnt/o/f2"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(weird.join(""));
    } finally {
      t.cleanup();
    }
  });

  test("--overlay escapes \\ , and : in the upper and work directories too, through the kernel", () => {
    const t = tempDir(who);
    try {
      const [lower, upper, work] = ["lo,w:er\\1", "up,p:er\\2", "wo,r:k\\3"].map((d) => `${t.path}/${d}`) as [string, string, string];
      for (const d of [lower, upper, work]) mkdirSync(d);
      writeFileSync(`${lower}/f`, "from lower");
      t.own();
      const r = sandbox(who, [...BASE, "--overlay-lowerdir", lower, "--overlay-upperdir", upper, "--overlay-workdir", work, "--overlay", "/mnt/o",
        "sh", "-c", "cat /mnt/o/f; echo; echo written > /mnt/o/g; grep ' /mnt/o .* - overlay ' /proc/self/mountinfo"]);
      expect([r.code, r.stderr]).toEqual([0, ""]);
      const [first, mountLine] = r.stdout.split("\n");
      expect(first).toBe("from lower");
      // The kernel took each option whole: the write landed in the upper directory named.
      expect(readFileSync(`${upper}/g`, "utf8")).toBe("written\n");
      expect(mountLine).toContain("upperdir=");
    } finally {
      t.cleanup();
    }
  });

  test("a missing overlay directory is a one-line error and nothing is left behind", () => {
    const before = hostMounts();
    const r = sandbox(who, [...BASE, "--overlay-lowerdir", "/no/such/lower", "--overlay-upperdir", "tmpfs", "--overlay", "/mnt/o", "true"]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe("sandbox: overlay /mnt/o (lower=/no/such/lower, upper=tmpfs): lower directory /no/such/lower does not exist; create it first");
    expect(hostMounts()).toBe(before);
  });

  test("order: a bind wins over a tmpfs at the same destination whatever the order; the later of two binds is on top", () => {
    const t = tempDir(who);
    try {
      mkdirSync(`${t.path}/a`);
      mkdirSync(`${t.path}/b`);
      writeFileSync(`${t.path}/a/id`, "a");
      writeFileSync(`${t.path}/b/id`, "b");
      const bindFirst = sandbox(who, [...BASE, "--bind", `${t.path}/a`, "/mnt/m", "--tmpfs", "/mnt/m", "cat", "/mnt/m/id"]);
      expect(bindFirst.stdout).toBe("a");
      const twoBinds = sandbox(who, [...BASE, "--bind", `${t.path}/a`, "/mnt/m", "--bind", `${t.path}/b`, "/mnt/m", "cat", "/mnt/m/id"]);
      expect(twoBinds.stdout).toBe("b");
      const reversed = sandbox(who, [...BASE, "--bind", `${t.path}/b`, "/mnt/m", "--bind", `${t.path}/a`, "/mnt/m", "cat", "/mnt/m/id"]);
      expect(reversed.stdout).toBe("a");
    } finally {
      t.cleanup();
    }
  });

  test("order: parents before children whatever the order given; nested binds covered by a parent are dropped", () => {
    const r = sandbox(who, [...BASE, "--tmpfs", "/mnt/x/y", "--tmpfs", "/mnt/x", "--write", "deep", "/mnt/x/y/f", "sh", "-c", "cat /mnt/x/y/f"]);
    expect(r.stdout).toBe("deep");
    const nested = sandbox(who, ["--ro-bind", "/usr/lib", "/usr/lib", "--ro-bind", "/", "/", "--ro-bind", "/usr", "/usr", "cat", "/proc/self/mountinfo"]);
    expect(nested.code).toBe(0);
    expect(mountsAt(nested.stdout, "/usr")).toHaveLength(0);
    expect(mountsAt(nested.stdout, "/usr/lib")).toHaveLength(0);
  });

  test("relative destinations resolve against the current directory", () => {
    const r = sandbox(who, [...BASE, "--tmpfs", "rel", "--write", "x", "rel/f", "cat", "/mnt/rel/f"], { cwd: "/mnt" });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("x");
  });

  test("destinations are resolved inside the new root: symlinks cannot lead out of it", () => {
    const t = tempDir(who);
    try {
      mkdirSync(`${t.path}/data`);
      symlinkSync("/", `${t.path}/data/escape`);
      symlinkSync("../../../../../../..", `${t.path}/data/up`);
      const r = sandbox(who, ["--tmpfs", "/", "--bind", `${t.path}/data`, "/data", "--dir", "/data/escape/made-abs", "--dir", "/data/up/made-rel",
        "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
        "sh", "-c", "test -d /made-abs && test -d /made-rel && echo inside"]);
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe("inside");
      expect(readdirSync(t.path).sort()).toEqual(["data"]);
      expect(readdirSync(`${t.path}/data`).sort()).toEqual(["escape", "up"]);
      expect(existsSync("/made-abs")).toBe(false);
      expect(existsSync("/made-rel")).toBe(false);
    } finally {
      t.cleanup();
    }
  });

  test("pivot: neither the old root nor the workspace is visible; root propagation is shared", () => {
    const r = sandbox(who, [...RO, "sh", "-c", "cat /proc/self/mountinfo; ls /"]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain("/oldroot");
    expect(r.stdout).not.toContain("/newroot");
    const root = mountsAt(r.stdout, "/")[0]!;
    expect(root).toMatch(/ shared:\d+/);
    expect(readlinkSync("/proc/self/ns/mnt")).not.toBe("");
  });

  test("the host is unchanged afterwards but for the mount-point stubs the CLI leaves in a writable host bind", () => {
    // Stubs appear where a mount point is made inside a writable host bind; the CLI execs in
    // place and cannot remove them (the library does). Writes to a tmpfs or an overlay stay inside.
    const t = tempDir(who);
    try {
      const before = hostMounts();
      const r = sandbox(who, [...BASE, "--bind", t.path, "/mnt/t", "--tmpfs", "/mnt/t/hidden", "--ro-bind", "/usr/share", "/mnt/t/a/b",
        "--overlay-lowerdir", "/usr", "--overlay-upperdir", "tmpfs", "--overlay", "/usr", "sh", "-c", "touch /mnt/t/hidden/x /usr/new /mnt/t/made"]);
      expect([r.code, r.stderr]).toEqual([0, ""]);
      expect(hostMounts()).toBe(before);
      const tree = (dir: string, pre = ""): string[] =>
        readdirSync(dir).sort().flatMap((e) => (lstatSync(`${dir}/${e}`).isDirectory() ? [`${pre}${e}/`, ...tree(`${dir}/${e}`, `${pre}${e}/`)] : [`${pre}${e}`]));
      expect(tree(t.path)).toEqual(["a/", "a/b/", "hidden/", "made"]);
      expect(existsSync("/usr/new")).toBe(false);
    } finally {
      t.cleanup();
    }
  });

  test("--unshare-net: only lo, and lo is up", () => {
    const r = sandbox(who, [...RO, "--unshare-net", "sh", "-c", "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; grep -c 127.0.0.1 /proc/net/fib_trie"]);
    expect(r.code).toBe(0);
    const [ifaces, local] = [r.stdout.trim().split("\n").slice(0, -1), r.stdout.trim().split("\n").pop()];
    expect(ifaces).toEqual(["lo"]);
    expect(Number(local)).toBeGreaterThan(0);
  });

  test("--unshare-ipc: a new IPC namespace", () => {
    const host = readlinkSync("/proc/self/ns/ipc");
    const r = sandbox(who, [...RO, "--unshare-ipc", "readlink", "/proc/self/ns/ipc"]);
    expect(r.stdout.trim()).toMatch(/^ipc:\[\d+\]$/);
    expect(r.stdout.trim()).not.toBe(host);
    const same = sandbox(who, [...RO, "readlink", "/proc/self/ns/ipc"]);
    expect(same.stdout.trim()).toBe(host);
  });

  test("--suppress-chown applies with a user namespace; root without one keeps real chown", () => {
    const t = tempDir(who);
    try {
      writeFileSync(`${t.path}/f`, "x");
      t.own();
      const r = sandbox(who, [...BASE, "--bind", t.path, "/mnt/d", "--suppress-chown", "sh", "-c", "chown 4242:4242 /mnt/d/f; echo rc=$?; stat -c %u /mnt/d/f"]);
      const [rc, owner] = r.stdout.trim().split("\n");
      expect(rc).toBe("rc=0");
      if (who === "root") expect(owner).toBe("4242");
      else expect(owner).toBe(String(me.uid));
      expect(lstatSync(`${t.path}/f`).uid).toBe(who === "root" ? 4242 : me.uid);
      if (who === "user") {
        const without = sandbox(who, [...BASE, "--bind", t.path, "/mnt/d", "sh", "-c", "chown 4242:4242 /mnt/d/f 2>/dev/null; echo rc=$?"]);
        expect(without.stdout.trim()).not.toBe("rc=0");
      }
    } finally {
      t.cleanup();
    }
  });

  test("--suppress-sync makes fsync on a bad fd return 0", () => {
    const code = "require('fs').fsyncSync(987); console.log('fsync ok')";
    const r = sandbox(who, [...RO, "--suppress-sync", "bun", "-e", code]);
    expect(r.stdout.trim()).toBe("fsync ok");
    const without = sandbox(who, [...RO, "bun", "-e", code]);
    expect(without.code).not.toBe(0);
    expect(without.stderr).toContain("EBADF");
  });

  test("--new-session-keyring gives the command a fresh session keyring instead of the caller's", () => {
    // The caller joins a named session keyring, then runs the sandbox with and without the flag;
    // each command prints the id of its session keyring.
    const getId = "const {dlopen,FFIType:T}=require('bun:ffi');const l=dlopen('libc.so.6',{syscall:{args:[T.i64,T.i64,T.i64,T.i64],returns:T.i64_fast}});console.log(l.symbols.syscall(process.arch==='x64'?250:219,0,-3,0))";
    const caller = `
      const {dlopen,FFIType:T}=require('bun:ffi');
      const l=dlopen('libc.so.6',{syscall:{args:[T.i64,T.i64,T.ptr,T.i64],returns:T.i64_fast}});
      const id=l.symbols.syscall(process.arch==='x64'?250:219,1,Buffer.from('bsb-caller\\0'),0);
      const runIn=(flag)=>Bun.spawnSync([${JSON.stringify(BIN)},'--ro-bind','/','/',...flag,'bun','-e',${JSON.stringify(getId)}]).stdout.toString().trim();
      console.log([id, runIn([]), runIn(['--new-session-keyring'])].join(' '));`;
    const r = run(who, ["bun", "-e", caller]);
    const [callerId, plain, fresh] = r.stdout.trim().split(" ").map(Number);
    expect(callerId).toBeGreaterThan(0);
    expect(plain).toBe(callerId!);
    expect(fresh).toBeGreaterThan(0);
    expect(fresh).not.toBe(callerId!);
  });
});

describe("--map-subids", () => {
  test.skipIf(!IS_ROOT)("maps 0 to the caller and 1..N to the first /etc/subuid and /etc/subgid ranges", () => {
    const me = ids("user");
    const ranges = (f: string) => readFileSync(f, "utf8").split("\n").map((l) => l.split(":")).find((p) => p[0] === me.name);
    const u = ranges("/etc/subuid");
    const g = ranges("/etc/subgid");
    expect(u).toBeDefined();
    const r = sandbox("user", [...RO, "--map-subids", "sh", "-c", "id -u; cat /proc/self/uid_map /proc/self/gid_map"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n").map((l) => l.trim().split(/\s+/).join(" "));
    expect(lines[0]).toBe("0");
    expect(lines.slice(1)).toEqual([`0 ${me.uid} 1`, `1 ${u![1]} ${u![2]}`, `0 ${me.gid} 1`, `1 ${g![1]} ${g![2]}`]);
  });

  test.skipIf(!IS_ROOT)("as root it makes no user namespace", () => {
    const r = sandbox("root", [...RO, "--map-subids", "cat", "/proc/self/uid_map"]);
    expect(r.stdout.trim().split(/\s+/).join(" ")).toBe("0 0 4294967295");
  });
});
