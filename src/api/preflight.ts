// The library entry's first import, so it runs before any module that needs the C library:
// where that cannot be opened (musl, as on Alpine) the program gets one line and exit status 1,
// as under Node (lib/needs-bun.*), instead of a stack trace from deep inside an import.
import { writeSync } from "node:fs";
import { LibcUnavailable } from "../sys/error.ts";

try {
  // Required rather than imported, to catch what its loading throws; the imports that follow
  // share this instance.
  require("../sys/libc.ts");
} catch (e) {
  if (!(e instanceof LibcUnavailable)) throw e;
  try {
    writeSync(2, `bun-sandbox: ${e.message}\n`);
  } finally {
    process.exit(1);
  }
}
