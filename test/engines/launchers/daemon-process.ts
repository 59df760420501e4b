import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { openSync, readFileSync } from "node:fs";
import { findCommand } from "../../../engines/launchers/find-command.js";

/** A server a test started in the foreground (as its child), stopped by its pid. */
export interface DaemonProcess {
  readonly pid: number;
  readonly name: string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

/** A system program by name, also in the sbin folders a non-login PATH may lack; undefined if absent. */
export function systemCommand(name: string): string | undefined {
  return findCommand(name, `${process.env.PATH ?? ""}:/usr/local/sbin:/usr/sbin:/sbin`);
}

/** Runs a command to completion, throwing its stderr on failure. */
export function runCommand(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  return execFileSync(command, args, { encoding: "utf8", env, stdio: ["ignore", "pipe", "pipe"] });
}

/** Starts `command` in the foreground with its output in `logFile`. */
export function startDaemon(
  name: string,
  command: string,
  args: string[],
  logFile: string,
  env: NodeJS.ProcessEnv = process.env,
): DaemonProcess {
  const log = openSync(logFile, "a");
  const child: ChildProcess = spawn(command, args, { stdio: ["ignore", log, log], env });
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  const pid = child.pid;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.unref();
  return {
    pid,
    name,
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Polls `cond` every 50 ms until it holds; throws `what` after `ms`. */
export async function waitFor(
  what: string,
  cond: () => boolean | Promise<boolean>,
  ms = 15_000,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** True while process `pid` exists and is not a zombie waiting to be reaped. */
export function processRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Resolves once none of `pids` runs any more (throws after `ms`). */
export function waitGone(pids: readonly number[], ms = 10_000): Promise<void> {
  return waitFor(`processes ${pids.join(", ")} to exit`, () => pids.every((p) => !processRunning(p)), ms);
}
