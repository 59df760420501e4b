import { spawn } from "node:child_process";
import { join } from "node:path";
import type { Subcommand } from "../cli.js";
import { parseOptions } from "../cli.js";
import { installKernelspec, KERNEL_NAME } from "../kernelspec.js";
import { ensurePythonEnv, packageRoot, venvDir } from "./python-env.js";

/**
 * `tsparallel lab` (what `npm start` runs): JupyterLab from the project's Python environment
 * (made on first use) with this kernel installed into it, opened on the lesson notebooks.
 */
export const labCommand: Subcommand = {
  name: "lab",
  summary: "open JupyterLab with this kernel on the lesson notebooks (npm start)",
  usage: "tsparallel lab [--notebook-dir DIR] [-- JUPYTERLAB_OPTIONS…]",
  help: `Creates .venv with JupyterLab on first use (python/requirements.txt), installs the
"${KERNEL_NAME}" kernelspec into it and starts JupyterLab on DIR (default: notebooks/).
The notebooks start their own engine cluster (Cluster.start or %cluster start); it stops with them.
Options after -- go to jupyter lab, e.g. -- --no-browser --port 8890.`,
  async run(args) {
    const split = args.indexOf("--");
    const ours = split < 0 ? args : args.slice(0, split);
    const passthrough = split < 0 ? [] : args.slice(split + 1);
    const o = parseOptions(ours, { values: ["notebook-dir"] });
    const python = ensurePythonEnv(["jupyterlab"]);
    await installKernelspec({ kind: "prefix", dir: venvDir });
    const notebookDir = o.values.get("notebook-dir") ?? join(packageRoot, "notebooks");
    const child = spawn(python, ["-m", "jupyterlab", `--notebook-dir=${notebookDir}`, ...passthrough], {
      stdio: "inherit",
      env: {
        ...process.env,
        JUPYTER_PATH: [join(venvDir, "share", "jupyter"), process.env.JUPYTER_PATH].filter(Boolean).join(":"),
      },
    });
    const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
    process.on("SIGINT", forward("SIGINT"));
    process.on("SIGTERM", forward("SIGTERM"));
    return new Promise((resolve) => child.on("close", (code) => resolve(code ?? 0)));
  },
};
