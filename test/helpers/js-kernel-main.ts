/** Runs the real kernel with the JavaScript test session: `node js-kernel-main.js CONNECTION_FILE`. */
import { Kernel } from "../../kernel/kernel.js";
import { readConnectionFile } from "../../kernel/protocol/connection-file.js";
import { JsSession } from "./js-session.js";

const file = process.argv[2];
if (!file) {
  process.stderr.write("usage: node js-kernel-main.js CONNECTION_FILE\n");
  process.exit(2);
}
const kernel = await Kernel.start({ connection: await readConnectionFile(file), session: new JsSession() });
// As bin/tsparallel.js does for the kernel: let the event loop end (process.exit() while ZeroMQ
// tears down its sockets can corrupt the heap), with a deadline.
process.exitCode = await kernel.exited;
setTimeout(() => process.exit(), 3000).unref();
