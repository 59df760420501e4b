import type { HistoryEntry, HistoryRequest } from "./protocol/messages.js";

/** One executed cell. */
interface Line {
  line: number;
  input: string;
  /** text/plain of the execute_result, if there was one. */
  output: string | null;
}

/**
 * The inputs executed in this kernel session, for history_request (tail, range, search).
 * In memory only: a restarted kernel starts a new session, as ipykernel's does.
 */
export class History {
  readonly #lines: Line[] = [];

  /** `session` is the number reported in every entry. */
  constructor(readonly session = 1) {}

  /** Records cell `line` (its execution count). */
  add(line: number, input: string, output: string | null = null): void {
    this.#lines.push({ line, input, output });
  }

  get length(): number {
    return this.#lines.length;
  }

  /** Answers a history_request. */
  query(req: HistoryRequest): HistoryEntry[] {
    const output = req.output === true;
    let lines: Line[];
    switch (req.hist_access_type) {
      case "tail":
        lines = this.#tail(this.#lines, req.n ?? 10);
        break;
      case "range":
        lines = this.#range(req.session ?? 0, req.start ?? 0, req.stop);
        break;
      case "search":
        lines = this.#search(req.pattern ?? "*", req.unique === true, req.n);
        break;
      default:
        throw new Error(`hist_access_type must be "tail", "range" or "search"`);
    }
    return lines.map((l) =>
      output ? [this.session, l.line, [l.input, l.output]] : [this.session, l.line, l.input],
    );
  }

  #tail(lines: Line[], n: number): Line[] {
    return n > 0 ? lines.slice(-n) : [];
  }

  /** `session` 0 or negative (relative) or our own number means this session; lines [start, stop). */
  #range(session: number, start: number, stop: number | undefined): Line[] {
    if (session > 0 && session !== this.session) return [];
    if (session < 0) return [];
    return this.#lines.filter(
      (l) => l.line >= start && (stop === undefined || stop === null || l.line < stop),
    );
  }

  /** Glob search: `*` any run, `?` one character; `unique` keeps the latest of equal inputs. */
  #search(pattern: string, unique: boolean, n: number | undefined): Line[] {
    const re = globToRegExp(pattern);
    let hits = this.#lines.filter((l) => re.test(l.input));
    if (unique) {
      const seen = new Set<string>();
      hits = hits
        .reverse()
        .filter((l) => !seen.has(l.input) && seen.add(l.input))
        .reverse();
    }
    return n !== undefined && n !== null ? this.#tail(hits, n) : hits;
  }
}

/** A whole-string matcher for a glob with `*` and `?` (IPython's history search syntax). */
export function globToRegExp(pattern: string): RegExp {
  const body = [...pattern]
    .map((c) => (c === "*" ? "[\\s\\S]*" : c === "?" ? "[\\s\\S]" : c.replace(/[.+^${}()|[\]\\/-]/g, "\\$&")))
    .join("");
  return new RegExp(`^${body}$`, "u");
}
