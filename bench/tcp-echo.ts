/**
 * The floor under every round trip between two local Node processes: a bare TCP echo on
 * loopback, no framing, signing or serialisation. The runtime suite reports it next to
 * `apply_rtt_direct_1`, so a slow run can be told apart from a slow runtime (on this VM a
 * syscall costs ~20–30 µs and waking a process on the other core more).
 *
 * Run as a script, this file is the echoing side: it listens on a free loopback port, prints
 * the port on stdout and echoes every byte back until stdin closes.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { connect, createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { median } from "./metric.js";

/** Bytes per round trip: about what an `applySync(() => 0)` request carries over a lane. */
const MESSAGE_BYTES = 420;

/**
 * Median round trip in ms of `calls` echoes of a {@link MESSAGE_BYTES}-byte message between this
 * process and a freshly started echoing Node process.
 */
export async function tcpEchoRttMs(calls: number): Promise<number> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url)], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  try {
    const exited = once(child, "exit").then(([code]) => {
      throw new Error(`the echo process exited (${code}) before it printed its port`);
    });
    const [line] = (await Promise.race([once(child.stdout, "data"), exited])) as [Buffer];
    exited.catch(() => {}); // it exits when we are done
    const port = Number(line.toString().trim());
    if (!Number.isInteger(port)) throw new Error(`the echo process printed no port: ${line}`);
    const socket = connect({ port, host: "127.0.0.1", noDelay: true });
    await once(socket, "connect");
    const message = Buffer.alloc(MESSAGE_BYTES, 7);
    const times: number[] = [];
    let pending = 0;
    let started = 0;
    let done!: () => void;
    const finished = new Promise<void>((resolve) => {
      done = resolve;
    });
    const send = () => {
      pending = MESSAGE_BYTES;
      started = performance.now();
      socket.write(message);
    };
    socket.on("data", (chunk: Buffer) => {
      pending -= chunk.length;
      if (pending > 0) return;
      times.push(performance.now() - started);
      if (times.length < calls + 100) send();
      else done();
    });
    send();
    await finished;
    socket.destroy();
    return median(times.slice(100));
  } finally {
    child.stdin.end();
    child.kill();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const server = createServer({ noDelay: true }, (s) => s.on("data", (d) => s.write(d)));
  server.listen(0, "127.0.0.1", () => {
    const address = server.address();
    process.stdout.write(`${typeof address === "object" && address ? address.port : ""}\n`);
  });
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
}
