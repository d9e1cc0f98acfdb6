import { describe, expect, test } from "bun:test";
import { escapeOverlayPath, overlayOptions } from "../../src/plan/ops/overlay.ts";
import { PlanError } from "../../src/plan/errors.ts";

describe("overlay options", () => {
  test("escapeOverlayPath escapes backslash, comma and colon", () => {
    expect(escapeOverlayPath("/plain/path")).toBe("/plain/path");
    expect(escapeOverlayPath("/a,b")).toBe("/a\\,b");
    expect(escapeOverlayPath("/a:b")).toBe("/a\\:b");
    expect(escapeOverlayPath("/a\\b")).toBe("/a\\\\b");
    expect(escapeOverlayPath("/x\\,:y")).toBe("/x\\\\\\,\\:y");
    expect(escapeOverlayPath("/sp ace=eq")).toBe("/sp ace=eq");
  });

  test("escapeOverlayPath rejects NUL", () => {
    expect(() => escapeOverlayPath("/a\0b")).toThrow(PlanError);
    expect(() => escapeOverlayPath("/a\0b")).toThrow(/NUL/);
  });

  test("lower given bottom-first is emitted top-first", () => {
    expect(overlayOptions(["/bottom", "/middle", "/top"], null, null)).toBe(
      "lowerdir=/top:/middle:/bottom,userxattr,index=off,metacopy=off",
    );
  });

  test("input array is not reversed in place", () => {
    const lower = ["/a", "/b"];
    overlayOptions(lower, null, null);
    expect(lower).toEqual(["/a", "/b"]);
  });

  test("upper and work, escaped", () => {
    expect(overlayOptions(["/l:1", "/l,2"], "/up,per", "/wo:rk")).toBe(
      "lowerdir=/l\\,2:/l\\:1,upperdir=/up\\,per,workdir=/wo\\:rk,userxattr,index=off,metacopy=off",
    );
  });

  test("always ends with userxattr,index=off,metacopy=off", () => {
    const opts = overlayOptions(["/a"], "/u", "/w");
    expect(opts).toBe("lowerdir=/a,upperdir=/u,workdir=/w,userxattr,index=off,metacopy=off");
    expect(opts.endsWith(",userxattr,index=off,metacopy=off")).toBe(true);
  });
});
