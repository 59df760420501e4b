import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { after, test } from "node:test";
import { Client, type Cluster, ClusterError } from "../../engines/index.js";
import type { ConnectionInfo } from "../../engines/wire/protocol/connection-file.js";
import { Signer } from "../../engines/wire/protocol/signing.js";
import { connectLaneTls } from "../../engines/wire/transport/lane-tls.js";
import { parseTcpUrl, RecordingProxy } from "../helpers/recording-proxy.js";
import { startTestCluster, stopTestClusters } from "./cluster-fixture.js";

after(stopTestClusters);

const MARKER = "a-secret-the-wire-must-not-show";

/** The cluster's connection file with `change` applied, written next to it; returns its path. */
function alteredFile(
  cluster: Cluster,
  suffix: string,
  change: (info: ConnectionInfo) => ConnectionInfo,
): string {
  const info = JSON.parse(readFileSync(cluster.file, "utf8")) as ConnectionInfo;
  const path = cluster.file.replace(/\.json$/, `-${suffix}.json`);
  writeFileSync(path, JSON.stringify(change(info)), { mode: 0o600 });
  return path;
}

/**
 * How an engine's lane opens: a plain lane's engine speaks first (the lane's magic), a TLS one
 * waits for a TLS hello and completes a handshake only with the cluster's pre-shared key.
 */
async function laneOpening(lane: string, key: string): Promise<{ first?: string; tls: boolean }> {
  const first = await new Promise<string | undefined>((resolve) => {
    const s = connect(parseTcpUrl(lane));
    const timer = setTimeout(() => {
      s.destroy();
      resolve(undefined);
    }, 300);
    s.once("data", (d: Buffer) => {
      clearTimeout(timer);
      s.destroy();
      resolve(d.subarray(0, 4).toString("latin1"));
    });
    s.on("error", () => {});
  });
  const tls = await new Promise<boolean>((resolve) => {
    const s = connectLaneTls(parseTcpUrl(lane), new Signer(key));
    s.setTimeout(3000, () => s.destroy());
    s.once("secureConnect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("close", () => resolve(false));
    s.on("error", () => {});
  });
  return { ...(first === undefined ? {} : { first }), tls };
}

/** Runs work with the marker through a client that reaches the controller only through a proxy. */
async function throughProxy(cluster: Cluster): Promise<Buffer> {
  const proxy = await RecordingProxy.start(cluster.client!.info.client_url);
  // No lanes: every task and reply goes through the controller link, which the proxy records.
  const client = await Client.connect(
    alteredFile(cluster, "proxied", (info) => ({ ...info, client_url: proxy.url })),
    { lanes: false },
  );
  try {
    const marker = MARKER;
    assert.deepEqual(await client.view().apply((m: string) => `${m}!`, marker), [`${marker}!`, `${marker}!`]);
    assert.equal(await client.loadBalancedView().apply((m: string) => m.length, marker), marker.length);
    return proxy.seen;
  } finally {
    await client.close();
    proxy.close();
  }
}

test("an encrypted cluster runs every kind of call, and its controller link shows no plaintext", async () => {
  const cluster = await startTestCluster({ encrypt: true, store: false });
  const client = cluster.client!;
  assert.equal(client.info.encrypted, true);
  assert.equal((JSON.parse(readFileSync(cluster.file, "utf8")) as ConnectionInfo).encrypted, true);

  const wire = await throughProxy(cluster);
  assert.ok(wire.length > 1000, `traffic passed the proxy (${wire.length} bytes)`);
  assert.equal(wire.indexOf(MARKER), -1, "the marker is not on the wire");
  assert.equal(wire.indexOf("apply_request"), -1, "nor any message type");

  // Lanes (the store is off: arrays go over them) run TLS, keyed by the cluster key.
  for (const id of client.ids)
    assert.deepEqual(await laneOpening(client.engines.get(id)!.lane!, client.info.key), { tls: true });
  const view = client.view();
  const big = Float64Array.from({ length: 1 << 21 }, (_, i) => i * 0.25);
  await view.scatter("part", big);
  const gathered = (await view.gather("part")) as Float64Array;
  assert.ok(gathered.length === big.length && gathered.every((v, i) => v === big[i]));
  await view.push({ whole: big });
  const lasts = await view.apply(() => (globalThis as unknown as { whole: Float64Array }).whole.at(-1));
  assert.deepEqual(lasts, [big.at(-1), big.at(-1)]);
  const pulled = (await client.view([client.ids[0]!]).pull("whole")) as Float64Array[];
  assert.ok(pulled[0]!.every((v, i) => v === big[i]));
  const lb = client.loadBalancedView();
  const results = await Promise.all(Array.from({ length: 500 }, (_, i) => lb.apply((x: number) => x * 3, i)));
  assert.deepEqual(
    results,
    Array.from({ length: 500 }, (_, i) => i * 3),
  );
});

test("a loopback cluster is not encrypted by default, and the same proxy shows its plaintext", async () => {
  const cluster = await startTestCluster();
  assert.equal(cluster.client!.info.encrypted, undefined);
  const wire = await throughProxy(cluster);
  assert.notEqual(wire.indexOf(MARKER), -1);
  const { info } = cluster.client!;
  assert.deepEqual(await laneOpening(cluster.client!.engines.get(0)!.lane!, info.key), {
    first: "TSPL",
    tls: false,
  });
});

test("an encrypted controller refuses, at once, a client in the clear and one of another key", async () => {
  const cluster = await startTestCluster({ encrypt: true, n: 1 });
  for (const [suffix, change] of [
    ["clear", (info: ConnectionInfo) => ({ ...info, encrypted: undefined })],
    ["other-key", (info: ConnectionInfo) => ({ ...info, key: "another cluster's key" })],
  ] as const) {
    const t0 = Date.now();
    await assert.rejects(
      Client.connect(alteredFile(cluster, suffix, change)),
      (e: ClusterError) => e instanceof ClusterError && e.code === "CONTROLLER_UNREACHABLE",
      suffix,
    );
    assert.ok(Date.now() - t0 < 4000, `${suffix}: refused in ${Date.now() - t0} ms, not timed out`);
  }
  // The cluster is unharmed.
  assert.deepEqual(await cluster.client!.view().apply(() => "still here"), ["still here"]);
});
