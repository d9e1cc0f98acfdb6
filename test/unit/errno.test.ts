import { describe, expect, test } from "bun:test";
import { constants } from "node:os";
import { Errno, errnoMessage, errnoName } from "../../src/sys/errno.ts";
import { SysError } from "../../src/sys/error.ts";

describe("errno", () => {
  test("names", () => {
    expect(errnoName(1)).toBe("EPERM");
    expect(errnoName(2)).toBe("ENOENT");
    expect(errnoName(13)).toBe("EACCES");
    expect(errnoName(38)).toBe("ENOSYS");
    expect(errnoName(40)).toBe("ELOOP");
    expect(errnoName(95)).toBe("EOPNOTSUPP");
    expect(errnoName(126)).toBe("ENOKEY");
    expect(errnoName(9999)).toBe("E9999");
  });

  test("values agree with the platform's errno constants", () => {
    const platform = constants.errno as Record<string, number>;
    let compared = 0;
    for (const [name, value] of Object.entries(Errno)) {
      if (platform[name] === undefined) continue;
      expect(`${name}=${value}`).toBe(`${name}=${platform[name]}`);
      compared++;
    }
    expect(compared).toBeGreaterThan(50);
  });

  test("messages", () => {
    expect(errnoMessage(1)).toBe("Operation not permitted");
    expect(errnoMessage(2)).toBe("No such file or directory");
    expect(errnoMessage(13)).toBe("Permission denied");
    expect(errnoMessage(16)).toBe("Device or resource busy");
    expect(errnoMessage(22)).toBe("Invalid argument");
    expect(errnoMessage(38)).toBe("Function not implemented");
    expect(errnoMessage(40)).toBe("Too many levels of symbolic links");
    expect(errnoMessage(9999)).toBe("Unknown error 9999");
  });
});

describe("SysError", () => {
  test("without a path", () => {
    const e = new SysError("unshare", Errno.EPERM);
    expect(e.message).toBe("unshare(): Operation not permitted (EPERM)");
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe("SysError");
    expect(e.errno).toBe(1);
    expect(e.code).toBe("EPERM");
    expect(e.syscall).toBe("unshare");
    expect(e.path).toBeUndefined();
    expect(e.dest).toBeUndefined();
  });

  test("with a path", () => {
    const e = new SysError("open", Errno.ENOENT, "/etc/nope");
    expect(e.message).toBe('open("/etc/nope"): No such file or directory (ENOENT)');
    expect(e.path).toBe("/etc/nope");
    expect(e.dest).toBeUndefined();
    expect(e.code).toBe("ENOENT");
  });

  test("with a path and a destination", () => {
    const e = new SysError("mount", Errno.EACCES, "/x", "/y");
    expect(e.message).toBe('mount("/x" -> "/y"): Permission denied (EACCES)');
    expect(e.errno).toBe(13);
    expect(e.code).toBe("EACCES");
    expect(e.syscall).toBe("mount");
    expect(e.path).toBe("/x");
    expect(e.dest).toBe("/y");
  });

  test("paths are JSON-quoted and unknown errnos still print", () => {
    const e = new SysError("mkdir", 9999, 'a "b"\n');
    expect(e.message).toBe('mkdir("a \\"b\\"\\n"): Unknown error 9999 (E9999)');
    expect(e.code).toBe("E9999");
  });
});
