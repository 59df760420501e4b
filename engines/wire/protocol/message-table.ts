/**
 * What a message protocol is made of, for both protocols tsparallel speaks: the Jupyter protocol
 * of the kernel (kernel/protocol/messages.ts) and the cluster protocol (messages.ts here). Each is
 * one table, msg_type → content; the message, reply and handler types below are derived from a
 * table, so adding a message is one entry in it, and a receiver that does not handle a type it
 * accepts does not compile.
 * @module
 */
import type { Header, WireMessage } from "./frames.js";

/** The msg_types of a table. */
export type TypeOf<Table> = Extract<keyof Table, string>;

/** A decoded message of type `T` of a table, its content typed by the table. */
export type TableMessage<Table, T extends TypeOf<Table> = TypeOf<Table>> = WireMessage<Table[T], T> & {
  header: Header<T>;
};

/** The type answering request type `T` by the protocols' naming rule (`x_request` → `x_reply`). */
export type ReplyType<Table, T extends string> = T extends `${infer P}_request`
  ? `${P}_reply` extends TypeOf<Table>
    ? `${P}_reply`
    : never
  : never;

/** The request types of a table that have a reply type in it. */
export type RequestType<Table> = {
  [T in TypeOf<Table>]: ReplyType<Table, T> extends never ? never : T;
}[TypeOf<Table>];

/**
 * One handler for every type a receiver accepts: leaving one out is a compile error. `Ctx` is what
 * the receiver hands along with each message (where it came from), `R` what handlers return.
 */
export type Handlers<Table, Accepted extends TypeOf<Table>, Ctx = void, R = void> = {
  [T in Accepted]: (msg: TableMessage<Table, T>, ctx: Ctx) => R;
};

/** What {@link dispatch} returns when the receiver has no handler for the message's type. */
export const UNHANDLED: unique symbol = Symbol("unhandled");

/**
 * Calls the handler for `msg`'s type and returns what it returns, or {@link UNHANDLED} (calling
 * nothing) when the receiver does not accept that type, which is the caller's to report. Only the
 * map's own keys count, so a msg_type such as `constructor` from the wire finds nothing.
 */
export function dispatch<Ctx, R>(
  handlers: { readonly [type: string]: (msg: never, ctx: Ctx) => R },
  msg: WireMessage,
  ctx: Ctx,
): R | typeof UNHANDLED {
  const type = msg.header.msg_type;
  if (!Object.hasOwn(handlers, type)) return UNHANDLED;
  return (handlers[type] as (m: WireMessage, c: Ctx) => R)(msg, ctx);
}

/** The reply type for any request msg_type, known or not (`foo_request` → `foo_reply`). */
export function replyTypeFor(msgType: string): string {
  return msgType.endsWith("_request") ? `${msgType.slice(0, -"_request".length)}_reply` : `${msgType}_reply`;
}
