import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { EngineError } from "../../../engines/index.js";
import { processAlive } from "../../../engines/launchers/process-alive.js";
import { startTestCluster, stopTestClusters } from "../cluster-fixture.js";

after(stopTestClusters);

/** The run submits load-balanced tasks in waves of {@link WAVE}: at least {@link TASKS}, for at least {@link MIN_MS}. */
const TASKS = 100_000;
const WAVE = 1000;
const MIN_MS = 20_000;
/** And stops submitting after this, whatever the count (the bound on the test's time). */
const MAX_MS = 60_000;

const INDEX = fileURLToPath(new URL("../../../engines/index.js", import.meta.url));

/**
 * Another client, in its own process, submitting load-balanced tasks with 2 MiB arguments (large
 * enough to be assigned an engine before their payload goes) until it is killed.
 */
function submittingClient(connectionFile: string): ChildProcess {
  const script = `
    import { Client } from ${JSON.stringify(INDEX)};
    const rc = await Client.connect(${JSON.stringify(connectionFile)});
    const lb = rc.loadBalancedView();
    const big = new Float64Array(262144).fill(1);
    for (;;) await Promise.all(Array.from({ length: 8 }, () => lb.apply((a) => a.length, big)));
  `;
  return spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: "ignore" });
}

test("engines killed, paused and replaced, clients killed mid-submit and a paused controller during 100,000 tasks: every task answers right or says why, none hangs", async (t) => {
  const cluster = await startTestCluster({ n: 4, respawn: 50 });
  const rc = cluster.client!;
  const lb = rc.loadBalancedView();
  lb.retries = 1;
  let submitted = 0;
  const done = { right: 0, wrong: 0, engineErrors: 0, other: [] as string[], why: new Set<string>() };
  const faults = { killed: 0, paused: 0, controllerPaused: 0, clientsKilled: 0 };
  const clients: Promise<unknown>[] = [];
  let running = true;

  // The chaos: every 250 ms one engine is killed (SIGKILL) or paused through the controller and
  // resumed 400 ms later, or (every eighth round) another client starts submitting large tasks
  // and is killed within a second; once, the controller itself is stopped for 1.5 s.
  const chaos = (async () => {
    let round = 0;
    while (running) {
      await new Promise((r) => setTimeout(r, 250));
      round++;
      const ids = rc.ids;
      if (ids.length === 0) continue;
      const id = ids[Math.floor(Math.random() * ids.length)]!;
      const pid = rc.engines.get(id)?.pid;
      try {
        if (round % 8 === 4) {
          // A client killed mid-submit: its assignments must not hold engines.
          const child = submittingClient(cluster.file);
          const exited = new Promise((r) => child.once("exit", r));
          clients.push(exited);
          setTimeout(
            () => {
              child.kill("SIGKILL");
              faults.clientsKilled++;
            },
            600 + Math.random() * 400,
          );
        } else if (round === 10) {
          process.kill(rc.info.controller_pid, "SIGSTOP");
          faults.controllerPaused++;
          await new Promise((r) => setTimeout(r, 1500));
          process.kill(rc.info.controller_pid, "SIGCONT");
        } else if (round % 3 === 0 && pid !== undefined && processAlive(pid)) {
          process.kill(pid, "SIGKILL");
          faults.killed++;
        } else {
          await rc.signal(id, "SIGSTOP");
          faults.paused++;
          await new Promise((r) => setTimeout(r, 400));
          await rc.signal(id, "SIGCONT").catch(() => {});
        }
      } catch {
        // the engine went meanwhile: the next round picks another
      }
    }
  })();

  const started = Date.now();
  try {
    for (
      let first = 0;
      (first < TASKS || Date.now() - started < MIN_MS) && Date.now() - started < MAX_MS;
      first += WAVE
    ) {
      const wave = Array.from({ length: WAVE }, (_, k) => first + k);
      submitted += WAVE;
      const results = await Promise.allSettled(
        wave.map((i) => lb.apply((x: number) => x * 2, i).get({ timeout: 30_000 })),
      );
      results.forEach((r, k) => {
        if (r.status === "fulfilled") {
          if (r.value === 2 * wave[k]!) done.right++;
          else done.wrong++;
        } else if (r.reason instanceof EngineError) {
          done.engineErrors++;
          done.why.add((r.reason as Error).message.replace(/\d+/g, "N"));
        } else done.other.push(`${(r.reason as Error).name}: ${(r.reason as Error).message}`);
      });
    }
  } finally {
    running = false;
    await chaos;
    await Promise.all(clients);
  }
  t.diagnostic(
    `${submitted} tasks in ${((Date.now() - started) / 1000).toFixed(1)} s: ${done.right} right, ${done.engineErrors} EngineError, ` +
      `${done.other.length} other, ${done.wrong} wrong; ${faults.killed} engines killed, ${faults.paused} paused, ` +
      `controller paused ${faults.controllerPaused}×, ${faults.clientsKilled} clients killed mid-submit; ${rc.ids.length} engines at the end; EngineErrors said: ${[...done.why].join(" | ")}`,
  );
  assert.equal(done.wrong, 0, "no task answered wrong");
  // A task may fail only with an EngineError that says which engine died under it (after its
  // retry); anything else (a timeout: a hung task) fails the test.
  assert.deepEqual(done.other.slice(0, 5), [], "no task hung or failed another way");
  assert.equal(done.right + done.engineErrors + done.other.length, submitted);
  assert.ok(submitted >= TASKS, `only ${submitted} tasks in ${MAX_MS / 1000} s`);
  assert.ok(
    faults.killed >= 3 && faults.paused >= 3 && faults.controllerPaused === 1 && faults.clientsKilled >= 3,
    "the chaos happened",
  );
  assert.ok(rc.ids.length >= 1, "replacements kept engines in the cluster");
  assert.equal(await lb.apply(() => "still here"), "still here");
});
