// What Node (or any runtime but Bun) gets when it imports bun-sandbox: one line, no stack trace.
// The names are exported so that importing them links; evaluating this module ends the process.
process.stderr.write("bun-sandbox: this library needs Bun (it reaches the kernel through bun:ffi); run your program with bun\n");
process.exit(1);
export const sandbox = undefined, enter = undefined, EnteredNamespaces = undefined, Sandbox = undefined, SandboxError = undefined, PlanError = undefined;
