// Output without process.stdout/process.stderr: their first use costs ~5 ms of Bun start-up
// (measured), more than everything else the CLI does.
import { libc } from "../sys/libc.ts";

export function writeOut(fd: 1 | 2, text: string): void {
  const b = Buffer.from(text);
  let off = 0;
  while (off < b.length) {
    const n = Number(libc.write(fd, b.subarray(off), b.length - off));
    if (n <= 0) return;
    off += n;
  }
}
