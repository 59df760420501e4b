import { ENGINE_SIGNALS } from "../../engines/wire/protocol/messages.js";
import { MagicUsageError } from "../magics/magic.js";
import type { OptionSpec } from "../magics/magic-arguments.js";
import type { GroupOutputs } from "./px-output.js";

/** The execution flags of `%px`/`%%px`, and the defaults `%pxconfig` sets. */
export interface PxConfig {
  /** Target spec (`all`, `0`, `0,2`, `::2`), resolved against the engine ids at each run. */
  targets: string;
  /** Wait for the engines (true) or return an AsyncResult at once (`--noblock`). */
  block: boolean;
  /** Show engines' stdout/stderr as it arrives. */
  stream: boolean;
  /** Say which engines run the cell. */
  verbose: boolean;
  /** Show a progress display after this many seconds (-1: never; 0: at once). */
  progressAfter: number;
  /** Signal sent to the engines when the cell is interrupted ("0": none). */
  signalOnInterrupt: NodeJS.Signals | "0";
  groupOutputs: GroupOutputs;
}

export const DEFAULT_PX_CONFIG: PxConfig = {
  targets: "all",
  block: true,
  stream: true,
  verbose: false,
  progressAfter: 2,
  signalOnInterrupt: "SIGINT",
  groupOutputs: "type",
};

/** The flags `%%px`, `%pxconfig` and `%pxresult` share. */
export const PX_OPTIONS: OptionSpec[] = [
  { name: "targets", short: "t", long: "targets", value: true },
  { name: "block", short: "b", long: "block" },
  { name: "noblock", short: "a", long: "noblock" },
  { name: "stream", long: "stream" },
  { name: "no-stream", long: "no-stream" },
  { name: "verbose", long: "verbose" },
  { name: "no-verbose", long: "no-verbose" },
  { name: "progress-after", long: "progress-after", value: true },
  { name: "signal-on-interrupt", long: "signal-on-interrupt", value: true },
  { name: "group-outputs", long: "group-outputs", value: true },
  { name: "engine", short: "e" },
  { name: "order", short: "r" },
  { name: "local", long: "local" },
  { name: "out", short: "o", long: "out", value: true },
];

const SIGNALS: ReadonlySet<string> = new Set(ENGINE_SIGNALS);
const SIGNAL_NUMBERS: Record<string, NodeJS.Signals> = {
  "2": "SIGINT",
  "9": "SIGKILL",
  "15": "SIGTERM",
  "1": "SIGHUP",
};

/** Applies parsed flags on top of `base`; a bad value is a usage error naming the flag. */
export function applyPxFlags(base: PxConfig, o: Record<string, string | boolean>, usage: string): PxConfig {
  const c = { ...base };
  if (typeof o.targets === "string") c.targets = o.targets;
  if (o.block) c.block = true;
  if (o.noblock) c.block = false;
  if (o.block && o.noblock) throw new MagicUsageError("--block and --noblock contradict each other", usage);
  if (o.stream) c.stream = true;
  if (o["no-stream"]) c.stream = false;
  if (o.verbose) c.verbose = true;
  if (o["no-verbose"]) c.verbose = false;
  if (typeof o["progress-after"] === "string") {
    const s = Number(o["progress-after"]);
    if (!Number.isFinite(s))
      throw new MagicUsageError(`--progress-after needs seconds, got "${o["progress-after"]}"`, usage);
    c.progressAfter = s;
  }
  if (typeof o["signal-on-interrupt"] === "string") {
    const raw = o["signal-on-interrupt"].toUpperCase();
    const sig = SIGNAL_NUMBERS[raw] ?? (raw.startsWith("SIG") ? raw : `SIG${raw}`);
    if (raw === "0") c.signalOnInterrupt = "0";
    else if (SIGNALS.has(sig)) c.signalOnInterrupt = sig as NodeJS.Signals;
    else
      throw new MagicUsageError(
        `unknown signal "${o["signal-on-interrupt"]}" (e.g. SIGINT, SIGKILL, 9, 0)`,
        usage,
      );
  }
  if (typeof o["group-outputs"] === "string") {
    const g = o["group-outputs"];
    if (g !== "type" && g !== "engine" && g !== "order") {
      throw new MagicUsageError(`--group-outputs must be type, engine or order, not "${g}"`, usage);
    }
    c.groupOutputs = g;
  }
  if (o.engine) c.groupOutputs = "engine";
  if (o.order) c.groupOutputs = "order";
  return c;
}
