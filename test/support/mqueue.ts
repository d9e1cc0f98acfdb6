// POSIX message queues for the mqueue tests: a script that creates one (run inside a sandbox
// as `bun -e MQ_CREATE NAME`), and a check whether a queue exists in the caller's IPC namespace.
// The raw mq_open syscall takes the name without the leading slash glibc strips.
import { dlopen, FFIType as T } from "bun:ffi";

const NR_MQ_OPEN = process.arch === "x64" ? 240 : 180;

export const MQ_CREATE = [
  'const {dlopen,FFIType:T}=require("bun:ffi");',
  'const l=dlopen("libc.so.6",{syscall:{args:[T.i64,T.ptr,T.i64,T.i64,T.i64],returns:T.i64_fast}});',
  `const fd=l.symbols.syscall(${NR_MQ_OPEN},Buffer.from(process.argv[1]+"\\0"),0o100|0o200|2,0o600,0);`,
  'if(fd<0){console.error("mq_open failed");process.exit(1)}console.log("created "+process.argv[1])',
].join("");

let lib: ReturnType<typeof open> | null = null;
function open() {
  return dlopen("libc.so.6", {
    syscall: { args: [T.i64, T.ptr, T.i64, T.i64, T.i64], returns: T.i64_fast },
    close: { args: [T.i32], returns: T.i32 },
  });
}

/** Whether a queue of that name exists in this process's IPC namespace. */
export function hostQueueExists(name: string): boolean {
  lib ??= open();
  const fd = lib.symbols.syscall(NR_MQ_OPEN, Buffer.from(`${name}\0`), 0 /* O_RDONLY */, 0, 0) as number;
  if (fd >= 0) lib.symbols.close(fd);
  return fd >= 0;
}

/** A queue name unique to this test run. */
export const queueName = (tag: string) => `bsb-${tag}-${process.pid}-${Date.now()}`;
