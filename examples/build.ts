// A small build pipeline the way a Bun build tool would use bun-sandbox: every step runs in a
// sandbox with a read-only view of the machine, a writable output directory, a private /tmp
// and no network. A failing step stops the build with the step's name and output.
//
//   bun examples/build.ts [PROJECT_DIR] [OUT_DIR]
import { mkdirSync, mkdtempSync, realpathSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { sandbox, SandboxError } from "../src/api/index.ts";

const project = resolve(process.argv[2] ?? new URL("./project", import.meta.url).pathname);
const out = resolve(process.argv[3] ?? mkdtempSync("/tmp/bun-sandbox-example-"));
mkdirSync(out, { recursive: true });
const bun = realpathSync(process.execPath);

// One description shared by every step; each step extends it without changing it.
const base = sandbox()
  .roBind("/", "/")
  .dev("/dev")
  .proc("/proc")
  .tmpfs("/tmp")
  .unshareNet()
  .unsharePid()
  .dieWithParent()
  .setenv("HOME", "/tmp")
  .setenv("NO_COLOR", "1")
  // The read-only root has no place for new mount points; the private /tmp has.
  .roBind(project, "/tmp/src")
  // Bun itself may live under the host's /tmp, which the private /tmp hides.
  .roBind(dirname(bun), dirname(bun))
  .bind(out, "/tmp/out")
  .chdir("/tmp/src");

interface Step {
  name: string;
  cmd: string[];
  /** Optional check of the step's standard output. */
  expect?: (stdout: string) => boolean;
}

const steps: Step[] = [
  { name: "compile", cmd: [bun, "build", "/tmp/src/src/main.ts", "--target=bun", "--outdir=/tmp/out/dist"] },
  { name: "unit tests", cmd: [bun, "test", "/tmp/src/test"] },
  { name: "smoke run", cmd: [bun, "/tmp/out/dist/main.js", "1", "2", "3", "6"], expect: (s) => s.includes("mean of 1, 2, 3, 6 is 3") },
  {
    name: "no network in the sandbox",
    cmd: ["sh", "-c", "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '"],
    expect: (s) => s.trim() === "lo",
  },
  { name: "package", cmd: ["tar", "-C", "/tmp/out/dist", "-czf", "/tmp/out/app.tgz", "."] },
];

const started = performance.now();
for (const step of steps) {
  const t0 = performance.now();
  const r = base.spawnSync(step.cmd);
  const stdout = r.stdout?.toString() ?? "";
  const stderr = r.stderr?.toString() ?? "";
  const ok = r.error === undefined && r.exitCode === 0 && (step.expect?.(stdout) ?? true);
  if (!ok) {
    const why = r.error instanceof SandboxError ? r.error.message : r.signalCode ? `killed by ${r.signalCode}` : `exit ${r.exitCode}`;
    console.error(`step "${step.name}" failed (${why})`);
    if (stdout) console.error(`--- stdout\n${stdout.trimEnd()}`);
    if (stderr) console.error(`--- stderr\n${stderr.trimEnd()}`);
    process.exit(1);
  }
  console.log(`ok   ${step.name} (${(performance.now() - t0).toFixed(0)} ms)`);
}
console.log(`built ${project} into ${out} in ${(performance.now() - started).toFixed(0)} ms`);
