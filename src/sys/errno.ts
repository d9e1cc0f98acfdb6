// errno numbers and names. x86_64 and aarch64 both use the asm-generic numbering.

export const Errno = {
  EPERM: 1, ENOENT: 2, ESRCH: 3, EINTR: 4, EIO: 5, ENXIO: 6, E2BIG: 7, ENOEXEC: 8, EBADF: 9,
  ECHILD: 10, EAGAIN: 11, ENOMEM: 12, EACCES: 13, EFAULT: 14, ENOTBLK: 15, EBUSY: 16, EEXIST: 17,
  EXDEV: 18, ENODEV: 19, ENOTDIR: 20, EISDIR: 21, EINVAL: 22, ENFILE: 23, EMFILE: 24, ENOTTY: 25,
  ETXTBSY: 26, EFBIG: 27, ENOSPC: 28, ESPIPE: 29, EROFS: 30, EMLINK: 31, EPIPE: 32, EDOM: 33,
  ERANGE: 34, EDEADLK: 35, ENAMETOOLONG: 36, ENOLCK: 37, ENOSYS: 38, ENOTEMPTY: 39, ELOOP: 40,
  ENOMSG: 42, EIDRM: 43, ENODATA: 61, ENOLINK: 67, EPROTO: 71, EOVERFLOW: 75, EBADFD: 77,
  EUSERS: 87, ENOTSOCK: 88, EMSGSIZE: 90, EPROTOTYPE: 91, ENOPROTOOPT: 92, EPROTONOSUPPORT: 93,
  EOPNOTSUPP: 95, EAFNOSUPPORT: 97, EADDRINUSE: 98, EADDRNOTAVAIL: 99, ENETDOWN: 100,
  ENETUNREACH: 101, ECONNABORTED: 103, ECONNRESET: 104, ENOBUFS: 105, EISCONN: 106,
  ENOTCONN: 107, ESHUTDOWN: 108, ETOOMANYREFS: 109, ETIMEDOUT: 110, ECONNREFUSED: 111, EHOSTUNREACH: 113, EALREADY: 114,
  EINPROGRESS: 115, ESTALE: 116, EDQUOT: 122, ECANCELED: 125, ENOKEY: 126, EKEYEXPIRED: 127,
  EKEYREVOKED: 128, EKEYREJECTED: 129, EOWNERDEAD: 130, ERFKILL: 132,
} as const;

export type ErrnoName = keyof typeof Errno;

const names: string[] = [];
for (const [name, value] of Object.entries(Errno)) names[value] = name;

/** Symbolic name of an errno value, e.g. 1 -> "EPERM"; unknown values print as "E<n>". */
export function errnoName(errno: number): string {
  return names[errno] ?? `E${errno}`;
}

const messages: Record<number, string> = {
  1: "Operation not permitted", 2: "No such file or directory", 3: "No such process",
  4: "Interrupted system call", 5: "Input/output error", 7: "Argument list too long",
  8: "Exec format error", 9: "Bad file descriptor", 10: "No child processes",
  11: "Resource temporarily unavailable", 12: "Cannot allocate memory", 13: "Permission denied",
  14: "Bad address", 16: "Device or resource busy", 17: "File exists", 18: "Invalid cross-device link",
  19: "No such device", 20: "Not a directory", 21: "Is a directory", 22: "Invalid argument",
  23: "Too many open files in system", 24: "Too many open files", 25: "Inappropriate ioctl for device",
  26: "Text file busy", 28: "No space left on device", 30: "Read-only file system",
  32: "Broken pipe", 36: "File name too long", 38: "Function not implemented",
  39: "Directory not empty", 40: "Too many levels of symbolic links", 61: "No data available",
  75: "Value too large for defined data type", 87: "Too many users", 88: "Socket operation on non-socket",
  95: "Operation not supported", 110: "Connection timed out", 111: "Connection refused",
  122: "Disk quota exceeded", 126: "Required key not available",
  6: "No such device or address", 15: "Block device required", 27: "File too large", 29: "Illegal seek",
  31: "Too many links", 33: "Numerical argument out of domain", 34: "Numerical result out of range",
  35: "Resource deadlock avoided", 37: "No locks available", 42: "No message of desired type",
  43: "Identifier removed", 67: "Link has been severed", 71: "Protocol error", 77: "File descriptor in bad state",
  90: "Message too long", 91: "Protocol wrong type for socket", 92: "Protocol not available",
  93: "Protocol not supported", 97: "Address family not supported by protocol", 98: "Address already in use",
  99: "Cannot assign requested address", 100: "Network is down", 101: "Network is unreachable",
  103: "Software caused connection abort", 104: "Connection reset by peer", 105: "No buffer space available",
  106: "Transport endpoint is already connected", 107: "Transport endpoint is not connected",
  108: "Cannot send after transport endpoint shutdown", 109: "Too many references: cannot splice",
  113: "No route to host", 114: "Operation already in progress", 115: "Operation now in progress",
  116: "Stale file handle", 125: "Operation canceled", 127: "Key has expired", 128: "Key has been revoked",
  129: "Key was rejected by service", 130: "Owner died", 132: "Operation not possible due to RF-kill",
};

/** Human-readable text for an errno (the C library's English wording). */
export function errnoMessage(errno: number): string {
  return messages[errno] ?? `Unknown error ${errno}`;
}
