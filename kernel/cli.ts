/**
 * The `tsparallel` command. Subcommands are entries of {@link SUBCOMMANDS}: adding one is one
 * object with its name, usage line, help text and `run`.
 */
import { launcherFlagsUsage } from "../engines/launchers/launcher-flags.js";
import { type InstallTarget, installKernelspec, KERNEL_NAME, KERNEL_NODE_FLAGS } from "./kernelspec.js";
import { labCommand } from "./lab/lab-command.js";
import { lessonsCommand } from "./lab/lessons-command.js";
import { ownPackage } from "./protocol/kernel-info.js";
import { parseOptions, type Subcommand, UsageError } from "./subcommand.js";

const install: Subcommand = {
  name: "install",
  summary: "install the Jupyter kernelspec (no Python needed)",
  usage: "tsparallel install [--user | --sys-prefix | --prefix DIR] [--no-snapshot]",
  help: `Writes the "${KERNEL_NAME}" kernelspec (display name "TypeScript (parallel)").

  --user         for this user (default): $JUPYTER_DATA_DIR, else ~/.local/share/jupyter
                 (~/Library/Jupyter on macOS, %APPDATA%\\jupyter on Windows)
  --sys-prefix   into the active Python environment: $VIRTUAL_ENV, $CONDA_PREFIX, or the
                 prefix of the python3 on PATH (PREFIX/share/jupyter/kernels)
  --prefix DIR   into DIR/share/jupyter/kernels (point JUPYTER_PATH at DIR/share/jupyter)
  --no-snapshot  without the kernel's startup snapshot (a ~40 MB file next to kernel.json that
                 makes a first cell sent at kernel start answer ~0.5 s sooner)`,
  async run(args) {
    const o = parseOptions(args, { flags: ["user", "sys-prefix", "no-snapshot"], values: ["prefix"] });
    if (o.positional.length) throw new UsageError(`unexpected argument ${o.positional[0]}`);
    const chosen = [o.flags.has("user"), o.flags.has("sys-prefix"), o.values.has("prefix")].filter(
      Boolean,
    ).length;
    if (chosen > 1) throw new UsageError("choose one of --user, --sys-prefix and --prefix DIR");
    const target: InstallTarget = o.values.has("prefix")
      ? { kind: "prefix", dir: o.values.get("prefix")! }
      : o.flags.has("sys-prefix")
        ? { kind: "sys-prefix" }
        : { kind: "user" };
    const { dir, snapshot } = await installKernelspec(target, process.env, {
      snapshot: !o.flags.has("no-snapshot"),
    });
    process.stdout.write(`Installed kernelspec ${KERNEL_NAME} in ${dir}\n`);
    if ("skipped" in snapshot) {
      process.stdout.write(`No startup snapshot (${snapshot.skipped}): kernels start without one.\n`);
    } else {
      const how = snapshot.built ? `built in ${snapshot.seconds.toFixed(1)} s` : "up to date";
      process.stdout.write(`Startup snapshot ${how}: TypeScript and ${snapshot.libraries} library files.\n`);
    }
    return 0;
  },
};

const kernel: Subcommand = {
  name: "kernel",
  summary: "run the kernel (Jupyter starts this from the kernelspec)",
  usage: "tsparallel kernel CONNECTION_FILE",
  help: `Runs a kernel on the sockets described by CONNECTION_FILE (a Jupyter connection file:
transport, ip, the five ports, key, signature_scheme) until a shutdown_request.`,
  async run(args) {
    const o = parseOptions(args, {});
    if (o.positional.length !== 1) throw new UsageError("give exactly one connection file");
    const { runKernel } = await import("./main.js");
    return runKernel(o.positional[0]!);
  },
};

const snapshot: Subcommand = {
  name: "snapshot",
  summary: "rebuild a kernelspec's startup snapshot (kernels do this themselves when Node changes)",
  usage: "tsparallel snapshot BLOB",
  help: `Builds the kernel's V8 startup snapshot into BLOB (and BLOB.stamp) for this node, unless
the one there still fits. \`tsparallel install\` does this; a kernel whose snapshot no longer fits
its node binary or libraries runs it in the background.`,
  async run(args) {
    const o = parseOptions(args, {});
    if (o.positional.length !== 1) throw new UsageError("give exactly one blob path");
    const { ensureStartupSnapshot } = await import("./compiler/snapshot-build.js");
    const r = await ensureStartupSnapshot(o.positional[0]!, KERNEL_NODE_FLAGS);
    process.stdout.write(`${r.built ? "built" : "up to date"}: ${o.positional[0]}\n`);
    return 0;
  },
};

const cluster: Subcommand = {
  name: "cluster",
  summary: "start, stop, list and grow engine clusters",
  usage:
    "tsparallel cluster start [-n N] [--daemonize] [--launcher local|ssh|slurm|mpi] | stop | list | engines -n N",
  help: `  start [-n N] [--name NAME] [--daemonize] [--ip IP] [--encrypt | --no-encrypt] [--scheme S]
        [--hwm N] [--launcher local|ssh|slurm|mpi] [launcher options]
        start a controller with N engines (default 2; with ssh, the hosts' counts); without
        --daemonize it runs until Ctrl-C. Traffic is encrypted unless the controller binds
        loopback (--encrypt / --no-encrypt decide instead). Launcher options:
${launcherFlagsUsage("          ")}
  stop [--name NAME | --all]     stop a cluster (default name: "default")
  list                           list clusters and whether they are running
  engines -n N [--name NAME]     add N engines to a running cluster

Connection files (mode 0600) live in $TSPARALLEL_DIR/clusters or ~/.tsparallel/clusters.
Notebooks connect with Client.connect(NAME), or start their own with %cluster start.
Examples:
  tsparallel cluster start --launcher ssh --hosts node1=2,alice@node2:2222=2 --ssh-args="-F cfg"
  tsparallel cluster start -n 8 --launcher slurm --partition debug --time 1:00:00 --daemonize
  tsparallel cluster start -n 4 --launcher mpi --mpi-args="--host a:2,b:2"`,
  async run(args) {
    const { runClusterCommand } = await import("../engines/cli/cluster-command.js");
    return runClusterCommand(args);
  },
};

/** Every subcommand, in the order `--help` lists them. Add an entry to add a command. */
export const SUBCOMMANDS: Subcommand[] = [install, kernel, cluster, labCommand, lessonsCommand, snapshot];

/** `tsparallel --help`. */
export function mainHelp(commands: readonly Subcommand[] = SUBCOMMANDS): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    `tsparallel ${ownPackage().version}: a TypeScript Jupyter kernel with parallel engines`,
    "",
    "usage: tsparallel COMMAND [OPTIONS]",
    "",
    "commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    ...commands.map((c) => `  ${c.usage}`),
    "",
    "Run `tsparallel COMMAND --help` for a command's options.",
  ].join("\n");
}

/** Runs the CLI with `argv` (without node and the script); resolves with the exit code. */
export async function main(argv: string[], commands: readonly Subcommand[] = SUBCOMMANDS): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(`${mainHelp(commands)}\n`);
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "-V") {
    process.stdout.write(`${ownPackage().version}\n`);
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(
      `usage: tsparallel COMMAND [OPTIONS]\ntsparallel: unknown command "${name}" (commands: ${commands.map((c) => c.name).join(", ")})\n`,
    );
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(`usage: ${command.usage}\n\n${command.help}\n`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`usage: ${command.usage}\ntsparallel ${name}: ${e.message}\n`);
      return 2;
    }
    const err = e as { code?: unknown; message?: unknown };
    // Our own errors carry a code and a message that says what to do; no stack trace for those.
    if (typeof err?.code === "string" && typeof err.message === "string") {
      process.stderr.write(`tsparallel ${name}: ${err.message}\n`);
      return 1;
    }
    throw e;
  }
}
