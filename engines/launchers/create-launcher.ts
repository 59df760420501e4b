import type { Launcher, LauncherContext } from "./launcher.js";
import type { LauncherSpec } from "./launcher-spec.js";
import { LocalLauncher } from "./local-launcher.js";
import { MPILauncher } from "./mpi-launcher.js";
import { SlurmLauncher } from "./slurm-launcher.js";
import { SSHLauncher } from "./ssh-launcher.js";

/** The launcher a spec asks for (the default is local child processes). */
export function createLauncher(spec: LauncherSpec | undefined, ctx: LauncherContext): Launcher {
  switch (spec?.kind) {
    case undefined:
    case "local":
      return new LocalLauncher(ctx);
    case "ssh":
      return new SSHLauncher(ctx, spec);
    case "slurm":
      return new SlurmLauncher(ctx, spec);
    case "mpi":
      return new MPILauncher(ctx, spec);
  }
}
