import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseOptions, type Subcommand, UsageError } from "../subcommand.js";
import { executeNotebooks } from "./notebook-runner.js";
import { packageRoot } from "./python-env.js";

/** `tsparallel lessons`: runs the lesson notebooks headless and reports each one's time. */
export const lessonsCommand: Subcommand = {
  name: "lessons",
  summary: "execute the lesson notebooks headless (nbclient) and report their times",
  usage: "tsparallel lessons [--scale small|full] [--out DIR] [NOTEBOOK…]",
  help: `Executes notebooks (default: every notebooks/*.ipynb) with this kernel, one after the other,
writes the executed copies to DIR (default build/lessons) and prints one line per notebook.
Exits 1 if any notebook fails.

  --scale small|full   problem sizes (TSPARALLEL_LESSON_SCALE); default full
  --out DIR            where the executed copies go`,
  async run(args) {
    const o = parseOptions(args, { values: ["scale", "out"] });
    const scale = o.values.get("scale") ?? process.env.TSPARALLEL_LESSON_SCALE ?? "full";
    if (scale !== "small" && scale !== "full")
      throw new UsageError(`--scale must be small or full, not "${scale}"`);
    const outDir = resolve(o.values.get("out") ?? join(packageRoot, "build", "lessons"));
    const dir = join(packageRoot, "notebooks");
    const notebooks = o.positional.length
      ? o.positional.map((p) => resolve(p))
      : readdirSync(dir)
          .filter((f) => f.endsWith(".ipynb"))
          .sort()
          .map((f) => join(dir, f));
    process.stdout.write(`Running ${notebooks.length} notebooks at ${scale} scale → ${outDir}\n`);
    const started = performance.now();
    const results = await executeNotebooks(notebooks, outDir, {
      env: { TSPARALLEL_LESSON_SCALE: scale },
      onResult: (r) => {
        const name = r.notebook.split("/").pop();
        process.stdout.write(
          `${r.ok ? "ok    " : "FAILED"} ${r.seconds.toFixed(1).padStart(7)} s  ${name}\n`,
        );
        if (!r.ok)
          process.stdout.write(`${(r.error ?? "").split("\n").slice(-12).join("\n")}\n(see ${r.output})\n`);
      },
    });
    const failed = results.filter((r) => !r.ok).length;
    process.stdout.write(
      `${results.length - failed} passed, ${failed} failed in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
    );
    return failed ? 1 : 0;
  },
};
