import { type ChildProcess, spawn } from "node:child_process";
import type { Client, EngineId } from "../../engines/index.js";
import { ENGINE_MAIN } from "../../engines/launchers/local-launcher.js";
import { until } from "./cluster-fixture.js";

/**
 * Starts an engine by hand, as a user on the controller's host would (`node engine/main.js
 * <file>`, not through the cluster's launcher), and waits until `rc` sees it registered. Rejects
 * when it has not registered within 10 s. The caller stops the process.
 */
export async function engineByHand(rc: Client, file: string): Promise<{ child: ChildProcess; id: EngineId }> {
  const before = new Set(rc.ids);
  const env = { ...process.env };
  delete env.TSPARALLEL_KEY;
  const child = spawn(process.execPath, [ENGINE_MAIN, file], { stdio: "ignore", env });
  if (!(await until(() => rc.ids.some((id) => !before.has(id)), 10_000))) {
    child.kill("SIGKILL");
    throw new Error("the engine started by hand did not register within 10 s");
  }
  return { child, id: rc.ids.find((i) => !before.has(i))! };
}
