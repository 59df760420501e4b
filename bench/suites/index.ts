import type { BenchContext } from "../bench-context.js";
import type { MetricResult } from "../metric.js";
import { kernelSuite } from "./kernel.js";
import { RUNTIME_METRICS, runtimeSuite } from "./runtime.js";
import { SCALE_METRICS, scaleSuite } from "./scale.js";

/** A group of metrics that share a setup (a cluster, a kernel install). */
export interface Suite {
  /** Metric names this suite produces (stable; see README's Performance section). */
  metrics: string[];
  /** Runs the suite; `only` narrows it to metrics with these prefixes. */
  run(
    ctx: BenchContext,
    only?: string[],
  ): Promise<{ rows: MetricResult[]; versions?: Record<string, string> }>;
}

export const suites: Record<string, Suite> = {
  kernel: {
    metrics: [
      "kernel_start_s",
      "kernel_first_cell_s",
      "kernel_first_cell_after_idle_s",
      "kernel_warm_cell_ms",
    ],
    run: async (ctx) => ({ rows: await kernelSuite(ctx) }),
  },
  runtime: {
    metrics: RUNTIME_METRICS,
    run: (ctx, only) => runtimeSuite(ctx, only),
  },
  scale: {
    metrics: SCALE_METRICS,
    run: (ctx, only) => scaleSuite(ctx, only),
  },
};
