// Nested sandboxes keep working with the seal: the CLI in the CLI (sealed inside sealed), the
// CLI as a library sandbox's command, as root and as the test user. The inner command sees the
// ids, maps and capabilities a single-level sandbox gives, and the inner seal holds too (a
// remount of its root fails; with --no-seal at both levels, the control, it succeeds). A user
// namespace's maps are written through /proc, so the outer sandbox gives a writable one; without
// it the inner sandbox says so in one line. (The inner CLI holds capabilities, so like real root
// it makes no user namespace and is sealed only with --seal.)
import { describe, expect, test } from "bun:test";
import { BIN, BUN, ROOT, run, WHO, type Who } from "../support/run.ts";

const SHOW = ["sh", "-c", "id -u; id -G; tr -s ' ' < /proc/self/uid_map; tr -s ' ' < /proc/self/gid_map; grep -E '^Cap(Eff|Bnd)' /proc/self/status"];
// Making the read-only root writable again (nothing is written: the control stays harmless).
const REMOUNT = ["sh", "-c", "mount -o remount,bind,rw / 2>/dev/null && echo remounted || echo refused"];
// Real root's CLI is unsealed unless asked; --seal makes the levels alike.
const seal = (who: Who) => (who === "root" ? ["--seal"] : []);

function cli(who: Who, args: string[]): string {
  const r = run(who, [BIN, ...args]);
  expect([r.code, r.stderr]).toEqual([0, ""]);
  return r.stdout.trim();
}

/** `argv` as the command of a library sandbox with a read-only root and a /proc (sealed unless `unsealed`). */
function lib(who: Who, argv: string[], unsealed = false): string {
  const script = `import { sandbox } from ${JSON.stringify(`${ROOT}/src/api/index.ts`)};
let b = sandbox().roBind("/", "/").proc("/proc");
if (${unsealed}) b = b.unsealed();
const r = b.spawnSync(${JSON.stringify(argv)});
process.stdout.write(r.stdout.toString()); process.stderr.write(r.stderr.toString());
sandbox.shutdown(); process.exit(r.exitCode ?? 1);`;
  const r = run(who, [BUN, "-e", script]);
  expect([r.code, r.stderr]).toEqual([0, ""]);
  return r.stdout.trim();
}

describe.each(WHO)("as %s", (who) => {
  const RO = ["--ro-bind", "/", "/"];
  const OUTER = [...RO, "--proc", "/proc"];

  test("the CLI in the CLI: the inner command sees what a single level gives", () => {
    const single = cli(who, [...RO, ...SHOW]);
    expect(cli(who, [...OUTER, BIN, ...RO, ...SHOW])).toBe(single);
    expect(cli(who, [...seal(who), ...OUTER, BIN, "--seal", ...RO, ...SHOW])).toBe(cli(who, [...seal(who), ...RO, ...SHOW]));
  });

  test("--become-root inside a sealed sandbox: uid 0 mapped to the caller", () => {
    const inner = cli(who, [...seal(who), ...OUTER, BIN, "--become-root", ...RO, "sh", "-c", "id -u; tr -s ' ' < /proc/self/uid_map"]);
    expect(inner).toBe(cli(who, ["--become-root", ...RO, "sh", "-c", "id -u; tr -s ' ' < /proc/self/uid_map"]));
    expect(inner.split("\n")[0]).toBe("0");
  });

  test("sealed inside sealed: the inner root cannot be remounted; control: unsealed at both levels it can", () => {
    expect(cli(who, [...seal(who), ...OUTER, BIN, "--seal", ...RO, ...REMOUNT])).toBe("refused");
    // The inner seal on its own (the outer's would hold as well: its locks carry into binds).
    expect(cli(who, ["--no-seal", ...OUTER, BIN, "--seal", ...RO, ...REMOUNT])).toBe("refused");
    expect(cli(who, ["--no-seal", ...OUTER, BIN, "--no-seal", ...RO, ...REMOUNT])).toBe("remounted");
  });

  test("a sealed sandbox inside one with a read-only /proc: one line naming it and the fix, exit 1", () => {
    const r = run(who, [BIN, ...seal(who), ...RO, BIN, "--seal", ...RO, "true"]);
    expect([r.code, r.stderr.trim()]).toEqual([1, "sandbox: seal: write the command's uid/gid maps: /proc is read-only here, and a user namespace's maps are written through it; a sandbox inside another one needs a writable /proc there (give the outer sandbox --proc /proc)"]);
  });

  test("the CLI as a library sandbox's command: what the CLI gives on its own", () => {
    expect(lib(who, [BIN, ...RO, ...SHOW])).toBe(cli(who, [...RO, ...SHOW]));
    expect(lib(who, [BIN, "--seal", ...RO, ...REMOUNT])).toBe("refused");
    // The library's own seal holds through an unsealed inner sandbox: its binds of a locked
    // read-only mount stay read-only. Control: both unsealed.
    expect(lib(who, [BIN, "--no-seal", ...RO, ...REMOUNT])).toBe("refused");
    expect(lib(who, [BIN, "--no-seal", ...RO, ...REMOUNT], true)).toBe("remounted");
  });
});
