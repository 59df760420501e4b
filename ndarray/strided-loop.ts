/**
 * The one loop every elementwise operation, copy and reduction runs on: walk a logical shape with
 * several operands, each with its own strides and offset, and hand the innermost run to a kernel.
 *
 * Axes are first merged wherever every operand is contiguous across them, so a C-contiguous array
 * of any rank becomes a single run and the kernel's inner loop stays long.
 * @module
 */

/** One operand's view of the iteration: element strides (per axis of the loop's shape) and a start offset. */
export interface LoopOperand {
  readonly strides: readonly number[];
  readonly offset: number;
}

/**
 * Kernel called once per innermost run: `n` elements, where operand `k` starts at `offsets[k]` and
 * advances by `steps[k]` per element. `offsets` is reused between calls; do not keep it.
 */
export type RunKernel = (n: number, offsets: readonly number[], steps: readonly number[]) => void;

/** Calls `kernel` for every innermost run of `shape`, in C index order of the (merged) axes. */
export function stridedLoop(
  shape: readonly number[],
  operands: readonly LoopOperand[],
  kernel: RunKernel,
): void {
  const k = operands.length;
  for (const d of shape) if (d === 0) return;
  // Drop length-1 axes, then merge neighbours that are contiguous for every operand.
  const dims: number[] = [];
  const st: number[][] = operands.map(() => []);
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i]!;
    if (d === 1) continue;
    const last = dims.length - 1;
    if (last >= 0 && operands.every((op, j) => st[j]![last] === op.strides[i]! * d)) {
      dims[last]! *= d;
      for (let j = 0; j < k; j++) st[j]![last] = operands[j]!.strides[i]!;
    } else {
      dims.push(d);
      for (let j = 0; j < k; j++) st[j]!.push(operands[j]!.strides[i]!);
    }
  }
  const offsets = operands.map((op) => op.offset);
  const nd = dims.length;
  if (nd === 0) {
    kernel(1, offsets, new Array<number>(k).fill(0));
    return;
  }
  const inner = dims[nd - 1]!;
  const steps = st.map((s) => s[nd - 1]!);
  if (nd === 1) {
    kernel(inner, offsets, steps);
    return;
  }
  const counter = new Array<number>(nd - 1).fill(0);
  const base = [...offsets];
  const cur = [...offsets];
  for (;;) {
    kernel(inner, cur, steps);
    // Odometer increment over the outer axes.
    let ax = nd - 2;
    for (; ax >= 0; ax--) {
      counter[ax]!++;
      if (counter[ax]! < dims[ax]!) break;
      counter[ax] = 0;
    }
    if (ax < 0) return;
    for (let j = 0; j < k; j++) {
      let o = base[j]!;
      const s = st[j]!;
      for (let a = 0; a <= nd - 2; a++) o += counter[a]! * s[a]!;
      cur[j] = o;
    }
  }
}
