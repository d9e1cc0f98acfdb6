// The network part of a plan under `--confinement landlock`, as seccomp rules (pure data).
// Landlock (ABI 4) sees only TCP bind and connect, by port. So seccomp refuses what it does not see:
// every other IP socket (UDP, SCTP, MPTCP, raw), the packet and remote-host families, io_uring (its
// I/O passes no filter), and TCP Fast Open, whose implicit connect no LSM hook checks.
//
// The kernel reads socket(2)'s arguments as 32-bit ints while seccomp compares the 64-bit
// register, so every comparison here looks at the low 32 bits only: a family of 0x1_0000_0002 is
// AF_INET to the kernel and must be refused as such.
import type { ArgCondition, SeccompRule } from "../sys/seccomp.ts";
import { Errno } from "../sys/errno.ts";

const EPERM = Errno.EPERM;
const LOW32 = 0xffffffffn;

export const AF = { INET: 2, INET6: 10, PACKET: 17, RDS: 21, TIPC: 30, VSOCK: 40, SMC: 43, XDP: 44 } as const;
/** Families refused whatever the policy: raw frames, and transports to other hosts or the hypervisor. */
const NEVER: readonly number[] = [AF.PACKET, AF.RDS, AF.TIPC, AF.VSOCK, AF.SMC, AF.XDP];
const IP: readonly number[] = [AF.INET, AF.INET6];
export const MSG_FASTOPEN = 0x20000000;

const low32 = (arg: ArgCondition["arg"], value: number): ArgCondition => ({ arg, op: "masked-eq", mask: LOW32, value: BigInt(value) });
const bits = (arg: ArgCondition["arg"], mask: number, value: number): ArgCondition => ({ arg, op: "masked-eq", mask: BigInt(mask), value: BigInt(value) });

/** socket(2)'s type names something other than SOCK_STREAM (its low 4 bits are not 0001; the rest are flags). */
const notStream = (): ArgCondition[] => [bits(1, 1, 0), bits(1, 2, 2), bits(1, 4, 4), bits(1, 8, 8)];

/**
 * socket(2)'s protocol is neither 0 nor IPPROTO_TCP (6): one case per way a 32-bit word can
 * differ from both (bit 0 set, any bit from 3 up set, or bits 2..1 being 01 or 10). Two `ne`
 * conditions on one argument would say it too, but libseccomp cannot compile that. Built on use:
 * the CLI starts faster without work for options it was not given.
 */
const notTcp = (): ArgCondition[] => [
  bits(2, 1, 1), bits(2, 6, 2), bits(2, 6, 4),
  ...Array.from({ length: 29 }, (_, i) => bits(2, 2 ** (i + 3), 2 ** (i + 3))),
];

const socketWhen = (family: number, extra?: ArgCondition): SeccompRule => ({ syscall: "socket", errno: EPERM, when: extra ? [low32(0, family), extra] : [low32(0, family)] });

/** `flags` argument `arg` of a send call has MSG_FASTOPEN. */
const fastOpen = (syscall: string, arg: ArgCondition["arg"]): SeccompRule => ({ syscall, errno: EPERM, when: [bits(arg, MSG_FASTOPEN, MSG_FASTOPEN)] });

/**
 * The seccomp side of a restricted network. "none" (--unshare-net): no IP socket at all.
 * "proxy" (--allow-host): TCP sockets only, which Landlock lets connect to the proxies' ports alone.
 */
export function landlockNetRules(mode: "none" | "proxy"): SeccompRule[] {
  const rules = NEVER.map((f) => socketWhen(f));
  if (mode === "none") rules.push(...IP.map((f) => socketWhen(f)));
  else {
    for (const f of IP) rules.push(...[...notStream(), ...notTcp()].map((c) => socketWhen(f, c)));
    rules.push(fastOpen("sendto", 3), fastOpen("sendmsg", 2), fastOpen("sendmmsg", 3));
  }
  rules.push({ syscall: "io_uring_setup", errno: EPERM });
  return rules;
}
