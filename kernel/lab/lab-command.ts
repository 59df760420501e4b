import { spawn } from "node:child_process";
import { cpus } from "node:os";
import { join } from "node:path";
import type { Cluster } from "../../engines/index.js";
import { installKernelspec, KERNEL_NAME } from "../kernelspec.js";
import { parseOptions, type Subcommand, UsageError } from "../subcommand.js";
import { installLabExtension } from "./lab-extension.js";
import { ensurePythonEnv, packageRoot, venvDir } from "./python-env.js";

/**
 * `tsparallel lab` (what `npm start` runs): JupyterLab from the project's Python environment
 * (made on first use) with this kernel installed into it, opened on the lesson notebooks.
 */
export const labCommand: Subcommand = {
  name: "lab",
  summary: "open JupyterLab with this kernel on the lesson notebooks (npm start)",
  usage: "tsparallel lab [--notebook-dir DIR] [-n ENGINES | --no-cluster] [-- JUPYTERLAB_OPTIONS…]",
  help: `Creates .venv with JupyterLab on first use (python/requirements.txt), installs the
"${KERNEL_NAME}" kernelspec and the cluster panel (a JupyterLab sidebar) into it, starts a
local engine cluster named "default" (one engine per core, or -n ENGINES) and JupyterLab on DIR
(default: notebooks/). In any notebook, %px runs
on that cluster and Client.connect() reaches it; the lessons start clusters of their own.
The cluster stops when JupyterLab does. Options after -- go to jupyter lab, e.g.
-- --no-browser --port 8890.`,
  async run(args) {
    const split = args.indexOf("--");
    const ours = split < 0 ? args : args.slice(0, split);
    const passthrough = split < 0 ? [] : args.slice(split + 1);
    const o = parseOptions(
      ours.map((a) => (a === "-n" ? "--n" : a)),
      { flags: ["no-cluster"], values: ["notebook-dir", "n"] },
    );
    if (o.positional.length)
      throw new UsageError(`unexpected argument ${o.positional[0]} (JupyterLab options go after --)`);
    const python = await ensurePythonEnv(["jupyterlab"]);
    await installKernelspec({ kind: "prefix", dir: venvDir });
    installLabExtension(python, venvDir);
    let cluster: { cluster: Cluster; owned: boolean } | undefined;
    if (!o.flags.has("no-cluster")) {
      const n = o.values.has("n") ? Number(o.values.get("n")) : cpus().length;
      if (!Number.isInteger(n) || n < 1) throw new UsageError(`-n needs a whole number of engines ≥ 1`);
      cluster = await startDefaultCluster(n);
    }
    const notebookDir = o.values.get("notebook-dir") ?? join(packageRoot, "notebooks");
    // Jupyter refuses to start as root unless told (containers and CI run as root).
    const root = process.getuid?.() === 0 ? ["--allow-root"] : [];
    const child = spawn(
      python,
      ["-m", "jupyterlab", `--notebook-dir=${notebookDir}`, ...root, ...passthrough],
      {
        stdio: "inherit",
        env: {
          ...process.env,
          // The cluster panel's server extension runs its Node service with this Node.
          TSPARALLEL_NODE: process.execPath,
          JUPYTER_PATH: [join(venvDir, "share", "jupyter"), process.env.JUPYTER_PATH]
            .filter(Boolean)
            .join(":"),
        },
      },
    );
    const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
    // On a terminal JupyterLab takes SIGINT itself (it asks to confirm). Without one (a
    // background run) a SIGINT ends it by a KeyboardInterrupt that skips its clean-up, leaving
    // its kernels (and the clusters their notebooks started) running; SIGTERM shuts them down.
    process.on("SIGINT", forward(process.stdin.isTTY ? "SIGINT" : "SIGTERM"));
    process.on("SIGTERM", forward("SIGTERM"));
    process.on("SIGHUP", forward("SIGTERM"));
    const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? 0)));
    if (cluster?.owned) await cluster.cluster.stop();
    else await cluster?.cluster.client?.close();
    return code;
  },
};

/** The notebooks' shared cluster: a running "default" one (left running at exit), else a new one. */
async function startDefaultCluster(n: number): Promise<{ cluster: Cluster; owned: boolean }> {
  // Loaded here so that `tsparallel kernel` does not pay for what only `lab` needs.
  const { Cluster } = await import("../../engines/index.js");
  const { connectionFilePath } = await import("../../engines/wire/protocol/connection-file.js");
  const { DEFAULT_CLUSTER } = await import("../parallel/parallel-magics.js");
  try {
    const running = await Cluster.attach(DEFAULT_CLUSTER);
    process.stderr.write(
      `tsparallel: using the running "${DEFAULT_CLUSTER}" cluster (${running.client?.ids.length} engines)\n`,
    );
    return { cluster: running, owned: false };
  } catch {
    // none (or a stale file): start one
  }
  const cluster = await Cluster.launch({
    n,
    name: DEFAULT_CLUSTER,
    file: connectionFilePath(DEFAULT_CLUSTER),
  });
  process.stderr.write(`tsparallel: started the "${DEFAULT_CLUSTER}" cluster with ${n} engines\n`);
  return { cluster, owned: true };
}
