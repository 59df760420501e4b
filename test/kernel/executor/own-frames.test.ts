/**
 * Errors show the user's frames, as IPython hides its own: an interrupt and a call after the
 * cluster stopped say what happened and where in the notebook, and `%tb` shows the full stack.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { cellErrorFrom } from "../../../kernel/executor/cell-error.js";
import { isOwnFrame } from "../../../kernel/executor/own-frames.js";
import { StackMapper } from "../../../kernel/executor/stack-mapper.js";
import { useTempClusterDir } from "../../engines/cluster-fixture.js";
import { type StartedKernel, startKernel } from "../../helpers/kernel-process.js";

const tmp = useTempClusterDir();
let kernel: StartedKernel | undefined;
after(async () => {
  await kernel?.client.execute("await rc.shutdown()", {}, 20_000).catch(() => {});
  await kernel?.stop();
  tmp.cleanup();
});

async function run(code: string, interruptAfterMs?: number) {
  const reply = kernel!.client.execute(code, {}, 60_000);
  if (interruptAfterMs !== undefined) {
    await new Promise((r) => setTimeout(r, interruptAfterMs));
    process.kill(kernel!.process.pid!, "SIGINT");
  }
  const r = await reply;
  const content = r.reply.content as { status: string; traceback?: string[] };
  const stdout = r.outputs
    .filter((m) => m.header.msg_type === "stream")
    .map((m) => (m.content as { text: string }).text)
    .join("");
  return { status: content.status, traceback: content.traceback ?? [], stdout };
}

test("an interrupted cell and a call after its cluster stopped show the user's frames only; %tb shows the full stack", async () => {
  kernel = await startKernel({ launcher: "cli" });
  const interrupted = await run("for (;;) {}", 1500);
  assert.equal(interrupted.status, "error");
  assert.deepEqual(interrupted.traceback, [
    "Interrupted: The cell was interrupted (SIGINT) while running synchronous code. Names it assigned before that are kept.",
  ]);

  assert.equal(
    (await run('import { Cluster } from "tsparallel";\nconst rc = await Cluster.start({ n: 1 });')).status,
    "ok",
  );
  assert.equal((await run("await rc.cluster!.stop();")).status, "ok");
  const late = await run("const x = 1;\nawait rc.at(0).apply(() => x);");
  assert.equal(late.status, "error");
  assert.match(late.traceback[0]!, /^ClusterError: this client is closed .*connect again/);
  assert.equal(late.traceback.length, 2, `more than the cell's frame:\n${late.traceback.join("\n")}`);
  assert.match(late.traceback[1]!, /^\s+at cell \d+:2:\d+$/);

  const tb = await run("%tb");
  assert.equal(tb.status, "ok");
  assert.match(tb.stdout, /^ClusterError: this client is closed/);
  assert.match(tb.stdout, /dist\/engines\/client\/\w[\w-]*\.js/, "%tb left out our frames");
  assert.match(tb.stdout, /at cell \d+:2:\d+/);
});

test("tsparallel's frames, its dependencies' and Node's are its own; a notebook's and other packages' are the user's", () => {
  const dist = new URL("../../../", import.meta.url).href; // dist/ of this build
  assert.equal(isOwnFrame(`    at DirectView.apply (${dist}engines/client/direct-view.js:61:21)`), true);
  assert.equal(isOwnFrame("    at Socket.send (/x/node_modules/zeromq/lib/index.js:1:2)"), true);
  assert.equal(
    isOwnFrame("    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)"),
    true,
  );
  assert.equal(isOwnFrame("    at Array.map (<anonymous>)"), true);
  assert.equal(isOwnFrame("    at f (cell 3:1:22)"), false);
  assert.equal(isOwnFrame("    at parse (/home/me/nb/node_modules/csv-parse/lib/index.js:4:1)"), false);
  assert.equal(isOwnFrame("Error: a message that mentions node:internal"), false);
});

test("TSPARALLEL_TRACEBACK=full shows every frame in the error itself", () => {
  const e = new Error("boom");
  e.stack = `Error: boom\n    at inner (${new URL("../../../", import.meta.url).href}kernel/x.js:1:1)`;
  const before = process.env.TSPARALLEL_TRACEBACK;
  try {
    process.env.TSPARALLEL_TRACEBACK = "full";
    assert.equal(cellErrorFrom(e, new StackMapper()).traceback.length, 2);
    delete process.env.TSPARALLEL_TRACEBACK;
    assert.deepEqual(cellErrorFrom(e, new StackMapper()).traceback, ["Error: boom"]);
  } finally {
    if (before === undefined) delete process.env.TSPARALLEL_TRACEBACK;
    else process.env.TSPARALLEL_TRACEBACK = before;
  }
});
