// Start-up benchmark of the `sandbox` CLI against bubblewrap, side by side in one run: each
// round runs every command once, in turn, so drift hits all of them alike. Prints medians,
// p90, the ratio to bwrap on the same line and the peak RSS of one run (GNU time, package `time`).
// Each case runs with the default seal, the other seal setting, --harden, and confined by
// Landlock instead of namespaces (--confinement landlock), with auto (namespaces, after a probe),
// and with a watched limit (--memlimit: the CLI forks a watcher and waits). Each case also runs
// a bare Bun start the way the CLI's bin starts Bun (bun empty.cjs, single-threaded, isolated)
// in the same rounds: the "ratio to bun" column.
//   bun scripts/bench-startup.ts [--runs N] [--user NAME]
// As root it measures as root, then again as the unprivileged user (default: sbtest).
import { spawnSync } from "bun";
import { opt } from "./args.ts";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const bin = `${root}/bin/sandbox.cjs`;
const bunDir = `${root}/node_modules/.bin`;
const runs = Number(opt("--runs", "200"));
const user = opt("--user", "sbtest");
const section = opt("--section", "");

interface Cmd {
  label: string;
  argv: string[];
}

const CASES: { name: string; args: string[] }[] = [
  { name: "--ro-bind / / true", args: ["--ro-bind", "/", "/", "true"] },
  { name: "--ro-bind / / --proc /proc --dev /dev true", args: ["--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "true"] },
];

const env = { ...process.env, PATH: `${bunDir}:${process.env.PATH}` };
const singleThread = {
  BUN_JSC_useConcurrentJIT: "0", BUN_JSC_useConcurrentGC: "0", BUN_JSC_numberOfGCMarkers: "1",
  MIMALLOC_PURGE_DELAY: "-1", BUN_JSC_useWarmUpMarkedBlocks: "0",
};

/** Peak RSS in KiB of one run, from GNU time (spawn's own rusage counts our memory too). */
function peakRss(c: Cmd): number | null {
  const r = spawnSync(["/usr/bin/time", "-f", "%M", ...c.argv], { env: envFor(c), stdout: "ignore", stderr: "pipe" });
  const last = r.stderr.toString().trim().split("\n").pop() ?? "";
  return r.exitCode === 0 && /^\d+$/.test(last) ? Number(last) : null;
}

const envFor = (c: Cmd) => ({ ...env, ...(c.label.startsWith("bun ") ? singleThread : {}) });

function measure(cmds: Cmd[]): Map<string, { times: number[]; rss: number | null }> {
  const out = new Map(cmds.map((c) => [c.label, { times: [] as number[], rss: peakRss(c) }]));
  for (const c of cmds) {
    // warm-up, and a check that the command works at all
    const r = spawnSync(c.argv, { env: envFor(c), stdout: "ignore", stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`${c.label} failed (${r.exitCode}): ${r.stderr.toString().trim()}`);
  }
  for (let i = 0; i < runs; i++) {
    for (const c of cmds) {
      const t0 = performance.now();
      spawnSync(c.argv, { env: envFor(c), stdout: "ignore", stderr: "ignore" });
      out.get(c.label)!.times.push(performance.now() - t0);
    }
  }
  return out;
}

const mib = (kib: number | null) => (kib === null ? "n/a" : (kib / 1024).toFixed(1));

const q = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
};

/** A bare Bun start as the CLI's bin makes it (single-threaded, isolated) of an empty file. */
const EMPTY = `/tmp/bsb-bench-empty-${process.pid}.cjs`;
await Bun.write(EMPTY, "");
process.on("exit", () => spawnSync(["rm", "-f", EMPTY]));
const BARE: Cmd = { label: "bun empty.cjs", argv: [`${bunDir}/bun`, "--no-env-file", "--config=/dev/null", EMPTY] };

function report(who: string): void {
  const baseline: Cmd[] = [
    { label: "/bin/true", argv: ["/bin/true"] },
    { label: "bun -e 0", argv: [`${bunDir}/bun`, "-e", "0"] },
  ];
  console.log(`\n## as ${who} (uid ${process.getuid?.()}), ${runs} runs each, interleaved\n`);
  console.log("| command | tool | median ms | p90 ms | ratio to bwrap | ratio to bun | peak RSS MiB |");
  console.log("|---|---|---:|---:|---:|---:|---:|");
  for (const c of CASES) {
    // The default (sealed unprivileged, unsealed as real root), the other seal setting, --harden.
    const other = process.getuid?.() === 0 ? "--seal" : "--no-seal";
    const cmds: Cmd[] = [
      { label: "sandbox", argv: [bin, ...c.args] },
      { label: `sandbox ${other}`, argv: [bin, other, ...c.args] },
      { label: "sandbox --harden", argv: [bin, "--harden", ...c.args] },
      { label: "sandbox --confinement landlock", argv: [bin, "--confinement", "landlock", ...c.args] },
      { label: "sandbox --confinement auto", argv: [bin, "--confinement", "auto", ...c.args] },
      { label: "sandbox --memlimit 1g", argv: [bin, "--memlimit", "1g", ...c.args] },
      { label: "bwrap", argv: ["bwrap", ...c.args] },
      BARE,
    ];
    const res = measure(cmds);
    const bw = q(res.get("bwrap")!.times, 0.5);
    const bare = q(res.get(BARE.label)!.times, 0.5);
    for (const cmd of cmds) {
      const r = res.get(cmd.label)!;
      const med = q(r.times, 0.5);
      console.log(`| \`${c.name}\` | ${cmd.label} | ${med.toFixed(2)} | ${q(r.times, 0.9).toFixed(2)} | ${(med / bw).toFixed(2)} | ${(med / bare).toFixed(2)} | ${mib(r.rss)} |`);
    }
  }
  const base = measure(baseline);
  for (const [label, r] of base) {
    console.log(`| (floor) | ${label} | ${q(r.times, 0.5).toFixed(2)} | ${q(r.times, 0.9).toFixed(2)} | | | ${mib(r.rss)} |`);
  }
}

report(process.getuid?.() === 0 ? "root" : "user");
if (section === "" && process.getuid?.() === 0) {
  const r = spawnSync(["id", "-u", user]);
  if (r.exitCode === 0) {
    const uid = r.stdout.toString().trim();
    const gid = spawnSync(["id", "-g", user]).stdout.toString().trim();
    const again = spawnSync(["setpriv", `--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", "--", `${bunDir}/bun`, `${root}/scripts/bench-startup.ts`, "--runs", String(runs), "--section", "user"], {
      env, stdout: "inherit", stderr: "inherit",
    });
    if (again.exitCode !== 0) process.exit(again.exitCode ?? 1);
  } else {
    console.log(`\n(no user ${user}: unprivileged section skipped)`);
  }
}
