import type { AsyncResult, DisplayOutput, EngineId } from "../../engines/index.js";
import { CompositeError, RemoteError } from "../../engines/index.js";
import type { CellError } from "../code-session.js";
import type { MagicContext, MimeData } from "../magics/magic.js";

/** How `%px` groups the outputs of several engines (ipyparallel's `--group-outputs`). */
export type GroupOutputs = "type" | "engine" | "order";

/** What the renderer needs of one engine's part of a `%px` run. */
interface EnginePart {
  engineId: EngineId;
  stdout: string;
  stderr: string;
  displays: DisplayOutput[];
  result: DisplayOutput | undefined;
  /** The engine's `%px` count, shown as `Out[engine:count]`. */
  count: number;
}

const withNewline = (s: string) => (s.endsWith("\n") ? s : `${s}\n`);

function parts(ar: AsyncResult, counts: ReadonlyMap<EngineId, number>): EnginePart[] {
  return ar.metadata.map((info) => ({
    engineId: info.engineId,
    stdout: info.stdout,
    stderr: info.stderr,
    displays: info.outputs.filter((o) => o.type === "display_data"),
    result: info.outputs.find((o) => o.type === "execute_result"),
    count: counts.get(info.engineId) ?? 0,
  }));
}

function showStream(ctx: MagicContext, name: "stdout" | "stderr", eid: EngineId, text: string): void {
  if (text) ctx.stream(name, `[${name}:${eid}] ${withNewline(text)}`);
}

function showDisplay(ctx: MagicContext, out: DisplayOutput): void {
  ctx.stream("stdout", `[output:${out.engineId}]\n`);
  ctx.display(out.data as MimeData, { metadata: out.metadata });
}

function showResult(ctx: MagicContext, part: EnginePart): void {
  if (!part.result) return;
  const data = part.result.data as Record<string, unknown>;
  const prompt = `Out[${part.engineId}:${part.count}]: `;
  const plain = String(data["text/plain"] ?? "");
  const rich = Object.keys(data).some((k) => k !== "text/plain");
  if (!rich) {
    ctx.display({ "text/plain": prompt + (plain.includes("\n") ? `\n${plain}` : plain) });
    return;
  }
  ctx.display({ "text/plain": prompt });
  ctx.display(data as MimeData, { metadata: part.result.metadata });
}

/**
 * Shows a finished `%px` run in ipyparallel's shapes: `[stdout:N]`, `[stderr:N]`,
 * `[output:N]` before rich displays, `Out[N:k]:` results. Stream text already shown live
 * (`streamed`) is not repeated.
 */
export function renderPx(
  ctx: MagicContext,
  ar: AsyncResult,
  counts: ReadonlyMap<EngineId, number>,
  group: GroupOutputs,
  streamed: boolean,
): void {
  const ps = parts(ar, counts);
  if (group === "engine") {
    for (const p of ps) {
      if (!streamed) {
        showStream(ctx, "stdout", p.engineId, p.stdout);
        showStream(ctx, "stderr", p.engineId, p.stderr);
      }
      for (const d of p.displays) showDisplay(ctx, d);
      showResult(ctx, p);
    }
    return;
  }
  if (!streamed) {
    for (const p of ps) showStream(ctx, "stdout", p.engineId, p.stdout);
    for (const p of ps) showStream(ctx, "stderr", p.engineId, p.stderr);
  }
  if (group === "order") {
    const most = Math.max(0, ...ps.map((p) => p.displays.length));
    for (let i = 0; i < most; i++) for (const p of ps) if (p.displays[i]) showDisplay(ctx, p.displays[i]!);
  } else {
    for (const p of ps) for (const d of p.displays) showDisplay(ctx, d);
  }
  for (const p of ps) showResult(ctx, p);
}

/** Shows one live output of a streaming `%px` (stream text as it arrives). */
export function renderLive(ctx: MagicContext, eid: EngineId, name: "stdout" | "stderr", text: string): void {
  showStream(ctx, name, eid, text);
}

/** How many remote tracebacks a CompositeError shows before "… N more …". */
const TRACEBACK_LIMIT = 4;

/**
 * The error a `%px` cell ends with: the engine's exception for one engine (`[0:execute] …`), or a
 * CompositeError with a compact traceback per engine for several.
 */
export function pxError(err: unknown, mapStack: (lines: string[]) => string[]): CellError {
  const errors = err instanceof CompositeError ? err.errors : [err];
  const remote = errors.map((e) =>
    e instanceof RemoteError
      ? e
      : new RemoteError(-1, (e as Error)?.name ?? "Error", (e as Error)?.message ?? String(e), []),
  );
  const block = (e: RemoteError): string[] => {
    let tb = mapStack(e.traceback.length ? e.traceback : [`${e.ename}: ${e.evalue}`]);
    // V8 puts the throwing script line and a caret before an uncaught script error's stack.
    const head = tb.findIndex((l) => l.startsWith(`${e.ename}:`) || l.startsWith(`${e.ename} [`));
    if (head > 0) tb = tb.slice(head);
    return [`[${e.engineId}:execute] ${tb[0] ?? `${e.ename}: ${e.evalue}`}`, ...tb.slice(1)];
  };
  if (remote.length === 1) {
    const e = remote[0]!;
    return { ename: e.ename, evalue: `[${e.engineId}:execute] ${e.evalue}`, traceback: block(e) };
  }
  const shown = remote.slice(0, TRACEBACK_LIMIT).flatMap((e) => [...block(e), ""]);
  const more = remote.length - TRACEBACK_LIMIT;
  const names = [...new Set(remote.map((e) => e.ename))].join(", ");
  return {
    ename: "CompositeError",
    evalue: `${remote.length} engines raised exceptions (${names})`,
    traceback: [
      `CompositeError: ${remote.length} engines raised exceptions in %px`,
      ...shown,
      ...(more > 0 ? [`… ${more} more exception${more === 1 ? "" : "s"} …`] : []),
    ],
  };
}
