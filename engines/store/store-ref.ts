/**
 * How a block of a client's shared-memory store is named on the wire: enough for a process on the
 * same host to map it (the owner's pid and descriptor, opened through /proc/<pid>/fd), to check it
 * found the right segment (its random token), and to say when it no longer needs it (the block's id
 * and its owner's session, to which releases are routed).
 * @module
 */

/** A block of an owner's store, as a task carries it. */
export interface StoreRef {
  /** The owner's process id and the segment's descriptor in that process. */
  pid: number;
  fd: number;
  /** The segment's random token, also written at its start: proves the descriptor is the segment. */
  token: string;
  /** The block's bytes within the segment. */
  offset: number;
  length: number;
  /** The block's id in the owner's store. */
  block: number;
  /** The owner's session (its routing id at the controller, where releases go). */
  owner: string;
  /** Mapped so that writes reach the segment (a shared array); otherwise copy-on-write. */
  shared?: boolean;
}

/** A block as a task's metadata names it: its id, and whose store it is in. */
export type StoreBlock = Pick<StoreRef, "block" | "owner">;

/** Bytes at the start of every segment: a magic and the token. */
export const SEGMENT_HEADER_BYTES = 4096;

/** The segment's first bytes: "TSPSTORE" then the token's hex. */
export const SEGMENT_MAGIC = "TSPSTORE";

/** True when `v` looks like a StoreRef (checked before a receiver maps anything). */
export function isStoreRef(v: unknown): v is StoreRef {
  if (typeof v !== "object" || v === null) return false;
  const r = v as Record<string, unknown>;
  const whole = (x: unknown) => typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
  return (
    whole(r.pid) &&
    (r.pid as number) > 0 &&
    whole(r.fd) &&
    typeof r.token === "string" &&
    /^[0-9a-f]{32}$/.test(r.token) &&
    whole(r.offset) &&
    (r.offset as number) >= SEGMENT_HEADER_BYTES &&
    whole(r.length) &&
    (r.length as number) > 0 &&
    whole(r.block) &&
    typeof r.owner === "string" &&
    (r.shared === undefined || typeof r.shared === "boolean")
  );
}
