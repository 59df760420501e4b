import { MagicUsageError } from "./magic.js";

/** One option a magic accepts. */
export interface OptionSpec {
  /** Key in the parsed result. */
  name: string;
  short?: string;
  long?: string;
  /** Takes a value (`-n 10`, `--targets=::2`); otherwise a boolean flag. */
  value?: boolean;
}

/** Parsed options and the words that followed them. */
export interface ParsedArguments {
  options: Record<string, string | boolean>;
  /** The unparsed rest of the line, from the first word that is not an option. */
  rest: string;
}

/**
 * Parses leading options of a magic line. Options stop at the first word that is not one (or
 * at `--`); the rest is returned verbatim, because for `%timeit` and `%px` it is code.
 */
export function parseMagicArguments(
  line: string,
  specs: readonly OptionSpec[],
  usage: string,
): ParsedArguments {
  const options: Record<string, string | boolean> = {};
  let pos = 0;
  const skipSpace = () => {
    while (pos < line.length && /\s/.test(line[pos]!)) pos++;
  };
  const readWord = (): string => {
    let word = "";
    while (pos < line.length && !/\s/.test(line[pos]!)) {
      const c = line[pos]!;
      if (c === "'" || c === '"') {
        const end = line.indexOf(c, pos + 1);
        if (end < 0) throw new MagicUsageError(`unterminated quote in options`, usage);
        word += line.slice(pos + 1, end);
        pos = end + 1;
      } else {
        word += c;
        pos++;
      }
    }
    return word;
  };
  for (;;) {
    skipSpace();
    if (line[pos] !== "-" || pos >= line.length) break;
    const start = pos;
    const word = readWord();
    if (word === "--") {
      skipSpace();
      break;
    }
    if (/^-\d/.test(word)) {
      pos = start;
      break;
    }
    let spec: OptionSpec | undefined;
    let inline: string | undefined;
    if (word.startsWith("--")) {
      const eq = word.indexOf("=");
      const long = eq < 0 ? word.slice(2) : word.slice(2, eq);
      inline = eq < 0 ? undefined : word.slice(eq + 1);
      spec = specs.find((s) => s.long === long);
    } else {
      const short = word.slice(1, 2);
      spec = specs.find((s) => s.short === short);
      if (spec?.value && word.length > 2) inline = word.slice(2);
      else if (!spec?.value && word.length > 2) {
        // Bundled boolean flags: -oq.
        for (const ch of word.slice(1)) {
          const s = specs.find((x) => x.short === ch && !x.value);
          if (!s) throw new MagicUsageError(`unknown option -${ch}`, usage);
          options[s.name] = true;
        }
        continue;
      }
    }
    if (!spec) throw new MagicUsageError(`unknown option ${word}`, usage);
    if (spec.value) {
      let v = inline;
      if (v === undefined) {
        skipSpace();
        if (pos >= line.length) throw new MagicUsageError(`option ${word} needs a value`, usage);
        v = readWord();
      }
      options[spec.name] = v;
    } else {
      if (inline !== undefined) throw new MagicUsageError(`option ${word} takes no value`, usage);
      options[spec.name] = true;
    }
  }
  return { options, rest: line.slice(pos) };
}

/** Reads a positive integer option, with a usage error naming the option otherwise. */
export function positiveInt(
  value: string | boolean | undefined,
  option: string,
  usage: string,
): number | undefined {
  if (value === undefined || value === false) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new MagicUsageError(`${option} needs a positive integer, got "${value}"`, usage);
  return n;
}
