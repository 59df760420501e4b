import { spawn } from "node:child_process";

/** How often a report without a terminal says it is still at work. */
const STILL_WORKING_MS = 10_000;

/** Where progress goes: a terminal gets one line redrawn in place, anything else whole lines. */
export interface ProgressOutput {
  write(text: string): void;
  /** True for a terminal (`process.stderr.isTTY`). */
  readonly isTTY?: boolean;
}

/** pip failed; the message carries the end of its output, which says why. */
export class PipInstallError extends Error {
  override readonly name = "PipInstallError";
  readonly code = "PIP_INSTALL" as const;
}

/** What pip has done so far, read from its output. */
interface PipState {
  phase: "resolving" | "downloading" | "installing" | "done";
  found: number;
  downloaded: number;
  bytes: number;
  installing: number;
}

const SIZE = /\(([\d.]+) (kB|MB|GB)\)/;
const UNIT = { kB: 1e3, MB: 1e6, GB: 1e9 } as const;

/** Updates `s` from one line of pip's output; true when the line changed what a report says. */
function read(s: PipState, line: string): boolean {
  if (/^(Collecting|Processing|Requirement already satisfied:) /.test(line)) {
    s.found++;
    return s.phase === "resolving" ? s.found % 10 === 1 : false;
  }
  if (/^\s+(Downloading|Using cached) /.test(line)) {
    const size = SIZE.exec(line);
    if (size) s.bytes += Number(size[1]) * UNIT[size[2] as keyof typeof UNIT];
    s.downloaded++;
    const changed = s.phase !== "downloading";
    s.phase = "downloading";
    return changed;
  }
  const installing = /^Installing collected packages: (.*)$/.exec(line);
  if (installing) {
    s.phase = "installing";
    s.installing = installing[1]!.split(",").length;
    return true;
  }
  if (/^Successfully installed /.test(line)) {
    s.phase = "done";
    return true;
  }
  return false;
}

function describe(s: PipState, seconds: number): string {
  const mb = s.bytes >= 1e6 ? ` (${(s.bytes / 1e6).toFixed(0)} MB)` : "";
  const what = {
    resolving: `finding packages: ${s.found} so far`,
    downloading: `${s.found} packages found, ${s.downloaded} fetched${mb}`,
    installing: `installing ${s.installing} packages`,
    done: s.installing ? `installed ${s.installing} packages` : "nothing to install",
  }[s.phase];
  return `tsparallel: pip: ${what} · ${seconds} s`;
}

/**
 * Runs `python -m pip install ARGS` and shows what it is doing, which `pip -q` did not: the first
 * `npm start` spends half a minute installing JupyterLab, and a silent half minute looks like a
 * hang. A terminal gets one status line redrawn in place; a log gets a line when pip moves on
 * (finding, fetching, installing, done) and every 10 s while it stays. pip's own output is kept
 * and shown when it fails.
 */
export async function pipInstall(
  python: string,
  args: readonly string[],
  out: ProgressOutput,
): Promise<void> {
  const t0 = Date.now();
  const state: PipState = { phase: "resolving", found: 0, downloaded: 0, bytes: 0, installing: 0 };
  const seconds = () => Math.round((Date.now() - t0) / 1000);
  let lastLine = 0;
  const report = () => {
    const text = describe(state, seconds());
    if (out.isTTY) out.write(`\r\x1b[K${text}`);
    else out.write(`${text}\n`);
    lastLine = Date.now();
  };
  const child = spawn(
    python,
    ["-m", "pip", "install", "--progress-bar", "off", "--disable-pip-version-check", ...args],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let log = "";
  let pending = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    log += chunk;
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop()!;
    let changed = false;
    for (const line of lines) changed = read(state, line) || changed;
    if (changed) report();
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    log += chunk;
  });
  report();
  const ticker = setInterval(
    () => {
      if (out.isTTY || Date.now() - lastLine >= STILL_WORKING_MS) report();
    },
    out.isTTY ? 1000 : STILL_WORKING_MS,
  );
  const result = await new Promise<{ code: number | null; error?: Error }>((resolve) => {
    child.once("error", (error) => resolve({ code: null, error }));
    child.once("close", (code) => resolve({ code }));
  });
  clearInterval(ticker);
  if (result.error || result.code !== 0) {
    if (out.isTTY) out.write("\n");
    throw new PipInstallError(
      `pip install ${args.join(" ")} failed (${result.error?.message ?? `exit ${result.code}`}) after ${seconds()} s; its output ends:\n${log.trimEnd().split("\n").slice(-30).join("\n")}`,
    );
  }
  if (state.phase !== "done") {
    state.phase = "done"; // everything was installed already: pip said nothing of installing
    report();
  }
  if (out.isTTY) out.write("\n");
}
