import { expect, test } from "bun:test";
import { add, mean } from "../src/math.ts";

test("add", () => expect(add(2, 3)).toBe(5));
test("mean", () => expect(mean([1, 2, 3, 6])).toBe(3));
test("mean of nothing throws", () => expect(() => mean([])).toThrow("mean of nothing"));
