// A tiny classic-BPF interpreter for seccomp programs, written from the kernel's description
// of the instructions (not from our assembler), so tests can run a compiled filter on
// synthetic struct seccomp_data { u32 nr; u32 arch; u64 ip; u64 args[6]; } buffers.
import type { BpfInsn } from "../../src/sys/bpf.ts";

export interface SeccompData {
  nr: number;
  arch: number;
  /** Up to six 64-bit arguments; missing ones are 0. */
  args?: readonly bigint[];
}

const SECCOMP_DATA_SIZE = 64;

function dataBuffer(d: SeccompData): DataView {
  const dv = new DataView(new ArrayBuffer(SECCOMP_DATA_SIZE));
  dv.setUint32(0, d.nr >>> 0, true);
  dv.setUint32(4, d.arch >>> 0, true);
  dv.setBigUint64(8, 0x7f00_1234_5678n, true); // instruction pointer: any value
  (d.args ?? []).forEach((a, i) => dv.setBigUint64(16 + 8 * i, BigInt.asUintN(64, a), true));
  return dv;
}

/** Runs `prog` on `d` and returns the 32-bit action. Throws on anything a seccomp filter may not do. */
export function runBpf(prog: readonly BpfInsn[], d: SeccompData): number {
  const data = dataBuffer(d);
  let acc = 0;
  let pc = 0;
  const jump = (cond: boolean, ins: BpfInsn) => pc + 1 + (cond ? ins.jt : ins.jf);
  for (let steps = 0; steps <= prog.length; steps++) {
    const ins = prog[pc];
    if (!ins) throw new Error(`pc ${pc} ran off the end of the program`);
    const k = ins.k >>> 0;
    switch (ins.code) {
      case 0x20: // BPF_LD | BPF_W | BPF_ABS
        if (k % 4 !== 0 || k + 4 > SECCOMP_DATA_SIZE) throw new Error(`load outside seccomp_data at ${pc}: ${k}`);
        acc = data.getUint32(k, true);
        pc++;
        break;
      case 0x54: // BPF_ALU | BPF_AND | BPF_K
        acc = (acc & k) >>> 0;
        pc++;
        break;
      case 0x05: // BPF_JMP | BPF_JA
        pc += 1 + k;
        break;
      case 0x15: // BPF_JMP | BPF_JEQ | BPF_K
        pc = jump(acc === k, ins);
        break;
      case 0x25: // BPF_JGT
        pc = jump(acc > k, ins);
        break;
      case 0x35: // BPF_JGE
        pc = jump(acc >= k, ins);
        break;
      case 0x45: // BPF_JSET
        pc = jump((acc & k) !== 0, ins);
        break;
      case 0x06: // BPF_RET | BPF_K
        return k;
      default:
        throw new Error(`unsupported opcode 0x${ins.code.toString(16)} at ${pc}`);
    }
  }
  throw new Error("program did not terminate"); // impossible for forward-only jumps
}
