import { Buffer } from "node:buffer";
import { setImmediate } from "node:timers";
import { SIGNED_BUFFER_LIMIT } from "./buffer-macs.js";
import type { Header } from "./frames.js";
import type { AnyMessage, ContentByType, MsgType } from "./messages.js";

/**
 * Batches: many task requests (client → controller → engine) or replies (engine → controller →
 * client) in one signed message, so a flood of tiny tasks costs a few messages per batch rather
 * than several per task. Each part keeps its own header, parent, metadata and content, and owns
 * the next `buffers` of the batch's buffers, so unpacking gives back the messages as they were.
 */

/** One message inside a batch. */
export interface BatchPart {
  header: Header;
  parent_header: Header | Record<string, never>;
  metadata: Record<string, unknown>;
  content: unknown;
  /** How many of the batch's buffers, in order, belong to this part. */
  buffers: number;
}

/** A message to put in a batch (buffers by value). */
export interface Batchable {
  header: Header;
  parent_header?: Header | Record<string, never>;
  metadata?: Record<string, unknown>;
  content: unknown;
  buffers?: readonly Uint8Array[];
}

/** What a batch message's content holds. */
export interface BatchContent {
  parts: BatchPart[];
  /**
   * When present, the batch has one frame holding every part's buffers back to back, and these
   * are their lengths in order. Set when there are two or more and they add up to less than
   * {@link SIGNED_BUFFER_LIMIT}, so the frame is covered by the message's HMAC like each small
   * buffer would be.
   */
  packed?: number[];
}

/**
 * The content and buffers of a batch message carrying `items`, in order.
 *
 * The parts' small buffers (a tiny task's arguments, its result) travel packed into one frame:
 * each frame is a ZeroMQ message part and, on receipt, a Buffer with memory of its own that the
 * garbage collector must finalise, so a flood's ~10-byte values cost more as frames than as bytes.
 */
export function packBatch(items: readonly Batchable[]): { content: BatchContent; buffers: Uint8Array[] } {
  const buffers: Uint8Array[] = [];
  let bytes = 0;
  const parts = items.map((m): BatchPart => {
    const own = m.buffers ?? [];
    for (const b of own) {
      buffers.push(b);
      bytes += b.byteLength;
    }
    return {
      header: m.header,
      parent_header: m.parent_header ?? {},
      metadata: m.metadata ?? {},
      content: m.content,
      buffers: own.length,
    };
  });
  if (buffers.length < 2 || bytes >= SIGNED_BUFFER_LIMIT) return { content: { parts }, buffers };
  return {
    content: { parts, packed: buffers.map((b) => b.byteLength) },
    buffers: [Buffer.concat(buffers, bytes)],
  };
}

/** The batch's buffers one per part-buffer: the packed frame cut up (as views), or the frames. */
function batchBuffers(batch: AnyMessage): Buffer[] | undefined {
  const packed = (batch.content as { packed?: unknown }).packed;
  if (packed === undefined) return batch.buffers;
  const blob = batch.buffers[0];
  if (!Array.isArray(packed) || batch.buffers.length !== 1 || !blob) return undefined;
  const out: Buffer[] = [];
  let at = 0;
  for (const n of packed) {
    if (!Number.isInteger(n) || n < 0 || at + n > blob.length) return undefined;
    out.push(blob.subarray(at, at + n));
    at += n;
  }
  return at === blob.length ? out : undefined;
}

/**
 * The messages inside a received batch, as if each had arrived alone (from the same peer, with
 * the same identities). They have no `raw` frames of their own: forwarding means re-batching.
 */
export function unpackBatch(batch: AnyMessage): AnyMessage[] {
  const parts = (batch.content as { parts?: unknown }).parts;
  const buffers = batchBuffers(batch);
  if (!Array.isArray(parts) || !buffers) return [];
  const out: AnyMessage[] = [];
  let at = 0;
  for (const p of parts as BatchPart[]) {
    if (typeof p?.header?.msg_type !== "string" || !Number.isInteger(p.buffers) || p.buffers < 0) continue;
    out.push({
      identities: batch.identities,
      header: p.header as Header<MsgType>,
      parent_header: p.parent_header ?? {},
      metadata: p.metadata ?? {},
      content: p.content as ContentByType[MsgType],
      buffers: buffers.slice(at, at + p.buffers),
      raw: [],
    } as unknown as AnyMessage);
    at += p.buffers;
  }
  return out;
}

/** Most messages in one batch (bounds a batch message and the work of handling one). */
export const MAX_BATCH = 512;

/**
 * Collects what is added during one turn of the event loop and hands it over, in order, when the
 * turn ends (`setImmediate`), in runs of at most {@link MAX_BATCH}. A burst becomes a few batches;
 * a lone item costs one extra macrotask hop, microseconds on an idle loop.
 */
export class TurnBatcher<T> {
  #items: T[] = [];

  constructor(private readonly flush: (items: T[]) => void) {}

  add(item: T): void {
    if (this.#items.push(item) === 1) setImmediate(() => this.drain());
  }

  /** Hands over everything collected so far, now (before a message that must not overtake it). */
  drain(): void {
    const items = this.#items;
    if (!items.length) return;
    this.#items = [];
    for (let i = 0; i < items.length; i += MAX_BATCH) this.flush(items.slice(i, i + MAX_BATCH));
  }
}

/** True when `buffers` can travel inside a batch: large ones carry MACs bound to their message. */
export function batchable(buffers: readonly Uint8Array[] | undefined): boolean {
  return !buffers?.some((b) => b.byteLength >= SIGNED_BUFFER_LIMIT);
}
