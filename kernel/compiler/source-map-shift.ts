/**
 * Moves source columns in a source map (version 3): the compiler may see a cell with characters
 * added before it (see object-literal-cell.ts), and stack traces must still point at the cell as
 * the user wrote it.
 */

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const DIGIT = new Map([...BASE64].map((c, i) => [c, i]));

/** The base64 VLQ numbers of one mapping segment (`"AAAA"` → [0, 0, 0, 0]). */
function decodeSegment(segment: string): number[] {
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (const c of segment) {
    const digit = DIGIT.get(c);
    if (digit === undefined) throw new Error(`not a source map mapping: "${segment}"`);
    value += (digit & 31) * 2 ** shift;
    if (digit & 32) {
      shift += 5;
      continue;
    }
    out.push(value & 1 ? -(value - 1) / 2 : value / 2);
    value = 0;
    shift = 0;
  }
  return out;
}

function encodeNumber(n: number): string {
  let value = n < 0 ? -n * 2 + 1 : n * 2;
  let out = "";
  do {
    let digit = value & 31;
    value = Math.floor(value / 32);
    if (value > 0) digit |= 32;
    out += BASE64[digit];
  } while (value > 0);
  return out;
}

/**
 * A copy of `mapJson` in which every mapping into source line `line` (0-based) has its source
 * column moved by `delta` (never below 0). Other lines, and the generated side, are unchanged.
 */
export function shiftSourceColumns(mapJson: string, line: number, delta: number): string {
  const map = JSON.parse(mapJson) as { mappings?: unknown };
  if (typeof map.mappings !== "string") return mapJson;
  // Fields after the generated column are deltas from the previous segment of the whole map, so
  // every segment is decoded to absolute values, moved, and encoded again.
  const previous = [0, 0, 0, 0]; // source index, source line, source column, name index (absolute)
  const encoded = [0, 0, 0, 0];
  map.mappings = map.mappings
    .split(";")
    .map((generatedLine) => {
      return generatedLine
        .split(",")
        .map((segment) => {
          if (segment === "") return segment;
          const fields = decodeSegment(segment);
          // The generated column starts again on each line: it is kept as it is.
          const out = [encodeNumber(fields[0]!)];
          for (let i = 1; i < fields.length; i++) previous[i - 1]! += fields[i]!;
          const absolute = [...previous];
          if (fields.length >= 4 && absolute[1] === line) absolute[2] = Math.max(0, absolute[2]! + delta);
          for (let i = 1; i < fields.length; i++) {
            out.push(encodeNumber(absolute[i - 1]! - encoded[i - 1]!));
            encoded[i - 1] = absolute[i - 1]!;
          }
          return out.join("");
        })
        .join(",");
    })
    .join(";");
  return JSON.stringify(map);
}
