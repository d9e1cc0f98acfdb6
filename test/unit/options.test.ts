// Every option of the CLI's table (src/cli/options.ts) against what is derived from it and what
// describes it: it parses into the plan fields the table names, toArgs() gives it back where the
// library can say it, --help and the README's option table list it, and its library method exists.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { Sandbox, sandbox } from "../../src/api/index.ts";
import { OPTIONS, type OptionSpec } from "../../src/cli/options.ts";
import { parseArgs, UsageError, type ParseInput, type ParseResult } from "../../src/cli/args.ts";
import { helpText } from "../../src/cli/help.ts";
import { defaultDirMode } from "../../src/plan/paths.ts";
import type { Plan } from "../../src/plan/types.ts";

const ENV = { PATH: "/usr/bin:/bin", HOME: "/home/u" };
const INPUT: Omit<ParseInput, "argv"> = { env: ENV, cwd: "/home/u/src", tty: null, fds: [3], readFd: () => new TextEncoder().encode("hi") };
const parse = (argv: string[]): ParseResult => parseArgs({ ...INPUT, argv });

function planOf(argv: string[]): Plan {
  const r = parse(argv);
  if (r.kind !== "run") throw new Error(`${JSON.stringify(argv)} parsed as ${r.kind}`);
  return r.plan;
}

// The arguments that show each option (with what it needs around it).
const EXAMPLES: Record<string, string[]> = {
  "--help": ["--help"], "--version": ["--version"], "--doctor": ["--doctor", "--json"],
  "--tmpfs": ["--tmpfs", "/t"], "--dev": ["--dev", "/dev"], "--proc": ["--proc", "/proc"], "--dir": ["--dir", "d"],
  "--bind": ["--bind", "/a", "/b"], "--bind-try": ["--bind-try", "/a", "/b"], "--ro-bind": ["--ro-bind", "/a", "/b"],
  "--ro-bind-try": ["--ro-bind-try", "/a", "/b"], "--bind-nofollow": ["--bind-nofollow", "/a", "/b"], "--ro-bind-nofollow": ["--ro-bind-nofollow", "/a", "/b"],
  "--symlink": ["--symlink", "x", "/l"], "--write": ["--write", "data", "/f"],
  "--overlay-lowerdir": ["--overlay-lowerdir", "/l1", "--overlay-lowerdir", "/l2", "--overlay", "/o"],
  "--overlay-upperdir": ["--overlay-lowerdir", "/l", "--overlay-upperdir", "tmpfs", "--overlay", "/o"],
  "--overlay-workdir": ["--overlay-lowerdir", "/l", "--overlay-upperdir", "/u", "--overlay-workdir", "/w", "--overlay", "/o"],
  "--overlay": ["--overlay-lowerdir", "/l1", "--overlay-lowerdir", "/l2", "--overlay", "/o"],
  "--unsetenv": ["--unsetenv", "HOME"], "--setenv": ["--setenv", "N", "v"], "--chdir": ["--chdir", "/c"], "--same-dir": ["--same-dir"],
  "--become-root": ["--become-root"], "--map-subids": ["--map-subids"], "--suppress-chown": ["--suppress-chown"], "--suppress-sync": ["--suppress-sync"],
  "--unshare-net": ["--unshare-net"], "--unshare-ipc": ["--unshare-ipc"], "--new-session-keyring": ["--new-session-keyring"],
  "--pack-fds": ["--pack-fds"], "--suspend": ["--suspend"], "--debug": ["--debug"], "--confinement": ["--confinement", "landlock"],
  "--allow-host": ["--allow-host", "example.com"], "--memlimit": ["--memlimit", "1m"], "--timelimit": ["--timelimit", "2"],
  "--walltimelimit": ["--walltimelimit", "3"], "--pidlimit": ["--pidlimit", "9"], "--rlimit": ["--rlimit", "nofile=16"],
  "--seal": ["--seal"], "--no-seal": ["--no-seal"], "--harden": ["--harden"], "--disable-userns": ["--disable-userns"],
  "--cap-add": ["--cap-add", "net_raw"], "--cap-drop": ["--cap-drop", "ALL"],
  "--enter": ["--enter", "1"], "--namespaces": ["--enter", "1", "--namespaces", "net"],
  "--perms": ["--perms", "0700", "--dir", "/d"], "--size": ["--size", "1k", "--tmpfs", "/t"],
  "--remount-ro": ["--remount-ro", "/r"], "--remount": ["--remount", "ro,nosuid", "/r"], "--mqueue": ["--unshare-ipc", "--mqueue", "/m"],
  "--copy-symlink": ["--copy-symlink", "/h", "/l"], "--bind-data": ["--bind-data", "3", "/f"], "--ro-bind-data": ["--ro-bind-data", "3", "/f"],
  "--chmod": ["--chmod", "0755", "/p"], "--hidden-dir": ["--hidden-dir", "/h"], "--read-only-dir": ["--read-only-dir", "/r"],
  "--overlay-dir": ["--overlay-dir", "/"], "--full-access-dir": ["--full-access-dir", "/w"],
  "--hidden-dir-try": ["--hidden-dir-try", "/h"], "--read-only-dir-try": ["--read-only-dir-try", "/r"],
  "--overlay-dir-try": ["--overlay-dir-try", "/"], "--full-access-dir-try": ["--full-access-dir-try", "/w"],
  "--tmpfs-size": ["--overlay-dir", "/", "--tmpfs-size", "1g"], "--tmpfs-numa": ["--overlay-dir", "/", "--tmpfs-numa", "0"],
  "--output-dir": ["--overlay-dir", "/", "--output-dir", "out"],
};

// The library's way to say each option, for toArgs() to give back.
const LIBRARY: Record<string, (b: Sandbox) => Sandbox> = {
  "--tmpfs": (b) => b.tmpfs("/t"), "--dev": (b) => b.dev("/dev"), "--proc": (b) => b.proc("/proc"), "--dir": (b) => b.dir("/d"),
  "--bind": (b) => b.bind("/a", "/b"), "--bind-try": (b) => b.bindTry("/a", "/b"), "--ro-bind": (b) => b.roBind("/a", "/b"),
  "--ro-bind-try": (b) => b.roBindTry("/a", "/b"), "--bind-nofollow": (b) => b.bindNofollow("/a", "/b"), "--ro-bind-nofollow": (b) => b.roBindNofollow("/a", "/b"),
  "--symlink": (b) => b.symlink("x", "/l"), "--write": (b) => b.write("data", "/f"),
  "--overlay-lowerdir": (b) => b.overlayReadonly(["/l1", "/l2"], "/o"), "--overlay-upperdir": (b) => b.overlayEphemeral(["/l"], "/o"),
  "--overlay-workdir": (b) => b.overlayPersistent(["/l"], "/u", "/w", "/o"), "--overlay": (b) => b.overlayReadonly(["/l1", "/l2"], "/o"),
  "--unsetenv": (b) => b.unsetenv("HOME"), "--setenv": (b) => b.setenv("N", "v"), "--chdir": (b) => b.chdir("/c"),
  "--become-root": (b) => b.becomeRoot(), "--map-subids": (b) => b.mapSubids(), "--suppress-chown": (b) => b.suppressChown(),
  "--suppress-sync": (b) => b.suppressSync(), "--unshare-net": (b) => b.unshareNet(), "--unshare-ipc": (b) => b.unshareIpc(),
  "--new-session-keyring": (b) => b.newSessionKeyring(), "--pack-fds": (b) => b.packFds(), "--debug": (b) => b.debug(),
  "--allow-host": (b) => b.allowHosts("example.com"), "--memlimit": (b) => b.limits({ memory: 1 << 20 }), "--timelimit": (b) => b.limits({ cpuTime: 2000 }),
  "--walltimelimit": (b) => b.limits({ wallTime: 3000 }), "--pidlimit": (b) => b.limits({ pids: 9 }), "--rlimit": (b) => b.limits({ openFiles: 16 }),
  "--seal": (b) => b, "--no-seal": (b) => b.unsealed(), "--harden": (b) => b.harden(), "--disable-userns": (b) => b.disableUserns(),
  "--cap-add": (b) => b.capAdd("net_raw"), "--cap-drop": (b) => b.capDrop("ALL"),
  "--perms": (b) => b.dir("/d", { mode: 0o700 }), "--size": (b) => b.tmpfs("/t", { size: 1024 }),
  "--remount-ro": (b) => b.remountRo("/r"), "--remount": (b) => b.remount("/r", "ro,nosuid"), "--mqueue": (b) => b.unshareIpc().mqueue("/m"),
  "--copy-symlink": (b) => b.symlink("/h", "/l", { dereference: true }), "--chmod": (b) => b.chmod("/p", 0o755),
  "--hidden-dir": (b) => b.dirMode("/h", "hidden"), "--read-only-dir": (b) => b.dirMode("/r", "read-only"),
  "--overlay-dir": (b) => b.dirMode("/", "overlay"), "--full-access-dir": (b) => b.dirMode("/w", "full-access"),
  "--hidden-dir-try": (b) => b.dirMode("/h", "hidden", { optional: true }), "--read-only-dir-try": (b) => b.dirMode("/r", "read-only", { optional: true }),
  "--overlay-dir-try": (b) => b.dirMode("/", "overlay", { optional: true }), "--full-access-dir-try": (b) => b.dirMode("/w", "full-access", { optional: true }),
  "--tmpfs-size": (b) => b.dirMode("/", "overlay").tmpfsSize("1g"), "--tmpfs-numa": (b) => b.dirMode("/", "overlay").tmpfsNuma("0"),
  "--output-dir": (b) => b.dirMode("/", "overlay").outputDir("/out"),
};

// Options with a library method that toArgs() does not give, and why.
const NOT_FROM_TOARGS: Record<string, string> = {
  "--same-dir": "chdir() becomes --chdir DIR",
  "--bind-data": "the bytes come from an fd on the command line",
  "--ro-bind-data": "the bytes come from an fd on the command line",
};

/** The plan fields option `o` may set: its own and those of the options its example needs. */
const fieldsOf = (o: OptionSpec): (keyof Plan)[] => (o.flag ? [o.flag] : [...(o.fields ?? [])]);

/** The first column of the README's table of options (under "The `sandbox` command"). */
function readmeOptionCells(): string[] {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const section = readme.slice(readme.indexOf("## The `sandbox` command"));
  const lines = section.slice(section.indexOf("\n| option |") + 1).split("\n");
  const rows = lines.slice(2, lines.findIndex((l) => !l.startsWith("|")));
  return rows.map((r) => r.split(" | ")[0]!);
}

const names = OPTIONS.map((o) => o.name);
const base = planOf(["true"]);

describe("the table of options", () => {
  test("names are unique and every option has an example here", () => {
    expect(new Set(names).size).toBe(names.length);
    expect(Object.keys(EXAMPLES).sort()).toEqual([...names].sort());
  });

  test("every option that builds a sandbox names the plan fields it sets", () => {
    for (const o of OPTIONS) if (o.run || o.flag) expect({ option: o.name, fields: fieldsOf(o).length > 0 }).toEqual({ option: o.name, fields: true });
  });

  for (const o of OPTIONS) {
    test(`${o.name} parses`, () => {
      const argv = EXAMPLES[o.name]!;
      if (o.info) return expect(parse(argv).kind).toBe(o.name.slice(2) as ParseResult["kind"]);
      if (!o.run && !o.flag) return expect(parse([...argv, "true"]).kind).toBe("enter");
      const plan = planOf([...argv, "true"]);
      const allowed = new Set(argv.flatMap((a) => OPTIONS.filter((x) => x.name === a).flatMap(fieldsOf)));
      const changed = (Object.keys(base) as (keyof Plan)[]).filter((k) => !Bun.deepEquals(plan[k], base[k]));
      expect({ option: o.name, changed: changed.filter((k) => !allowed.has(k)) }).toEqual({ option: o.name, changed: [] });
      for (const f of fieldsOf(o)) expect({ option: o.name, changes: f, did: changed.includes(f) }).toEqual({ option: o.name, changes: f, did: true });
    });
  }

  test("--enter takes only --chdir, --setenv, --unsetenv, --namespaces and --help, --version", () => {
    expect(OPTIONS.filter((o) => o.enter).map((o) => o.name).sort()).toEqual(["--chdir", "--enter", "--help", "--namespaces", "--setenv", "--unsetenv", "--version"]);
    for (const o of OPTIONS.filter((x) => !x.enter)) {
      expect(() => parse(["--enter", "1", o.name, "x", "y", "true"])).toThrow(new UsageError(`${o.name} cannot be used with --enter (the target's namespaces and root are used as they are)`));
    }
  });

  test("toArgs() gives each option the library can say, and the CLI parses it back into the library's plan", () => {
    const withMethod = OPTIONS.filter((o) => o.method !== null).map((o) => o.name);
    expect(withMethod.filter((n) => !(n in LIBRARY) && !(n in NOT_FROM_TOARGS))).toEqual([]);
    for (const [name, add] of Object.entries(LIBRARY)) {
      const box = add(sandbox());
      const args = box.toArgs(["true"]);
      expect({ name, has: args.includes(name) }).toEqual({ name, has: true });
      const back = parseArgs({ ...INPUT, fds: [], argv: args });
      const want = box.toPlan(["true"], { env: ENV });
      // the CLI leaves a default mode out
      want.ops = want.ops.map((op) => ((op.kind === "dir" || op.kind === "tmpfs") && op.mode === defaultDirMode(op.dst) ? { ...op, mode: undefined } : op));
      expect({ name, plan: back.kind === "run" ? back.plan : back }).toEqual({ name, plan: want });
    }
  });

  test("--help lists each option with its arguments", () => {
    const help = helpText();
    for (const o of OPTIONS) expect({ option: o.name, listed: help.includes(` ${[o.name, ...o.args].join(" ")}`) }).toEqual({ option: o.name, listed: true });
  });

  test("the README's table of options has each option", () => {
    const cells = readmeOptionCells().join(" ");
    for (const o of OPTIONS) expect({ option: o.name, listed: new RegExp(`\`${o.name}[ \`]`).test(cells) }).toEqual({ option: o.name, listed: true });
  });

  test("each library method named is one of the builder's", () => {
    for (const o of OPTIONS) {
      if (o.method === null) continue;
      expect({ option: o.name, method: o.method, type: typeof Sandbox.prototype[o.method] }).toEqual({ option: o.name, method: o.method, type: "function" });
    }
  });
});
