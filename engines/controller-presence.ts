import { processAlive } from "./launchers/process-alive.js";
import { hostIdentity } from "./store/host-identity.js";
import type { ConnectionInfo } from "./wire/protocol/connection-file.js";

/** How long a controller on this host whose process still exists (paused, stalled) is waited for. */
export const PAUSED_GRACE_MS = 300_000;
/** How often a process whose connection to its controller is down looks at the controller. */
export const PRESENCE_CHECK_MS = 250;

/**
 * The controller's pid when it runs on this host as `hostIdentity()` tells it (same boot, pid
 * namespace and user), where its process can be looked at; undefined otherwise.
 */
export function controllerPidHere(info: ConnectionInfo): number | undefined {
  const here = info.controller_host_id !== undefined && info.controller_host_id === hostIdentity();
  return here ? info.controller_pid : undefined;
}

/**
 * What a controller that does not answer is: `gone` (its process on this host has exited),
 * `paused` (on this host and its process exists: stopped or stalled, worth waiting for), or
 * `unknown` (another host: only time tells).
 */
export function silentController(pidHere: number | undefined): "gone" | "paused" | "unknown" {
  if (pidHere === undefined) return "unknown";
  return processAlive(pidHere) ? "paused" : "gone";
}
