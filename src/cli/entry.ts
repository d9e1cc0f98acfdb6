// `sandbox` entry point. Bundled into dist/sandbox.cjs and loaded by bin/sandbox.cjs, so the
// process stays single-threaded (no ESM import of local files, sync APIs only). Whatever the CLI
// throws, while its modules load (no C library) or while it runs (an error nobody expected),
// reaches the user as one line and exit status 1, the trace only with --debug.
import { failureText } from "./failure.ts";

const argv = process.argv.slice(2);
try {
  // Required here rather than imported: an error while its modules load is caught too.
  (require("./main.ts") as typeof import("./main.ts")).main(argv);
} catch (e) {
  // --debug anywhere on the line: before the options are read the command's own arguments cannot
  // be told apart, and a trace shown for a command's --debug does no harm.
  try {
    // node:fs only here: loading it costs every start 2.5 ms, and libc may be what failed.
    (require("node:fs") as typeof import("node:fs")).writeSync(2, failureText(e, argv.includes("--debug")));
  } finally {
    process.exit(1);
  }
}
