import { describe, expect, test } from "bun:test";
import { LISTEN_FDS_START, planFdPacking } from "../../src/sys/fdpack.ts";

describe("planFdPacking", () => {
  test("starts at 3", () => {
    expect(LISTEN_FDS_START).toBe(3);
  });

  test("empty input gives no moves", () => {
    expect(planFdPacking([])).toEqual([]);
    expect(planFdPacking([0, 1, 2])).toEqual([]);
  });

  test("sorted, deduplicated, stdio ignored, targets 3.. in order", () => {
    expect(planFdPacking([9, 0, 5, 2, 9, 7, 1, 5])).toEqual([
      { from: 5, to: 3 }, { from: 7, to: 4 }, { from: 9, to: 5 },
    ]);
  });

  test("numeric, not lexicographic, sort", () => {
    expect(planFdPacking([10, 9, 100, 20])).toEqual([
      { from: 9, to: 3 }, { from: 10, to: 4 }, { from: 20, to: 5 }, { from: 100, to: 6 },
    ]);
  });

  test("identity moves when already packed", () => {
    expect(planFdPacking([3, 4, 5])).toEqual([{ from: 3, to: 3 }, { from: 4, to: 4 }, { from: 5, to: 5 }]);
    expect(planFdPacking([5, 3, 4, 3])).toEqual([{ from: 3, to: 3 }, { from: 4, to: 4 }, { from: 5, to: 5 }]);
  });

  test("a partly packed list keeps the packed prefix and moves the rest down", () => {
    expect(planFdPacking([3, 4, 8, 6])).toEqual([
      { from: 3, to: 3 }, { from: 4, to: 4 }, { from: 6, to: 5 }, { from: 8, to: 6 },
    ]);
  });

  test("every target is <= its source, so no move clobbers a pending source", () => {
    const moves = planFdPacking([40, 12, 3, 17, 5, 99, 6]);
    const sources = new Set(moves.map((m) => m.from));
    moves.forEach((m, i) => {
      expect(m.to).toBe(3 + i);
      expect(m.to).toBeLessThanOrEqual(m.from);
      // a target either is its own source or is not a later source
      if (m.to !== m.from) expect(moves.slice(i + 1).some((l) => l.from === m.to)).toBe(false);
    });
    expect(sources.size).toBe(7);
  });

  test("does not modify its input", () => {
    const input = [9, 4, 4];
    planFdPacking(input);
    expect(input).toEqual([9, 4, 4]);
  });
});
