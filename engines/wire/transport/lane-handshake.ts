/**
 * A lane's handshake: both ends prove they hold the cluster key before either reads a message,
 * and agree on a key of the connection's own that signs every message on it.
 *
 * ```
 * engine → client   "TSPL" | engine nonce (16)                                  20 bytes
 * client → engine   "TSPL" | client nonce (16) | HMAC(key, "client", nE, nC)    52 bytes
 * engine → client   HMAC(key, "engine", nE, nC)                                  32 bytes
 * ```
 *
 * Why: a lane's frames announce their lengths before anything is authenticated, so without a
 * handshake anyone who can connect could make an engine hold gigabytes (three connections that
 * claimed 256 MiB frames kept an engine at 843 MB). Now a peer without the key gets no further
 * than 52 bytes (4, if they are not the lane's magic). And the connection key (HMAC(key, "lane", nE, nC)) binds messages to their
 * connection: the same signed frames sent on another connection fail its signature, so a captured
 * task cannot be run again that way (repeats on the same connection are the replay guard's).
 * The client writes its messages right after its proof, so opening a lane costs one round trip
 * more than the TCP connection, once per client and engine.
 */
import { Buffer } from "node:buffer";
import { randomBytes, timingSafeEqual } from "node:crypto";
import { Signer } from "../protocol/signing.js";

const MAGIC = Buffer.from("TSPL");
const NONCE = 16;
const PROOF = 32;

/** How long a lane may take to complete its handshake before it is closed. */
export const HANDSHAKE_TIMEOUT_MS = 5000;

/** A lane whose peer failed the handshake: wrong key, or not a tsparallel lane of this version. */
export class LaneHandshakeError extends Error {
  override readonly name = "LaneHandshakeError";
}

/** What feeding bytes to a handshake gives: bytes to write, and once done, the bytes after it. */
export interface HandshakeStep {
  write?: Buffer;
  /** Set once the handshake is complete: the connection's signer, and what followed it. */
  done?: { signer: Signer; rest: Buffer };
}

/** One end of a lane's handshake (see the module's doc). */
export class LaneHandshake {
  #expect: number;
  #got = Buffer.alloc(0);
  #engineNonce: Buffer | undefined;
  #clientNonce: Buffer | undefined;

  constructor(
    readonly role: "engine" | "client",
    private readonly cluster: Signer,
  ) {
    this.#expect = MAGIC.length + NONCE + (role === "client" ? 0 : PROOF);
  }

  /** What the engine writes as soon as a client connects (nothing for the client). */
  start(): Buffer | undefined {
    if (this.role === "client") return undefined;
    this.#engineNonce = randomBytes(NONCE);
    return Buffer.concat([MAGIC, this.#engineNonce]);
  }

  /** Takes received bytes; throws {@link LaneHandshakeError} when the peer fails. */
  feed(chunk: Buffer): HandshakeStep {
    this.#got = this.#got.length ? Buffer.concat([this.#got, chunk]) : Buffer.from(chunk);
    // Anything but a lane (an HTTP request, a port scan) is told apart at its first bytes.
    const opening = this.role === "engine" || !this.#engineNonce;
    if (opening && !MAGIC.subarray(0, this.#got.length).equals(this.#got.subarray(0, MAGIC.length)))
      throw new LaneHandshakeError(
        "the peer does not open a tsparallel lane of this version: run the same tsparallel version everywhere",
      );
    if (this.#got.length < this.#expect) return {};
    const mine = this.#got.subarray(0, this.#expect);
    const rest = this.#got.subarray(this.#expect);
    this.#got = Buffer.alloc(0);
    return this.role === "engine" ? this.#engineStep(mine, rest) : this.#clientStep(mine, rest);
  }

  /** The engine has the client's nonce and proof: checks it, proves itself, done. */
  #engineStep(bytes: Buffer, rest: Buffer): HandshakeStep {
    const nE = this.#engineNonce!;
    const nC = bytes.subarray(MAGIC.length, MAGIC.length + NONCE);
    this.#check(bytes.subarray(MAGIC.length + NONCE), this.#proof("client", nE, nC));
    return { write: this.#proof("engine", nE, nC), done: { signer: this.#connection(nE, nC), rest } };
  }

  /** The client has the engine's hello (then its proof): answers with its own proof; then checks. */
  #clientStep(bytes: Buffer, rest: Buffer): HandshakeStep {
    if (!this.#engineNonce) {
      this.#engineNonce = Buffer.from(bytes.subarray(MAGIC.length));
      this.#clientNonce = randomBytes(NONCE);
      this.#expect = PROOF;
      const proof = this.#proof("client", this.#engineNonce, this.#clientNonce);
      const write = Buffer.concat([MAGIC, this.#clientNonce, proof]);
      return rest.length ? { write, ...this.feed(rest) } : { write };
    }
    const nE = this.#engineNonce;
    const nC = this.#clientNonce!;
    this.#check(bytes, this.#proof("engine", nE, nC));
    return { done: { signer: this.#connection(nE, nC), rest } };
  }

  /** The key messages on this connection are signed with (the nonces make it the connection's own). */
  #connection(nE: Buffer, nC: Buffer): Signer {
    if (!this.cluster.enabled) return this.cluster;
    return new Signer(this.cluster.mac(["tsparallel lane key", nE, nC]).toString("hex"));
  }

  #proof(who: "engine" | "client", nE: Buffer, nC: Buffer): Buffer {
    return this.cluster.mac([`tsparallel lane ${who}`, nE, nC]);
  }

  #check(got: Buffer, want: Buffer): void {
    if (got.length !== want.length || !timingSafeEqual(got, want))
      throw new LaneHandshakeError(
        `the ${this.role === "engine" ? "client" : "engine"} failed the lane handshake: it does not hold the cluster key (or runs another tsparallel version)`,
      );
  }
}
