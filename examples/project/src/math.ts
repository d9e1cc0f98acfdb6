export function add(a: number, b: number): number {
  return a + b;
}

export function mean(xs: number[]): number {
  if (xs.length === 0) throw new Error("mean of nothing");
  return xs.reduce(add, 0) / xs.length;
}
