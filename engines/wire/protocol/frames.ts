import { Buffer } from "node:buffer";
import { randomUUID } from "node:crypto";
import { TextDecoder } from "node:util";
import { WireError } from "./errors.js";
import type { Signer } from "./signing.js";

/** The frame that separates routing identities from the signed message. */
export const DELIMITER = Buffer.from("<IDS|MSG>");

/** Protocol version written into every header. */
export const PROTOCOL_VERSION = "5.3";

/** A Jupyter-style message header. */
export interface Header<T extends string = string> {
  msg_id: string;
  msg_type: T;
  session: string;
  username: string;
  date: string;
  version: string;
  /** Extra header fields (subshell ids, engine ids) survive a round trip. */
  [extra: string]: unknown;
}

/** A decoded multipart message. `parent_header` is `{}` when the message answers nothing. */
export interface WireMessage<C = unknown, T extends string = string> {
  /** Routing identities that preceded the delimiter (ROUTER sockets). */
  identities: Buffer[];
  header: Header<T>;
  parent_header: Header | Record<string, never>;
  metadata: Record<string, unknown>;
  content: C;
  buffers: Buffer[];
  /** The last frame, when {@link FramingOptions.trailer} says it is not a buffer. */
  trailer?: Buffer;
}

/** What the sender fills in; identities and buffers default to none. */
export interface OutgoingMessage<C = unknown, T extends string = string> {
  identities?: readonly Uint8Array[];
  header: Header<T>;
  parent_header?: Header | Record<string, never>;
  metadata?: Record<string, unknown>;
  content: C;
  buffers?: readonly Uint8Array[];
  /** A last frame after the buffers that the signature does not cover (see {@link FramingOptions.trailer}). */
  trailer?: Uint8Array;
}

/** How the signature covers a message. */
export interface FramingOptions {
  /**
   * Buffers shorter than this many bytes are signed with the JSON frames (Jupyter protocol: 0,
   * none are; cluster protocol: small ones, while large ones carry MACs of their own).
   */
  signBuffersBelow: number;
  /**
   * True when the message whose metadata frame is this ends in a frame that follows the buffers
   * and is not covered by the signature (the cluster's MAC trailer, see buffer-macs.ts). It reads
   * bytes not yet verified, so it must be cheap on hostile input; since the metadata is signed,
   * a sender who did not add that frame cannot make it say so.
   */
  trailer?: (metadataFrame: Buffer) => boolean;
}

/** The frames the HMAC covers: the JSON frames and the buffers small enough to be signed directly. */
function covered(
  json: readonly Uint8Array[],
  buffers: readonly Uint8Array[],
  opts: FramingOptions,
): Uint8Array[] {
  if (opts.signBuffersBelow <= 0 || buffers.length === 0) return json as Uint8Array[];
  return [...json, ...buffers.filter((b) => b.byteLength < opts.signBuffersBelow)];
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Message ids: a random prefix drawn once per process and a counter, as jupyter_client does since
 * 7.0. A `randomUUID()` per message was a tree of a dozen joined strings that every in-flight
 * task kept alive (~140,000 of them for a flood of 10,000) until something flattened it.
 */
const ID_PREFIX = `${randomUUID()}_`;
let idCount = 0;

/** The header date, remade at most once per millisecond (a flood makes dozens of headers in one). */
let dateMs = -1;
let dateText = "";

function isoNow(): string {
  const now = Date.now();
  if (now !== dateMs) {
    dateMs = now;
    dateText = new Date(now).toISOString();
  }
  return dateText;
}

/** Makes a fresh header for a message of `msgType` in `session`. */
export function makeHeader<T extends string>(
  msgType: T,
  session: string,
  username = "tsparallel",
): Header<T> {
  return {
    msg_id: ID_PREFIX + ++idCount,
    msg_type: msgType,
    session,
    username,
    date: isoNow(),
    version: PROTOCOL_VERSION,
  };
}

/** Serialises a message to the frames handed to a zeromq socket. */
export function encodeMessage(msg: OutgoingMessage, signer: Signer, opts: FramingOptions): Uint8Array[] {
  const json = [
    Buffer.from(JSON.stringify(msg.header)),
    Buffer.from(JSON.stringify(msg.parent_header ?? {})),
    Buffer.from(JSON.stringify(msg.metadata ?? {})),
    Buffer.from(JSON.stringify(msg.content ?? {})),
  ];
  const buffers = msg.buffers ?? [];
  const signature = signer.sign(covered(json, buffers, opts));
  const frames = [...(msg.identities ?? []), DELIMITER, Buffer.from(signature), ...json, ...buffers];
  if (msg.trailer) frames.push(msg.trailer);
  return frames;
}

function parseJson(frame: Buffer, what: string): unknown {
  let text: string;
  try {
    text = utf8.decode(frame);
  } catch {
    throw new WireError("INVALID_UTF8", `the ${what} frame is not valid UTF-8`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new WireError("MALFORMED_JSON", `the ${what} frame is not JSON: ${(e as Error).message}`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Parses and verifies received frames. Throws {@link WireError} for anything malformed or
 * badly signed; the caller drops such a message.
 */
export function decodeMessage(frames: readonly Buffer[], signer: Signer, opts: FramingOptions): WireMessage {
  const at = frames.findIndex((f) => f.equals(DELIMITER));
  if (at < 0) throw new WireError("MISSING_DELIMITER", "no <IDS|MSG> delimiter frame");
  if (frames.length < at + 6) {
    throw new WireError(
      "TOO_FEW_FRAMES",
      `expected at least 5 frames after the delimiter, got ${frames.length - at - 1}`,
    );
  }
  const signature = frames[at + 1]!;
  const json = frames.slice(at + 2, at + 6);
  const buffers = frames.slice(at + 6);
  // Which frames are signed depends on the metadata, so it is looked at first.
  const trailer = buffers.length && opts.trailer?.(json[2]!) ? buffers.pop() : undefined;
  if (!signer.verify(signature, covered(json, buffers, opts))) {
    throw new WireError(
      "BAD_SIGNATURE",
      "signature does not match the message (wrong key or tampered frames)",
    );
  }
  const [header, parent, metadata, content] = [
    parseJson(json[0]!, "header"),
    parseJson(json[1]!, "parent_header"),
    parseJson(json[2]!, "metadata"),
    parseJson(json[3]!, "content"),
  ];
  if (!isObject(header) || typeof header.msg_type !== "string" || typeof header.msg_id !== "string") {
    throw new WireError("MALFORMED_HEADER", "the header has no msg_type or msg_id");
  }
  return {
    identities: frames.slice(0, at),
    header: header as Header,
    parent_header: (isObject(parent) ? parent : {}) as Header,
    metadata: isObject(metadata) ? metadata : {},
    content: isObject(content) ? content : {},
    buffers,
    ...(trailer && { trailer }),
  };
}
