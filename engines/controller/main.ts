/**
 * Controller entry point, spawned by `Cluster.start` and `tsparallel cluster start`:
 *   node dist/engines/controller/main.js --name N --file F [--engines N] [--ip IP] [--encrypt on|off]
 *     [--scheme S] [--hwm N]
 *     [--launcher local|ssh|slurm|mpi] [--launcher-options JSON] [--max-message-bytes N] [--respawn N]
 * The key comes from $TSPARALLEL_KEY (never argv: other users can read argv). When ready it
 * prints one JSON line `{"ready":true,...}` on stdout; when it cannot start (a launcher failed)
 * `{"ready":false,"error":"…"}`, then exits with code 1.
 */
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { controllerAddress } from "../launchers/controller-address.js";
import { checkLauncherSpec, type LauncherSpec } from "../launchers/launcher-spec.js";
import type { SchedulerScheme } from "../wire/protocol/messages.js";
import { Controller } from "./controller.js";
import { STRATEGIES } from "./strategies/index.js";

const { values } = parseArgs({
  options: {
    name: { type: "string" },
    file: { type: "string" },
    engines: { type: "string", default: "0" },
    // Default: loopback for local engines, a reachable address for the other launchers.
    ip: { type: "string" },
    // Default: on unless the address is loopback (see ControllerOptions.encrypt).
    encrypt: { type: "string" },
    scheme: { type: "string", default: "leastload" },
    hwm: { type: "string", default: "auto" },
    "watch-parent": { type: "string" },
    launcher: { type: "string", default: "local" },
    "max-message-bytes": { type: "string" },
    respawn: { type: "string", default: "0" },
    "launcher-options": { type: "string", default: "{}" },
  },
});
if (!values.name || !values.file) {
  process.stderr.write(
    "usage: controller/main.js --name NAME --file CONNECTION_FILE [--engines N] [--ip IP] [--encrypt on|off] [--scheme leastload|lru|random|weighted] [--hwm N|auto] [--launcher local|ssh|slurm|mpi] [--launcher-options JSON]\n",
  );
  process.exit(2);
}
if (values.hwm !== "auto" && !(Number.isInteger(Number(values.hwm)) && Number(values.hwm) >= 0)) {
  process.stderr.write(`--hwm "${values.hwm}" is not a whole number ≥ 0 (0 = unlimited) or "auto"\n`);
  process.exit(2);
}
const maxMessageBytes =
  values["max-message-bytes"] === undefined ? undefined : Number(values["max-message-bytes"]);
if (
  maxMessageBytes !== undefined &&
  !(Number.isSafeInteger(maxMessageBytes) && maxMessageBytes >= 64 * 1024)
) {
  process.stderr.write(
    `--max-message-bytes "${values["max-message-bytes"]}" is not a whole number of bytes ≥ 65536\n`,
  );
  process.exit(2);
}
if (values.encrypt !== undefined && values.encrypt !== "on" && values.encrypt !== "off") {
  process.stderr.write(`--encrypt "${values.encrypt}" is neither "on" nor "off"\n`);
  process.exit(2);
}
const respawn = Number(values.respawn);
if (!(Number.isSafeInteger(respawn) && respawn >= 0)) {
  process.stderr.write(`--respawn "${values.respawn}" is not a whole number ≥ 0 (dead engines to replace)\n`);
  process.exit(2);
}
if (!(values.scheme! in STRATEGIES)) {
  process.stderr.write(
    `unknown --scheme "${values.scheme}": use one of ${Object.keys(STRATEGIES).join(", ")}\n`,
  );
  process.exit(2);
}
/** Tells whoever started us why we cannot run (they read stdout), and exits. */
function refuse(message: string): never {
  process.stdout.write(`${JSON.stringify({ ready: false, error: message })}\n`);
  process.exit(1);
}
let launcher: LauncherSpec;
try {
  launcher = checkLauncherSpec({ ...JSON.parse(values["launcher-options"]!), kind: values.launcher });
} catch (e) {
  refuse(`--launcher ${values.launcher}: ${(e as Error).message}`);
}
const controller = new Controller({
  name: values.name,
  file: values.file,
  key: process.env.TSPARALLEL_KEY || randomUUID(),
  ip: values.ip ?? (await controllerAddress(launcher)),
  ...(values.encrypt === undefined ? {} : { encrypt: values.encrypt === "on" }),
  scheme: values.scheme as SchedulerScheme,
  ...(values.hwm === "auto" ? {} : { hwm: Number(values.hwm) }),
  ...(maxMessageBytes === undefined ? {} : { maxMessageBytes }),
  respawn,
  // How long an assigned task's payload may take to reach its engine (tests make it short).
  ...(Number(process.env.TSPARALLEL_ASSIGNMENT_TIMEOUT_MS) > 0
    ? { assignmentTimeout: Number(process.env.TSPARALLEL_ASSIGNMENT_TIMEOUT_MS) }
    : {}),
  launcher,
});
const stop = () => void controller.stop().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.on("SIGHUP", stop);
// A non-daemon cluster dies with the process that started it, even if that one was SIGKILLed.
const parent = Number(values["watch-parent"]);
if (parent > 0) {
  setInterval(() => {
    try {
      process.kill(parent, 0);
    } catch {
      stop();
    }
  }, 500).unref();
}
let info: Awaited<ReturnType<Controller["start"]>>;
try {
  info = await controller.start(Number(values.engines));
} catch (e) {
  await controller.stop().catch(() => {});
  refuse((e as Error).message);
}
process.stdout.write(
  `${JSON.stringify({
    ready: true,
    file: values.file,
    client_url: info.client_url,
    pid: process.pid,
    launcher: { kind: launcher.kind, description: controller.launcher?.describe() ?? "" },
  })}\n`,
);
