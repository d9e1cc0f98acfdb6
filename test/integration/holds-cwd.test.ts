// Nothing from the current directory: Bun reads bunfig.toml (whose preload runs code before the
// program) and .env files from the directory it starts in. The CLI, its re-exec and the library's
// stage server must ignore them, so that running `sandbox` in an untrusted checkout runs nothing
// of it on the host and adds nothing to the command's environment. As root and as the test user.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { BIN, BUN, ROOT, run, tempDir, WHO, type TempDir } from "../support/run.ts";

let dir: TempDir;

// A hostile directory: a preload that leaves a marker, and every .env file Bun loads by default.
beforeAll(() => {
  dir = tempDir("root", "bsb-cwd-");
  writeFileSync(`${dir.path}/bunfig.toml`, 'preload = ["./pre.js"]\n[run]\nbun = true\n');
  writeFileSync(`${dir.path}/pre.js`, `require("fs").writeFileSync(require("path").join(${JSON.stringify(dir.path)}, "preload-ran-" + process.pid), "");\n`);
  writeFileSync(`${dir.path}/.env`, "FROM_DOTENV=1\nBUN_SANDBOX_TRACE=1\n");
  writeFileSync(`${dir.path}/.env.local`, "FROM_DOTENV_LOCAL=1\n");
  writeFileSync(`${dir.path}/.env.test`, "FROM_DOTENV_TEST=1\n");
  writeFileSync(`${dir.path}/.env.production`, "FROM_DOTENV_PRODUCTION=1\n");
  // Root and the test user both run here: either may leave a marker.
  chmodSync(dir.path, 0o777);
});

afterAll(() => dir.cleanup());

const markers = () => readdirSync(dir.path).filter((f) => f.startsWith("preload-ran-"));
const SHOW = 'echo "vars=${FROM_DOTENV-}${FROM_DOTENV_LOCAL-}${FROM_DOTENV_TEST-}${FROM_DOTENV_PRODUCTION-} trace=${BUN_SANDBOX_TRACE-unset}"';
// bun test sets NODE_ENV=test, which children inherit: undefined removes it.
const NODE_ENVS = [{ NODE_ENV: "test" }, { NODE_ENV: "production" }, { NODE_ENV: undefined }];

beforeEach(() => {
  for (const m of markers()) rmSync(`${dir.path}/${m}`);
});

describe.each(WHO)("as %s", (who) => {
  test("control: plain bun in that directory runs the preload and loads the .env files", () => {
    const show = "console.log(process.env.FROM_DOTENV, process.env.FROM_DOTENV_LOCAL, process.env.FROM_DOTENV_TEST)";
    expect(run(who, [BUN, "-e", show], { cwd: dir.path, env: { NODE_ENV: undefined } }).stdout.trim()).toBe("1 1 undefined");
    expect(markers().length).toBe(1);
    expect(run(who, [BUN, "-e", show], { cwd: dir.path, env: { NODE_ENV: "test" } }).stdout.trim()).toBe("1 undefined 1");
    expect(markers().length).toBe(2);
  });

  test.each(NODE_ENVS)("the CLI started by its bin runs no preload and adds no variable (%o)", (nodeEnv) => {
    const r = run(who, [BIN, "--ro-bind", "/", "/", "sh", "-c", SHOW], { cwd: dir.path, env: nodeEnv });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("vars= trace=unset");
    expect(r.code).toBe(0);
    expect(markers()).toEqual([]);
  });

  test("--enter started by the bin reads nothing there either", () => {
    const r = run(who, [BIN, "--ro-bind", "/", "/", "sh", "-c", `${BIN} --enter $$ -- sh -c '${SHOW}'`], { cwd: dir.path, env: { NODE_ENV: "test" } });
    expect(r.stdout.trim()).toBe("vars= trace=unset");
    expect(r.code).toBe(0);
    expect(markers()).toEqual([]);
  });

  // `bun bin/sandbox.cjs` asks Bun itself to start in that directory: its preload runs before any
  // of our code can (documented). The re-exec then starts clean from the environment the kernel
  // passed, so no .env variable or BUN_SANDBOX_* switch from the directory reaches anything.
  test("control: the same .env switch reaches the CLI from the real environment", () => {
    const r = run(who, [BIN, "--ro-bind", "/", "/", "true"], { cwd: dir.path, env: { BUN_SANDBOX_TRACE: "1" } });
    expect(r.stderr).toContain("sandbox trace");
  });

  test("started as `bun BIN` there, the re-exec drops what .env added and works single-threaded", () => {
    const r = run(who, [BUN, BIN, "--ro-bind", "/", "/", "sh", "-c", SHOW], { cwd: dir.path, env: { NODE_ENV: "test" } });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("vars= trace=unset");
    expect(r.code).toBe(0);
  });

  test("the library's stage server runs no preload and adds no variable", () => {
    // The host process itself is started isolated, so only the stage server could read the directory.
    const script = `
      import { sandbox } from ${JSON.stringify(`${ROOT}/src/api/index.ts`)};
      const box = sandbox().roBind("/", "/");
      const a = box.spawnSync(["sh", "-c", ${JSON.stringify(SHOW)}]);
      const b = sandbox({ warm: false }).roBind("/", "/").spawnSync(["sh", "-c", ${JSON.stringify(SHOW)}]);
      console.log(JSON.stringify([a.stdout.toString().trim(), a.exitCode, b.stdout.toString().trim(), b.exitCode]));
    `;
    const r = run(who, [BUN, "--no-env-file", "--config=/dev/null", "-e", script], { cwd: dir.path, env: { NODE_ENV: "test" } });
    expect(JSON.parse(r.stdout.trim().split("\n").pop() ?? "null")).toEqual(["vars= trace=unset", 0, "vars= trace=unset", 0]);
    expect(r.stderr).not.toContain("sandbox trace");
    expect(markers()).toEqual([]);
  });
});
