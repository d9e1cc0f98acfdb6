// What Node (or any runtime but Bun) gets when it imports bun-sandbox: one line, no stack trace.
process.stderr.write("bun-sandbox: this library needs Bun (it reaches the kernel through bun:ffi); run your program with bun\n");
process.exit(1);
