// Pure path helpers for plans: no filesystem access.

export function splitPath(p: string): string[] {
  return p.split("/").filter((c) => c !== "" && c !== ".");
}

/** Lexically normalised absolute path ("/a/./b/../c/" -> "/a/c"). */
export function normalizeAbsolute(p: string): string {
  const out: string[] = [];
  for (const c of p.split("/")) {
    if (c === "" || c === ".") continue;
    if (c === "..") out.pop();
    else out.push(c);
  }
  return "/" + out.join("/");
}

/** Absolute form of `p`, relative paths taken against `cwd` (like os.path.abspath). */
export function absolutize(p: string, cwd: string): string {
  return normalizeAbsolute(p.startsWith("/") ? p : `${cwd}/${p}`);
}

/** `base` + `path` where `path` is taken as relative even if it starts with "/". */
export function joinPath(base: string, ...paths: string[]): string {
  let out = base.replace(/\/+$/, "");
  for (const p of paths) {
    const rel = p.replace(/^\/+|\/+$/g, "");
    if (rel !== "") out = `${out}/${rel}`;
  }
  return out === "" ? "/" : out;
}

/** Whether `path` is `base` or below it (component-wise). */
export function isRelativeTo(path: string, base: string): boolean {
  const a = splitPath(path);
  const b = splitPath(base);
  return b.length <= a.length && b.every((c, i) => a[i] === c);
}

/** Components of `path` below `base` joined with "/" ("" when equal); assumes isRelativeTo. */
export function relativeTo(path: string, base: string): string {
  return splitPath(path).slice(splitPath(base).length).join("/");
}

export function parentOf(p: string): string {
  const c = splitPath(p);
  c.pop();
  return "/" + c.join("/");
}

export function baseName(p: string): string {
  const c = splitPath(p);
  return c[c.length - 1] ?? "";
}

/** mkosi-sandbox's rule: directories ending in /tmp or /var/tmp get mode 1777, others 0755. */
export function defaultDirMode(dst: string): number {
  return dst.endsWith("/tmp") || dst.endsWith("/var/tmp") || dst === "/tmp" ? 0o1777 : 0o755;
}

export function formatMode(mode: number): string {
  return mode.toString(8).padStart(4, "0");
}
