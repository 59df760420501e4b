/**
 * Jupyter counts cursor positions in Unicode code points (protocol 5.2); JavaScript strings
 * index UTF-16 code units. The two differ after any astral character (emoji, some CJK), so
 * every cursor crossing the protocol boundary goes through these two functions.
 */

/** Code-point offset → UTF-16 offset in `text` (clamped to the text). */
export function codePointsToUtf16(text: string, codePoints: number): number {
  let units = 0;
  let points = 0;
  while (points < codePoints && units < text.length) {
    const c = text.charCodeAt(units);
    units += c >= 0xd800 && c <= 0xdbff && units + 1 < text.length ? 2 : 1;
    points++;
  }
  return units;
}

/** UTF-16 offset → code-point offset in `text` (an offset inside a surrogate pair counts the whole pair). */
export function utf16ToCodePoints(text: string, units: number): number {
  let points = 0;
  let i = 0;
  const end = Math.min(units, text.length);
  while (i < end) {
    const c = text.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < text.length ? 2 : 1;
    points++;
  }
  return points;
}
