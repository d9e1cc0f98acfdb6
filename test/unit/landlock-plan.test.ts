// The landlock confinement's pure parts: a plan's translation into places and rules, the
// spreading of rights over directories, and which kernel ABI the plan needs.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import {
  ALL, DEVICE, IPC_SYSCALLS, LANDLOCK_TABLE, landlockShortfall, NeedsNamespaces, READ, spreadRules, translateForLandlock, type Place,
} from "../../src/plan/landlock.ts";
import { emptyPlan, type Operation, type Plan } from "../../src/plan/types.ts";
import { LANDLOCK_ACCESS_FS as FS, LANDLOCK_ACCESS_NET, LANDLOCK_SCOPE } from "../../src/sys/landlock.ts";
import type { SeccompRule } from "../../src/sys/seccomp.ts";
import { MSG_FASTOPEN } from "../../src/plan/landlock-net.ts";

const bind = (src: string, dst: string, readonly = true, extra: Partial<Extract<Operation, { kind: "bind" }>> = {}): Operation => ({
  kind: "bind", src, dst, readonly, optional: false, relative: false, nofollow: false, ...extra,
});
const plan = (patch: Partial<Plan> = {}): Plan => ({ ...emptyPlan(), argv: ["true"], confinement: "landlock", ...patch });
const translate = (ops: Operation[], patch: Partial<Plan> = {}, auto = false) => translateForLandlock(plan({ ops, ...patch }), ops, auto);
const refusal = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (e instanceof NeedsNamespaces) return e.what;
    throw e;
  }
  throw new Error("not refused");
};

describe("translateForLandlock", () => {
  test("binds: read-only gives read and execute, writable every right; the standard devices stay writable in a read place", () => {
    const lp = translate([bind("/", "/"), bind("/home/u/p", "/home/u/p", false)]);
    expect(lp.places.slice(0, 2)).toEqual([{ path: "/", rights: READ }, { path: "/home/u/p", rights: ALL }]);
    expect(lp.places.slice(2).map((p) => p.path)).toEqual(["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"]);
    for (const p of lp.places.slice(2)) expect(p.rights).toBe(READ | DEVICE);
    expect([lp.tmpdirIn, lp.handledNet, lp.scoped, lp.rules]).toEqual([null, 0n, 0n, []]);
  });

  test("a device node in a writable place or a hidden one is left as it is", () => {
    expect(translate([bind("/", "/", false)]).places).toEqual([{ path: "/", rights: ALL }]);
    expect(translate([bind("/", "/"), { kind: "tmpfs", dst: "/dev" }]).places).toEqual([{ path: "/", rights: READ }, { path: "/dev", rights: 0n }]);
  });

  test("--tmpfs and hidden places give no rights; /tmp and /var/tmp ask for a private TMPDIR there", () => {
    expect(translate([{ kind: "tmpfs", dst: "/srv" }]).tmpdirIn).toBeNull();
    const lp = translate([bind("/", "/"), { kind: "tmpfs", dst: "/var/tmp" }, { kind: "tmpfs", dst: "/tmp" }]);
    expect(lp.places.filter((p) => p.path.endsWith("tmp"))).toEqual([{ path: "/var/tmp", rights: 0n }, { path: "/tmp", rights: 0n }]);
    expect(lp.tmpdirIn).toBe("/var/tmp");
  });

  test("--dev /dev: nothing beneath /dev but the standard nodes and pts; --proc /proc: read", () => {
    const lp = translate([{ kind: "dev", dst: "/dev" }, { kind: "proc", dst: "/proc" }]);
    expect(lp.places[0]).toEqual({ path: "/dev", rights: 0n });
    expect(lp.places.slice(1, -1).map((p) => p.path)).toEqual(["null", "zero", "full", "random", "urandom", "tty", "ptmx", "pts"].map((d) => `/dev/${d}`));
    expect(lp.places.find((p) => p.path === "/dev/pts")!.rights).toBe(DEVICE | FS.READ_DIR);
    expect(lp.places.find((p) => p.path === "/dev/null")!.rights).toBe(DEVICE);
    expect(lp.places.at(-1)).toEqual({ path: "/proc", rights: READ });
  });

  test("what needs a mount or a namespace is refused by name", () => {
    expect(refusal(() => translate([bind("/a", "/b")]))).toBe("--ro-bind /a /b (a source other than its destination)");
    expect(refusal(() => translate([bind("/a", "/a", false, { relative: true })]))).toBe("--bind +/a /a (a source other than its destination)");
    expect(refusal(() => translate([bind("/a", "/a", true, { device: false })]))).toBe("--ro-bind /a /a with device nodes off (nodev)");
    expect(refusal(() => translate([{ kind: "symlink", target: "x", dst: "/l" }]))).toBe("--symlink x /l");
    expect(refusal(() => translate([{ kind: "write", data: "d", dst: "/f" }]))).toBe("--write ... /f");
    expect(refusal(() => translate([{ kind: "overlay", lower: ["/a", "/b"], upper: null, work: null, dst: "/o" }]))).toBe("--overlay /o");
    expect(refusal(() => translate([{ kind: "file", dst: "/f", base64: "", readonly: true }]))).toBe("--ro-bind-data ... /f (a placed file)");
    expect(refusal(() => translate([{ kind: "dev", dst: "/d" }]))).toBe("--dev /d (the host's devices are at /dev)");
    expect(refusal(() => translate([{ kind: "proc", dst: "/p" }]))).toBe("--proc /p (the host's procfs is at /proc)");
    expect(refusal(() => translate([{ kind: "remount", dst: "/", options: "ro" }]))).toBe("--remount ro /");
    expect(refusal(() => translate([{ kind: "chmod", dst: "/x", mode: 0o700 }]))).toBe("--chmod 700 /x");
    expect(refusal(() => translate([], { becomeRoot: true }))).toBe("--become-root");
    expect(refusal(() => translate([], { mapSubids: true, becomeRoot: true }))).toBe("--map-subids");
    expect(refusal(() => translate([], { unsharePid: true }))).toBe("a PID namespace (unsharePid())");
    expect(refusal(() => translate([], { unshareUts: true }))).toBe("a UTS namespace (unshareUts(), hostname())");
  });

  test("--dir only names a directory that must exist; -nofollow sources are checked on the host", () => {
    const lp = translate([{ kind: "dir", dst: "/srv/x" }, bind("/l", "/l", true, { nofollow: true })]);
    expect([lp.dirs, lp.nofollow]).toEqual([["/srv/x"], ["/l"]]);
  });

  test("directory modes: read-only, hidden, full-access; overlay refused, or read-only under auto with a note", () => {
    const modes = (m: Extract<Operation, { kind: "dirmodes" }>["modes"], extra = {}): Operation => ({ kind: "dirmodes", modes: m, ...extra });
    const lp = translate([modes([{ dir: "/", mode: "read-only" }, { dir: "/home/u", mode: "full-access" }, { dir: "/run", mode: "hidden" }])]);
    expect(lp.places.slice(0, 3)).toEqual([{ path: "/", rights: READ }, { path: "/run", rights: 0n }, { path: "/home/u", rights: ALL }]);
    expect(lp.places.slice(3, 5)).toEqual([{ path: "/dev/shm", rights: 0n }, { path: "/run/shm", rights: 0n }]);
    expect(refusal(() => translate([modes([])]))).toBe("--overlay-dir /");
    const auto = translate([modes([])], {}, true);
    expect(auto.places.slice(0, 3)).toEqual([{ path: "/", rights: READ }, { path: "/run", rights: 0n }, { path: "/tmp", rights: 0n }]);
    expect([auto.tmpdirIn, auto.notes]).toEqual(["/tmp", ["--overlay-dir /: read-only under landlock (an overlay needs a mount)"]]);
    expect(refusal(() => translate([modes([{ dir: "/", mode: "read-only" }], { outputDir: "/o" })]))).toBe("--output-dir /o (it copies overlay writes)");
  });

  /** Whether `rules` refuse `syscall` with these 64-bit register values (as seccomp compares them). */
  const refuses = (rules: readonly SeccompRule[], syscall: string, args: readonly bigint[]): boolean =>
    rules.some((r) => r.syscall === syscall && (r.when ?? []).every((c) => {
      const v = args[c.arg] ?? 0n;
      return c.op === "masked-eq" ? (v & c.mask!) === c.value : c.op === "eq" ? v === c.value : v !== c.value;
    }));
  const HIGH = 1n << 32n;

  test("--unshare-net: TCP handled with no port allowed, abstract sockets scoped, no IP, packet or remote-host socket, no io_uring", () => {
    const lp = translate([], { unshareNet: true });
    expect([lp.handledNet, lp.proxied]).toEqual([LANDLOCK_ACCESS_NET.BIND_TCP | LANDLOCK_ACCESS_NET.CONNECT_TCP, false]);
    expect(lp.scoped).toBe(LANDLOCK_SCOPE.ABSTRACT_UNIX_SOCKET);
    for (const family of [2n, 10n, 17n, 40n, 43n, 21n, 30n, 44n]) {
      for (const f of [family, family | HIGH]) expect({ f, refused: refuses(lp.rules, "socket", [f, 1n, 0n]) }).toEqual({ f, refused: true });
    }
    for (const family of [1n, 16n]) expect({ family, refused: refuses(lp.rules, "socket", [family, 1n, 0n]) }).toEqual({ family, refused: false });
    expect(refuses(lp.rules, "io_uring_setup", [])).toBe(true);
  });

  test("--allow-host: TCP stream sockets only (any flags, protocol 0 or 6), compared on the kernel's 32 bits; TCP Fast Open refused", () => {
    const lp = translate([], { unshareNet: true, allowHosts: ["example.com"] });
    expect([lp.handledNet, lp.proxied, lp.needs.at(-1)?.by]).toEqual([LANDLOCK_ACCESS_NET.BIND_TCP | LANDLOCK_ACCESS_NET.CONNECT_TCP, true, "--allow-host"]);
    const SOCK_NONBLOCK = 0o4000n;
    const SOCK_CLOEXEC = 0o2000000n;
    for (const family of [2n, 10n, 2n | HIGH]) {
      for (const type of [1n, 1n | SOCK_NONBLOCK | SOCK_CLOEXEC]) {
        for (const protocol of [0n, 6n, 6n | HIGH]) expect({ family, type, protocol, refused: refuses(lp.rules, "socket", [family, type, protocol]) }).toEqual({ family, type, protocol, refused: false });
      }
      for (const type of [0n, 2n, 3n, 4n, 5n, 6n, 10n, 15n, 2n | SOCK_CLOEXEC]) expect({ family, type, refused: refuses(lp.rules, "socket", [family, type, 0n]) }).toEqual({ family, type, refused: true });
      for (let protocol = 1n; protocol < 300n; protocol++) {
        if (protocol !== 6n) expect({ family, protocol, refused: refuses(lp.rules, "socket", [family, 1n, protocol]) }).toEqual({ family, protocol, refused: true });
      }
      for (const protocol of [0x80000000n, 0xffffffffn, 6n | 0x10000n]) expect({ family, protocol, refused: refuses(lp.rules, "socket", [family, 1n, protocol]) }).toEqual({ family, protocol, refused: true });
    }
    expect(refuses(lp.rules, "socket", [17n, 3n, 0n])).toBe(true);
    expect(refuses(lp.rules, "socket", [1n, 2n, 0n])).toBe(false);
    const FASTOPEN = BigInt(MSG_FASTOPEN);
    expect([refuses(lp.rules, "sendto", [3n, 0n, 1n, FASTOPEN]), refuses(lp.rules, "sendmsg", [3n, 0n, FASTOPEN | 0x4000n]), refuses(lp.rules, "sendmmsg", [3n, 0n, 1n, FASTOPEN])]).toEqual([true, true, true]);
    expect([refuses(lp.rules, "sendto", [3n, 0n, 1n, 0x4000n]), refuses(lp.rules, "sendmsg", [3n, 0n, 0n])]).toEqual([false, false]);
  });

  test("--unshare-ipc: abstract sockets scoped, SysV IPC and message queues refused", () => {
    const lp = translate([], { unshareIpc: true });
    expect(lp.scoped).toBe(LANDLOCK_SCOPE.ABSTRACT_UNIX_SOCKET);
    expect(lp.rules.map((r) => r.syscall)).toEqual([...IPC_SYSCALLS]);
    expect(lp.needs.map((n) => n.by)).toEqual(["--confinement landlock", "--unshare-ipc"]);
  });
});

describe("spreadRules", () => {
  const tree: Record<string, string[]> = { "/": ["usr", "etc", "tmp", "var", "home"], "/var": ["lib", "tmp"], "/home": ["u", "v"] };
  const list = (d: string) => tree[d] ?? null;
  const rules = (places: Place[]) => spreadRules(places, list).map((r) => [r.path, r.rights]);

  test("one place: one rule; a place holding more than its parent adds the difference", () => {
    expect(rules([{ path: "/", rights: READ }])).toEqual([["/", READ]]);
    expect(rules([{ path: "/", rights: READ }, { path: "/home/u", rights: ALL }])).toEqual([["/", READ], ["/home/u", ALL & ~READ]]);
  });

  test("a hidden place: its parent's rights go to every other entry, the parent itself gets none", () => {
    expect(rules([{ path: "/", rights: READ }, { path: "/tmp", rights: 0n }])).toEqual([["/usr", READ], ["/etc", READ], ["/var", READ], ["/home", READ]]);
    expect(rules([{ path: "/", rights: READ }, { path: "/var/tmp", rights: 0n }])).toEqual([["/usr", READ], ["/etc", READ], ["/tmp", READ], ["/var/lib", READ], ["/home", READ]]);
  });

  test("a read-only place under a writable one: the parent keeps the common rights, the others get the rest", () => {
    expect(rules([{ path: "/", rights: ALL }, { path: "/usr", rights: READ }])).toEqual([["/", READ], ["/etc", ALL & ~READ], ["/tmp", ALL & ~READ], ["/var", ALL & ~READ], ["/home", ALL & ~READ]]);
  });

  test("a later place replaces what earlier ones gave beneath it; nothing for /: nothing outside the places", () => {
    expect(rules([{ path: "/home/u", rights: ALL }, { path: "/home", rights: READ }])).toEqual([["/home", READ]]);
    expect(rules([{ path: "/usr", rights: READ }, { path: "/home/u", rights: ALL }])).toEqual([["/usr", READ], ["/home/u", ALL]]);
  });

  test("a writable place inside a hidden one inside a read one (TMPDIR in a hidden /tmp)", () => {
    const r = rules([{ path: "/", rights: READ }, { path: "/tmp", rights: 0n }, { path: "/tmp/sandbox-1", rights: ALL }]);
    expect(r).toEqual([["/usr", READ], ["/etc", READ], ["/tmp/sandbox-1", ALL], ["/var", READ], ["/home", READ]]);
  });

  test("entries found by listing are marked, so the stage opens them without following a link", () => {
    const r = spreadRules([{ path: "/", rights: READ }, { path: "/tmp", rights: 0n }, { path: "/tmp/s", rights: ALL }], list);
    expect(r.map((x) => [x.path, x.listed])).toEqual([["/usr", true], ["/etc", true], ["/tmp/s", false], ["/var", true], ["/home", true]]);
  });
});

describe("landlockShortfall", () => {
  const needs = (patch: Partial<Plan>) => translate([], patch).needs;
  test("every plan needs ABI 3 (truncate); below it each lack is named with who needs it", () => {
    expect(landlockShortfall(needs({}), { abi: 7, reason: null })).toEqual([]);
    expect(landlockShortfall(needs({}), { abi: 2, reason: null })).toEqual([
      "--confinement landlock: truncation control (TRUNCATE) needs Landlock ABI 3 (Linux 6.2); this kernel has ABI 2",
    ]);
    expect(landlockShortfall(needs({}), { abi: 1, reason: null })).toHaveLength(2);
  });

  test("without Landlock one line says why", () => {
    expect(landlockShortfall(needs({}), { abi: 0, reason: "disabled at boot" })).toEqual(["Landlock is unavailable: disabled at boot"]);
  });

  test("--unshare-net needs TCP rules (ABI 4) and socket scoping (ABI 6); --unshare-ipc scoping", () => {
    expect(landlockShortfall(needs({ unshareNet: true }), { abi: 3, reason: null })).toEqual([
      "--unshare-net: TCP bind control (BIND_TCP) needs Landlock ABI 4 (Linux 6.7); this kernel has ABI 3",
      "--unshare-net: TCP connect control (CONNECT_TCP) needs Landlock ABI 4 (Linux 6.7); this kernel has ABI 3",
      "--unshare-net: abstract unix socket scoping needs Landlock ABI 6 (Linux 6.12); this kernel has ABI 3",
    ]);
    expect(landlockShortfall(needs({ unshareIpc: true }), { abi: 5, reason: null })).toEqual([
      "--unshare-ipc: abstract unix socket scoping needs Landlock ABI 6 (Linux 6.12); this kernel has ABI 5",
    ]);
    expect(landlockShortfall(needs({ unshareNet: true, unshareIpc: true }), { abi: 6, reason: null })).toEqual([]);
    expect(landlockShortfall(needs({ unshareNet: true, allowHosts: ["example.com"] }), { abi: 4, reason: null })).toEqual([
      "--allow-host: abstract unix socket scoping needs Landlock ABI 6 (Linux 6.12); this kernel has ABI 4",
    ]);
  });
});

test("docs/landlock.md's translation table is the code's, row by row", () => {
  const doc = readFileSync(new URL("../../docs/landlock.md", import.meta.url), "utf8");
  const rows = LANDLOCK_TABLE.map(([plan, landlock]) => `| ${plan} | ${landlock} |`);
  const at = doc.indexOf("| plan | under landlock |\n|---|---|\n");
  expect(at).toBeGreaterThan(0);
  const table = doc.slice(at).split("\n").slice(2).filter((l, i, all) => all.slice(0, i + 1).every((x) => x.startsWith("|")));
  expect(table).toEqual(rows);
});
