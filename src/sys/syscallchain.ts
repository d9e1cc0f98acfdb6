// A child that shares our memory (CLONE_VM) and runs a fixed list of system calls, then execve.
//
// Why: a command must sometimes start in namespaces of its own (a fresh user namespace above
// all), and only the process itself can enter a new user namespace. fork() of a ~60 MiB Bun
// costs ~1.5 ms of page-table copying and tear-down per command; posix_spawn is cheap but
// cannot unshare. A CLONE_VM child copies nothing, and clone(2) itself creates the namespaces.
// The child must not run JavaScript (the parent's VM is live), so it runs libc's syscall()
// only: each step is a ucontext made by makecontext(3) to call syscall(NR, args...), linked to
// the next by uc_link, started by clone(setcontext, ...). Steps cannot branch on results, so
// every step must succeed when things are right: a failed step sets errno, which lives in
// memory the child shares with us (the same TLS), and the parent checks it before letting the
// child exec.
//
// Protocol: the child runs the setup steps with every signal blocked and every disposition at
// its default (Bun's handlers must never run in the child), writes "R" to a report pipe and
// waits on a go pipe; the parent checks errno, does its part (say, writes the child's id maps),
// writes go; the child execs with an empty mask. Both pipes are close-on-exec, so end-of-file
// on the report pipe means the exec happened; "E" means it failed. The arena (contexts, stacks,
// step data) is reused by the next spawn only once the child has exec'd or been reaped.
import { CFunction, FFIType as T, ptr, type Pointer } from "bun:ffi";
import { errno, libc, setErrno } from "./libc.ts";
import { Errno } from "./errno.ts";
import { SysError } from "./error.ts";
import { hostArch, syscallNumber, type SyscallName } from "./numbers.ts";
import { closeQuiet, pipe2, read, write } from "./fd.ts";
import { readText } from "./fs.ts";
import { kill, waitpid, type PackedArgs } from "./process.ts";
import { SIG, SIG_SETMASK } from "./signals.ts";

/** A step argument: a number, or bytes copied into the arena (their address is passed). */
export type ChainArg = number | bigint | Uint8Array;

interface Step {
  nr: number;
  args: ChainArg[];
  /** Run with an empty signal mask (the exec and what follows it). */
  unblocked?: boolean;
}

/** The setup steps of one child, in order. */
export class SyscallChain {
  readonly steps: Step[] = [];

  call(name: SyscallName, ...args: ChainArg[]): this {
    const arch = hostArch();
    const nr = arch === null ? undefined : syscallNumber(name, arch);
    if (nr === undefined) throw new SysError(name, Errno.ENOSYS, undefined, undefined, `no ${name} on ${process.arch}`);
    if (args.length > 6) throw new SysError(name, Errno.E2BIG);
    this.steps.push({ nr, args });
    return this;
  }

  /** Appends the steps of `other` (which may be kept and reused: steps are never changed). */
  append(other: SyscallChain): this {
    this.steps.push(...other.steps);
    return this;
  }
}

// ucontext_t is 968 bytes on x86_64 and about 4.5 KiB on aarch64 (its mcontext reserves 4 KiB).
const CTX_BYTES = process.arch === "arm64" ? 8192 : 1024;
const STACK_BYTES = 2048;
const CHILD_STACK_BYTES = 16384;
const DATA_BYTES = 65536;
const MAX_STEPS = 320;
// ucontext_t fields, the same on x86_64 and aarch64: uc_link, uc_stack.ss_sp, uc_stack.ss_size.
const UC_LINK = 8;
const UC_STACK_SP = 16;
const UC_STACK_SIZE = 32;

const CLONE_VM = 0x100;
const CLONE_PIDFD = 0x1000;

interface Libc {
  getcontext: (uc: number) => number;
  makecontext: (uc: number, fn: number, argc: number, ...args: (number | bigint)[]) => void;
  clone: (fn: bigint, stack: bigint, flags: number, arg: bigint, ptid: Int32Array, tls: bigint, ctid: bigint) => number;
  syscall: number;
  setcontext: bigint;
}

let fns: Libc | null | undefined;

function address(name: string): Pointer | null {
  return libc.dlsym(null, name) as Pointer | null;
}

/** glibc's context functions and clone(), or null where libc lacks them (musl has no makecontext). */
function load(): Libc | null {
  const names = ["getcontext", "makecontext", "setcontext", "clone", "syscall"];
  const at = names.map(address);
  if (at.some((p) => p === null) || hostArch() === null) return null;
  const [getcontext, makecontext, setcontext, clone, syscall] = at as Pointer[];
  return {
    getcontext: CFunction({ ptr: getcontext!, args: [T.u64], returns: T.i32 }) as unknown as Libc["getcontext"],
    // Variadic: syscall's number and six arguments, all passed as 64-bit integers.
    makecontext: CFunction({ ptr: makecontext!, args: [T.u64, T.u64, T.i32, T.u64, T.u64, T.u64, T.u64, T.u64, T.u64, T.u64], returns: T.void }) as unknown as Libc["makecontext"],
    clone: CFunction({ ptr: clone!, args: [T.u64, T.u64, T.i32, T.u64, T.ptr, T.u64, T.u64], returns: T.i32 }) as unknown as Libc["clone"],
    setcontext: BigInt(setcontext as unknown as number),
    syscall: syscall as unknown as number,
  };
}

/** Whether this libc can run syscall chains (BUN_SANDBOX_NO_SYSCALL_CHAIN=1 says no). */
export function chainSupported(): boolean {
  if (process.env.BUN_SANDBOX_NO_SYSCALL_CHAIN === "1") return false;
  return (fns ??= load()) !== null;
}

/** Contexts, their stacks, the child's first stack and the steps' data; one spawn at a time. */
class Arena {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly base: bigint;
  private dataUsed = 0;
  /** The signal mask each context was captured with (getcontext records it); undefined: none yet. */
  readonly captured: (boolean | undefined)[] = [];

  constructor() {
    const size = MAX_STEPS * (CTX_BYTES + STACK_BYTES) + CHILD_STACK_BYTES + DATA_BYTES + 64;
    const raw = new Uint8Array(new ArrayBuffer(size));
    const skew = (64 - (Number(BigInt(ptr(raw)) % 64n))) % 64;
    this.bytes = raw.subarray(skew);
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    this.base = BigInt(ptr(raw)) + BigInt(skew);
    this.addr = Number(this.base);
  }

  /** The base address as a number (user-space addresses are below 2^53). */
  readonly addr: number;

  ctx(i: number): number {
    return i * CTX_BYTES;
  }

  stack(i: number): number {
    return MAX_STEPS * CTX_BYTES + i * STACK_BYTES;
  }

  /** Top of the stack clone() starts the child on (16-byte aligned). */
  get childStackTop(): bigint {
    return this.base + BigInt(MAX_STEPS * (CTX_BYTES + STACK_BYTES) + CHILD_STACK_BYTES - 64);
  }

  resetData(): void {
    this.dataUsed = 0;
  }

  /** Copies `b` into the data area; returns its address. */
  put(b: Uint8Array): number {
    const at = MAX_STEPS * (CTX_BYTES + STACK_BYTES) + CHILD_STACK_BYTES + this.dataUsed;
    if (this.dataUsed + b.length + 16 > DATA_BYTES) throw new SysError("syscall chain", Errno.E2BIG, undefined, undefined, "step data exceeds the arena");
    this.bytes.set(b, at);
    this.dataUsed += (b.length + 15) & ~15;
    return this.addr + at;
  }
}

let arena: Arena | undefined;

const FULL_MASK = new BigUint64Array(16).fill(0xffffffffffffffffn);
const EMPTY_MASK = new BigUint64Array(16);

/** A step argument as makecontext takes it: a number while exact (BigInts cost an allocation). */
function argValue(a: ChainArg, mem: Arena): number | bigint {
  if (typeof a === "number") return a >= 0 ? a : BigInt.asUintN(64, BigInt(a));
  if (typeof a === "bigint") return a <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(a) : a;
  return mem.put(a);
}

/** Writes a 64-bit value (an address or a size) into the arena. */
function put64(view: DataView, at: number, v: number): void {
  view.setUint32(at, v % 0x100000000, true);
  view.setUint32(at + 4, Math.floor(v / 0x100000000), true);
}

/**
 * Fills the contexts: each calls syscall() with its step and continues with the next one. A
 * context's registers and signal mask come from getcontext, done once per slot and mask (it
 * costs a system call); makecontext, which sets the function, arguments and stack, every time
 * (the previous run wrote over its stack).
 */
function build(steps: readonly Step[], mem: Arena, f: Libc): void {
  if (steps.length > MAX_STEPS) throw new SysError("syscall chain", Errno.E2BIG, undefined, undefined, `${steps.length} steps (at most ${MAX_STEPS})`);
  const saved = new BigUint64Array(16);
  let mask: boolean | undefined;
  try {
    steps.forEach((s, i) => {
      const unblocked = s.unblocked === true;
      const uc = mem.addr + mem.ctx(i);
      if (mem.captured[i] !== unblocked) {
        if (mask === undefined) libc.sigprocmask(SIG_SETMASK, FULL_MASK, saved);
        if (mask !== unblocked) libc.sigprocmask(SIG_SETMASK, unblocked ? EMPTY_MASK : FULL_MASK, null);
        mask = unblocked;
        if (f.getcontext(uc) !== 0) throw new SysError("getcontext", errno());
        mem.captured[i] = unblocked;
      }
      put64(mem.view, mem.ctx(i) + UC_LINK, i + 1 < steps.length ? mem.addr + mem.ctx(i + 1) : 0);
      put64(mem.view, mem.ctx(i) + UC_STACK_SP, mem.addr + mem.stack(i));
      put64(mem.view, mem.ctx(i) + UC_STACK_SIZE, STACK_BYTES);
      const a = s.args.map((x) => argValue(x, mem));
      while (a.length < 6) a.push(0);
      f.makecontext(uc, f.syscall, 7, s.nr, ...a);
    });
  } finally {
    if (mask !== undefined) libc.sigprocmask(SIG_SETMASK, saved, null);
  }
}

/**
 * Signals this process catches or ignores (SigCgt, SigIgn of /proc/self/status): the child sets
 * them to the default first, so none of our handlers ever runs in it and the command does not
 * inherit an ignored one. Every signal but KILL and STOP when /proc cannot be read. Read once:
 * a process that runs chains sets no handler later (Bun installs its own at start-up).
 */
let handled: number[] | undefined;

function handledSignals(): number[] {
  return (handled ??= readHandledSignals());
}

function readHandledSignals(): number[] {
  let mask = (1n << 64n) - 1n;
  try {
    const status = readText("/proc/self/status");
    const field = (name: string) => BigInt(`0x${/^\s*([0-9a-f]+)/.exec(status.slice(status.indexOf(`\n${name}:`) + name.length + 2))?.[1] ?? "ffffffffffffffff"}`);
    mask = field("SigCgt") | field("SigIgn");
  } catch {
    // no /proc: all of them
  }
  const out: number[] = [];
  for (let s = 1; s <= 64; s++) if (s !== SIG.KILL && s !== SIG.STOP && mask & (1n << BigInt(s - 1))) out.push(s);
  return out;
}

/** Kernel struct sigaction for SIG_DFL: every field zero on x86_64 and aarch64. */
const SIGACTION_DFL = new Uint8Array(32);

export interface ChainChild {
  pid: number;
  /** pidfd of the child; the caller's to close once the child has been started. */
  pidfd: number;
}

export interface ChainSpec {
  /** clone(2) flags besides CLONE_VM: the CLONE_NEW* namespaces of the child. */
  flags: number;
  /** Steps run before the child reports ready (signals blocked, every disposition default). */
  setup: SyscallChain;
  /** Steps run after the parent's go (for a child that does not exec). */
  then?: SyscallChain;
  /** What the child execs after go; without it the child exits 0 after `then`. */
  exec?: { path: string; args: PackedArgs };
  /**
   * false: when release() fails, leave the child (dying or dead: a failed exec exits 127) to the
   * caller to reap, with its pidfd still open. Default true: killed and reaped.
   */
  reapOnFailure?: boolean;
}

/** Why a chain child did not do its work; nothing of it is left running. */
export class ChainError extends Error {
  constructor(
    /** "gone": the child ended (was killed, say) before its setup finished; see ChainHandle.ready. */
    readonly stage: "setup" | "run" | "exec" | "gone",
    readonly errno: number,
    message: string,
  ) {
    super(message);
  }
}

const R = Uint8Array.of(0x52);
const D = Uint8Array.of(0x44);
const E = Uint8Array.of(0x45);

/** The steps of one child: dispositions reset, setup, ready, go, then the exec or the rest. */
function allSteps(spec: ChainSpec, reportW: number, goR: number, scratch: Uint8Array): Step[] {
  const steps: Step[] = [];
  for (const s of handledSignals()) steps.push({ nr: nr("rt_sigaction"), args: [s, SIGACTION_DFL, 0, 8] });
  steps.push(...spec.setup.steps);
  steps.push({ nr: nr("write"), args: [reportW, R, 1] }, { nr: nr("read"), args: [goR, scratch, 1] });
  if (spec.exec) {
    const { path, args } = spec.exec;
    steps.push({ nr: nr("execve"), args: [Buffer.from(path + "\0"), BigInt(ptr(args.argv)), BigInt(ptr(args.envp))], unblocked: true });
    steps.push({ nr: nr("write"), args: [reportW, E, 1], unblocked: true });
    steps.push({ nr: nr("exit_group"), args: [127], unblocked: true });
  } else {
    steps.push(...(spec.then?.steps ?? []));
    steps.push({ nr: nr("write"), args: [reportW, D, 1] }, { nr: nr("exit_group"), args: [0] });
  }
  return steps;
}

/**
 * A cloned chain child. `ready()` waits for its setup steps and checks them; `release()` (which
 * checks first when ready() was not called) lets it exec, or run its remaining steps and exit,
 * reaped here; `abort()` kills and reaps it. release() or abort() must be called before the next
 * chain starts (they share one arena).
 *
 * Between the clone and ready() the caller may work (write the child's maps, say) while the child
 * runs its setup; a step's failure shows in errno, which the child shares with us. A call of the
 * caller's that fails there, even one it handles, makes ready() report a setup failure: safe, the
 * command then does not run.
 */
export class ChainHandle implements ChainChild {
  private open = true;
  private checked = false;

  constructor(
    readonly pid: number,
    readonly pidfd: number,
    private readonly reportR: number,
    private readonly goW: number,
    private readonly spec: ChainSpec,
  ) {}

  ready(): void {
    if (this.checked || !this.open) return;
    const b = readByte(this.reportR);
    const err = errno();
    if (b !== 0x52 && this.spec.reapOnFailure === false) {
      // Ended on its own, or killed (by the host, through its pidfd): its status is the caller's
      // to reap and report, so it is neither killed nor reaped here and its pidfd stays open.
      this.open = false;
      closeQuiet(this.reportR);
      closeQuiet(this.goW);
      throw new ChainError("gone", Errno.ESRCH, "the child ended before its setup finished");
    }
    try {
      if (b !== 0x52) throw new ChainError("setup", Errno.EIO, "the child ended before its setup finished");
      if (err !== 0) throw new ChainError("setup", err, `a setup step failed: ${new SysError("setup", err).message}`);
    } catch (e) {
      this.end(false);
      throw e;
    }
    this.checked = true;
  }

  release(): void {
    this.ready();
    this.end(true);
  }

  abort(): void {
    this.end(false);
  }

  private end(go: boolean): void {
    if (!this.open) return;
    this.open = false;
    let failed = false;
    try {
      if (go) this.go();
      else killAndReap(this.pid);
    } catch (e) {
      failed = true;
      if (this.spec.reapOnFailure !== false) killAndReap(this.pid);
      throw e;
    } finally {
      closeQuiet(this.reportR);
      closeQuiet(this.goW);
      // An exec'd child's pidfd is the caller's (and a failed one's, when the caller reaps); a helper's is done with.
      const callerKeeps = this.spec.exec && go && (!failed || this.spec.reapOnFailure === false);
      if (!callerKeeps) closeQuiet(this.pidfd);
    }
  }

  private go(): void {
    setErrno(0);
    write(this.goW, R);
    const b = readByte(this.reportR);
    const err = errno();
    if (this.spec.exec) {
      keep(this.spec.exec.args);
      if (b === 0x45) throw new ChainError("exec", err, `exec ${this.spec.exec.path}: ${new SysError("execve", err).message}`);
      return; // end of file: the exec closed the report pipe
    }
    if (b !== 0x44) throw new ChainError("run", Errno.EIO, "the child ended before its steps finished");
    waitpid(this.pid);
    if (err !== 0) throw new ChainError("run", err, `a step failed: ${new SysError("step", err).message}`);
  }
}

function killAndReap(pid: number): void {
  try {
    kill(pid, SIG.KILL);
  } catch {
    // gone already
  }
  try {
    waitpid(pid);
  } catch {
    // reaped already
  }
}

/** Clones the child, which starts on its setup steps; see ChainHandle. */
export function startChain(spec: ChainSpec): ChainHandle {
  const f = (fns ??= load());
  if (!f) throw new SysError("syscall chain", Errno.ENOSYS, undefined, undefined, "this libc has no makecontext/setcontext");
  const mem = (arena ??= new Arena());
  mem.resetData();
  const [reportR, reportW] = pipe2();
  const [goR, goW] = pipe2();
  // The child's ends: it has its own copies once cloned; ours must go, or end of file never comes.
  const childEnds = [reportW, goR];
  const closeChildEnds = () => childEnds.splice(0).forEach(closeQuiet);
  let pid = -1;
  const pidfd = new Int32Array([-1]);
  try {
    build(allSteps(spec, reportW, goR, new Uint8Array(8)), mem, f);
    const saved = new BigUint64Array(16);
    // Blocked before the clone, so no signal reaches a Bun handler in the child before its first step.
    libc.sigprocmask(SIG_SETMASK, FULL_MASK, saved);
    setErrno(0);
    pid = f.clone(f.setcontext, mem.childStackTop, spec.flags | CLONE_VM | CLONE_PIDFD | SIG.CHLD, mem.base + BigInt(mem.ctx(0)), pidfd, 0n, 0n);
    const cloneErr = errno();
    libc.sigprocmask(SIG_SETMASK, saved, null);
    if (pid < 0) throw new SysError("clone", cloneErr);
    closeChildEnds();
    return new ChainHandle(pid, pidfd[0]!, reportR, goW, spec);
  } catch (e) {
    if (pid > 0) killAndReap(pid);
    closeQuiet(pidfd[0]!);
    closeQuiet(reportR);
    closeQuiet(goW);
    throw e;
  } finally {
    closeChildEnds();
  }
}

/**
 * Builds the contexts of `spec` without starting anything: the stage server runs it while idle,
 * so the children it forks (namespace workers) run this code compiled.
 */
export function warmUpChain(spec: ChainSpec): void {
  const f = (fns ??= load());
  if (!f) return;
  const mem = (arena ??= new Arena());
  mem.resetData();
  build(allSteps(spec, -1, -1, new Uint8Array(8)), mem, f);
}

/** startChain, `beforeGo` in the parent (throwing kills the child), then release: the child, exec'd. */
export function spawnChain(spec: ChainSpec & { exec: { path: string; args: PackedArgs } }, beforeGo?: (c: ChainChild) => void): ChainChild {
  const h = startChain(spec);
  try {
    beforeGo?.(h);
    h.ready();
  } catch (e) {
    h.abort();
    throw e;
  }
  h.release();
  return { pid: h.pid, pidfd: h.pidfd };
}

const nr = (name: SyscallName): number => syscallNumber(name, hostArch()!)!;

/** One byte from the report pipe, or -1 at end of file. */
function readByte(fd: number): number {
  const b = new Uint8Array(1);
  return read(fd, b) === 1 ? b[0]! : -1;
}

/** Referencing the exec arguments after the exec keeps the GC from freeing what the kernel read. */
function keep(_args: PackedArgs): void {}
