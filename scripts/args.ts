// `--name value` options of the benchmark scripts.
const argv = process.argv.slice(2);

/** The value after `name`, or `dflt`. */
export function opt(name: string, dflt: string): string {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : dflt;
}

/** Whether `name` was given. */
export const flag = (name: string): boolean => argv.includes(name);
