/**
 * The cluster service process: the Jupyter server extension (extension/server/tsparallel_lab)
 * starts it and sends one JSON request per line on stdin; it answers one JSON response per line
 * on stdout, in completion order (requests run concurrently and carry ids). It exits when stdin
 * closes, i.e. when the Jupyter server goes away, leaving the clusters running.
 */
import process from "node:process";
import { createInterface } from "node:readline";
import { ClusterService, ServiceError } from "./cluster-service.js";
import type { ServiceRequest, ServiceResponse } from "./cluster-snapshot.js";

// stdout carries the protocol only: anything else printed in this process goes to stderr, which
// the server extension copies into the Jupyter server's log.
const writeProtocol = process.stdout.write.bind(process.stdout);
process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;

const service = new ClusterService();

function answer(response: ServiceResponse): void {
  writeProtocol(`${JSON.stringify(response)}\n`);
}

async function serve(line: string): Promise<void> {
  let req: ServiceRequest;
  try {
    req = JSON.parse(line) as ServiceRequest;
    if (typeof req !== "object" || req === null || typeof req.id !== "number") throw new Error("no id");
  } catch (e) {
    process.stderr.write(
      `[tsparallel cluster service] dropping a malformed request (${(e as Error).message})\n`,
    );
    return;
  }
  try {
    answer({ id: req.id, ok: true, result: await service.handle(req) });
  } catch (e) {
    const status = e instanceof ServiceError ? e.status : 500;
    if (!(e instanceof ServiceError))
      process.stderr.write(`[tsparallel cluster service] ${(e as Error).stack}\n`);
    answer({ id: req.id, ok: false, status, error: (e as Error).message });
  }
}

const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
lines.on("line", (line) => {
  if (line.trim() !== "") void serve(line);
});
lines.on("close", () => {
  void service.close().finally(() => process.exit(0));
});
