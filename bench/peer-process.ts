import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { createInterface, type Interface } from "node:readline";

/**
 * A peer benchmark process (Python) that takes one JSON command per line on stdin and answers
 * with one JSON line on stdout. Used to interleave the peer's repetitions with ours.
 */
export class PeerProcess {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #lines: Interface;
  readonly #waiting: ((line: string) => void)[] = [];
  #stderr = "";
  #exited: string | null = null;

  constructor(command: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
    this.#child = spawn(command, args, { env, stdio: ["pipe", "pipe", "pipe"] });
    this.#lines = createInterface({ input: this.#child.stdout });
    this.#lines.on("line", (line) => {
      if (!line.startsWith("{")) return;
      this.#waiting.shift()?.(line);
    });
    this.#child.stderr.on("data", (d: Buffer) => {
      this.#stderr = (this.#stderr + d.toString()).slice(-4000);
    });
    this.#child.on("exit", (code) => {
      this.#exited = `peer exited with ${code}: ${this.#stderr.trim().split("\n").slice(-3).join(" | ")}`;
      for (const w of this.#waiting.splice(0)) w(JSON.stringify({ error: this.#exited }));
    });
  }

  /** Sends a command; resolves with the reply, rejects with the peer's error message. */
  async call<T = Record<string, unknown>>(cmd: Record<string, unknown>): Promise<T> {
    if (this.#exited) throw new Error(this.#exited);
    const line = await new Promise<string>((resolve) => {
      this.#waiting.push(resolve);
      this.#child.stdin.write(`${JSON.stringify(cmd)}\n`);
    });
    const reply = JSON.parse(line) as T & { error?: string };
    if (reply.error) throw new Error(reply.error);
    return reply;
  }

  /** Asks the peer to stop, then makes sure it has. */
  async close(): Promise<void> {
    if (!this.#exited) {
      await Promise.race([
        this.call({ op: "stop" }).catch(() => {}),
        new Promise((r) => setTimeout(r, 30_000)),
      ]);
    }
    if (!this.#exited) this.#child.kill("SIGKILL");
  }
}
