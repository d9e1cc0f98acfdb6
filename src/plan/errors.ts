/** A plan that cannot be run: names the field and says how to fix it. */
export class PlanError extends Error {
  readonly field: string;

  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = "PlanError";
    this.field = field;
  }
}

export function requireAbsolute(field: string, p: unknown): string {
  if (typeof p !== "string" || p === "") throw new PlanError(field, "must be a non-empty path");
  if (p.includes("\0")) throw new PlanError(field, "contains a NUL byte");
  if (!p.startsWith("/")) throw new PlanError(field, `"${p}" is not an absolute path; give the full path`);
  return p;
}

export function requireString(field: string, v: unknown): string {
  if (typeof v !== "string") throw new PlanError(field, "must be a string");
  if (v.includes("\0")) throw new PlanError(field, "contains a NUL byte");
  return v;
}

export function requireBool(field: string, v: unknown): boolean {
  if (typeof v !== "boolean") throw new PlanError(field, "must be true or false");
  return v;
}

export function requireMode(field: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0o7777) {
    throw new PlanError(field, `invalid mode ${String(v)}; use an octal mode between 0000 and 7777`);
  }
  return v;
}
