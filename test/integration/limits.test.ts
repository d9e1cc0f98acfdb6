// Limits, for real: each one hit by a workload that needs it, through the CLI and the library
// (forked from the warm server, with a PID namespace, landlock, a cold stage), as root and as the
// unprivileged user; workloads under a limit still work; a limit leaves no process behind.
// Controls: the same workloads without the limit do what the limit stops.
import { describe, expect, test } from "bun:test";
import { BIN, BUN, ROOT, run, sandbox, WHO, type Who } from "../support/run.ts";
import { newMarker, pidsWith } from "../support/procs.ts";

const FORK_LOOP = `${ROOT}/test/fixtures/fork-loop.py`;
const HOG = "a = []\nfor i in range(600): a.append(bytearray(1 << 20))\nprint('survived')";
const ro = ["--ro-bind", "/", "/", "--proc", "/proc"];

/** As root unsealed (the CLI's default) no user namespace counts processes: the watcher kills. */
const cliForkFails = (who: Who) => who !== "root";

describe.each(WHO)("the CLI as %s", (who) => {
  test("--memlimit: a memory hog is killed at the limit and reported (control: without it, it survives)", () => {
    const r = sandbox(who, [...ro, "--memlimit", "64m", "--", "python3", "-c", HOG]);
    expect([r.code, r.signal, r.stdout, r.stderr]).toEqual([-1, "SIGKILL", "", "sandbox: the command exceeded --memlimit 64m\n"]);
    expect(sandbox(who, [...ro, "--", "python3", "-c", HOG]).stdout).toBe("survived\n");
  });

  test("--memlimit 512m: a sandboxed bun -e still runs", () => {
    const r = sandbox(who, [...ro, "--memlimit", "512m", "--", BUN, "-e", "console.log(new Array(1e6).fill(1).length)"]);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, "1000000\n", ""]);
  });

  test("--timelimit: a CPU spinner ends and is reported; --walltimelimit: a sleeper too (controls: within the limits they finish)", () => {
    const cpu = sandbox(who, [...ro, "--timelimit", "0.5", "--", "sh", "-c", "while :; do :; done"], { timeout: 20_000 });
    expect([cpu.signal, cpu.stderr]).toEqual(["SIGKILL", "sandbox: the command exceeded --timelimit 0.5\n"]);
    const wall = sandbox(who, [...ro, "--walltimelimit", "0.3", "--", "sleep", "30"], { timeout: 20_000 });
    expect([wall.signal, wall.stderr]).toEqual(["SIGKILL", "sandbox: the command exceeded --walltimelimit 0.3\n"]);
    const within = sandbox(who, [...ro, "--timelimit", "5", "--walltimelimit", "10", "--", "sh", "-c", "sleep 0.2; echo done"]);
    expect([within.code, within.stdout, within.stderr]).toEqual([0, "done\n", ""]);
  });

  test("--pidlimit: a fork loop stops at the limit, the user's other processes are unaffected, nothing is left behind", async () => {
    const marker = newMarker();
    const bomb = Bun.spawn(["sh", "-c", `exec "$@"`, marker, ...(who === "root" ? [] : ["setpriv", `--reuid=sbtest`, `--regid=sbtest`, "--clear-groups"]), BIN, ...ro, "--pidlimit", "20", "--", "python3", FORK_LOOP, "100"], { stdout: "pipe", stderr: "pipe" });
    // Meanwhile the same user forks 30 processes outside the sandbox.
    const other = run(who, ["sh", "-c", "for i in $(seq 30); do sleep 0.1 & done; wait; echo other-ok"]);
    expect(other.stdout).toBe("other-ok\n");
    const [out, err, code] = [await new Response(bomb.stdout).text(), await new Response(bomb.stderr).text(), await bomb.exited];
    if (cliForkFails(who)) {
      expect([code, err]).toEqual([0, ""]);
      expect(out).toMatch(/^fork failed: Resource temporarily unavailable after (19|20)\nforked (19|20)\n$/);
    } else {
      expect([bomb.signalCode, err]).toEqual(["SIGKILL", "sandbox: the command exceeded --pidlimit 20\n"]);
    }
    expect(pidsWith(FORK_LOOP)).toEqual([]);
    const control = sandbox(who, [...ro, "--", "python3", FORK_LOOP, "30"]);
    expect(control.stdout).toBe("forked 30\n");
  });

  test("--rlimit: the command starts with the limits given", () => {
    const r = sandbox(who, [...ro, "--rlimit", "nofile=16", "--rlimit", "core=0", "--rlimit", "fsize=1m", "--", "sh", "-c", "ulimit -n; ulimit -Hn; ulimit -c; ulimit -f"]);
    expect([r.code, r.stdout]).toEqual([0, "16\n16\n0\n2048\n"]);
  });

  test("bad values are one line and exit 2", () => {
    const r = sandbox(who, [...ro, "--memlimit", "lots", "true"]);
    expect([r.code, r.stderr]).toEqual([2, 'sandbox: --memlimit: invalid value "lots"; give a positive number of bytes (k, m, g suffixes multiply by 1024, 1024^2, 1024^3)\n']);
  });
});

describe.each(WHO)("the library as %s", (who) => {
  test("each limit on each path: Subprocess.limit and the spawnSync result's, exited resolves; bun -e under 512 MiB works", () => {
    const r = run(who, [BUN, `${ROOT}/test/fixtures/api-limits.ts`, BUN, FORK_LOOP], { timeout: 120_000 });
    expect(r.stderr).toBe("");
    const o = JSON.parse(r.stdout);
    expect(Object.keys(o)).toEqual(["forked", "pidns", "landlock", "cold"]);
    for (const [path, c] of Object.entries(o) as [string, Record<string, unknown[]>][]) {
      expect({ path, memory: c.memory }).toEqual({ path, memory: ["memory", null, "SIGKILL", 137] });
      expect({ path, cpu: c.cpu }).toEqual({ path, cpu: ["cpu-time", null, "SIGKILL", false] });
      expect({ path, wall: c.wall }).toEqual({ path, wall: ["wall-time", null, "SIGKILL", false] });
      expect({ path, rlimits: c.rlimits }).toEqual({ path, rlimits: [null, 0, null, "16\n0"] });
      expect({ path, bun: c.bunUnder512 }).toEqual({ path, bun: [null, 0, null, "1000000"] });
      // In a user namespace of ours a fork past the limit fails; without one (landlock), or as
      // uid 0 (which RLIMIT_NPROC exempts), the watcher ends the sandbox.
      if (path === "landlock" || who === "root") expect({ path, pids: c.pids!.slice(0, 3) }).toEqual({ path, pids: ["pids", null, "SIGKILL"] });
      else expect({ path, pids: c.pids![0], out: /^fork failed: Resource temporarily unavailable after (9|10)\nforked (9|10)$/.test(String(c.pids![3])) }).toEqual({ path, pids: null, out: true });
    }
    expect(pidsWith(FORK_LOOP)).toEqual([]);
  }, 120_000);
});
