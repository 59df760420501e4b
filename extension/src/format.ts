/** Bytes as a short human size: 77.7 MB style, base 1024 with binary units. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes <= 0) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

/** Epoch milliseconds as local wall-clock time (HH:MM:SS). */
export function formatTime(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour12: false });
}

/** "1 engine", "3 engines". */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** The notebook cell that connects to a cluster (what the panel's "connect code" inserts). */
export function connectCode(name: string): string {
  return `import { Client } from "tsparallel";\nconst rc = await Client.connect(${JSON.stringify(name)});\nrc.ids`;
}
