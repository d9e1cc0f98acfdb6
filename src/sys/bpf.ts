// A small classic-BPF assembler for seccomp programs. Jumps name their targets by label; a
// conditional jump whose target lies beyond its 8-bit jt/jf reach is routed through an
// inserted BPF_JA, whose offset is 32 bits. Pure: no syscalls.
import { SysError } from "./error.ts";
import { Errno } from "./errno.ts";

export interface BpfInsn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/** The opcodes our seccomp programs use (class | size/op | source). */
export const BPF = {
  LD_W_ABS: 0x20, // A = *(u32 *)(data + k)
  ALU_AND_K: 0x54, // A &= k
  JA: 0x05, // pc += k
  JEQ_K: 0x15,
  JGT_K: 0x25,
  JGE_K: 0x35,
  JSET_K: 0x45,
  RET_K: 0x06,
} as const;

/** The kernel refuses longer programs (BPF_MAXINSNS). */
export const BPF_MAXINSNS = 4096;
const MAX_JUMP = 255;

export type Label = number;
/** A jump target: a label, or the instruction right after the jump. */
export type Target = Label | "next";

interface Pending {
  code: number;
  k: number;
  /** Conditional jumps: both branches; BPF_JA: jt is the target; others: null. */
  jt: Label | null;
  jf: Label | null;
}

const isConditional = (code: number): boolean => (code & 0x07) === 0x05 && code !== BPF.JA;

export class BpfAssembler {
  private readonly insns: Pending[] = [];
  /** Instruction index of each label; -1 until placed. */
  private readonly at: number[] = [];

  label(): Label {
    this.at.push(-1);
    return this.at.length - 1;
  }

  /** Binds `l` to the next instruction emitted. */
  place(l: Label): void {
    if (this.at[l] !== -1) throw new Error(`BPF label ${l} placed twice`);
    this.at[l] = this.insns.length;
  }

  /** A non-jump instruction. */
  emit(code: number, k: number): void {
    this.insns.push({ code, k: k >>> 0, jt: null, jf: null });
  }

  /** A conditional jump (JEQ/JGT/JGE/JSET with K). */
  jump(code: number, k: number, jt: Target, jf: Target): void {
    const after = this.insns.length + 1;
    const resolve = (t: Target): Label => (t === "next" ? this.at.push(after) - 1 : t);
    this.insns.push({ code, k: k >>> 0, jt: resolve(jt), jf: resolve(jf) });
  }

  /** An unconditional jump. */
  ja(target: Label): void {
    this.insns.push({ code: BPF.JA, k: 0, jt: target, jf: null });
  }

  /** The finished program: every label resolved, long conditional jumps through BPF_JA. */
  assemble(): BpfInsn[] {
    const insns = this.insns.map((i) => ({ ...i }));
    const at = [...this.at];
    if (at.some((p) => p < 0 || p >= insns.length)) throw new Error("BPF label not placed on an instruction");
    while (widenOneJump(insns, at)) {
      // each pass routes one far branch through a new BPF_JA; distances only grow, so this ends
    }
    if (insns.length > BPF_MAXINSNS) {
      throw new SysError("seccomp filter", Errno.E2BIG, undefined, undefined, `${insns.length} BPF instructions, the kernel takes at most ${BPF_MAXINSNS}`);
    }
    return insns.map((ins, i) => {
      const off = (l: Label | null): number => {
        const d = l === null ? 0 : at[l]! - i - 1;
        if (d < 0) throw new Error(`BPF jump backwards at ${i}`);
        return d;
      };
      if (ins.code === BPF.JA) return { code: ins.code, jt: 0, jf: 0, k: off(ins.jt) };
      return { code: ins.code, jt: off(ins.jt), jf: off(ins.jf), k: ins.k };
    });
  }
}

/** Finds the first conditional branch out of 8-bit reach and inserts a BPF_JA after it. */
function widenOneJump(insns: Pending[], at: number[]): boolean {
  for (let i = 0; i < insns.length; i++) {
    const ins = insns[i]!;
    if (!isConditional(ins.code)) continue;
    for (const side of ["jt", "jf"] as const) {
      const target = ins[side]!;
      if (at[target]! - i - 1 <= MAX_JUMP) continue;
      insns.splice(i + 1, 0, { code: BPF.JA, k: 0, jt: target, jf: null });
      for (let l = 0; l < at.length; l++) if (at[l]! > i) at[l]!++;
      ins[side] = at.push(i + 1) - 1;
      return true;
    }
  }
  return false;
}

/** struct sock_filter[] as bytes: u16 code, u8 jt, u8 jf, u32 k, little endian. */
export function encodeFilter(prog: readonly BpfInsn[]): Uint8Array {
  const out = new Uint8Array(prog.length * 8);
  const dv = new DataView(out.buffer);
  prog.forEach((ins, i) => {
    dv.setUint16(i * 8, ins.code, true);
    dv.setUint8(i * 8 + 2, ins.jt);
    dv.setUint8(i * 8 + 3, ins.jf);
    dv.setUint32(i * 8 + 4, ins.k, true);
  });
  return out;
}

/** The inverse of encodeFilter (for reading libseccomp's output and for tests). */
export function decodeFilter(bytes: Uint8Array): BpfInsn[] {
  if (bytes.length % 8 !== 0) throw new SysError("decodeFilter", Errno.EINVAL, undefined, undefined, `${bytes.length} bytes is not a whole number of instructions`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: BpfInsn[] = [];
  for (let o = 0; o < bytes.length; o += 8) {
    out.push({ code: dv.getUint16(o, true), jt: dv.getUint8(o + 2), jf: dv.getUint8(o + 3), k: dv.getUint32(o + 4, true) });
  }
  return out;
}
