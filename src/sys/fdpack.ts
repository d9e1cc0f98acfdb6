// Socket-activation style fd packing (sd_listen_fds): the inherited fds are renumbered from 3
// upward, in order, and everything else above stderr is closed.
import { closeAllExcept, dup3, setCloexec, closeQuiet } from "./fd.ts";

export const LISTEN_FDS_START = 3;

export interface FdMove {
  from: number;
  to: number;
}

/**
 * Moves that pack `fds` to 3, 4, ... in ascending order. Because the list is sorted and every
 * other fd above 2 is closed first, each target slot is free or already holds its own fd.
 */
export function planFdPacking(fds: readonly number[]): FdMove[] {
  const sorted = [...new Set(fds)].filter((fd) => fd >= LISTEN_FDS_START).sort((a, b) => a - b);
  return sorted.map((fd, i) => ({ from: fd, to: LISTEN_FDS_START + i }));
}

/** Closes all fds above 2 but `keep` (and `alsoOpen`), and makes `keep` survive execve. */
export function keepOnlyFds(keep: readonly number[], alsoOpen: readonly number[] = []): void {
  closeAllExcept([...keep, ...alsoOpen], LISTEN_FDS_START);
  for (const fd of keep) if (fd >= LISTEN_FDS_START) setCloexec(fd, false);
}

/**
 * Packs `keep` to 3..3+n-1 (closing everything else above 2 except `alsoOpen`, which must lie
 * above the packed range); returns n.
 */
export function packFds(keep: readonly number[], alsoOpen: readonly number[] = []): number {
  const moves = planFdPacking(keep);
  closeAllExcept([...moves.map((m) => m.from), ...alsoOpen], LISTEN_FDS_START);
  for (const { from, to } of moves) {
    if (from === to) {
      setCloexec(to, false);
    } else {
      dup3(from, to, 0);
      closeQuiet(from);
    }
  }
  return moves.length;
}
