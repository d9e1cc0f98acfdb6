// The sandbox CLI as a process: usage errors, exit statuses, exec in place, identity,
// environment, working directory and fds, as root and as the unprivileged test user.
import { describe, expect, test } from "bun:test";
import { spawn, spawnSync } from "bun";
import { readFileSync, writeFileSync, chmodSync } from "node:fs";
import { asWho, BIN, BUN, FALLBACK_ENV, ids, IS_ROOT, run, sandbox, tempDir, WHO, ROOT, BUN_DIR } from "../support/run.ts";

const RO = ["--ro-bind", "/", "/"];

describe("usage", () => {
  test("--version prints the package version", () => {
    const r = sandbox("user", ["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync(`${ROOT}/package.json`, "utf8")).version);
  });

  test("--help lists every mkosi-sandbox option", () => {
    const r = sandbox("user", ["--help"]);
    expect(r.code).toBe(0);
    for (const o of ["--tmpfs", "--dev", "--proc", "--dir", "--bind", "--bind-try", "--ro-bind", "--ro-bind-try", "--bind-nofollow", "--ro-bind-nofollow",
      "--symlink", "--write", "--overlay-lowerdir", "--overlay-upperdir", "--overlay-workdir", "--overlay", "--setenv", "--unsetenv", "--chdir",
      "--same-dir", "--become-root", "--map-subids", "--suppress-chown", "--suppress-sync", "--unshare-net", "--unshare-ipc", "--suspend",
      "--pack-fds", "--debug", "--new-session-keyring"]) {
      expect(r.stdout).toContain(`${o} `);
    }
  });

  test("unknown option: one line, exit 2, names the option", () => {
    const r = sandbox("user", ["--frobnicate", "true"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("--frobnicate");
  });

  test("missing argument: one line, exit 2, names the option and its arguments", () => {
    const r = sandbox("user", ["--bind", "/usr"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe("sandbox: --bind needs 2 arguments (--bind SRC DST)");
  });

  test("overlay without lower directories is a usage error", () => {
    const r = sandbox("user", ["--overlay-upperdir", "tmpfs", "--overlay", "/x", "true"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--overlay-lowerdir");
  });

  test("under Node it says Bun is required", () => {
    const r = run("user", ["node", BIN, "--version"]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("needs Bun");
  });
});

describe.each(WHO)("as %s", (who) => {
  const me = ids(who);

  test("exit status is the command's", () => {
    expect(sandbox(who, [...RO, "sh", "-c", "exit 7"]).code).toBe(7);
    expect(sandbox(who, [...RO, "true"]).code).toBe(0);
  });

  test("127 when the command is not found, 126 when it is not executable", () => {
    const t = tempDir(who);
    try {
      writeFileSync(`${t.path}/notexec`, "#!/bin/sh\n");
      chmodSync(`${t.path}/notexec`, 0o644);
      const missing = sandbox(who, [...RO, "no-such-command-xyz"]);
      expect(missing.code).toBe(127);
      expect(missing.stderr.trim()).toBe("sandbox: no-such-command-xyz: No such file or directory");
      const notExec = sandbox(who, [...RO, `${t.path}/notexec`]);
      expect(notExec.code).toBe(126);
      expect(notExec.stderr).toContain("Permission denied");
    } finally {
      t.cleanup();
    }
  });

  test("the command replaces the CLI: same pid, signals reach it", async () => {
    const env = { ...process.env, ...FALLBACK_ENV, PATH: `${BUN_DIR}:${process.env.PATH}` };
    const p = spawn([...asWho(who), BIN, ...RO, "sh", "-c", "echo $$; kill -TERM $$; sleep 5"], { env, stdout: "pipe", stderr: "pipe" });
    const out = await new Response(p.stdout).text();
    await p.exited;
    expect(Number(out.trim())).toBe(p.pid);
    expect(p.signalCode).toBe("SIGTERM");
  });

  test("identity: no user namespace as root, the caller mapped to itself otherwise", () => {
    const r = sandbox(who, [...RO, "sh", "-c", "id -u; id -g; cat /proc/self/uid_map; cat /proc/self/gid_map; cat /proc/self/setgroups"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n").map((l) => l.trim().split(/\s+/).join(" "));
    expect(lines[0]).toBe(String(me.uid));
    expect(lines[1]).toBe(String(me.gid));
    if (who === "root") {
      expect(lines[2]).toBe("0 0 4294967295");
      expect(lines[4]).toBe("allow");
    } else {
      expect(lines[2]).toBe(`${me.uid} ${me.uid} 1`);
      expect(lines[3]).toBe(`${me.gid} ${me.gid} 1`);
      expect(lines[4]).toBe("deny");
    }
  });

  test("--become-root maps the caller to 0", () => {
    const r = sandbox(who, [...RO, "--become-root", "sh", "-c", "id -u; id -g; cat /proc/self/uid_map"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n").map((l) => l.trim().split(/\s+/).join(" "));
    expect(lines.slice(0, 2)).toEqual(["0", "0"]);
    expect(lines[2]).toBe(who === "root" ? "0 0 4294967295" : `0 ${me.uid} 1`);
  });

  test("capabilities: a user namespace keeps the documented set in ambient; root keeps its own", () => {
    const r = sandbox(who, [...RO, "sh", "-c", "grep -E '^Cap(Eff|Amb|Bnd)' /proc/self/status"]);
    expect(r.code).toBe(0);
    const caps = Object.fromEntries(r.stdout.trim().split("\n").map((l) => l.split(/:\s+/)).map(([k, v]) => [k, BigInt(`0x${v}`)]));
    if (who === "root") {
      expect(caps.CapAmb).toBe(0n);
    } else {
      // chown dac_override dac_read_search fowner fsetid setgid setuid setpcap sys_chroot sys_ptrace sys_admin sys_resource setfcap
      const kept = [0, 1, 2, 3, 4, 6, 7, 8, 18, 19, 21, 24, 31].reduce((m, c) => m | (1n << BigInt(c)), 0n);
      expect(caps.CapEff).toBe(kept);
      expect(caps.CapAmb).toBe(kept);
      expect(caps.CapBnd).toBe(kept);
    }
  });

  test("environment: the caller's, with --setenv before --unsetenv, and none of the tool's", () => {
    const r = sandbox(who, [...RO, "--setenv", "A", "1", "--setenv", "B", "2", "--unsetenv", "B", "--unsetenv", "KEEP_GONE", "env"], {
      env: { KEEP_ME: "yes", KEEP_GONE: "no" },
    });
    expect(r.code).toBe(0);
    const env = Object.fromEntries(r.stdout.trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
    expect(env.A).toBe("1");
    expect(env.B).toBeUndefined();
    expect(env.KEEP_ME).toBe("yes");
    expect(env.KEEP_GONE).toBeUndefined();
    for (const k of Object.keys(env)) {
      expect(k.startsWith("BUN_JSC_") || k === "MIMALLOC_PURGE_DELAY" || k.startsWith("BUN_SANDBOX_SHEBANG") || k.startsWith("BUN_SANDBOX_SAVED")).toBe(false);
    }
  });

  test("started without the shebang it re-executes itself and restores the caller's variables", () => {
    const r = run(who, [BUN, BIN, ...RO, "sh", "-c", 'echo "gc=${BUN_JSC_useConcurrentGC-unset} jit=${BUN_JSC_useConcurrentJIT-unset} saved=${BUN_SANDBOX_SAVED_ENV-unset}"'], {
      env: { BUN_JSC_useConcurrentGC: "1" },
    });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe("gc=1 jit=unset saved=unset");
  });

  test("working directory: / by default, --chdir, relative --chdir, --same-dir", () => {
    expect(sandbox(who, [...RO, "pwd"], { cwd: "/usr" }).stdout.trim()).toBe("/");
    expect(sandbox(who, [...RO, "--chdir", "/etc", "pwd"]).stdout.trim()).toBe("/etc");
    expect(sandbox(who, [...RO, "--chdir", "bin", "pwd"], { cwd: "/usr" }).stdout.trim()).toBe("/usr/bin");
    expect(sandbox(who, [...RO, "--same-dir", "pwd"], { cwd: "/usr/share" }).stdout.trim()).toBe("/usr/share");
    const bad = sandbox(who, [...RO, "--chdir", "/no/such/dir", "pwd"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toBe('sandbox: chdir /no/such/dir: chdir("/no/such/dir"): No such file or directory (ENOENT)');
  });

  test("fds: only stdio and the caller's inherited fds reach the command", () => {
    const t = tempDir(who);
    try {
      writeFileSync(`${t.path}/f`, "x");
      const list = `for f in /proc/self/fd/*; do [ -e "$f" ] && echo "\${f##*/}"; done`;
      const r = run(who, ["sh", "-c", `exec 5<${t.path}/f 8</etc/hostname; exec ${BIN} --ro-bind / / sh -c '${list}'`]);
      expect(r.code).toBe(0);
      const fds = r.stdout.trim().split("\n").map(Number).sort((a, b) => a - b);
      expect(fds).toEqual([0, 1, 2, 5, 8]);
    } finally {
      t.cleanup();
    }
  });

  test("--pack-fds renumbers inherited fds from 3 and sets LISTEN_FDS/LISTEN_PID", () => {
    const r = run(who, ["sh", "-c", `exec 5</etc/hostname 9</etc/passwd; exec ${BIN} --ro-bind / / --pack-fds sh -c 'echo $LISTEN_FDS $LISTEN_PID $$; readlink /proc/self/fd/3 /proc/self/fd/4; test -e /proc/self/fd/5 || echo no5'`]);
    expect(r.code).toBe(0);
    const [counts, three, four, no5] = r.stdout.trim().split("\n");
    const [n, listenPid, pid] = counts!.split(" ");
    expect(n).toBe("2");
    expect(listenPid).toBe(pid);
    expect(three).toBe("/etc/hostname");
    expect(four).toBe("/etc/passwd");
    expect(no5).toBe("no5");
  });

  test("--pack-fds with nothing inherited sets no LISTEN_FDS", () => {
    const r = sandbox(who, [...RO, "--pack-fds", "sh", "-c", 'echo "${LISTEN_FDS-unset}"']);
    expect(r.stdout.trim()).toBe("unset");
  });

  test("--suspend stops the process right before exec", async () => {
    const env = { ...process.env, ...FALLBACK_ENV, PATH: `${BUN_DIR}:${process.env.PATH}` };
    const p = spawn([...asWho(who), BIN, ...RO, "--suspend", "sh", "-c", "echo resumed"], { env, stdout: "pipe", stderr: "pipe" });
    let state = "";
    for (let i = 0; i < 200 && state !== "T"; i++) {
      await Bun.sleep(10);
      try {
        state = readFileSync(`/proc/${p.pid}/stat`, "latin1").split(") ")[1]!.split(" ")[0]!;
      } catch {
        break;
      }
    }
    expect(state).toBe("T");
    // Still the CLI (not yet the command) while stopped.
    expect(readFileSync(`/proc/${p.pid}/cmdline`, "latin1")).toContain("sandbox");
    process.kill(p.pid, "SIGCONT");
    expect(await new Response(p.stdout).text()).toBe("resumed\n");
    expect(await p.exited).toBe(0);
  });

  test("--debug prints each applied operation on its own line", () => {
    const r = sandbox(who, ["--debug", ...RO, "--tmpfs", "/tmp", "--bind-try", "/no/such", "/x", "true"]);
    expect(r.code).toBe(0);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toContain("sandbox: bind / -> / (ro)");
    expect(lines).toContain("sandbox: tmpfs /tmp (mode=1777)");
    expect(lines).toContain("sandbox: skipped (no source): bind /no/such -> /x (rw,try)");
  });

  test("the command starts with default signal dispositions and nothing blocked (Bun ignores SIGPIPE)", () => {
    const r = sandbox(who, [...RO, "grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"]);
    expect(r.stdout.trim().split("\n")).toEqual(["SigBlk:\t0000000000000000", "SigIgn:\t0000000000000000"]);
    // A writer killed by SIGPIPE: bash's PIPESTATUS shows 141 (128+13) for `yes`, silently, even
    // when the caller ignores SIGPIPE (as Bun does: an ignored signal stays ignored across exec).
    const script = `yes | head -c 3 >/dev/null; echo "\${PIPESTATUS[0]} \${PIPESTATUS[1]}"`;
    const pipe = run(who, ["bash", "-c", `trap '' PIPE; exec "$@"`, "-", BIN, ...RO, "bash", "-c", script]);
    expect([pipe.code, pipe.stdout, pipe.stderr]).toEqual([0, "141 0\n", ""]);
    // Control: the same without the sandbox, SIGPIPE ignored: yes sees EPIPE instead.
    const inherited = run(who, ["bash", "-c", `trap '' PIPE; exec "$@"`, "-", "bash", "-c", script]);
    expect([inherited.stdout, inherited.stderr]).toEqual(["1 0\n", "yes: standard output: Broken pipe\n"]);
  });

  test("no command runs bash", () => {
    const r = sandbox(who, [...RO], { stdin: "echo $BASH_VERSION | cut -c1\n" });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^[0-9]$/);
  });
});

test.skipIf(!IS_ROOT)("the user can read the checkout (sanity for every unprivileged test)", () => {
  const r = spawnSync([...asWho("user"), "test", "-r", BIN]);
  expect(r.exitCode).toBe(0);
});
