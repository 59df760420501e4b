/**
 * What every `tsparallel <name>` command is made of: its description and `run`, the error for
 * wrong arguments, and the option parser they share. The commands themselves live next to what
 * they do (kernel/lab/, engines/cli/); kernel/cli.ts lists them.
 */

/** Wrong arguments: the CLI prints the usage line and the message, and exits 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  readonly code = "USAGE";
}

/** One `tsparallel <name>` command. */
export interface Subcommand {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** The usage line, e.g. `tsparallel kernel CONNECTION_FILE`. */
  usage: string;
  /** The rest of `tsparallel <name> --help`: options and examples. */
  help: string;
  /** Runs the command; resolves with the exit code. Throws {@link UsageError} for bad arguments. */
  run(args: string[]): Promise<number>;
}

/** Splits `--name value`, `--name=value` and flags; anything else is positional. */
export function parseOptions(
  args: string[],
  spec: { flags?: readonly string[]; values?: readonly string[] },
): { flags: Set<string>; values: Map<string, string>; positional: string[] } {
  const flags = new Set<string>();
  const values = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("--") || arg === "--") {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (spec.flags?.includes(name)) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      flags.add(name);
    } else if (spec.values?.includes(name)) {
      const value = eq >= 0 ? arg.slice(eq + 1) : args[++i];
      if (value === undefined || value === "") throw new UsageError(`--${name} needs a value`);
      values.set(name, value);
    } else {
      throw new UsageError(`unknown option ${arg}`);
    }
  }
  return { flags, values, positional };
}
