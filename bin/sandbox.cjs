#!/usr/bin/env -S BUN_SANDBOX_SHEBANG=1 BUN_JSC_useConcurrentJIT=0 BUN_JSC_useConcurrentGC=0 BUN_JSC_numberOfGCMarkers=1 MIMALLOC_PURGE_DELAY=-1 BUN_JSC_useWarmUpMarkedBlocks=0 bun --no-env-file --config=/dev/null
// The shebang starts Bun single-threaded (see DESIGN.md) and without reading bunfig.toml or
// .env files in the current directory; the program is one bundled file loaded with require(),
// which starts no I/O threads.
if (typeof Bun === "undefined") {
  process.stderr.write("sandbox: this program needs Bun, not Node.js; install bun (npm install bun) and run `bunx sandbox` or `npx sandbox`\n");
  process.exit(1);
}
require("../dist/sandbox.cjs");
