/**
 * Text and HTML rendering of arrays. `formatRepr` follows numpy's `repr` (print options at their
 * defaults: precision 8, line width 75, summarised above 1000 elements with 3 edge items), so
 * notebook output reads like the numpy lessons it mirrors.
 * @module
 */

import { formatShape } from "./errors.js";
import type { NDArray } from "./ndarray.js";

const LINE_WIDTH = 75;
const THRESHOLD = 1000;
const EDGE_ITEMS = 3;
const PRECISION = 8;

/** Indices shown along an axis: all, or the edge items with a gap marker (-1) between them. */
function shownIndices(len: number, summarize: boolean): number[] {
  if (!summarize || len <= 2 * EDGE_ITEMS) return Array.from({ length: len }, (_, i) => i);
  const head = Array.from({ length: EDGE_ITEMS }, (_, i) => i);
  const tail = Array.from({ length: EDGE_ITEMS }, (_, i) => len - EDGE_ITEMS + i);
  return [...head, -1, ...tail];
}

/** Values that will be printed (the edge items only, when summarising). */
function shownValues(a: NDArray, summarize: boolean): number[] {
  const out: number[] = [];
  const rec = (ax: number, o: number): void => {
    if (ax === a.ndim) {
      out.push(a.data[o]!);
      return;
    }
    for (const i of shownIndices(a.shape[ax]!, summarize)) if (i >= 0) rec(ax + 1, o + i * a.strides[ax]!);
  };
  rec(0, a.offset);
  return out;
}

/** Shortest decimal that reads back as the same float32. */
function shortestFloat32(v: number): number {
  for (let p = 1; p < 10; p++) {
    const t = Number(v.toPrecision(p));
    if (Math.fround(t) === v) return t;
  }
  return v;
}

function splitFixed(v: number, f32: boolean): [string, string] {
  const x = f32 ? shortestFloat32(v) : v;
  let s = Math.abs(x).toString();
  if (s.includes("e")) s = Math.abs(x).toFixed(PRECISION);
  let [ip, fp = ""] = s.split(".") as [string, string?];
  if (fp.length > PRECISION) {
    [ip, fp = ""] = Math.abs(x).toFixed(PRECISION).split(".") as [string, string?];
    fp = fp.replace(/0+$/, "");
  }
  const neg = x < 0 || Object.is(x, -0);
  return [(neg ? "-" : "") + ip, fp];
}

function mantissaDigits(v: number, f32: boolean): number {
  const x = f32 ? shortestFloat32(v) : v;
  const m = x.toExponential().split("e")[0]!;
  const dot = m.indexOf(".");
  return Math.min(dot < 0 ? 0 : m.length - dot - 1, PRECISION);
}

/** Builds the per-element formatter for a float array from the values that will be shown. */
function floatFormatter(values: number[], f32: boolean): (v: number) => string {
  const finite = values.filter(Number.isFinite);
  const nonzero = finite.map(Math.abs).filter((v) => v !== 0);
  const maxV = nonzero.length ? Math.max(...nonzero) : 0;
  const minV = nonzero.length ? Math.min(...nonzero) : 0;
  const sci = nonzero.length > 0 && (maxV >= 1e8 || minV < 1e-4 || maxV / minV > 1e3);
  const specials = values
    .filter((v) => !Number.isFinite(v))
    .map((v) => (Number.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf"));
  let body: (v: number) => [string, string];
  let padLeft = 0;
  let padRight = 0;
  if (sci) {
    const prec = Math.max(0, ...finite.map((v) => mantissaDigits(v, f32)));
    const expLen = Math.max(
      2,
      ...finite.map((v) => Math.abs(Number(v.toExponential(prec).split("e")[1])).toString().length),
    );
    body = (v) => {
      const [m, e] = (f32 ? shortestFloat32(v) : v).toExponential(prec).split("e") as [string, string];
      const [ip, fp = ""] = m.split(".") as [string, string?];
      const sign = e.startsWith("-") ? "-" : "+";
      const digits = e.replace(/^[+-]/, "").padStart(expLen, "0");
      return [Object.is(v, -0) ? `-${ip}` : ip, `${fp}e${sign}${digits}`];
    };
  } else body = (v) => splitFixed(v, f32);
  for (const v of finite) {
    const [ip, fp] = body(v);
    padLeft = Math.max(padLeft, ip.length);
    padRight = Math.max(padRight, fp.length);
  }
  for (const s of specials) padLeft = Math.max(padLeft, s.length - padRight - 1);
  const width = padLeft + padRight + 1;
  return (v) => {
    if (!Number.isFinite(v)) return (Number.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf").padStart(width);
    const [ip, fp] = body(v);
    return `${ip.padStart(padLeft)}.${fp.padEnd(padRight)}`;
  };
}

/** The per-element formatter for any dtype, sized from the values that will be shown. */
function elementFormatter(a: NDArray, values: number[]): (v: number) => string {
  if (a.dtype === "bool") {
    const w = values.some((v) => v === 0) ? 5 : 4;
    return (v) => (v ? "True" : "False").padStart(w);
  }
  if (a.dtype === "int32" || a.dtype === "uint8") {
    const w = Math.max(1, ...values.map((v) => String(v).length));
    return (v) => String(v).padStart(w);
  }
  return floatFormatter(values, a.dtype === "float32");
}

function extendLine(out: { s: string; line: string }, word: string, width: number, prefix: string): void {
  if (out.line.length + word.length > width && out.line.length > prefix.length) {
    out.s += `${out.line.trimEnd()}\n`;
    out.line = prefix;
  }
  out.line += word;
}

/** Formats the array body (`[[1., 2.], [3., 4.]]`) the way numpy's `_formatArray` lays it out. */
function formatBody(
  a: NDArray,
  fmt: (v: number) => string,
  summarize: boolean,
  prefixLen: number,
  width: number,
): string {
  const rec = (ax: number, o: number, hanging: string, curWidth: number): string => {
    if (ax === a.ndim) return fmt(a.data[o]!);
    const next = `${hanging} `;
    const idx = shownIndices(a.shape[ax]!, summarize);
    let s = "";
    if (a.ndim - ax === 1) {
      const elemWidth = curWidth - 1;
      const out = { s: "", line: hanging };
      idx.forEach((i, k) => {
        const word = i < 0 ? "..." : rec(ax + 1, o + i * a.strides[ax]!, next, curWidth - 1);
        extendLine(out, word, elemWidth, hanging);
        if (k < idx.length - 1) out.line += ", ";
      });
      s = out.s + out.line;
    } else {
      const sep = `,${"\n".repeat(a.ndim - ax - 1)}`;
      idx.forEach((i, k) => {
        const nested = i < 0 ? "..." : rec(ax + 1, o + i * a.strides[ax]!, next, curWidth - 1);
        s += hanging + nested + (k < idx.length - 1 ? sep : "");
      });
    }
    return `[${s.slice(hanging.length)}]`;
  };
  return rec(0, a.offset, " ".repeat(prefixLen + 1), width);
}

/** numpy's `repr(a)`: `array([[1., 2.],\n       [3., 4.]])`, with `dtype=` for non-default dtypes. */
export function formatRepr(a: NDArray): string {
  const prefix = "array(";
  const defaultDType = a.dtype === "float64" || a.dtype === "bool";
  const summarize = a.size > THRESHOLD;
  const values = shownValues(a, summarize);
  let body: string;
  if (a.ndim === 0) body = elementFormatter(a, values)(a.data[a.offset]!).trim();
  else if (a.size === 0) body = "[]";
  else body = formatBody(a, elementFormatter(a, values), summarize, prefix.length, LINE_WIDTH - 1);
  const extras: string[] = [];
  if (summarize || (a.size === 0 && a.ndim !== 1)) extras.push(`shape=${formatShape(a.shape)}`);
  if (!defaultDType || a.size === 0) extras.push(`dtype=${a.dtype}`);
  let out = prefix + body;
  for (const e of extras) {
    const lastLine = out.length - (out.lastIndexOf("\n") + 1);
    out += lastLine + e.length + 3 > LINE_WIDTH ? `,\n${" ".repeat(prefix.length)}${e}` : `, ${e}`;
  }
  return `${out})`;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

const HTML_MAX = 20;

/**
 * An HTML table for 1-D and 2-D arrays (rows and columns beyond 20 are elided with …), or null for
 * other ranks, which display as text only.
 */
export function formatHtml(a: NDArray): string | null {
  if (a.ndim < 1 || a.ndim > 2) return null;
  const m = a.ndim === 2 ? a.shape[0]! : 1;
  const n = a.shape[a.ndim - 1]!;
  const rs = a.ndim === 2 ? a.strides[0]! : 0;
  const cs = a.strides[a.ndim - 1]!;
  const pick = (len: number): number[] =>
    len <= HTML_MAX
      ? [...Array(len).keys()]
      : [
          ...Array(HTML_MAX / 2).keys(),
          -1,
          ...Array.from({ length: HTML_MAX / 2 }, (_, i) => len - HTML_MAX / 2 + i),
        ];
  const rows = pick(m);
  const cols = pick(n);
  const shown: number[] = [];
  for (const i of rows)
    for (const j of cols) if (i >= 0 && j >= 0) shown.push(a.data[a.offset + i * rs + j * cs]!);
  const fmt = elementFormatter(a, shown);
  const head = cols.map((j) => `<th>${j < 0 ? "…" : j}</th>`).join("");
  const body = rows
    .map((i) => {
      const cells = cols
        .map((j) =>
          i < 0 || j < 0
            ? "<td>…</td>"
            : `<td>${escapeHtml(fmt(a.data[a.offset + i * rs + j * cs]!).trim())}</td>`,
        )
        .join("");
      return `<tr><th>${i < 0 ? "…" : i}</th>${cells}</tr>`;
    })
    .join("");
  const caption = `<caption>NDArray ${formatShape(a.shape)} ${a.dtype}</caption>`;
  return `<table class="tsparallel-ndarray">${caption}<thead><tr><th></th>${head}</tr></thead><tbody>${body}</tbody></table>`;
}
