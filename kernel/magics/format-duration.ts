/**
 * Formats seconds with three significant digits and the unit IPython uses
 * (s, ms, µs, ns), e.g. 0.0123 → "12.3 ms".
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return `${seconds} s`;
  const units: [string, number][] = [
    ["s", 1],
    ["ms", 1e-3],
    ["µs", 1e-6],
    ["ns", 1e-9],
  ];
  for (const [unit, scale] of units) {
    if (Math.abs(seconds) >= scale || unit === "ns") {
      return `${toPrecision3(seconds / scale)} ${unit}`;
    }
  }
  return `${seconds} s`;
}

function toPrecision3(v: number): string {
  if (v >= 1000) return v.toFixed(0);
  return Number(v.toPrecision(3)).toString();
}
