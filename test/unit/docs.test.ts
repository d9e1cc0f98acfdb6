// No reference in the documentation dangles: every relative link in README.md and docs/*.md
// names a file that exists and that the package ships (package.json "files"), and every anchor
// names a heading of its target, by the slugs GitHub gives headings.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize } from "node:path";

const ROOT = normalize(new URL("../..", import.meta.url).pathname).replace(/\/$/, "");
const FILES: string[] = JSON.parse(readFileSync(`${ROOT}/package.json`, "utf8")).files;

/** The documents: README.md and every docs/*.md, relative to the root. */
const DOCS = ["README.md", ...readdirSync(`${ROOT}/docs`).filter((f) => f.endsWith(".md")).sort().map((f) => `docs/${f}`)];

/** Fenced code blocks blanked line by line (line numbers stay), so nothing in them counts. */
function withoutFences(md: string): string {
  let fence: string | null = null;
  return md
    .split("\n")
    .map((line) => {
      const m = /^ {0,3}(`{3,}|~{3,})/.exec(line);
      if (fence === null && m) {
        fence = m[1]!;
        return "";
      }
      if (fence !== null) {
        if (m && m[1]!.startsWith(fence[0]!) && m[1]!.length >= fence.length && line.trim() === m[1]) fence = null;
        return "";
      }
      return line;
    })
    .join("\n");
}

/** GitHub's anchor for a heading: its text lower-cased, punctuation dropped but for - and _, each space a -. */
function slug(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/<[^>]*>/g, "")
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

/** The anchors of a document's headings, a repeated one numbered -1, -2, ... as GitHub does. */
function anchors(md: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const line of withoutFences(md).split("\n")) {
    const m = /^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Whether `npm pack` ships the file or directory at rel (relative to the root). */
function shipped(rel: string, isDir: boolean): boolean {
  if (/^(package\.json|README(\.[^/]*)?|LICEN[CS]E(\.[^/]*)?)$/i.test(rel)) return true;
  return FILES.some((p) => {
    if (p.includes("*")) {
      const re = new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*\*/g, "\0").replace(/\*/g, "[^/]*").replace(/\0/g, ".*")}$`);
      return re.test(rel) || (isDir && p.startsWith(`${rel}/`));
    }
    return rel === p || rel.startsWith(`${p}/`) || (isDir && p.startsWith(`${rel}/`));
  });
}

/** What is wrong with the links of one document (`file` relative to the root, `md` its text). */
function linkProblems(file: string, md: string): string[] {
  const problems: string[] = [];
  // Inline code cannot hold a link; blank it (keeping the line) so `f(["a"])` is not read as one.
  const text = withoutFences(md).replace(/`[^`\n]*`/g, (c) => "x".repeat(c.length));
  const links: { at: number; target: string }[] = [];
  for (const m of text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g)) links.push({ at: m.index, target: m[1]! });
  for (const m of text.matchAll(/^ {0,3}\[[^\]]+\]:[ \t]*<?([^\s>]+)>?/gm)) links.push({ at: m.index, target: m[1]! });
  for (const { at, target } of links) {
    const where = `${file}:${text.slice(0, at).split("\n").length}: (${target})`;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("//")) continue; // another site's
    if (target === "") {
      problems.push(`${where}: an empty link`);
      continue;
    }
    if (target.startsWith("/")) {
      problems.push(`${where}: an absolute path, which breaks outside this repository; link relative to ${file}`);
      continue;
    }
    const hash = target.indexOf("#");
    const path = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
    const anchor = hash < 0 ? null : decodeURIComponent(target.slice(hash + 1));
    if (path === "") {
      if (anchor !== null && !anchors(md).has(anchor)) problems.push(`${where}: ${file} has no heading #${anchor}`);
      continue;
    }
    const rel = normalize(join(dirname(file), path)).replace(/\/$/, "");
    if (rel === ".." || rel.startsWith("../")) {
      problems.push(`${where}: ${rel} is outside the package`);
      continue;
    }
    if (!existsSync(join(ROOT, rel))) {
      problems.push(`${where}: no such file ${rel}`);
      continue;
    }
    const isDir = statSync(join(ROOT, rel)).isDirectory();
    if (!shipped(rel, isDir)) {
      problems.push(`${where}: ${rel} is not in the package (package.json "files"), so the link breaks on npm`);
      continue;
    }
    if (anchor === null) continue;
    if (isDir || !rel.endsWith(".md")) {
      problems.push(`${where}: an anchor into ${rel}, which has no headings`);
      continue;
    }
    if (!anchors(rel === file ? md : readFileSync(join(ROOT, rel), "utf8")).has(anchor)) problems.push(`${where}: ${rel} has no heading #${anchor}`);
  }
  return problems;
}

describe("docs", () => {
  test("anchors follow GitHub's slugs", () => {
    expect(slug("Hardened mode (`--harden`)")).toBe("hardened-mode---harden");
    expect(slug("`src/sys`: syscalls, no policy")).toBe("srcsys-syscalls-no-policy");
    expect(slug("Where namespaces are refused: Landlock confinement")).toBe("where-namespaces-are-refused-landlock-confinement");
    expect(slug("The CLI: `bun scripts/bench-startup.ts --runs 200`")).toBe("the-cli-bun-scriptsbench-startupts---runs-200");
    expect(slug("a_b [link](x.md) Ünïcode")).toBe("a_b-link-ünïcode");
    expect([...anchors("# A\n## A\n```sh\n# not a heading\n```\n### A ##\n")]).toEqual(["a", "a-1", "a-2"]);
  });

  test("the check finds a missing file, a missing anchor, an absolute path and a file the package does not ship", () => {
    const md = [
      "[ok](../README.md) [ok](../README.md#set-up-on-a-fresh-machine) [ok](#here) [ok](../src/cli/) [ok](https://example.com/#x) `[code](nope.md)`",
      "# Here",
      "[a](nope.md) [b](../README.md#no-such-heading) [c](#nowhere)",
      "[d](/README.md) [e](../test/unit/docs.test.ts) [f](../src/cli/args.ts#L1) [g](../../outside.md)",
      "[h]: missing.md",
    ].join("\n");
    expect(linkProblems("docs/fake.md", md)).toEqual([
      "docs/fake.md:3: (nope.md): no such file docs/nope.md",
      "docs/fake.md:3: (../README.md#no-such-heading): README.md has no heading #no-such-heading",
      "docs/fake.md:3: (#nowhere): docs/fake.md has no heading #nowhere",
      "docs/fake.md:4: (/README.md): an absolute path, which breaks outside this repository; link relative to docs/fake.md",
      'docs/fake.md:4: (../test/unit/docs.test.ts): test/unit/docs.test.ts is not in the package (package.json "files"), so the link breaks on npm',
      "docs/fake.md:4: (../src/cli/args.ts#L1): an anchor into src/cli/args.ts, which has no headings",
      "docs/fake.md:4: (../../outside.md): ../outside.md is outside the package",
      "docs/fake.md:5: (missing.md): no such file docs/missing.md",
    ]);
  });

  test("every relative link in README.md and docs/*.md resolves, to a file the package ships", () => {
    expect(DOCS.flatMap((f) => linkProblems(f, readFileSync(join(ROOT, f), "utf8")))).toEqual([]);
  });

  test("the README links to every file in docs/", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const linked = DOCS.filter((f) => f !== "README.md" && !readme.includes(`](${f})`) && !readme.includes(`](${f}#`));
    expect(linked).toEqual([]);
  });
});
