// Library benchmark, side by side in one process: N sandboxed `true` runs with a read-only root
// through the library (warm stage server), against Bun.spawn(["bwrap", "--ro-bind", "/", "/",
// "true"]) and plain Bun.spawn(["true"]); sealed (the default), hardened, unsealed and landlock;
// sequentially and with C at a time. Prints per-run medians, throughput and the ratio to bwrap.
//   bun scripts/bench-library.ts [--runs 300] [--concurrency 8] [--cold]
import { sandbox } from "../src/api/index.ts";
import { opt, flag } from "./args.ts";

const runs = Number(opt("--runs", "300"));
const concurrency = Number(opt("--concurrency", "8"));
const cold = flag("--cold");

const box = sandbox({ warm: !cold }).roBind("/", "/");
const stage = cold ? "cold stage" : "warm stage";
// Sealed is the default; unsealed plans go to a forked stage (a worker always seals).
// Landlock sandboxes are always forked, like unsealed ones; with a hidden /tmp the stage also
// waits for the command to remove its private TMPDIR.
const landlock = sandbox({ warm: !cold, confinement: "landlock" }).roBind("/", "/");
const variants: [string, typeof box][] = [
  ["sealed", box], ["hardened", box.harden()], ["unsealed", box.unsealed()],
  ["landlock", landlock], ["landlock + tmpfs /tmp", landlock.tmpfs("/tmp")],
  // A watched limit: forked, plus the watcher's fork and samples.
  ["limits({ memory: 1 GiB })", box.limits({ memory: 2 ** 30 })],
];

type Runner = () => Promise<number>;
const runners: [string, Runner][] = [
  ...variants.map(([name, b]): [string, Runner] => [`library ${name} (${stage})`, () => b.spawn(["true"], { stdout: "inherit" }).exited]),
  ["Bun.spawn bwrap", () => Bun.spawn(["bwrap", "--ro-bind", "/", "/", "true"], { stdout: "inherit" }).exited],
  ["Bun.spawn true", () => Bun.spawn(["true"], { stdout: "inherit" }).exited],
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function sequential(run: Runner): Promise<{ median: number; total: number }> {
  const times: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const code = await run();
    if (code !== 0) throw new Error(`exit ${code}`);
    times.push(performance.now() - t);
  }
  return { median: median(times), total: performance.now() - t0 };
}

async function parallel(run: Runner): Promise<{ median: number; total: number }> {
  const times: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < runs) {
        next++;
        const t = performance.now();
        const code = await run();
        if (code !== 0) throw new Error(`exit ${code}`);
        times.push(performance.now() - t);
      }
    }),
  );
  return { median: median(times), total: performance.now() - t0 };
}

// Warm up every runner; the first library spawn starts the stage server, which then warms its
// JIT for ~150 ms while idle. Measure the steady state a long build sees.
for (const [, run] of runners) for (let i = 0; i < 10; i++) await run();
await Bun.sleep(1000);
for (const [, run] of runners) for (let i = 0; i < 10; i++) await run();

console.log(`${runs} runs of \`true\` with a read-only root (--ro-bind / /), uid ${process.getuid?.()}`);
console.log("| mode | runner | median ms per run | runs/s | ratio to bwrap (per-run median) |");
console.log("|---|---|---:|---:|---:|");
for (const [mode, fn] of [["sequential", sequential], [`${concurrency} at a time`, parallel]] as const) {
  const results = new Map<string, { median: number; total: number }>();
  // Interleave rounds so drift on the machine hits every runner alike.
  for (const [name, run] of runners) results.set(name, await fn(run));
  const bw = results.get("Bun.spawn bwrap")!;
  for (const [name, r] of results) {
    console.log(`| ${mode} | ${name} | ${r.median.toFixed(2)} | ${((runs / r.total) * 1000).toFixed(0)} | ${(r.median / bw.median).toFixed(2)} |`);
  }
}
sandbox.shutdown();
