// The package as a new Bun project gets it: `npm pack` (whose prepare step builds the bundles
// and the declarations), then in a fresh `bun init`-like project, an offline `bun add` of the
// tarball, a type check under that project's own tsconfig, `bunx sandbox`, and a script that
// uses the library. Nothing is downloaded: the registries point at a closed port, the package
// cache is the project's own, and the type check uses our TypeScript and Bun types.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { ROOT, run, tempDir, WHO, type RunOptions, type RunResult, type TempDir, type Who } from "../support/run.ts";

const OFFLINE = { NPM_CONFIG_REGISTRY: "http://127.0.0.1:9/", BUN_CONFIG_REGISTRY: "http://127.0.0.1:9/", NPM_CONFIG_UPDATE_NOTIFIER: "false" };

// What `bun init` writes, without the devDependencies and peerDependencies it would download
// (@types/bun and typescript): the type check links ours instead.
const PACKAGE_JSON = { name: "consumer", module: "index.ts", type: "module", private: true };
const TSCONFIG = `{
  "compilerOptions": {
    // Environment setup & latest features
    "lib": ["ESNext"],
    "target": "ESNext",
    "module": "Preserve",
    "moduleDetection": "force",
    "jsx": "react-jsx",
    "allowJs": true,
    "types": ["bun"],
    // Bundler mode
    "moduleResolution": "bundler",
    "allowImportingTsExtensions": true,
    "verbatimModuleSyntax": true,
    "noEmit": true,
    // Best practices
    "strict": true,
    "skipLibCheck": true,
    "noFallthroughCasesInSwitch": true,
    "noUncheckedIndexedAccess": true,
    "noImplicitOverride": true,
    // Some stricter flags (disabled by default)
    "noUnusedLocals": false,
    "noUnusedParameters": false,
    "noPropertyAccessFromIndexSignature": false
  }
}
`;
// Compiles only if spawnSync's stdout is a Buffer and spawn's a stream, as with Bun.spawn.
const SCRIPT = `import { sandbox } from "bun-sandbox";

const box = sandbox().roBind("/", "/");
const hi: string = box.spawnSync(["echo", "hi"]).stdout.toString();
const proc = box.spawn(["sh", "-c", "echo from spawn"]);
const streamed: string = await proc.stdout.text();
console.log(\`\${hi.trim()} / \${streamed.trim()} / \${await proc.exited}\`);
`;

let packed: { dir: TempDir; tarball: string } | null = null;
const made: TempDir[] = [];
afterAll(() => {
  for (const t of [...made, ...(packed ? [packed.dir] : [])]) t.cleanup();
});

/** The tarball `npm pack` makes of the checkout, once for this file, outside the checkout. */
function tarball(): string {
  if (packed) return packed.tarball;
  const dir = tempDir("root", "bsb-pack-");
  const r = run("root", ["npm", "pack", "--offline", "--pack-destination", dir.path], { cwd: ROOT, env: OFFLINE, timeout: 120_000 });
  const tgz = readdirSync(dir.path).filter((f) => f.endsWith(".tgz"));
  if (r.code !== 0 || tgz.length !== 1) throw new Error(`npm pack failed (${r.code}):\n${r.stdout}${r.stderr}`);
  packed = { dir, tarball: `${dir.path}/${tgz[0]}` };
  return packed.tarball;
}

interface Consumer {
  app: string;
  /** What `bun add` of the tarball did. */
  add: RunResult;
}
const consumers = new Map<Who, Consumer>();

const opts = (app: string): RunOptions => ({ cwd: app, timeout: 60_000, env: { ...OFFLINE, BUN_INSTALL_CACHE_DIR: `${app}/.cache` } });

/** A new project of `who` with the tarball added, once per identity. */
function consumer(who: Who): Consumer {
  const have = consumers.get(who);
  if (have) return have;
  const t = tempDir(who, "bsb-consumer-");
  made.push(t);
  const app = t.path;
  writeFileSync(`${app}/package.json`, JSON.stringify(PACKAGE_JSON, null, 2) + "\n");
  writeFileSync(`${app}/tsconfig.json`, TSCONFIG);
  writeFileSync(`${app}/index.ts`, SCRIPT);
  const pack = tarball();
  t.own();
  const add = run(who, ["bun", "add", pack], opts(app));
  // The type check's @types/bun is ours (it would otherwise be a download).
  mkdirSync(`${app}/node_modules/@types`, { recursive: true });
  symlinkSync(`${ROOT}/node_modules/@types/bun`, `${app}/node_modules/@types/bun`);
  t.own();
  const c = { app, add };
  consumers.set(who, c);
  return c;
}

describe.each(WHO)("installed from the tarball, as %s", (who: Who) => {
  test("bun add of the tarball works offline and installs the bin", () => {
    const { app, add } = consumer(who);
    expect({ code: add.code, stderr: add.code === 0 ? "" : add.stderr }).toEqual({ code: 0, stderr: "" });
    const shipped = readdirSync(`${app}/node_modules/bun-sandbox`).filter((f) => !f.startsWith("."));
    expect(shipped.sort()).toEqual(["LICENSE", "README.md", "bin", "dist", "docs", "lib", "package.json", "src", "types"]);
    expect(readdirSync(`${app}/node_modules/.bin`)).toEqual(["sandbox"]);
  }, 180_000);

  test("the project's own tsconfig checks a file using the library: spawnSync's stdout is a Buffer", () => {
    const { app } = consumer(who);
    const r = run(who, [`${ROOT}/node_modules/.bin/tsc`, "-p", "."], opts(app));
    expect([r.code, r.stdout, r.stderr]).toEqual([0, "", ""]);
  }, 180_000);

  test("bunx sandbox runs the installed bin, offline", () => {
    const { app } = consumer(who);
    const r = run(who, ["bunx", "sandbox", "--ro-bind", "/", "/", "echo", "hi"], opts(app));
    expect([r.code, r.stdout, r.stderr]).toEqual([0, "hi\n", ""]);
  }, 180_000);

  test("a script run with bun uses the library", () => {
    const { app } = consumer(who);
    const r = run(who, ["bun", "index.ts"], opts(app));
    expect([r.code, r.stdout, r.stderr]).toEqual([0, "hi / from spawn / 0\n", ""]);
  }, 180_000);
});
