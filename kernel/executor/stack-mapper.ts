import { SourceMap, type SourceMapPayload } from "node:module";
import { isOwnFrame } from "./own-frames.js";

interface MappedScript {
  label: string;
  map: SourceMap;
}

/**
 * Rewrites V8 stack traces from compiled cell scripts to cell positions: a frame at
 * `__tsparallel_cell_3__.js:7:13` becomes `cell 3:2:9` (line and column of the TypeScript). Maps
 * stay registered for the session, so a function defined in an earlier cell maps to that cell.
 */
export class StackMapper {
  readonly #scripts = new Map<string, MappedScript>();

  /** The file name a cell's script runs under. */
  static fileName(cellNumber: number | string): string {
    return `__tsparallel_cell_${cellNumber}__.js`;
  }

  add(fileName: string, label: string, sourceMapJson: string): void {
    const payload = JSON.parse(sourceMapJson) as SourceMapPayload;
    this.#scripts.set(fileName, { label, map: new SourceMap(payload) });
  }

  /** Maps one `file:line:column` position; undefined when the file is not a cell script. */
  position(fileName: string, line: number, column: number): string | undefined {
    const script = this.#scripts.get(fileName);
    if (!script) return undefined;
    const entry: Partial<{ originalLine: number; originalColumn: number }> = script.map.findEntry(
      line - 1,
      column - 1,
    );
    if (entry.originalLine === undefined || entry.originalColumn === undefined) return script.label;
    return `${script.label}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
  }

  /**
   * Maps every cell frame of a stack and drops the frames below the outermost cell frame (the
   * executor's own calls) and tsparallel's own frames above it, which say nothing about the
   * user's code (see own-frames.ts). `full` maps the frames and keeps every one (`%tb`).
   */
  mapStack(stack: string, opts: { full?: boolean } = {}): string[] {
    const lines = stack.split("\n");
    let lastCellFrame = -1;
    const mapped = lines.map((line, i) =>
      line.replace(
        /(__tsparallel_cell_\w+?__\.js):(\d+):(\d+)/g,
        (whole, file: string, l: string, c: string) => {
          const at = this.position(file, Number(l), Number(c));
          if (at === undefined) return whole;
          lastCellFrame = i;
          return at;
        },
      ),
    );
    if (opts.full) return mapped;
    if (lastCellFrame < 0) return mapped.filter((line) => !isOwnFrame(line));
    const kept = mapped.slice(0, lastCellFrame + 1).filter((line) => !isOwnFrame(line));
    // The script's own top-level frame (which calls the cell's wrapper function) repeats the cell.
    const anonymous = /^\s+at (cell \d+):\d+:\d+$/;
    const last = kept.at(-1)?.match(anonymous);
    const previous = kept.at(-2)?.match(anonymous);
    if (last && previous && last[1] === previous[1]) kept.pop();
    return kept;
  }
}
