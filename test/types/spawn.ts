// Compile-time checks of the library's spawn types, read by `tsc --noEmit` (the tsc step of the
// test command) and never run: like Bun.spawn's, a stream or Buffer exactly where "pipe" was
// asked for (or is the default), undefined elsewhere, both where the option is not a literal.
import type { FileSink } from "bun";
import { enter, sandbox, type StdioOption } from "../../src/api/index.ts";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
/** `typeOf(x)<T>()` compiles only when x's type is exactly T. */
const typeOf = <A>(_actual: A) => <B>(..._mismatch: Equal<A, B> extends true ? [] : [never]): void => {};
type Stream = ReadableStream<Uint8Array>;

export function checks(anyOption: StdioOption, options: StdioOption[]): void {
  const b = sandbox().roBind("/", "/");
  const sync = b.spawnSync(["true"]);
  typeOf(sync.stdout)<Buffer>();
  typeOf(sync.stderr)<Buffer>();
  sync.stdout.toString();
  const told = b.spawnSync(["true"], { stdout: "inherit", stderr: 2, stdin: "input" });
  typeOf(told.stdout)<undefined>();
  typeOf(told.stderr)<undefined>();
  const array = b.spawnSync(["true"], { stdio: ["ignore", "ignore", "pipe", 5] });
  typeOf(array.stdout)<undefined>();
  typeOf(array.stderr)<Buffer>();
  typeOf(enter(1).spawnSync(["true"]).stdout)<Buffer>();

  const proc = b.spawn(["true"], { onExit: (p) => typeOf(p.stdout)<Stream>() });
  typeOf(proc.stdin)<undefined>();
  typeOf(proc.stdout)<Stream>();
  typeOf(proc.stderr)<undefined>();
  const piped = enter(1).spawn(["cat"], { stdin: "pipe", stderr: "pipe" });
  typeOf(piped.stdin)<FileSink>();
  typeOf(piped.stderr)<Stream>();

  typeOf(b.spawn(["true"], { stdout: anyOption }).stdout)<Stream | undefined>();
  typeOf(b.spawn(["true"], { stdio: options }).stdout)<Stream | undefined>();
  typeOf(b.spawnSync(["true"], { stdio: options }).stdout)<Buffer | undefined>();
}
