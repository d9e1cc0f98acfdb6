import { errnoMessage, errnoName } from "./errno.ts";

/**
 * The one error type of the syscall layer: a failed call, its errno and the paths involved.
 * Message shape: `mount("/x" -> "/y"): Permission denied (EPERM)`.
 */
export class SysError extends Error {
  readonly errno: number;
  readonly code: string;
  readonly syscall: string;
  readonly path: string | undefined;
  readonly dest: string | undefined;

  /** `hint` is appended to the message: what to do about it. */
  constructor(syscall: string, errno: number, path?: string, dest?: string, hint?: string) {
    const where = path === undefined ? "" : dest === undefined ? JSON.stringify(path) : `${JSON.stringify(path)} -> ${JSON.stringify(dest)}`;
    super(`${syscall}(${where}): ${errnoMessage(errno)} (${errnoName(errno)})${hint ? `; ${hint}` : ""}`);
    this.name = "SysError";
    this.errno = errno;
    this.code = errnoName(errno);
    this.syscall = syscall;
    this.path = path;
    this.dest = dest;
  }
}

/**
 * The C library could not be opened (a musl system such as Alpine has no libc.so.6): nothing
 * here works then. The message is one line for the CLI and the library to print as they are.
 */
export class LibcUnavailable extends Error {
  constructor(path: string, cause: unknown) {
    // Bun's message repeats the path: `Failed to open library "P": P: cannot open shared object file: ...`
    const why = (cause instanceof Error ? cause.message : String(cause)).replace(/^Failed to open library "[^"]*": /, "").split("\n")[0];
    super(`cannot open the C library ${path} (${why}); glibc is needed, and musl-based systems such as Alpine are not supported`);
    this.name = "LibcUnavailable";
  }
}
