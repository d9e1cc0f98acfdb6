// --confinement landlock and auto, for real: on this host, and where a simulated refusal of
// namespaces (test/support/refusals.ts) leaves only Landlock. What the command can read and write
// is checked both ways, every escape check has its control, and the host is checked afterwards.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { spawn } from "bun";
import { asWho, BIN, BUN, envFor, ids, ROOT, run, sandbox, tempDir, WHO, type Who, type TempDir } from "../support/run.ts";
import { REFUSALS, runRefused, type Refusal } from "../support/refusals.ts";
import { killAll, until } from "../support/procs.ts";

const SOCKETS = `${ROOT}/test/fixtures/sockets.cjs`;

const temps: TempDir[] = [];
afterAll(() => temps.forEach((t) => t.cleanup()));

/** A fixture tree owned by `who` in /var/tmp (the sandboxes hide /tmp): w writable, r read-only, h hidden. */
function tree(who: Who): { base: string; w: string; r: string; h: string } {
  const t = tempDir(who, "bsb-ll-", "/var/tmp");
  temps.push(t);
  const [w, r, h] = ["w", "r", "h"].map((d) => `${t.path}/${d}`) as [string, string, string];
  for (const d of [w, r, h]) mkdirSync(d);
  writeFileSync(`${r}/f`, "readable\n");
  writeFileSync(`${h}/secret`, "secret\n");
  t.own();
  return { base: t.path, w, r, h };
}

const PROBE = (d: ReturnType<typeof tree>) => [
  `cat ${d.r}/f`,
  `echo w > ${d.w}/out && echo wrote`,
  `(echo x > ${d.r}/new) 2>/dev/null || echo ro-refused`,
  `cat ${d.h}/secret 2>/dev/null || echo hidden-refused`,
  `ls ${d.h} >/dev/null 2>&1 || echo hidden-list-refused`,
  `echo t > "$TMPDIR/t" && echo "tmp $TMPDIR"`,
  "echo > /dev/null && echo devnull-ok",
  "id -u",
].join("; ");

const planArgs = (d: ReturnType<typeof tree>) => ["--ro-bind", "/", "/", "--bind", d.w, d.w, "--tmpfs", d.h, "--tmpfs", "/tmp", "--dev", "/dev", "--proc", "/proc"];

/** The outcome PROBE prints under landlock, and the host afterwards. */
function expectLandlockOutcome(who: Who, d: ReturnType<typeof tree>, stdout: string): void {
  const lines = stdout.trim().split("\n");
  const tmp = lines.find((l) => l.startsWith("tmp "))?.slice(4) ?? "";
  expect(lines).toEqual(["readable", "wrote", "ro-refused", "hidden-refused", "hidden-list-refused", `tmp ${tmp}`, "devnull-ok", String(ids(who).uid)]);
  expect(tmp).toMatch(/^\/tmp\/sandbox-[0-9a-f]{12}$/);
  expect(existsSync(tmp)).toBe(false);
  expect(readFileSync(`${d.w}/out`, "utf8")).toBe("w\n");
  expect(existsSync(`${d.r}/new`)).toBe(false);
}

/** What each refusal's reason says (the --debug line, the doctor, the namespaces error). */
const REASON: Record<Refusal, RegExp> = {
  "no-room": /ENOSPC|No space left on device/,
  apparmor: /holds no capabilities|refused even as root|mount fails with EPERM/,
  docker: /Operation not permitted|EPERM/,
};

/** As root the CLI needs a user namespace only when sealed: --seal makes no-room bite. */
const sealFor = (who: Who): string[] => (who === "root" ? ["--seal"] : []);

describe.each(REFUSALS)("where namespaces are refused (%s)", (refusal) => {
  describe.each(WHO)("as %s", (who) => {
    test("auto picks landlock (the --debug line says why) and the command reads and writes as the plan says", () => {
      const d = tree(who);
      const r = runRefused(refusal, who, [BIN, ...sealFor(who), "--confinement", "auto", "--debug", ...planArgs(d), "--", "sh", "-c", PROBE(d)]);
      const choice = r.stderr.split("\n").find((l) => l.startsWith("sandbox: confinement: "));
      expect(choice).toStartWith("sandbox: confinement: landlock (ABI ");
      expect(choice).toMatch(REASON[refusal]);
      expect(r.code).toBe(0);
      expectLandlockOutcome(who, d, r.stdout);
    });

    test("namespaces fails with one line naming the reason and the way on", () => {
      const d = tree(who);
      const r = runRefused(refusal, who, [BIN, ...sealFor(who), "--confinement", "namespaces", ...planArgs(d), "--", "sh", "-c", "echo ran > " + d.w + "/ran"]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toStartWith("sandbox: ");
      expect(r.stderr).toMatch(REASON[refusal]);
      expect(r.stderr).toContain("--confinement auto confines with Landlock where namespaces are refused");
      expect(existsSync(`${d.w}/ran`)).toBe(false);
    });

    test("--doctor says which confinements this host allows and why", () => {
      const r = runRefused(refusal, who, [BIN, "--doctor", "--json"]);
      expect(r.code).toBe(0);
      const c = JSON.parse(r.stdout).confinement;
      expect(c.landlock).toMatchObject({ allowed: true, reason: null });
      // As root the CLI's default plan needs no user namespace, which is all no-room takes away.
      if (refusal === "no-room" && who === "root") {
        expect(c).toMatchObject({ namespaces: { allowed: true, reason: null }, auto: "namespaces" });
      } else {
        expect(c.namespaces.allowed).toBe(false);
        expect(c.namespaces.reason).toMatch(REASON[refusal]);
        expect(c.auto).toBe("landlock");
        const text = runRefused(refusal, who, [BIN, "--doctor"]).stdout;
        expect(text).toMatch(/^confinement namespaces: no \(.+\)$/m);
        expect(text).toContain("confinement auto:       landlock");
      }
    });

    test("the library with confinement auto: landlock on the forked path, started says so", () => {
      const d = tree(who);
      const r = runRefused(refusal, who, [BUN, `${ROOT}/test/fixtures/api-landlock.ts`, JSON.stringify({ confinement: "auto", writable: d.w, hidden: d.h })], { timeout: 60_000 });
      expect(r.stderr).toBe("");
      const o = JSON.parse(r.stdout);
      expect(o.started).toEqual(["landlock", "landlock"]);
      expectLibraryOutcome(who, o);
    });
  });
});

/** What the library fixture's sandboxes reported under landlock. */
function expectLibraryOutcome(who: Who, o: { sync: { exitCode: number; stdout: string; error: string | null }; async: { exitCode: number; stdout: string }; refused: { exitCode: number; error: string; isSandboxError: boolean } }): void {
  for (const out of [o.sync.stdout, o.async.stdout]) {
    const lines = out.trim().split("\n");
    expect(lines[0]).toBe("wrote");
    expect(lines[1]).toBe("hidden-refused");
    expect(lines[2]).toMatch(/^tmp \/tmp\/sandbox-[0-9a-f]{12}$/);
    expect(existsSync(lines[2]!.slice(4))).toBe(false);
    expect(lines[3]).toBe(String(ids(who).uid));
  }
  expect([o.sync.exitCode, o.sync.error, o.async.exitCode]).toEqual([5, null, 5]);
  expect(o.refused.exitCode).toBe(1);
  expect(o.refused.isSandboxError).toBe(true);
  expect(o.refused.error).toMatch(/^--symlink x \S+\/link: needs namespaces, which (--confinement landlock does not use|this host refuses: .+)$/);
}

describe.each(WHO)("controls, where namespaces work, as %s", (who) => {
  test("auto picks namespaces: the --debug line, the sandbox's own mount namespace, the library's started event", () => {
    const d = tree(who);
    const r = sandbox(who, ["--confinement", "auto", "--debug", ...planArgs(d), "--", "sh", "-c", `readlink /proc/self/ns/mnt; ls -A ${d.h} | wc -l`]);
    expect(r.stderr).toContain("sandbox: confinement: namespaces (auto: they work here)");
    const [mnt, hidden] = r.stdout.trim().split("\n");
    expect(mnt).not.toBe(run(who, ["readlink", "/proc/self/ns/mnt"]).stdout.trim());
    expect(hidden).toBe("0"); // an empty tmpfs, not EACCES
    const lib = run(who, [BUN, `${ROOT}/test/fixtures/api-landlock.ts`, JSON.stringify({ confinement: "auto", writable: d.w, hidden: d.h })], { timeout: 60_000 });
    // The symlink the landlock runs refuse is made here: a third sandbox starts.
    expect(JSON.parse(lib.stdout).started).toEqual(["namespaces", "namespaces", "namespaces"]);
  });

  test("the library with confinement landlock on a host that allows namespaces", () => {
    const d = tree(who);
    const r = run(who, [BUN, `${ROOT}/test/fixtures/api-landlock.ts`, JSON.stringify({ confinement: "landlock", writable: d.w, hidden: d.h })], { timeout: 60_000 });
    expect(r.stderr).toBe("");
    const o = JSON.parse(r.stdout);
    expect(o.started).toEqual(["landlock", "landlock"]);
    expectLibraryOutcome(who, o);
  });
});

describe.each(WHO)("--confinement landlock as %s", (who) => {
  const landlock = (args: string[], opts = {}) => sandbox(who, ["--confinement", "landlock", ...args], opts);

  test("reads and writes as the plan says; no namespace of its own; the private TMPDIR is removed with what was left in it", () => {
    const d = tree(who);
    const r = landlock([...planArgs(d), "--", "sh", "-c", PROBE(d)]);
    expect([r.code, r.stderr]).toEqual([0, ""]);
    expectLandlockOutcome(who, d, r.stdout);
    const ns = landlock(["--ro-bind", "/", "/", "--", "readlink", "/proc/self/ns/mnt", "/proc/self/ns/user"]);
    expect(ns.stdout).toBe(run(who, ["readlink", "/proc/self/ns/mnt", "/proc/self/ns/user"]).stdout);
    const left = landlock(["--ro-bind", "/", "/", "--tmpfs", "/tmp", "--", "sh", "-c", 'mkdir -p "$TMPDIR/d/e"; touch "$TMPDIR/d/e/f"; chmod 000 "$TMPDIR/d"; ln -s /etc/passwd "$TMPDIR/l"; echo "$TMPDIR"']);
    expect(left.code).toBe(0);
    expect(existsSync(left.stdout.trim())).toBe(false);
    expect(readFileSync("/etc/passwd", "utf8")).toContain("root:");
  });

  test("exit status, stdin and stdout, --setenv, -try forms skipped, --chdir", () => {
    const r = landlock(["--ro-bind", "/", "/", "--ro-bind-try", "/nonexistent-bsb", "/nonexistent-bsb", "--setenv", "BSB_X", "y", "--chdir", "/usr", "--", "sh", "-c", 'read l; echo "$l $BSB_X $(pwd)"; exit 7'], { stdin: "in\n" });
    expect([r.code, r.stdout, r.stderr]).toEqual([7, "in y /usr\n", ""]);
  });

  test("host processes cannot be signalled (control: with namespaces but no PID namespace they can)", async () => {
    const sleeper = spawn([...asWho(who), "sleep", "30"], { env: envFor(who) });
    expect(await until(() => run(who, ["kill", "-0", String(sleeper.pid)]).code === 0, 5000)).toBe(true);
    try {
      const probe = ["--ro-bind", "/", "/", "--", "sh", "-c", `echo ran; kill -0 ${sleeper.pid} && echo signalled`];
      const confined = landlock(probe);
      // "ran": the command started, so the EPERM is its kill's.
      expect(confined.stdout).toBe("ran\n");
      expect(confined.stderr).toContain("Operation not permitted");
      expect(sandbox(who, ["--confinement", "namespaces", ...probe]).stdout).toBe("ran\nsignalled\n");
    } finally {
      killAll([sleeper.pid]);
    }
  });

  test("--unshare-ipc and --unshare-net: host abstract sockets cannot be reached (control: without them they can)", async () => {
    const name = `bsb-ll-${process.pid}-${who}`;
    const server = spawn([...asWho(who), BUN, SOCKETS, "listen", name], { env: envFor(who), stdout: "pipe" });
    try {
      expect(await until(() => run(who, [BUN, SOCKETS, "connect", name]).code === 0, 10_000)).toBe(true);
      const probe = ["--ro-bind", "/", "/", "--", BUN, SOCKETS, "connect", name];
      expect(landlock(probe).stdout).toBe("got hello\n");
      for (const flag of ["--unshare-ipc", "--unshare-net"]) {
        const r = landlock([flag, ...probe]);
        expect(r.code).toBe(3);
        expect(r.stdout).toMatch(/^refused /);
      }
    } finally {
      killAll([server.pid]);
    }
  });

  test("--unshare-net: no TCP or UDP to the host's loopback (control: without it a TCP connect is answered)", async () => {
    // A server process of its own: spawnSync of the sandbox blocks this one's event loop.
    const server = spawn([BUN, SOCKETS, "listen-tcp"], { stdout: "pipe" });
    try {
      const { value } = await server.stdout.getReader().read();
      const port = Number(new TextDecoder().decode(value).trim());
      expect(port).toBeGreaterThan(0);
      const tcp = (extra: string[]) => landlock([...extra, "--ro-bind", "/", "/", "--", "bash", "-c", `exec 3<>/dev/tcp/127.0.0.1/${port} && head -1 <&3`]);
      expect(tcp([]).stdout).toBe("hi\n");
      // bash's own words: the command ran and its socket() was refused (not the setup).
      const closed = tcp(["--unshare-net"]);
      expect(closed.code).not.toBe(0);
      expect(closed.stderr).toContain("bash: socket: Operation not permitted");
      const udp = landlock(["--unshare-net", "--ro-bind", "/", "/", "--", "bash", "-c", `echo x > /dev/udp/127.0.0.1/${port}`]);
      expect(udp.stderr).toContain("bash: socket: Operation not permitted");
    } finally {
      killAll([server.pid]);
    }
  });

  test("no mount can be made or undone, even by real root (control: with namespaces root mounts)", () => {
    const probe = ["--ro-bind", "/", "/", "--", "sh", "-c", "mount -t tmpfs none /mnt 2>&1 && echo mounted; umount /proc 2>&1 || true"];
    const confined = landlock(probe);
    expect(confined.stdout).not.toContain("mounted");
    if (who === "root") {
      expect(confined.stdout).toContain("mount: /mnt: permission denied");
      expect(confined.stdout).toContain("umount: /proc: must be superuser to unmount");
      expect(sandbox(who, ["--no-seal", ...probe]).stdout).toContain("mounted");
    }
  });

  test("--harden: its seccomp filter applies (control: without it the same call works)", () => {
    // "ran" first: the sandbox started (an EPERM of the setup itself must not pass for the filter's).
    const probe = ["--ro-bind", "/", "/", "--", "sh", "-c", "echo ran; unshare --user true && echo made; grep -E '^(CapEff|CapPrm|NoNewPrivs)' /proc/self/status"];
    const hardened = landlock(["--harden", ...probe]);
    expect(hardened.stdout).toBe("ran\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nNoNewPrivs:\t1\n");
    expect(hardened.stderr).toContain("unshare: unshare failed: Operation not permitted");
    expect(landlock(probe).stdout).toStartWith("ran\nmade\n");
  });

  test("what needs a mount or a namespace is one line naming it, exit 1, nothing made", () => {
    const d = tree(who);
    const root = ["--ro-bind", "/", "/"];
    const cases: [string[], string][] = [
      [[...root, "--ro-bind", d.r, `${d.w}/x`], `--ro-bind ${d.r} ${d.w}/x (a source other than its destination): needs namespaces`],
      [[...root, "--symlink", "x", `${d.w}/l`], `--symlink x ${d.w}/l: needs namespaces`],
      [[...root, "--write", "data", `${d.w}/f`], `--write ... ${d.w}/f: needs namespaces`],
      [[...root, "--dir", `${d.w}/new`], `--dir ${d.w}/new (it does not exist, and nothing is made on the host): needs namespaces`],
      [[...root, "--become-root"], "--become-root: needs namespaces"],
      [["--overlay-dir", "/"], "--overlay-dir /: needs namespaces"],
    ];
    for (const [args, message] of cases) {
      const r = landlock([...args, "--", "touch", `${d.w}/ran`]);
      expect([r.code, r.stderr]).toEqual([1, `sandbox: ${message}, which --confinement landlock does not use\n`]);
    }
    expect(existsSync(`${d.w}/ran`) || existsSync(`${d.w}/x`) || existsSync(`${d.w}/l`) || existsSync(`${d.w}/new`)).toBe(false);
  });

  test("a kernel that cannot enforce the plan: one line naming what is missing (an older ABI played by BUN_SANDBOX_LANDLOCK_ABI)", () => {
    const old = (abi: string, args: string[]) => landlock(["--ro-bind", "/", "/", ...args, "--", "true"], { env: { BUN_SANDBOX_LANDLOCK_ABI: abi } });
    const two = old("2", []);
    expect([two.code, two.stderr]).toEqual([1, "sandbox: --confinement landlock: this kernel cannot enforce the plan: --confinement landlock: truncation control (TRUNCATE) needs Landlock ABI 3 (Linux 6.2); this kernel has ABI 2\n"]);
    const five = old("5", ["--unshare-ipc"]);
    expect(five.stderr).toBe("sandbox: --confinement landlock: this kernel cannot enforce the plan: --unshare-ipc: abstract unix socket scoping needs Landlock ABI 6 (Linux 6.12); this kernel has ABI 5\n");
    expect(old("0", []).stderr).toBe("sandbox: --confinement landlock: this kernel cannot enforce the plan: Landlock is unavailable: BUN_SANDBOX_LANDLOCK_ABI=0 pretends this kernel has none\n");
    expect(old("3", []).code).toBe(0);
  });
});
