// Which plans a namespace worker takes, and which worker (one per identity: each command gets
// its own namespaces and seccomp filter from its chain); what a worker cannot do sends the plan
// to a forked stage.
import { describe, expect, test } from "bun:test";
import { emptyPlan, type Plan } from "../../src/plan/types.ts";
import { hostPaths, keyName, reachesAny, underAny, workerKey } from "../../src/stage/worker.ts";

const plan = (over: Partial<Plan> = {}): Plan => ({ ...emptyPlan(), argv: ["true"], ...over });
// As root no user namespace is made (mkosi-sandbox's rule); otherwise the caller is mapped.
const asRoot = process.getuid!() === 0;

describe("workerKey", () => {
  test("one worker per identity: as real root the host's user namespace, otherwise one of its own", () => {
    const kind = asRoot ? "host" : "userns";
    expect(workerKey(plan())).toEqual({ kind });
    expect(workerKey(plan({ becomeRoot: true }))).toEqual({ kind });
    expect(workerKey(plan({ unshareNet: true, unshareIpc: true, unshareUts: true, hostname: "h", unshareCgroup: true, suppressSync: true, suppressChown: true }))).toEqual({ kind });
    expect(keyName(workerKey(plan())!)).toBe(kind);
  });

  test("what a worker cannot do goes to a forked stage", () => {
    const forked: Partial<Plan>[] = [
      { unsharePid: true }, { mapSubids: true }, { newSessionKeyring: true }, { packFds: true }, { suspend: true },
      { debug: true }, { fds: [3, 1000] }, { seal: false },
      { ops: [{ kind: "dirmodes", modes: [] }] },
      { unshareIpc: true, ops: [{ kind: "mqueue", dst: "/m" }] },
      { unshareIpc: true, ops: [{ kind: "dev", dst: "/dev", mqueue: true }] },
    ];
    for (const over of forked) expect([over, workerKey(plan(over))]).toEqual([over, null]);
    expect(workerKey(plan({ fds: [3, 999] }))).not.toBeNull();
    expect(workerKey(plan({ seal: true }))).not.toBeNull();
  });
});

describe("hostPaths and underAny", () => {
  test("the host paths a setup looks up: bind sources (not +SRC), overlay layers, links to read", () => {
    const p = plan({
      ops: [
        { kind: "bind", src: "/a", dst: "/x", readonly: true, optional: false, relative: false, nofollow: false },
        { kind: "bind", src: "b", dst: "/y", readonly: true, optional: false, relative: true, nofollow: false },
        { kind: "overlay", dst: "/o", lower: ["/l1", "/l2"], upper: "tmpfs", work: null },
        { kind: "overlay", dst: "/p", lower: ["/l3"], upper: "/u", work: "/w" },
        { kind: "symlink", target: "/host/link", dst: "/s", dereference: true },
        { kind: "symlink", target: "elsewhere", dst: "/t" },
        { kind: "tmpfs", dst: "/tmp" },
      ],
    });
    expect(hostPaths(p)).toEqual(["/a", "/l1", "/l2", "/l3", "/u", "/w", "/host/link"]);
  });

  test("at or below a mount point, not beside it", () => {
    expect(underAny("/mnt/fuse", ["/mnt/fuse"])).toBe(true);
    expect(underAny("/mnt/fuse/x/y", ["/mnt/fuse"])).toBe(true);
    expect(underAny("/mnt/fuse2", ["/mnt/fuse"])).toBe(false);
    expect(underAny("/anything", ["/"])).toBe(true);
    expect(underAny("/mnt", [])).toBe(false);
  });
});

describe("reachesAny", () => {
  // a fake host: symlinks by path; anything else is not a link
  const links: Record<string, string> = {
    "/home/u/data": "/mnt/fuse/data",
    "/home/u/rel": "../../mnt/fuse",
    "/home/u/local": "/srv",
    "/srv/up": "..",
    "/loop/a": "/loop/b",
    "/loop/b": "/loop/a",
  };
  const read = (seen: string[]) => (p: string) => {
    seen.push(p);
    return links[p] ?? null;
  };
  const FUSE = ["/mnt/fuse"];

  test("a path through a symlink (absolute or relative) into a mount point reaches it", () => {
    expect(reachesAny("/home/u/data/x", FUSE, read([]))).toBe(true);
    expect(reachesAny("/home/u/rel/y", FUSE, read([]))).toBe(true);
    expect(reachesAny("/home/u/local/up/mnt/fuse", FUSE, read([]))).toBe(true);
    expect(reachesAny("/mnt/./fuse", FUSE, read([]))).toBe(true);
  });

  test("other paths do not, and nothing at or inside the mount point is ever read", () => {
    const seen: string[] = [];
    expect(reachesAny("/home/u/local/bin", FUSE, read(seen))).toBe(false);
    expect(reachesAny("/mnt/fuse2/z", FUSE, read(seen))).toBe(false);
    expect(reachesAny("/home/u/data/deep/er", FUSE, read(seen))).toBe(true);
    expect(seen.filter((p) => underAny(p, FUSE))).toEqual([]);
    expect(seen).toContain("/srv/bin");
  });

  test("no slow mounts: nothing is read; a symlink loop ends (the setup reports ELOOP)", () => {
    const seen: string[] = [];
    expect(reachesAny("/home/u/data", [], read(seen))).toBe(false);
    expect(seen).toEqual([]);
    expect(reachesAny("/loop/a/x", FUSE, read([]))).toBe(false);
  });
});
