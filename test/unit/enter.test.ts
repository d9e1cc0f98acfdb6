// The pure parts of entering a process's namespaces: list parsing, which namespaces differ,
// the setns order for privileged and unprivileged callers, fork, id mapping, request checks,
// and the CLI's --enter parsing.
import { describe, expect, test } from "bun:test";
import {
  chooseNamespaces, mapIdInto, namespaceFlag, NAMESPACE_NAMES, needsFork, normalizeNamespaces, parseIdMap,
  parseNamespaceList, parseStatusIds, resultingNamespaces, setnsOrder, SETNS_ORDER, validateEnterSpec, type EnterSpec,
  type NamespaceLinks,
} from "../../src/plan/enter.ts";
import { CLONE, FlagParseError, NAMESPACES, type NamespaceName } from "../../src/sys/flags.ts";
import { PlanError } from "../../src/plan/errors.ts";
import { parseArgs, UsageError, type ParseInput } from "../../src/cli/args.ts";
import { validateRequest, withFds, diesWithParent } from "../../src/stage/request.ts";
import { emptyPlan } from "../../src/plan/types.ts";
import { thrown } from "../support/errors.ts";


const links = (ids: Partial<Record<NamespaceName, number>>): NamespaceLinks =>
  Object.fromEntries(Object.entries(ids).map(([ns, id]) => [ns, `${ns}:[${id}]`]));

const HOST = links({ user: 1, mnt: 2, pid: 3, net: 4, ipc: 5, uts: 6, cgroup: 7, time: 8 });

describe("namespace names and flags", () => {
  test("every /proc/PID/ns name maps to its CLONE_NEW* flag", () => {
    expect(NAMESPACE_NAMES).toEqual(["user", "mnt", "pid", "net", "ipc", "uts", "cgroup", "time"]);
    expect(namespaceFlag("user")).toBe(CLONE.NEWUSER);
    expect(namespaceFlag("mnt")).toBe(CLONE.NEWNS);
    expect(namespaceFlag("pid")).toBe(CLONE.NEWPID);
    expect(namespaceFlag("net")).toBe(CLONE.NEWNET);
    expect(namespaceFlag("ipc")).toBe(CLONE.NEWIPC);
    expect(namespaceFlag("uts")).toBe(CLONE.NEWUTS);
    expect(namespaceFlag("cgroup")).toBe(CLONE.NEWCGROUP);
    expect(namespaceFlag("time")).toBe(CLONE.NEWTIME);
    expect(new Set(NAMESPACES.map(([, f]) => f)).size).toBe(8);
  });

  test("the setns order covers every type but user exactly once, mnt last", () => {
    expect([...SETNS_ORDER].sort()).toEqual(NAMESPACE_NAMES.filter((n) => n !== "user").sort());
    expect(SETNS_ORDER.at(-1)).toBe("mnt");
  });
});

describe("parseNamespaceList", () => {
  test("commas or bars, any order, duplicates: canonical order without duplicates", () => {
    expect(parseNamespaceList("user,mnt,pid,net,ipc,uts,cgroup,time")).toEqual([...NAMESPACE_NAMES]);
    expect(parseNamespaceList("net|mnt")).toEqual(["mnt", "net"]);
    expect(parseNamespaceList(" ipc , user ,ipc")).toEqual(["user", "ipc"]);
    expect(parseNamespaceList("time")).toEqual(["time"]);
  });

  test("unknown names are refused with the list of known ones", () => {
    const e = thrown(() => parseNamespaceList("mnt,mount"));
    expect(e).toBeInstanceOf(FlagParseError);
    expect(e.message).toBe('unknown namespace "mount" (known: user, mnt, pid, net, ipc, uts, cgroup, time)');
    // what formatNamespaces prints for unnamed bits is no namespace name
    expect(() => parseNamespaceList("0x20000")).toThrow(FlagParseError);
    expect(() => parseNamespaceList("pid_for_children")).toThrow(FlagParseError);
    expect(() => parseNamespaceList("NET")).toThrow(FlagParseError);
  });

  test("an empty list is refused", () => {
    expect(thrown(() => parseNamespaceList("")).message).toStartWith("empty namespace list");
    expect(() => parseNamespaceList(" , |")).toThrow(FlagParseError);
  });

  test("the library takes a string or an array", () => {
    expect(normalizeNamespaces(["net", "ipc"])).toEqual(["net", "ipc"]);
    expect(normalizeNamespaces("uts")).toEqual(["uts"]);
    expect(() => normalizeNamespaces([])).toThrow(FlagParseError);
    expect(() => normalizeNamespaces(["net", 3 as unknown as string])).toThrow(FlagParseError);
    expect(() => normalizeNamespaces(["net,bogus"])).toThrow(/bogus/);
  });
});

describe("chooseNamespaces", () => {
  test("default: every namespace that differs from the caller's", () => {
    const target = { ...HOST, ...links({ mnt: 20, net: 40, ipc: 50 }) };
    expect(chooseNamespaces(null, target, HOST)).toEqual({ enter: ["mnt", "net", "ipc"], unsupported: [] });
  });

  test("the caller's own user namespace is never entered (the kernel refuses it)", () => {
    const target = { ...HOST, ...links({ mnt: 20 }) };
    expect(chooseNamespaces(null, target, HOST).enter).toEqual(["mnt"]);
    expect(chooseNamespaces(["user", "mnt"], target, HOST).enter).toEqual(["mnt"]);
  });

  test("an unprivileged sandbox: its user namespace and everything it unshared", () => {
    const target = { ...HOST, ...links({ user: 10, mnt: 20, pid: 30, net: 40, ipc: 50, uts: 60 }) };
    expect(chooseNamespaces(null, target, HOST).enter).toEqual(["user", "mnt", "pid", "net", "ipc", "uts"]);
  });

  test("a subset enters only those of it that differ", () => {
    const target = { ...HOST, ...links({ user: 10, mnt: 20, net: 40 }) };
    expect(chooseNamespaces(["net"], target, HOST).enter).toEqual(["net"]);
    expect(chooseNamespaces(["net", "ipc"], target, HOST).enter).toEqual(["net"]);
    expect(chooseNamespaces(["ipc"], target, HOST).enter).toEqual([]);
  });

  test("the same process: nothing to enter", () => {
    expect(chooseNamespaces(null, HOST, HOST)).toEqual({ enter: [], unsupported: [] });
  });

  test("a namespace type the kernel lacks: skipped by default, reported when asked for", () => {
    const { time: _t, ...noTime } = HOST;
    const target = { ...noTime, ...links({ net: 40 }) };
    expect(chooseNamespaces(null, target, noTime)).toEqual({ enter: ["net"], unsupported: [] });
    expect(chooseNamespaces(["net", "time"], target, noTime)).toEqual({ enter: ["net"], unsupported: ["time"] });
  });
});

describe("setnsOrder", () => {
  const all = [...NAMESPACE_NAMES];

  test("unprivileged: the user namespace first, then the others with mnt last", () => {
    expect(setnsOrder(all, false)).toEqual(["user", "cgroup", "ipc", "uts", "net", "pid", "time", "mnt"]);
    expect(setnsOrder(["mnt", "user", "net"], false)).toEqual(["user", "net", "mnt"]);
  });

  test("privileged: the user namespace last (after mnt and the root change)", () => {
    expect(setnsOrder(all, true)).toEqual(["cgroup", "ipc", "uts", "net", "pid", "time", "mnt", "user"]);
    expect(setnsOrder(["user", "mnt"], true)).toEqual(["mnt", "user"]);
  });

  test("without a user namespace both orders are the same", () => {
    const some: NamespaceName[] = ["ipc", "mnt", "net", "uts"];
    expect(setnsOrder(some, true)).toEqual(["ipc", "uts", "net", "mnt"]);
    expect(setnsOrder(some, false)).toEqual(setnsOrder(some, true));
    expect(setnsOrder([], false)).toEqual([]);
  });

  test("every permutation of every subset gives the same order (input order never matters)", () => {
    for (let mask = 0; mask < 256; mask++) {
      const subset = all.filter((_, i) => mask & (1 << i));
      for (const privileged of [true, false]) {
        const order = setnsOrder(subset, privileged);
        expect([...order].sort()).toEqual([...subset].sort());
        expect(setnsOrder([...subset].reverse(), privileged)).toEqual(order);
        if (subset.includes("user")) expect(order.indexOf("user")).toBe(privileged ? order.length - 1 : 0);
        if (subset.includes("mnt")) expect(order.filter((n) => n !== "user").at(-1)).toBe("mnt");
      }
    }
  });
});

describe("needsFork and resultingNamespaces", () => {
  test("pid and time apply to children only: fork", () => {
    expect(needsFork(["pid"])).toBe(true);
    expect(needsFork(["time"])).toBe(true);
    expect(needsFork(["user", "mnt", "net", "ipc", "uts", "cgroup"])).toBe(false);
    expect(needsFork([])).toBe(false);
  });

  test("the command ends up with the target's ids for entered namespaces, ours for the rest", () => {
    const target = { ...HOST, ...links({ mnt: 20, net: 40 }) };
    expect(resultingNamespaces(["mnt"], target, HOST)).toEqual({ ...HOST, mnt: "mnt:[20]" });
  });
});

describe("id maps and /proc/PID/status", () => {
  test("parseIdMap reads the kernel's columns", () => {
    expect(parseIdMap("         0       1001          1\n")).toEqual([{ inside: 0, outside: 1001, count: 1 }]);
    expect(parseIdMap("0 0 4294967295\n")).toEqual([{ inside: 0, outside: 0, count: 4294967295 }]);
    expect(parseIdMap("0 1000 1\n1 100000 65536\n")).toHaveLength(2);
    expect(parseIdMap("")).toEqual([]);
  });

  test("mapIdInto: inside id of an outside id, null when unmapped", () => {
    const m = parseIdMap("0 1000 1\n1 100000 65536\n");
    expect(mapIdInto(1000, m)).toBe(0);
    expect(mapIdInto(100000, m)).toBe(1);
    expect(mapIdInto(165535, m)).toBe(65536);
    expect(mapIdInto(165536, m)).toBeNull();
    expect(mapIdInto(0, m)).toBeNull();
    expect(mapIdInto(1001, parseIdMap("1001 1001 1"))).toBe(1001);
    expect(mapIdInto(0, parseIdMap("0 0 4294967295"))).toBe(0);
  });

  test("parseStatusIds takes the effective ids and the groups", () => {
    const status = "Name:\tsleep\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t1001\t1002\t1003\t1004\nGid:\t2001\t2002\t2003\t2004\nFDSize:\t64\nGroups:\t27 100 \n";
    expect(parseStatusIds(status)).toEqual({ uid: 1002, gid: 2002, groups: [27, 100] });
    expect(parseStatusIds("Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\t\n")).toEqual({ uid: 0, gid: 0, groups: [] });
    expect(parseStatusIds("Name:\tx\n")).toBeNull();
  });
});

describe("validateEnterSpec", () => {
  const good = (): EnterSpec => ({ pid: 1234, namespaces: null, cwd: null, argv: ["sh"], env: { PATH: "/bin" }, fds: [] });

  test("a well-formed request passes unchanged", () => {
    const s = good();
    expect(validateEnterSpec(s)).toBe(s);
    expect(validateEnterSpec({ ...good(), namespaces: ["mnt", "net"], cwd: "/tmp", fds: [3, 7] }).fds).toEqual([3, 7]);
  });

  test("each bad field is named", () => {
    const bad: [Partial<Record<keyof EnterSpec | "extra", unknown>>, string][] = [
      [{ pid: 0 }, "enter.pid"], [{ pid: 1.5 }, "enter.pid"], [{ pid: "12" }, "enter.pid"], [{ pid: 5_000_000 }, "enter.pid"],
      [{ namespaces: ["mnt", "bogus"] }, "enter.namespaces"], [{ namespaces: "mnt" }, "enter.namespaces"],
      [{ namespaces: ["mnt", "mnt"] }, "enter.namespaces"], [{ namespaces: [] }, "enter.namespaces"],
      [{ cwd: "tmp" }, "enter.cwd"], [{ argv: [] }, "enter.argv"], [{ argv: [""] }, "enter.argv[0]"], [{ argv: ["a\0b"] }, "enter.argv[0]"],
      [{ env: { "A=B": "x" } }, "enter.env.A=B"], [{ env: { A: 1 } }, "enter.env.A"], [{ env: [] }, "enter.env"],
      [{ fds: [2] }, "enter.fds"], [{ extra: 1 }, "enter.extra"],
    ];
    for (const [patch, field] of bad) {
      const e = thrown(() => validateEnterSpec({ ...good(), ...patch } as EnterSpec));
      expect(e).toBeInstanceOf(PlanError);
      expect((e as PlanError).field).toBe(field);
    }
  });
});

describe("stage requests", () => {
  const spec: EnterSpec = { pid: 99, namespaces: ["net"], cwd: null, argv: ["true"], env: {}, fds: [] };
  const plan = { ...emptyPlan(), argv: ["true"] };

  test("a plan or an enter request, never both or neither", () => {
    expect(validateRequest({ enter: spec, targets: [0, 1, 2] }, 3)).toBeDefined();
    expect(validateRequest({ plan, targets: [0, 1, 2] }, 3)).toBeDefined();
    expect(() => validateRequest({ plan, enter: spec, targets: [] }, 0)).toThrow(/exactly one/);
    expect(() => validateRequest({ targets: [] }, 0)).toThrow(/exactly one/);
    expect(() => validateRequest({ enter: spec, targets: [0, 1] }, 3)).toThrow(/targets/);
    expect(() => validateRequest({ enter: { ...spec, pid: -1 }, targets: [] }, 0)).toThrow(/enter\.pid/);
    expect(() => validateRequest({ enter: spec, targets: [], more: 1 }, 0)).toThrow(/unknown field more/);
  });

  test("fds are added to either kind; only a plan can ask to die with its parent", () => {
    expect(withFds({ enter: spec }, [3])).toEqual({ enter: { ...spec, fds: [3] } });
    expect(withFds({ plan }, [4])).toEqual({ plan: { ...plan, fds: [4] } });
    expect(diesWithParent({ enter: spec })).toBe(false);
    expect(diesWithParent({ plan: { ...plan, dieWithParent: true } })).toBe(true);
  });
});

describe("sandbox --enter parsing", () => {
  const input = (argv: string[]): ParseInput => ({ argv, env: { PATH: "/bin", HOME: "/h" }, cwd: "/work", tty: null, fds: [5] });
  const enterSpec = (argv: string[]): EnterSpec => {
    const r = parseArgs(input(argv));
    if (r.kind !== "enter") throw new Error(`parsed as ${r.kind}`);
    return r.spec;
  };
  const usage = (argv: string[]): string => {
    const e = thrown(() => parseArgs(input(argv)));
    expect(e).toBeInstanceOf(UsageError);
    return e.message;
  };

  test("PID, command, the caller's environment, no inherited fds", () => {
    expect(enterSpec(["--enter", "1234", "--", "sh", "-c", "echo"])).toEqual({
      pid: 1234, namespaces: null, cwd: null, argv: ["sh", "-c", "echo"], env: { PATH: "/bin", HOME: "/h" }, fds: [],
    });
    expect(enterSpec(["--enter", "7", "ls", "--all"]).argv).toEqual(["ls", "--all"]);
    expect(enterSpec(["--enter", "7"]).argv).toEqual(["bash"]);
  });

  test("--namespaces, --chdir, --setenv and --unsetenv in any order", () => {
    const s = enterSpec(["--namespaces", "net,mnt", "--enter", "42", "--chdir", "/srv", "--setenv", "A", "1", "--unsetenv", "HOME", "true"]);
    expect(s).toMatchObject({ pid: 42, namespaces: ["mnt", "net"], cwd: "/srv", argv: ["true"], env: { PATH: "/bin", A: "1" } });
    expect(s.env.HOME).toBeUndefined();
  });

  test("usage errors: bad pid, bad namespace, sandbox options, missing arguments", () => {
    expect(usage(["--enter", "abc", "true"])).toContain('invalid process id "abc"');
    expect(usage(["--enter", "0", "true"])).toContain("invalid process id");
    expect(usage(["--enter", "-5", "true"])).toContain("invalid process id");
    expect(usage(["--enter", "99999999999", "true"])).toContain("invalid process id");
    expect(usage(["--enter", "1", "--namespaces", "mnt,foo", "true"])).toBe('--namespaces: unknown namespace "foo" (known: user, mnt, pid, net, ipc, uts, cgroup, time)');
    expect(usage(["--enter", "1", "--namespaces", "", "true"])).toContain("empty namespace list");
    expect(usage(["--enter", "1", "--bind", "/a", "/b", "true"])).toBe("--bind cannot be used with --enter (the target's namespaces and root are used as they are)");
    expect(usage(["--ro-bind", "/", "/", "--enter", "1", "true"])).toContain("--ro-bind cannot be used with --enter");
    expect(usage(["--enter", "1", "--frob", "true"])).toBe("unknown option --frob; see sandbox --help");
    expect(usage(["--enter"])).toBe("--enter needs an argument (--enter PID)");
    expect(usage(["--enter", "1", "--namespaces"])).toBe("--namespaces needs an argument (--namespaces LIST)");
    expect(usage(["--enter", "1", "--enter", "2", "true"])).toContain("given twice");
    expect(usage(["--enter", "1", "--chdir", "rel", "true"])).toContain("not an absolute path");
    expect(usage(["--namespaces", "net", "true"])).toContain("only goes with --enter");
  });

  test("--enter after the command is the command's argument", () => {
    const r = parseArgs(input(["--ro-bind", "/", "/", "echo", "--enter", "1"]));
    expect(r.kind).toBe("run");
  });

  test("--help with --enter is still help", () => {
    expect(parseArgs(input(["--enter", "1", "--help"])).kind).toBe("help");
  });
});
