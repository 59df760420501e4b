/**
 * A real JupyterLab for browser tests, started the way users start it (`tsparallel lab`, which
 * installs the kernel and the cluster panel into .venv and starts the "default" cluster), on a
 * free loopback port with a token and its own temp dirs for Jupyter and for clusters.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../../kernel/lab/python-env.js";
import { freePort } from "../helpers/kernel-process.js";
import { venvMissing } from "../helpers/system-needs.js";

/** A running `tsparallel lab`. */
export interface LabServer {
  url: string;
  token: string;
  /** `TSPARALLEL_DIR` of the server (its clusters are in `clusters/` below it). */
  tsparallelDir: string;
  process: ChildProcess;
  /** Everything the server printed so far. */
  log(): string;
  /** Stops JupyterLab by its pid (SIGTERM, then SIGKILL), and every cluster left in its dir. */
  stop(): Promise<void>;
}

/** Why JupyterLab cannot run here (no .venv with it), or undefined when it can. */
export function labUnavailable(): string | undefined {
  return venvMissing(["jupyterlab"]);
}

/** Starts `tsparallel lab -n ENGINES` in `dir` and resolves once its REST API answers. */
export async function startLabServer(dir: string, engines: number): Promise<LabServer> {
  const port = await freePort();
  const token = `tsparallel-${process.pid}-${Date.now()}`;
  const tsparallelDir = join(dir, "tsparallel");
  const notebooks = join(dir, "notebooks");
  mkdirSync(notebooks, { recursive: true });
  const env = {
    ...process.env,
    TSPARALLEL_DIR: tsparallelDir,
    JUPYTER_CONFIG_DIR: join(dir, "jupyter-config"),
    JUPYTER_RUNTIME_DIR: join(dir, "jupyter-runtime"),
    JUPYTER_DATA_DIR: join(dir, "jupyter-data"),
    // No workspace or settings from a previous run: the panel starts as a user first sees it.
    JUPYTERLAB_WORKSPACES_DIR: join(dir, "workspaces"),
    JUPYTERLAB_SETTINGS_DIR: join(dir, "settings"),
  };
  const child = spawn(
    process.execPath,
    [
      join(packageRoot, "bin", "tsparallel.js"),
      "lab",
      "-n",
      String(engines),
      "--notebook-dir",
      notebooks,
      "--",
      "--no-browser",
      "--ip=127.0.0.1",
      `--port=${port}`,
      `--IdentityProvider.token=${token}`,
      // No "would you like news" poll to the internet.
      "--LabApp.news_url=",
    ],
    // Its own process group, so that cleanup after a failure reaches JupyterLab (a grandchild) too.
    { env, stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  let log = "";
  child.stdout!.on("data", (d: Buffer) => (log += d));
  child.stderr!.on("data", (d: Buffer) => (log += d));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const server: LabServer = {
    url,
    token,
    tsparallelDir,
    process: child,
    log: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        process.kill(child.pid!, "SIGTERM");
        const kill = setTimeout(() => killGroup(child.pid!), 15_000);
        await exited;
        clearTimeout(kill);
      }
      killGroup(child.pid!); // anything of the group still there
      stopClusters(tsparallelDir);
    },
  };
  for (let i = 0; i < 240; i++) {
    if (child.exitCode !== null) break;
    try {
      const res = await fetch(`${url}/api/status?token=${token}`);
      if (res.ok) return server;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await server.stop();
  throw new Error(`JupyterLab did not start on ${url}:\n${log}`);
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // gone
  }
}

/** Kills the controller of every cluster whose connection file is in `dir`/clusters. */
export function stopClusters(dir: string): void {
  const clusters = join(dir, "clusters");
  if (!existsSync(clusters)) return;
  for (const f of readdirSync(clusters).filter((f) => f.endsWith(".json"))) {
    try {
      const pid = (JSON.parse(readFileSync(join(clusters, f), "utf8")) as { controller_pid: number })
        .controller_pid;
      process.kill(pid, "SIGKILL"); // its engines exit when their controller is gone
    } catch {
      // not running, or not a connection file
    }
  }
}
