import { clearTimeout, setTimeout } from "node:timers";
import { MessageCodec } from "../wire/protocol/message-codec.js";
import type { TaskMetadata } from "../wire/protocol/messages.js";
import type { Signer } from "../wire/protocol/signing.js";
import { StreamSocket } from "../wire/transport/stream-socket.js";
import { encodeValue } from "../wire/values/serialize.js";

/** The session of an engine's warm-up task: its lane runs it before the engine has an id. */
export const WARM_UP_SESSION = "warm-up";

/** How long the warm-up may take before the engine registers anyway. */
const WARM_UP_TIMEOUT_MS = 2000;

/**
 * Sends one small task to the engine's own lane and waits for its reply. V8 compiles a function
 * the first time it runs, so the first task over a lane (a connection accepted, frames parsed, a
 * signature checked, arguments decoded, a function compiled and called, a reply encoded and
 * written) costs an engine ~5 ms more than the next: 64 engines on two cores made a client's
 * first call to all of them wait ~160 ms for it. Paid here, before the engine registers, it is
 * part of starting. The task is marked `warm_up`, so no record of it reaches the controller.
 * Never fails: a warm-up that does not happen costs the first task its time, nothing more.
 */
export async function warmUpLane(
  to: { host: string; port: number },
  signer: Signer,
  encrypted: boolean,
): Promise<void> {
  const codec = new MessageCodec(signer, WARM_UP_SESSION, "warm-up lane");
  let sock: StreamSocket | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    const buffers = await encodeValue([new Float64Array(4), "text", { list: [1, 2] }], { name: "args" });
    await new Promise<void>((resolve) => {
      timer = setTimeout(resolve, WARM_UP_TIMEOUT_MS);
      sock = StreamSocket.connect(
        to,
        codec,
        (msg) => {
          if (msg.header.msg_type === "apply_reply") resolve();
        },
        { encrypted },
      );
      sock.socket.once("error", () => resolve());
      sock.socket.once("close", () => resolve());
      const metadata: TaskMetadata = { route: { kind: "direct", target: -1 }, warm_up: true };
      sock.send(
        "apply_request",
        { fn: "(a, s, o) => a.length + s.length + o.list.length", name: "warm-up", mode: "call" },
        { header: codec.header("apply_request"), metadata, buffers },
      );
    });
  } catch {
    // See above: nothing is lost.
  } finally {
    clearTimeout(timer);
    sock?.close();
  }
}
