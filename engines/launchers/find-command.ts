import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";

/**
 * The executable `command` resolves to (a path, or a name looked up on $PATH), or undefined when
 * there is none. Launchers check first so that a missing `sbatch` or `mpiexec` gets a message
 * that says what to install, not a bare ENOENT from spawn.
 */
export function findCommand(command: string, path = process.env.PATH ?? ""): string | undefined {
  const candidates =
    isAbsolute(command) || command.includes("/")
      ? [command]
      : path
          .split(delimiter)
          .filter(Boolean)
          .map((dir) => join(dir, command));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      if (statSync(c).isFile()) return c;
    } catch {
      // not here
    }
  }
  return undefined;
}
