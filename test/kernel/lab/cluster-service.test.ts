/**
 * The cluster service (what the JupyterLab panel's server extension asks) against real clusters:
 * listing, actions, and what it says about clusters that died, hang or cannot be read.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { processAlive } from "../../../engines/launchers/process-alive.js";
import { ClusterService, ServiceError } from "../../../kernel/lab/cluster-service/cluster-service.js";
import type { ClusterList, ClusterSnapshot } from "../../../kernel/lab/cluster-service/cluster-snapshot.js";
import { stopClusters } from "../../extension/lab-server.js";

async function refusal(p: Promise<unknown>, status: number, message: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ServiceError, `not a ServiceError: ${e}`);
    assert.equal(e.status, status, e.message);
    assert.match(e.message, message);
    return true;
  });
}

function controllerPid(dir: string, name: string): number {
  return (
    JSON.parse(readFileSync(join(dir, "clusters", `${name}.json`), "utf8")) as { controller_pid: number }
  ).controller_pid;
}

test("the cluster service lists, starts, scales, signals, restarts and stops real clusters", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tsparallel-service-"));
  const previous = process.env.TSPARALLEL_DIR;
  process.env.TSPARALLEL_DIR = dir;
  const service = new ClusterService({ probeTimeoutMs: 800, retryUnresponsiveMs: 0 });
  t.after(async () => {
    await service.close();
    stopClusters(dir);
    process.env.TSPARALLEL_DIR = previous;
    rmSync(dir, { recursive: true, force: true });
  });

  const empty = (await service.handle({ id: 1, op: "list" })) as ClusterList;
  assert.deepEqual(empty.clusters, []);
  assert.equal(empty.dir, join(dir, "clusters"));

  const a = await service.start("a", 1);
  assert.equal(a.state, "running");
  assert.equal(a.engines.length, 1);
  assert.ok(a.engines[0]!.pid > 0 && a.engines[0]!.host !== "");
  assert.equal(
    JSON.stringify(a).includes(readConnectionKey(dir, "a")),
    false,
    "the key reached the snapshot",
  );

  await refusal(service.start("a", 1), 409, /already exists/);
  await refusal(service.start("../etc", 1), 400, /may only use letters/);
  await refusal(service.start("b", 1000), 400, /from 0 to 256/);
  await refusal(service.scale("nope", 1), 404, /no cluster "nope"/);
  await refusal(service.signal("a", "all", "SIGFOO"), 400, /choose one of SIGINT/);

  // Two actions on one cluster at once: the second is told to wait.
  const scaling = service.scale("a", 2);
  await refusal(service.scale("a", 3), 409, /busy scaling/);
  const scaled = await scaling;
  assert.equal(scaled.engines.length, 2);
  assert.match(scaled.events.at(-1)!.text, /scaled from 1 to 2 engines/);

  const signalled = await service.signal("a", [scaled.engines[0]!.id], "SIGINT");
  assert.equal(signalled.state, "running");
  await refusal(service.restartEngine("a", 99), 500, /engine 99 does not exist/);
  const old = scaled.engines[1]!.id;
  const restarted = await service.restartEngine("a", old);
  assert.equal(restarted.engines.length, 2);
  assert.ok(!restarted.engines.some((e) => e.id === old), "the restarted engine kept its id");

  // A controller that hangs: "unresponsive", actions refused, stop terminates it.
  const pidA = controllerPid(dir, "a");
  process.kill(pidA, "SIGSTOP");
  const hung = await service.get("a");
  assert.equal(hung.state, "unresponsive");
  assert.match(hung.message ?? "", /does not answer/);
  await refusal(service.scale("a", 1), 409, /not running \(unresponsive\)/);
  const stopped = await service.stop("a");
  assert.match(stopped.done, /terminated its controller/);
  assert.equal(processAlive(pidA), false);

  // A controller that died: "stale", cleaned up by stop.
  await service.start("b", 1);
  const pidB = controllerPid(dir, "b");
  process.kill(pidB, "SIGKILL");
  for (let i = 0; i < 50 && processAlive(pidB); i++) await new Promise((r) => setTimeout(r, 20));
  const dead = await service.get("b");
  assert.equal(dead.state, "stale");
  assert.match(dead.message ?? "", /not running/);
  await refusal(service.signal("b", "all", "SIGINT"), 409, /not running \(stale\)/);
  // Its name can be used again right away.
  const again = await service.start("b", 1);
  assert.equal(again.state, "running");
  assert.notEqual(controllerPid(dir, "b"), pidB);
  assert.equal((await service.stop("b")).done, "stopped");

  // A dead controller's pid taken by another process (here: this test) still counts as dead,
  // and cleaning up never signals that process.
  writeFileSync(
    join(dir, "clusters", "reused.json"),
    JSON.stringify({
      name: "reused",
      key: "k",
      signature_scheme: "hmac-sha256",
      client_url: "tcp://127.0.0.1:1",
      engine_url: "tcp://127.0.0.1:2",
      heartbeat_url: "tcp://127.0.0.1:3",
      ping_url: "tcp://127.0.0.1:4",
      controller_pid: process.pid,
      controller_host: hostname(),
      created: new Date().toISOString(),
      scheme: "leastload",
    }),
  );
  assert.equal((await service.get("reused")).state, "stale");
  assert.match((await service.stop("reused")).done, /removed its connection file/);

  // A file that is not a connection file: "unreadable", removable.
  mkdirSync(join(dir, "clusters"), { recursive: true });
  writeFileSync(join(dir, "clusters", "junk.json"), "{ not json");
  const list = (await service.list()) as ClusterList;
  const junk = list.clusters.find((c: ClusterSnapshot) => c.name === "junk");
  assert.equal(junk?.state, "unreadable");
  assert.match((await service.stop("junk")).done, /removed its connection file/);
  assert.deepEqual(((await service.list()) as ClusterList).clusters, []);
});

function readConnectionKey(dir: string, name: string): string {
  return (JSON.parse(readFileSync(join(dir, "clusters", `${name}.json`), "utf8")) as { key: string }).key;
}
