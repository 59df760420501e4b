import { formatDuration } from "../format-duration.js";
import { type Magic, MagicUsageError } from "../magic.js";

const USAGE = "%time statement   |   %%time then the body on the following lines";

/** `%time` / `%%time`: run once and report CPU and wall time, keeping the cell's result. */
export const timeMagic: Magic = {
  name: "time",
  kind: "both",
  usage: USAGE,
  summary: "Run a statement or cell once and print its CPU and wall time.",
  async run(args, body, ctx) {
    const code = body ?? args;
    if (code.trim() === "") throw new MagicUsageError("nothing to time", USAGE);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const outcome = await ctx.runCode(code);
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const user = cpu.user / 1e6;
    const sys = cpu.system / 1e6;
    ctx.stream(
      "stdout",
      `CPU times: user ${formatDuration(user)}, sys: ${formatDuration(sys)}, total: ${formatDuration(user + sys)}\n` +
        `Wall time: ${formatDuration(wall)}\n`,
    );
    return outcome;
  },
};
