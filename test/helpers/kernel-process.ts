/**
 * Starts a real kernel process on a fresh connection file and connects a {@link JupyterClient}.
 * The process is killed when the test ends, even on failure.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { ConnectionInfo } from "../../kernel/protocol/connection-file.js";
import { JupyterClient } from "./jupyter-client.js";

/** The repository root (this file is dist/test/helpers/kernel-process.js). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/** Which program runs the kernel: the real CLI (TypeScript session) or the JS test session. */
export type KernelLauncher = "cli" | "js";

export interface StartedKernel {
  client: JupyterClient;
  process: ChildProcess;
  info: ConnectionInfo;
  connectionFile: string;
  /** Everything the kernel wrote to stderr so far. */
  stderr(): string;
  /** Resolves with the exit code when the process ends. */
  exited: Promise<number | null>;
  /** Closes the client, kills the process if it still runs, removes the temp dir. */
  stop(): Promise<void>;
}

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

/** A connection file for tcp (five free ports) or ipc (paths in the temp dir). */
export async function makeConnectionInfo(
  dir: string,
  transport: "tcp" | "ipc",
  key: string,
): Promise<ConnectionInfo> {
  if (transport === "ipc") {
    return {
      transport,
      ip: join(dir, "k"),
      shell_port: 1,
      iopub_port: 2,
      stdin_port: 3,
      control_port: 4,
      hb_port: 5,
      key,
      signature_scheme: "hmac-sha256",
    };
  }
  const ports: number[] = [];
  while (ports.length < 5) {
    const p = await freePort();
    if (!ports.includes(p)) ports.push(p);
  }
  const [shell_port, iopub_port, stdin_port, control_port, hb_port] = ports as [
    number,
    number,
    number,
    number,
    number,
  ];
  return {
    transport,
    ip: "127.0.0.1",
    shell_port,
    iopub_port,
    stdin_port,
    control_port,
    hb_port,
    key,
    signature_scheme: "hmac-sha256",
  };
}

const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

/** Starts a kernel and waits until it answers and its IOPub reaches the client. */
export async function startKernel(
  options: {
    launcher?: KernelLauncher;
    transport?: "tcp" | "ipc";
    cwd?: string;
    /** A kernel.json whose argv and env start the kernel, as Jupyter would (overrides launcher). */
    kernelspec?: string;
  } = {},
): Promise<StartedKernel> {
  const dir = mkdtempSync(join(tmpdir(), "tsparallel-kernel-"));
  const info = await makeConnectionInfo(dir, options.transport ?? "ipc", randomBytes(16).toString("hex"));
  const connectionFile = join(dir, "connection.json");
  writeFileSync(connectionFile, JSON.stringify(info));
  const spec = options.kernelspec
    ? (JSON.parse(readFileSync(options.kernelspec, "utf8")) as {
        argv: string[];
        env?: Record<string, string>;
      })
    : undefined;
  const argv = spec
    ? spec.argv.map((a) => (a === "{connection_file}" ? connectionFile : a))
    : options.launcher === "cli"
      ? [process.execPath, join(REPO_ROOT, "bin", "tsparallel.js"), "kernel", connectionFile]
      : [process.execPath, join(REPO_ROOT, "dist", "test", "helpers", "js-kernel-main.js"), connectionFile];
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: options.cwd ?? dir,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...spec?.env },
  });
  live.add(child);
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
  });
  child.stdout!.resume();
  const exited = new Promise<number | null>((res) =>
    child.on("exit", (code) => {
      live.delete(child);
      res(code);
    }),
  );
  const client = new JupyterClient(info);
  const stop = async () => {
    client.close();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.race([
      client.ready(),
      exited.then((code) => {
        throw new Error(`kernel exited with ${code} before it was ready:\n${stderr}`);
      }),
    ]);
  } catch (e) {
    await stop();
    throw e;
  }
  return { client, process: child, info, connectionFile, stderr: () => stderr, exited, stop };
}
