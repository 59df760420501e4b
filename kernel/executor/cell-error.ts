import { inspect, types } from "node:util";
import type { CellError } from "../code-session.js";
import { rememberTraceback } from "./last-traceback.js";
import { fullTracebacks } from "./own-frames.js";
import type { StackMapper } from "./stack-mapper.js";

function isErrorLike(value: unknown): value is Error {
  return (
    types.isNativeError(value) ||
    value instanceof Error ||
    (typeof value === "object" &&
      value !== null &&
      typeof (value as { message?: unknown }).message === "string" &&
      typeof (value as { stack?: unknown }).stack === "string")
  );
}

/**
 * Turns whatever a cell threw into Jupyter's error triple. Errors keep their name and message and
 * get a stack mapped to cell lines, the user's frames only (the full one is kept for `%tb`);
 * other thrown values (`throw "x"`, `throw 42`) become
 * ename "Uncaught" with the value shown as evalue.
 */
export function cellErrorFrom(thrown: unknown, mapper: StackMapper): CellError {
  if (isErrorLike(thrown)) {
    const ename = thrown.name || thrown.constructor?.name || "Error";
    const evalue = thrown.message;
    const stack = thrown.stack ?? `${ename}: ${evalue}`;
    const full = mapper.mapStack(stack, { full: true });
    rememberTraceback(full);
    const traceback = fullTracebacks() ? full : mapper.mapStack(stack);
    if (thrown.cause !== undefined) traceback.push(`Caused by: ${inspect(thrown.cause, { depth: 2 })}`);
    return { ename, evalue, traceback };
  }
  const evalue = typeof thrown === "string" ? thrown : inspect(thrown, { depth: 4 });
  return { ename: "Uncaught", evalue, traceback: [`Uncaught ${inspect(thrown, { depth: 4 })}`] };
}
