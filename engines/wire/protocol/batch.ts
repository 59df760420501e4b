import { Buffer } from "node:buffer";
import { SIGNED_BUFFER_LIMIT } from "./buffer-macs.js";
import type { Header } from "./frames.js";
import type { AnyMessage, BatchContent, ContentByType, MsgType, PartEntry } from "./messages.js";

export type { BatchContent, PartEntry };

/**
 * Batches: many task requests (client → controller → engine) or replies (engine → controller →
 * client) in one signed message, so a flood of tiny tasks costs a few messages per batch rather
 * than several per task.
 *
 * The parts travel in groups of two frames, each under {@link SIGNED_BUFFER_LIMIT} (so the batch's
 * HMAC covers them): one is a JSON array holding each part's `[header, parent, metadata, content]`,
 * the other the parts' buffers end to end. The batch's content is an index: each part's byte sizes
 * (its JSON in the array, then its buffers) and, toward the controller, the few facts it routes by
 * (ids, route, status, run time). So the controller reads the index, never a part's JSON: it cuts
 * the parts it forwards out of the frames and joins them into its own batches, bytes unread, while
 * the final receiver parses a group's array at once. Parsing and re-serialising every part was most
 * of the controller's work in a flood.
 */

/** A message to put in a batch (buffers by value). */
export interface Batchable {
  header: Header;
  parent_header?: Header | Record<string, never>;
  metadata?: Record<string, unknown>;
  content: unknown;
  buffers?: readonly Uint8Array[];
  /** The part as received inside a batch, forwarded as its bytes (a relay's re-batching). */
  sealed?: SealedPart;
}

/** One part of a received batch, not parsed: its index entry, its JSON bytes and its buffers' bytes. */
export interface SealedPart {
  entry: PartEntry;
  json: Buffer;
  buffers: Buffer;
}

/** Largest frame of a batch: under {@link SIGNED_BUFFER_LIMIT}, the message's HMAC covers it. */
const FRAME_LIMIT = SIGNED_BUFFER_LIMIT - 1;

const COMMA = 0x2c;
const OPEN = 0x5b;
const CLOSE = 0x5d;

/** How a sender's batch goes out: a batch message, or one part too large for a frame, alone. */
export type Outgoing<T> = { batch: { content: BatchContent; buffers: Buffer[] } } | { alone: T };

/** The entry of a part the sender made: its sizes and the facts the controller routes it by. */
function entryOf(m: Batchable, sizes: number[]): PartEntry {
  const type = m.header.msg_type;
  if (!type.endsWith("_reply")) return { type, msg_id: m.header.msg_id, meta: m.metadata ?? {}, sizes };
  const entry: PartEntry = {
    type,
    parent_id: (m.parent_header as { msg_id?: string } | undefined)?.msg_id ?? "",
    sizes,
  };
  const status = (m.content as { status?: unknown } | undefined)?.status;
  const duration = m.metadata?.duration;
  if (typeof status === "string") entry.status = status;
  if (typeof duration === "number") entry.duration = duration;
  return entry;
}

/** A group's two frames: the parts' JSON texts (or bytes) in one array, their buffers end to end. */
function groupFrames(
  json: (string | Buffer)[],
  jsonBytes: number,
  buffers: Uint8Array[],
  bufferBytes: number,
) {
  const text = Buffer.allocUnsafe(jsonBytes);
  text[0] = OPEN;
  let at = 1;
  for (let i = 0; i < json.length; i++) {
    if (i) text[at++] = COMMA;
    const j = json[i]!;
    if (typeof j === "string") at += text.write(j, at);
    else at += j.copy(text, at);
  }
  text[at] = CLOSE;
  return [text, Buffer.concat(buffers, bufferBytes)];
}

/**
 * Packs `items`, in order, into batch messages. A sender's part gets the routing facts in the
 * index; a sealed part (the controller forwarding it) only its sizes. A part that does not fit a
 * frame on its own is handed back to go `alone`, in its place in the order.
 */
export function packBatch<T extends Batchable>(items: readonly T[]): Outgoing<T>[] {
  const out: Outgoing<T>[] = [];
  let parts: PartEntry[] = [];
  let frames: Buffer[] = [];
  // The group being filled: its JSON array's bytes start with "[" and end with "]".
  let json: (string | Buffer)[] = [];
  let jsonBytes = 1;
  let buffers: Uint8Array[] = [];
  let bufferBytes = 0;
  const closeGroup = () => {
    if (json.length) frames.push(...groupFrames(json, jsonBytes, buffers, bufferBytes));
    json = [];
    jsonBytes = 1;
    buffers = [];
    bufferBytes = 0;
  };
  const flush = () => {
    closeGroup();
    if (parts.length) out.push({ batch: { content: { parts }, buffers: frames } });
    parts = [];
    frames = [];
  };
  for (const m of items) {
    let text: string | Buffer;
    let sizes: number[];
    let own: number;
    if (m.sealed) {
      text = m.sealed.json;
      sizes = m.sealed.entry.sizes;
      own = m.sealed.buffers.length;
    } else {
      text = JSON.stringify([m.header, m.parent_header ?? {}, m.metadata ?? {}, m.content ?? {}]);
      sizes = [Buffer.byteLength(text)];
      own = 0;
      for (const b of m.buffers ?? []) {
        sizes.push(b.byteLength);
        own += b.byteLength;
      }
    }
    const length = sizes[0]!;
    if (length + 2 > FRAME_LIMIT || own > FRAME_LIMIT) {
      flush();
      out.push({ alone: m });
      continue;
    }
    if (jsonBytes + 1 + length > FRAME_LIMIT || bufferBytes + own > FRAME_LIMIT) closeGroup();
    json.push(text);
    jsonBytes += length + 1; // its text, then a comma or the closing bracket
    if (m.sealed) {
      if (own) buffers.push(m.sealed.buffers);
    } else for (const b of m.buffers ?? []) buffers.push(b);
    bufferBytes += own;
    // A forwarded request keeps its msg_id: the engine checks that the part is what the
    // controller scheduled under that id (see unpackParts).
    const forwarded = m.sealed?.entry.msg_id;
    parts.push(
      m.sealed ? (forwarded === undefined ? { sizes } : { sizes, msg_id: forwarded }) : entryOf(m, sizes),
    );
  }
  flush();
  return out;
}

/**
 * Sends `items` (in order) as batch messages, with any part too large for a batch frame sent
 * `alone` in its place.
 */
export function sendPacked<T extends Batchable>(
  items: readonly T[],
  alone: (item: T) => void,
  batch: (content: BatchContent, buffers: Buffer[]) => void,
): void {
  for (const out of packBatch(items)) {
    if ("alone" in out) alone(out.alone);
    else batch(out.batch.content, out.batch.buffers);
  }
}

/** {@link sendPacked}, except that a lone item goes as itself rather than as a batch of one. */
export function sendBatched<T extends Batchable>(
  items: readonly T[],
  alone: (item: T) => void,
  batch: (content: BatchContent, buffers: Buffer[]) => void,
): void {
  if (items.length === 1) alone(items[0]!);
  else sendPacked(items, alone, batch);
}

/**
 * Walks a received batch's index over its frames: `part` gets each entry with where its JSON and
 * its buffers lie. False when the index does not match the frames (sizes that are not whole
 * numbers, a part across groups, bytes left over, a JSON array not laid out as the sizes say):
 * the batch is then malformed as a whole.
 */
function walkParts(
  batch: AnyMessage,
  part: (entry: PartEntry, group: number, json: [number, number], buffers: [number, number]) => void,
): boolean {
  const entries = (batch.content as { parts?: unknown }).parts;
  const frames = batch.buffers;
  if (!Array.isArray(entries) || frames.length % 2) return false;
  let g = -2;
  let at = 0; // in the group's JSON array
  let bat = 0; // in its buffers
  for (const entry of entries as PartEntry[]) {
    const sizes = entry?.sizes;
    if (!Array.isArray(sizes) || sizes.length === 0) return false;
    let own = 0;
    for (const n of sizes) if (!Number.isInteger(n) || n < 0) return false;
    for (let i = 1; i < sizes.length; i++) own += sizes[i]!;
    if (g < 0 || at === frames[g]!.length) {
      // The group is used up (its buffers too): the part starts the next one.
      if (g >= 0 && bat !== frames[g + 1]!.length) return false;
      g += 2;
      if (g >= frames.length || frames[g]![0] !== OPEN) return false;
      at = 1;
      bat = 0;
    }
    const text = frames[g]!;
    const end = at + sizes[0]!;
    // A part is followed by a comma, or by the closing bracket that ends the frame.
    if (end >= text.length || text[end] !== (end === text.length - 1 ? CLOSE : COMMA)) return false;
    if (bat + own > frames[g + 1]!.length) return false;
    part(entry, g, [at, end], [bat, bat + own]);
    at = end + 1;
    bat += own;
  }
  return frames.length === 0
    ? true
    : g === frames.length - 2 && at === frames[g]!.length && bat === frames[g + 1]!.length;
}

/** The parts of a received batch, unparsed (none when the batch is malformed; see walkParts). */
export function sealedParts(batch: AnyMessage): SealedPart[] {
  const out: SealedPart[] = [];
  const f = batch.buffers;
  const ok = walkParts(batch, (entry, g, [a, b], [c, d]) =>
    out.push({ entry, json: f[g]!.subarray(a, b), buffers: f[g + 1]!.subarray(c, d) }),
  );
  return ok ? out : [];
}

/** The message in a part's parsed JSON, with its buffers cut from `bytes` by `sizes` (undefined when malformed). */
function messageOf(body: unknown, sizes: number[], bytes: Buffer, from: number, identities: Buffer[]) {
  if (!Array.isArray(body) || body.length !== 4) return undefined;
  const [header, parent, metadata, content] = body as [Header, Header, Record<string, unknown>, unknown];
  if (typeof header?.msg_type !== "string" || typeof header.msg_id !== "string") return undefined;
  const buffers: Buffer[] = [];
  let at = from;
  for (let i = 1; i < sizes.length; i++) {
    buffers.push(bytes.subarray(at, at + sizes[i]!));
    at += sizes[i]!;
  }
  return {
    identities,
    header: header as Header<MsgType>,
    parent_header: parent ?? {},
    metadata: metadata ?? {},
    content: (content ?? {}) as ContentByType[MsgType],
    buffers,
    raw: [],
  } as unknown as AnyMessage;
}

/** The message a sealed part holds, as if it had arrived alone (undefined when malformed). */
export function openPart(part: SealedPart, identities: Buffer[]): AnyMessage | undefined {
  let body: unknown;
  try {
    body = JSON.parse(part.json.toString("utf8"));
  } catch {
    return undefined;
  }
  return messageOf(body, part.entry.sizes, part.buffers, 0, identities);
}

/**
 * The messages inside a received batch, as if each had arrived alone (from the same peer, with
 * the same identities); each group's JSON is parsed at once. They have no `raw` frames of their
 * own: forwarding means re-batching. Malformed parts are left out.
 */
export function unpackBatch(batch: AnyMessage): AnyMessage[] {
  const out: AnyMessage[] = [];
  eachPart(batch, (_entry, m) => {
    if (m) out.push(m);
  });
  return out;
}

/** A part of a received batch: its index entry and its message (undefined when malformed). */
export interface UnpackedPart {
  entry: PartEntry;
  message: AnyMessage | undefined;
}

/**
 * Every part of a received batch with its index entry, so a receiver can check that the part is
 * what the index says and answer for one that is not. A batch malformed as a whole (see
 * walkParts) gives every entry of its index with no message.
 */
export function unpackParts(batch: AnyMessage): UnpackedPart[] {
  const out: UnpackedPart[] = [];
  if (eachPart(batch, (entry, message) => out.push({ entry, message }))) return out;
  const entries = (batch.content as { parts?: unknown }).parts;
  if (!Array.isArray(entries)) return [];
  return entries.map((entry: unknown) => ({
    entry: (typeof entry === "object" && entry !== null ? entry : { sizes: [] }) as PartEntry,
    message: undefined,
  }));
}

/** Calls `visit` for each part of a batch in order; false (visiting none) when it is malformed as a whole. */
function eachPart(
  batch: AnyMessage,
  visit: (entry: PartEntry, message: AnyMessage | undefined) => void,
): boolean {
  const located: [PartEntry, number, number][] = [];
  if (!walkParts(batch, (entry, g, _json, [c]) => located.push([entry, g, c]))) return false;
  let bodies: unknown[] = [];
  let k = 0;
  let group = -1;
  for (const [entry, g, from] of located) {
    if (g !== group) {
      group = g;
      k = 0;
      try {
        const parsed: unknown = JSON.parse(batch.buffers[g]!.toString("utf8"));
        bodies = Array.isArray(parsed) ? parsed : [];
      } catch {
        bodies = [];
      }
    }
    visit(entry, messageOf(bodies[k++], entry.sizes, batch.buffers[g + 1]!, from, batch.identities));
  }
  return true;
}

/**
 * A sealed part as a relay handles it: a message whose header, parent, metadata and content hold
 * only what the index says (ids, type, route or status), carrying the part to forward. Open it
 * ({@link openPart}) for the rest.
 */
export function relayedPart(part: SealedPart, identities: Buffer[]): AnyMessage & { sealed: SealedPart } {
  const e = part.entry;
  const type = typeof e.type === "string" ? e.type : "";
  const reply = e.parent_id !== undefined;
  return {
    identities,
    header: { msg_id: reply ? "" : String(e.msg_id ?? ""), msg_type: type } as Header,
    parent_header: reply ? ({ msg_id: String(e.parent_id) } as Header) : {},
    metadata: reply ? (typeof e.duration === "number" ? { duration: e.duration } : {}) : (e.meta ?? {}),
    content: reply ? { status: e.status } : {},
    buffers: [],
    raw: [],
    sealed: part,
  } as unknown as AnyMessage & { sealed: SealedPart };
}

/** The parts of a received batch as a relay handles them (see {@link relayedPart}). */
export function relayedParts(batch: AnyMessage): (AnyMessage & { sealed: SealedPart })[] {
  return sealedParts(batch).map((part) => relayedPart(part, batch.identities));
}

/** True when `buffers` can travel inside a batch: large ones carry MACs bound to their message. */
export function batchable(buffers: readonly Uint8Array[] | undefined): boolean {
  return !buffers?.some((b) => b.byteLength >= SIGNED_BUFFER_LIMIT);
}

/** Most messages in one batch (bounds a batch message and the work of handling one). */
export const MAX_BATCH = 512;
