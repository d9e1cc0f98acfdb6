// Capability names and changes as --cap-add/--cap-drop and .capAdd()/.capDrop() take them, and
// the places --harden's Landlock domain lets the command write.
import { describe, expect, test } from "bun:test";
import { applyCapChanges, capName } from "../../src/plan/caps.ts";
import { writablePlaces } from "../../src/plan/harden.ts";
import { parseArgs, UsageError } from "../../src/cli/args.ts";
import { sandbox } from "../../src/api/index.ts";
import { CAP } from "../../src/sys/caps.ts";
import { planError } from "../support/errors.ts";
import { validatePlan } from "../../src/plan/validate.ts";

const parse = (argv: string[]) => parseArgs({ argv, env: {}, cwd: "/", tty: null, fds: [] });
const LAST = 40;

describe("capName", () => {
  test("with or without CAP_, any case; ALL", () => {
    for (const s of ["CAP_SYS_ADMIN", "cap_sys_admin", "SYS_ADMIN", "sys_admin", "Cap_Sys_Admin"]) expect(capName(s)).toBe("sys_admin");
    expect(capName("ALL")).toBe("all");
    expect(capName("cap_all")).toBe("all");
  });
  test("unknown names, and names only almost right, are null", () => {
    for (const s of ["", "CAP_", "CAP_BOGUS", "sysadmin", "sys_admin ", "CAP_CAP_SYS_ADMIN", "toString", "__proto__"]) expect([s, capName(s)]).toEqual([s, null]);
  });
});

describe("applyCapChanges", () => {
  const base = [CAP.CHOWN, CAP.SYS_ADMIN];
  test("in order: drop ALL then add one is that one; add then drop ALL is none", () => {
    expect(applyCapChanges(base, [{ add: false, cap: "all" }, { add: true, cap: "net_raw" }], LAST)).toEqual([CAP.NET_RAW]);
    expect(applyCapChanges(base, [{ add: true, cap: "net_raw" }, { add: false, cap: "all" }], LAST)).toEqual([]);
  });
  test("sorted, without duplicates, the base not modified", () => {
    const b = [...base];
    expect(applyCapChanges(b, [{ add: true, cap: "chown" }, { add: true, cap: "kill" }, { add: false, cap: "sys_admin" }], LAST)).toEqual([CAP.CHOWN, CAP.KILL]);
    expect(b).toEqual(base);
  });
  test("ALL means every capability up to this kernel's last, no further", () => {
    expect(applyCapChanges([], [{ add: true, cap: "all" }], 5)).toEqual([0, 1, 2, 3, 4, 5]);
    // A name this kernel does not know (above its last) is not added.
    expect(applyCapChanges([], [{ add: true, cap: "checkpoint_restore" }], 37)).toEqual([]);
  });
});

describe("--cap-add / --cap-drop / --harden / --disable-userns", () => {
  test("parsed in order into the plan, normalised", () => {
    const r = parse(["--cap-drop", "ALL", "--cap-add", "CAP_NET_BIND_SERVICE", "--disable-userns", "true"]);
    if (r.kind !== "run") throw new Error(r.kind);
    expect(r.plan.capChanges).toEqual([{ add: false, cap: "all" }, { add: true, cap: "net_bind_service" }]);
    expect([r.plan.disableUserns, r.plan.harden]).toEqual([true, false]);
  });
  test("an unknown name is a usage error naming it and the fix", () => {
    let e: unknown;
    try {
      parse(["--cap-add", "CAP_BOGUS", "true"]);
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(UsageError);
    expect((e as Error).message).toBe('--cap-add: unknown capability "CAP_BOGUS"; give a name like CAP_SYS_ADMIN or sys_admin, or ALL');
  });
  test("the builder: the same changes, the same arguments, a round trip", () => {
    const b = sandbox().capDrop("ALL").capAdd("net_raw", "CAP_KILL").harden().disableUserns();
    expect(planError(() => validatePlan(b.toPlan(["x"]))).message).toContain("--cap-add cannot widen");
    const ok = sandbox().capDrop("ALL").capAdd("net_raw", "CAP_KILL").disableUserns();
    const p = ok.toPlan(["x"]);
    expect(p.capChanges).toEqual([{ add: false, cap: "all" }, { add: true, cap: "net_raw" }, { add: true, cap: "kill" }]);
    expect(ok.toArgs()).toEqual(["--seal", "--disable-userns", "--cap-drop", "all", "--cap-add", "net_raw", "--cap-add", "kill"]);
    expect(sandbox.fromPlan(p).toPlan(["x"])).toEqual(p);
    expect(sandbox().harden().capDrop("sys_admin").toArgs()).toEqual(["--seal", "--harden", "--cap-drop", "sys_admin"]);
  });
  test("the builder rejects an unknown name when it is given", () => {
    const e = planError(() => sandbox().capAdd("bogus"));
    expect(e.message).toContain("bogus");
  });
});

describe("writablePlaces", () => {
  const places = (b: ReturnType<typeof sandbox>) => writablePlaces(b.toPlan(["x"]));
  test("writable binds, made directories, tmpfs, /dev, /proc, mqueue and upper overlays; not read-only ones", () => {
    const b = sandbox().roBind("/", "/").bind("/srv", "/srv").roBind("/etc", "/etc").dir("/data").tmpfs("/tmp").dev("/dev").proc("/proc")
      .overlay({ lower: ["/l", "/m"] }, "/ro-o").overlay({ lower: ["/l"], upper: "tmpfs" }, "/rw-o").symlink("x", "/link").write("t", "/etc/t");
    expect(places(b)).toEqual(["/srv", "/data", "/tmp", "/dev", "/proc", "/rw-o"]);
  });
  test("directory modes: the ones that write, a procfs and shm; the default overlay root is writable", () => {
    const ro = sandbox().dirMode("/", "read-only").dirMode("/home", "overlay").dirMode("/srv", "hidden").dirMode("/etc", "read-only").mqueue("/dev/mqueue");
    expect(places(ro)).toEqual(["/home", "/srv", "/proc", "/dev/shm", "/run/shm", "/dev/mqueue"]);
    expect(places(sandbox().dirMode("/etc", "read-only"))[0]).toBe("/");
  });
  test("no duplicates", () => {
    expect(places(sandbox().tmpfs("/tmp").tmpfs("/tmp"))).toEqual(["/tmp"]);
  });
});
