import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { Client, Cluster, ClusterError, ConnectionFileError, type EngineInfo } from "../../engines/index.js";
import { processAlive as isAlive } from "../../engines/launchers/process-alive.js";
import { startTestCluster, stopTestClusters, until, useTempClusterDir } from "./cluster-fixture.js";

const tmp = useTempClusterDir();
after(async () => {
  await stopTestClusters();
  tmp.cleanup();
});

test("Cluster.start gives a connected client; the connection file is private; stop cleans up", async (t) => {
  const started = Date.now();
  const cluster = await startTestCluster({ n: 2, name: "unit" });
  t.diagnostic(`cluster start until 2 engines registered: ${Date.now() - started} ms`);
  const rc = cluster.client!;
  assert.deepEqual(rc.ids, [0, 1]);
  assert.equal(statSync(cluster.file).mode & 0o777, 0o600);
  assert.match(rc.info.client_url, /^tcp:\/\/127\.0\.0\.1:/, "binds loopback by default");
  const pids = await rc.view().apply(() => process.pid);
  await cluster.stop();
  assert.throws(() => statSync(cluster.file), /ENOENT/);
  assert.ok(await until(() => pids.every((p) => !isAlive(p)), 5000), "engines are gone");
});

test("scale, restartEngine and engine events", async () => {
  const cluster = await startTestCluster({ n: 0 });
  const rc = cluster.client!;
  assert.throws(
    () => rc.view().apply(() => 1),
    (e: unknown) => e instanceof ClusterError && e.code === "NO_ENGINES" && /Cluster.start/.test(e.message),
  );
  const added: EngineInfo[] = [];
  const removed: EngineInfo[] = [];
  rc.on("engineAdded", (e) => added.push(e));
  rc.on("engineRemoved", (e) => removed.push(e));
  assert.equal(await cluster.scale(3), 3);
  assert.equal(rc.ids.length, 3);
  assert.equal(await cluster.scale(1), 1);
  assert.ok(await until(() => rc.ids.length === 1));
  const [old] = rc.ids;
  await cluster.restartEngine(old!);
  assert.ok(await until(() => rc.ids.length === 1 && rc.ids[0] !== old));
  assert.equal(await rc.at(0).apply(() => "fresh"), "fresh");
  assert.ok(added.length >= 4 && removed.length >= 3);
  await assert.rejects(cluster.restartEngine(99), /engine 99 does not exist/);
  await assert.rejects(cluster.scale(-1), /whole number/);
  // Up again right after going down: engines still on their way out are not counted as
  // engines still on their way in (scale(3) used to wait for them and time out).
  for (let i = 0; i < 3; i++) {
    assert.equal(await cluster.scale(3), 3);
    assert.equal(await cluster.scale(1), 1);
  }
});

test("a cluster that fails to start leaves no process behind", async () => {
  const name = `failing-${process.pid}`;
  await assert.rejects(Cluster.launch({ n: 2, name, timeout: 1 }), ClusterError);
  const leftovers = readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, "utf8").includes(name);
      } catch {
        return false;
      }
    });
  assert.deepEqual(leftovers, []);
});

test("a missing or unreadable connection file gets an error that says what to do", async () => {
  await assert.rejects(Client.connect(join(tmp.dir, "nope.json")), (e: unknown) => {
    assert.ok(e instanceof ConnectionFileError);
    assert.equal(e.code, "CONNECTION_FILE_MISSING");
    assert.match(e.message, /start a cluster first/);
    return true;
  });
  const bad = join(tmp.dir, "bad.json");
  writeFileSync(bad, "{not json");
  await assert.rejects(
    Client.connect(bad),
    (e: unknown) => e instanceof ConnectionFileError && e.code === "CONNECTION_FILE_INVALID",
  );
  const dir = join(tmp.dir, "adir.json");
  mkdirSync(dir);
  await assert.rejects(
    Client.connect(dir),
    (e: unknown) => e instanceof ConnectionFileError && e.code === "CONNECTION_FILE_UNREADABLE",
  );
});

test("a connection file whose controller is gone times out with a hint instead of hanging", async () => {
  const file = join(tmp.dir, "stale.json");
  writeFileSync(
    file,
    JSON.stringify({
      name: "stale",
      key: "k",
      client_url: "tcp://127.0.0.1:9",
      engine_url: "tcp://127.0.0.1:9",
      heartbeat_url: "tcp://127.0.0.1:9",
      ping_url: "tcp://127.0.0.1:9",
    }),
  );
  await assert.rejects(Client.connect(file, { timeout: 500 }), /is the cluster running/);
});
