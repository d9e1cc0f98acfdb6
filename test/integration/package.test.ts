// The package as a consumer meets it: the exports map sends Bun to the library and anything else
// to one line saying Bun is needed; what `npm pack` ships is what runs, with the licence.
import { describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync, existsSync } from "node:fs";
import { spawnSync } from "bun";
import { BUN, ROOT, tempDir } from "../support/run.ts";

const pkg = JSON.parse(readFileSync(`${ROOT}/package.json`, "utf8"));

describe("package", () => {
  test("exports is a map: TypeScript gets the declarations, bun the library, other runtimes the one-line refusal; the licence is there", () => {
    const types = "./types/api/index.d.ts";
    expect(pkg.exports).toEqual({ ".": { types, bun: "./src/api/index.ts", import: "./lib/needs-bun.mjs", default: "./lib/needs-bun.cjs" }, "./package.json": "./package.json" });
    // TypeScript takes the first condition it knows: "types" must come before "import".
    expect(Object.keys(pkg.exports["."])[0]).toBe("types");
    expect(pkg.types).toBe(types);
    expect([pkg.engines, pkg.os, pkg.cpu, pkg.license]).toEqual([{ bun: ">=1.4.5" }, ["linux"], ["x64", "arm64"], "MIT"]);
    expect(readFileSync(`${ROOT}/LICENSE`, "utf8")).toStartWith("MIT License");
  });

  test("a consumer: Node is told in one line that Bun is needed; Bun imports sandbox()", () => {
    const t = tempDir("root");
    try {
      mkdirSync(`${t.path}/node_modules`);
      symlinkSync(ROOT, `${t.path}/node_modules/bun-sandbox`);
      writeFileSync(`${t.path}/use.mjs`, 'import { sandbox } from "bun-sandbox"; console.log(typeof sandbox, typeof sandbox().roBind);\n');
      writeFileSync(`${t.path}/use.cjs`, 'const { sandbox } = require("bun-sandbox"); console.log(typeof sandbox);\n');
      const line = "bun-sandbox: this library needs Bun (it reaches the kernel through bun:ffi); run your program with bun\n";
      for (const file of ["use.mjs", "use.cjs"]) {
        const node = spawnSync(["node", file], { cwd: t.path, stderr: "pipe", stdout: "pipe" });
        expect({ file, out: [node.exitCode, node.stdout.toString(), node.stderr.toString()] }).toEqual({ file, out: [1, "", line] });
      }
      const bun = spawnSync([BUN, "use.mjs"], { cwd: t.path, stderr: "pipe", stdout: "pipe" });
      expect([bun.exitCode, bun.stdout.toString(), bun.stderr.toString()]).toEqual([0, "function function\n", ""]);
    } finally {
      t.cleanup();
    }
  });

  test("npm pack ships what runs: bin, the bundles, lib, src, the declarations, README, docs, LICENSE; no tests, scripts or test bundles", () => {
    const r = spawnSync(["npm", "pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    expect(r.exitCode).toBe(0);
    const files: string[] = JSON.parse(r.stdout.toString())[0].files.map((f: { path: string }) => f.path);
    const tops = [...new Set(files.map((f) => (f.includes("/") ? f.slice(0, f.indexOf("/")) : f)))].sort();
    expect(tops).toEqual(["LICENSE", "README.md", "bin", "dist", "docs", "lib", "package.json", "src", "types"]);
    expect(files.filter((f) => f.startsWith("dist/")).every((f) => /^dist\/[^/]+\.(cjs|jsc)$/.test(f))).toBe(true);
    expect(files.filter((f) => f.startsWith("types/")).every((f) => f.endsWith(".d.ts"))).toBe(true);
    for (const f of ["dist/sandbox.cjs", "dist/stage-server.cjs", "dist/proxy.cjs", "bin/sandbox.cjs", "lib/needs-bun.cjs", "types/api/index.d.ts", "types/api/types.d.ts"]) {
      expect({ f, shipped: files.includes(f) }).toEqual({ f, shipped: true });
    }
    expect(existsSync(`${ROOT}/dist/proxy.cjs`)).toBe(true);
    // What users read names only what they have: the design notes are not shipped.
    const naming = files.filter((f) => f !== "README.md" && !f.endsWith(".jsc") && readFileSync(`${ROOT}/${f}`, "utf8").includes("DESIGN.md"));
    expect(naming).toEqual([]);
  });
});
