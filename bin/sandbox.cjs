#!/bin/sh
":" //; [ -d /proc/self ] || { echo "sandbox: /proc is not mounted, and Bun cannot start without it; mount proc on /proc (in a sandbox: --proc /proc)" >&2; exit 1; }
":" //; export BUN_SANDBOX_SHEBANG=1 BUN_JSC_useConcurrentJIT=0 BUN_JSC_useConcurrentGC=0 BUN_JSC_numberOfGCMarkers=1 MIMALLOC_PURGE_DELAY=-1 BUN_JSC_useWarmUpMarkedBlocks=0
":" //; command -v bun >/dev/null || { echo "sandbox: bun is not on PATH; install it (npm install bun) and run sandbox through npx or bunx, or put bun on PATH" >&2; exit 127; }
":" //; exec bun --no-env-file --config=/dev/null "$0" "$@"
// The lines above are both shell and JavaScript (a string, then a comment). As a program the
// shell runs them: where /proc is missing Bun aborts with a crash report before any JavaScript
// runs, so that is said here in one line; then Bun starts single-threaded (the five variables;
// the CLI re-executes itself if they are missing) and without reading bunfig.toml or .env files
// in the current directory. The program is one bundled file loaded with require(), which starts
// no I/O threads.
if (typeof Bun === "undefined") {
  process.stderr.write("sandbox: this program needs Bun, not Node.js; install bun (npm install bun) and run `bunx sandbox` or `npx sandbox`\n");
  process.exit(1);
}
require("../dist/sandbox.cjs");
