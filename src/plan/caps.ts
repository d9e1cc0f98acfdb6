// Capability names as --cap-add / --cap-drop take them (bubblewrap's rules: with or without the
// CAP_ prefix, any case, and ALL), and the set a command ends with.
import { CAP } from "../sys/caps.ts";
import type { CapChange } from "./types.ts";

let byName: Map<string, number> | undefined;
/** Built on first use: the CLI starts without it unless --cap-add/--cap-drop are given. */
const names = (): Map<string, number> => (byName ??= new Map(Object.entries(CAP).map(([name, n]) => [name.toLowerCase(), n])));

/** "CAP_SYS_ADMIN", "sys_admin" or "ALL" as the plan writes it ("sys_admin", "all"); null when unknown. */
export function capName(s: string): string | null {
  const name = s.toLowerCase().replace(/^cap_/, "");
  return name === "all" || names().has(name) ? name : null;
}

/** The capabilities `base` becomes with `changes` applied in order ("all": every one up to `last`). */
export function applyCapChanges(base: readonly number[], changes: readonly CapChange[], last: number): number[] {
  const set = new Set(base);
  for (const { add, cap } of changes) {
    const caps = cap === "all" ? Array.from({ length: last + 1 }, (_, i) => i) : [names().get(cap)!];
    for (const c of caps) {
      if (c > last) continue;
      if (add) set.add(c);
      else set.delete(c);
    }
  }
  return [...set].sort((a, b) => a - b);
}
