// Session keyrings: join a fresh anonymous one so a sandboxed command cannot reach the
// caller's keys. Through libkeyutils when present, else the raw keyctl syscall.
import { dlopen, FFIType as T } from "bun:ffi";
import { check, errno, lazyBind } from "./libc.ts";
import { SysError } from "./error.ts";

export const KEYCTL = { GET_KEYRING_ID: 0, JOIN_SESSION_KEYRING: 1 } as const;
export const KEY_SPEC = { THREAD: -1, PROCESS: -2, SESSION: -3, USER: -4, USER_SESSION: -5 } as const;

const keyutilsSymbols = {
  keyctl_join_session_keyring: { args: [T.ptr], returns: T.i32 },
  keyctl_get_keyring_ID: { args: [T.i32, T.i32], returns: T.i32 },
} as const;
type Keyutils = ReturnType<typeof dlopen<typeof keyutilsSymbols>>["symbols"];
let keyutilsCache: Keyutils | null | undefined;

/** libkeyutils.so.1, or null when absent or disabled with BUN_SANDBOX_NO_LIBKEYUTILS=1. */
export function libkeyutils(): Keyutils | null {
  if (keyutilsCache !== undefined) return keyutilsCache;
  if (process.env.BUN_SANDBOX_NO_LIBKEYUTILS === "1") return (keyutilsCache = null);
  try {
    keyutilsCache = dlopen("libkeyutils.so.1", keyutilsSymbols).symbols;
  } catch {
    keyutilsCache = null;
  }
  return keyutilsCache;
}

// The kernel call; libc has no wrapper, so this is always syscall(NR_keyctl, ...).
const sysKeyctl = lazyBind("keyctl", [T.i32, T.i64, T.i64, T.i64, T.i64], { symbol: null, long: true });

/** Joins a new anonymous session keyring; returns its serial and which path did it. */
export function joinNewSessionKeyring(): { serial: number; via: "libkeyutils" | "syscall" } {
  const lib = libkeyutils();
  if (lib) {
    const r = lib.keyctl_join_session_keyring(null);
    if (r === -1) throw new SysError("keyctl_join_session_keyring", errno());
    return { serial: r, via: "libkeyutils" };
  }
  return { serial: check(sysKeyctl(KEYCTL.JOIN_SESSION_KEYRING, 0, 0, 0, 0), "keyctl", "KEYCTL_JOIN_SESSION_KEYRING"), via: "syscall" };
}

/** Serial of the current session keyring (creating none). */
export function sessionKeyringId(): number {
  return check(sysKeyctl(KEYCTL.GET_KEYRING_ID, KEY_SPEC.SESSION, 0, 0, 0), "keyctl", "KEYCTL_GET_KEYRING_ID");
}

export const keyctlBinding = sysKeyctl;
