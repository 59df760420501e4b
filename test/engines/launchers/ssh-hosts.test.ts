import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Client, Cluster } from "../../../engines/index.js";
import { hostIdentity } from "../../../engines/store/host-identity.js";
import { tcpEndpoint } from "../../../engines/wire/transport/tcp-endpoint.js";
import { useTempClusterDir } from "../cluster-fixture.js";
import { runCommand, systemCommand, waitFor } from "./daemon-process.js";
import { createNetwork, netnsMissing, type TestNetwork } from "./netns-fixture.js";
import { sshdMissing, startSshd, type TestSshd } from "./sshd-fixture.js";

// A controller host (this, the root namespace) and two engine hosts: network namespaces on a
// bridge, each with its own host name and its own pid namespace, reached over ssh. A third
// namespace shares this host's pids, as a container with the host's pid namespace would.

const missing = sshdMissing() ?? netnsMissing();
const clusters = useTempClusterDir();
const scratch = mkdtempSync(join(tmpdir(), "tsp-hosts-"));
const keys = join(scratch, "ssh");
const HOSTS = ["tsp-eng1", "tsp-eng2"];
/** The namespace that shares this host's pid namespace. */
const SHARING = "tsp-eng3";
/** Engines per engine host. */
const PER_HOST = 3;

let net: TestNetwork | undefined;
const sshds: TestSshd[] = [];

before(async () => {
  if (missing) return;
  net = createNetwork(HOSTS.length + 1);
  for (const [i, h] of net.hosts.entries())
    sshds.push(
      await startSshd(keys, {
        address: h.address,
        port: 22,
        netns: h.name,
        hostname: HOSTS[i] ?? SHARING,
        ownPids: i < HOSTS.length,
      }),
    );
});

after(async () => {
  for (const s of sshds.splice(0)) await s.stop();
  net?.remove();
  rmSync(scratch, { recursive: true, force: true });
  clusters.cleanup();
});

/** `[pid, hostname]` of every engine. */
async function whereEnginesRun(cluster: Cluster): Promise<[number, string][]> {
  return cluster.client!.view().apply(() => [process.pid, require("node:os").hostname()] as [number, string]);
}

function laneReachable(lane: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(tcpEndpoint(lane)!);
    s.setTimeout(2000, () => s.destroy(new Error("timeout")));
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/** Node processes (engines) in a host's network namespace, by this namespace's pids. */
function enginesOn(i: number): number[] {
  return runCommand(systemCommand("ip")!, ["netns", "pids", net!.hosts[i]!.name])
    .split("\n")
    .filter(Boolean)
    .map(Number)
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/comm`, "utf8").trim() === "node";
      } catch {
        return false; // gone
      }
    });
}

function escaped(address: string): string {
  return address.replaceAll(".", "\\.");
}

describe("a controller host and two engine hosts", { skip: missing }, () => {
  test("apply, scatter/gather, push and a load-balanced flood across the hosts, every result checked", async () => {
    const remoteDir = join(scratch, "remote-3");
    const t0 = Date.now();
    const cluster = await Cluster.launch({
      launcher: "ssh",
      hosts: net!.hosts.slice(0, HOSTS.length).map((h) => `${h.address}=${PER_HOST}`),
      sshArgs: sshds[0]!.sshArgs,
      remoteDir,
      timeout: 30_000,
    });
    try {
      const client = cluster.client!;
      const started = Date.now() - t0;
      assert.match(client.info.engine_url, new RegExp(`^tcp://${escaped(net!.hostAddress)}:\\d+$`));
      assert.equal(
        client.info.encrypted,
        true,
        "a controller that binds beyond loopback encrypts by default",
      );
      const n = HOSTS.length * PER_HOST;
      assert.equal(client.ids.length, n);

      // Where each engine runs, and what it advertises.
      const where = await whereEnginesRun(cluster);
      assert.deepEqual(
        where.map(([, h]) => h).sort(),
        HOSTS.flatMap((h) => Array(PER_HOST).fill(h)),
      );
      const hostOf = new Map(client.ids.map((id, i) => [id, HOSTS.indexOf(where[i]![1])]));
      for (const id of client.ids) {
        const info = client.engines.get(id)!;
        const address = net!.hosts[hostOf.get(id)!]!.address;
        assert.match(info.lane ?? "", new RegExp(`^tcp://${escaped(address)}:\\d+$`), `engine ${id}'s lane`);
        assert.ok(await laneReachable(info.lane!), `lane of engine ${id} (${info.lane}) accepts connections`);
      }
      // The store's idea of a host: engines on one host share memory, the two hosts do not, and
      // neither shares this one's (their own pid namespaces).
      const ids = HOSTS.map((_, h) => client.ids.filter((id) => hostOf.get(id) === h));
      const hostIds = ids.map((list) => new Set(list.map((id) => client.engines.get(id)!.host_id)));
      for (const set of hostIds) {
        assert.equal(set.size, 1, "one identity per host");
        assert.ok([...set][0], "engines there can map memory");
        assert.notEqual([...set][0], hostIdentity());
      }
      assert.notEqual([...hostIds[0]!][0], [...hostIds[1]!][0]);

      // Apply to all, with an argument.
      const view = client.view();
      assert.deepEqual(
        await view.apply(
          (k: number) => k * (globalThis as unknown as { process: { pid: number } }).process.pid,
          3,
        ),
        where.map(([p]) => 3 * p),
      );

      // Scatter and gather: a large typed array (a part of 2 MiB per engine) and a list.
      const big = Float64Array.from({ length: n << 18 }, (_, i) => i * 0.5);
      await view.scatter("part", big);
      const lengths: number[] = await view.apply(
        () => (globalThis as unknown as { part: Float64Array }).part.length,
      );
      assert.deepEqual(lengths, Array(n).fill(1 << 18));
      const gathered = (await view.gather("part")) as Float64Array;
      assert.ok(gathered instanceof Float64Array);
      assert.equal(gathered.length, big.length);
      assert.ok(
        gathered.every((v, i) => v === big[i]),
        "the gathered array is the scattered one",
      );
      await view.scatter(
        "items",
        Array.from({ length: 30 }, (_, i) => i),
      );
      assert.deepEqual(
        await view.gather("items"),
        Array.from({ length: 30 }, (_, i) => i),
      );

      // Push to all: every engine has the whole array.
      const pushed = Float64Array.from({ length: 1 << 21 }, (_, i) => (i % 1000) - 500);
      await view.push({ pushed });
      const sums: number[] = await view.apply(() => {
        const a = (globalThis as unknown as { pushed: Float64Array }).pushed;
        let s = 0;
        for (let i = 0; i < a.length; i++) s += a[i]! * (i % 7);
        return s;
      });
      let expected = 0;
      for (let i = 0; i < pushed.length; i++) expected += pushed[i]! * (i % 7);
      assert.deepEqual(sums, Array(n).fill(expected));

      // A load-balanced flood over both hosts.
      const lb = client.loadBalancedView();
      const count = 3000;
      const flood = Array.from({ length: count }, (_, i) => lb.apply((x: number) => x * 2 + 1, i));
      const results = await Promise.all(flood);
      assert.deepEqual(
        results,
        Array.from({ length: count }, (_, i) => i * 2 + 1),
      );
      const ranOn = new Set(flood.flatMap((ar) => ar.engineIds).map((id) => hostOf.get(id)));
      assert.deepEqual([...ranOn].sort(), [0, 1], "both hosts ran tasks of the flood");

      // An interrupt reaches an engine on another host (through its signal thread) and stops its
      // running task; the engine runs the next one.
      const remoteId = ids[1]![0]!;
      const spinning = client.view([remoteId]).apply(() => {
        for (;;) {}
      });
      await new Promise((r) => setTimeout(r, 300));
      await client.signal(remoteId, "SIGINT");
      await assert.rejects(async () => await spinning, /Interrupted/);
      assert.deepEqual(await client.view([remoteId]).apply(() => "next"), ["next"]);
      assert.ok(
        readdirSync(remoteDir).some((f) => f.endsWith(".json")),
        "the connection file was copied over",
      );
      process.stderr.write(`(ssh cluster across three hosts up in ${started} ms)\n`);
    } finally {
      await cluster.stop();
    }
    // Every engine stopped by the launcher, not by tearing the namespaces down.
    await waitFor("the engines to leave their hosts", () => [0, 1].every((i) => !enginesOn(i).length));
    assert.deepEqual(
      readdirSync(remoteDir).filter((f) => f.endsWith(".json")),
      [],
      "copied connection files are removed",
    );
  });

  test("a large push to every engine of two hosts goes to each host once, through one engine there", async () => {
    const cluster = await Cluster.launch({
      launcher: "ssh",
      hosts: net!.hosts.slice(0, HOSTS.length).map((h) => `${h.address}=${PER_HOST}`),
      sshArgs: sshds[0]!.sshArgs,
      remoteDir: join(scratch, "remote-relay"),
      // Room for two values of 64 MiB per store: without releases, the third placement fails.
      env: { TSPARALLEL_STORE_BYTES: "160M" },
      timeout: 30_000,
    });
    const copying = await Client.connect(cluster.file, { relays: false });
    try {
      const client = cluster.client!;
      const n = HOSTS.length * PER_HOST;
      const where = await whereEnginesRun(cluster);
      const MiB = 1 << 20;
      const value = (round: number) => Float64Array.from({ length: 8 * MiB }, (_, i) => (i % 1000) + round);
      const expected = (round: number) => {
        let s = 0;
        for (let i = 0; i < 8 * MiB; i++) s += (i % 1000) + round;
        return s;
      };
      const sums = (c: Client) =>
        c.view().apply(() => {
          const a = (globalThis as unknown as { pushed: Float64Array }).pushed;
          let s = 0;
          for (let i = 0; i < a.length; i++) s += a[i]!;
          return s;
        }) as unknown as Promise<number[]>;
      /** Bytes written to each engine's lanes during `work`. */
      const written = async (c: Client, work: () => PromiseLike<unknown>) => {
        const before = new Map(c.transferStats().lanes.map((l) => [l.engine, l.sent]));
        const t0 = performance.now();
        await work();
        const ms = performance.now() - t0;
        const sent = c.ids.map(
          (id) => (c.transferStats().lanes.find((l) => l.engine === id)?.sent ?? 0) - (before.get(id) ?? 0),
        );
        return { ms, sent };
      };

      const relayed: number[] = [];
      for (let round = 0; round < 4; round++) {
        const pushed = value(round);
        const { ms, sent } = await written(client, () => client.view().push({ pushed }));
        relayed.push(ms);
        // One engine per host got the value; the others a message naming its blocks.
        const large = sent.filter((b) => b >= 64 * MiB);
        assert.equal(large.length, HOSTS.length, `one copy per host (bytes per lane: ${sent})`);
        assert.ok(large.every((b) => b < 65 * MiB));
        assert.ok(
          sent.filter((b) => b < 64 * MiB).every((b) => b < 64 << 10),
          `the others get small messages (bytes per lane: ${sent})`,
        );
        assert.deepEqual(await sums(client), Array(n).fill(expected(round)));
        // Each engine drops the last value when the next comes; its idle collection releases the
        // blocks to their relay, through the controller, within a few hundred ms.
        await new Promise((r) => setTimeout(r, 400));
      }
      assert.deepEqual(client.transferStats().relays, {
        values: 4 * HOSTS.length,
        engines: 4 * n,
        failed: 0,
      });

      const copied: number[] = [];
      for (let round = 0; round < 2; round++) {
        const pushed = value(10 + round);
        const { ms, sent } = await written(copying, () => copying.view().push({ pushed }));
        copied.push(ms);
        assert.ok(
          sent.every((b) => b >= 64 * MiB),
          `without relays every engine gets a copy (${sent})`,
        );
        assert.deepEqual(await sums(copying), Array(n).fill(expected(10 + round)));
      }

      // apply with a large argument goes the same way, and its result is per engine as ever: values,
      // outputs, and the error of the one engine that throws.
      const [badPid, badHost] = where[n - 1]!;
      const ar = client.view().apply(
        (a: Float64Array, pid: number, host: string) => {
          console.log(`got ${a.length}`);
          if (process.pid === pid && require("node:os").hostname() === host)
            throw new RangeError("this one fails");
          return a[a.length - 1];
        },
        value(20),
        badPid,
        badHost,
      );
      await assert.rejects(ar.get(), (e: Error) => /this one fails/.test(e.message));
      const info = ar.metadata;
      assert.deepEqual(
        info.map((m) => m.status),
        [...Array(n - 1).fill("ok"), "error"],
      );
      assert.deepEqual(ar.stdout, Array(n).fill(`got ${8 * MiB}\n`));
      assert.equal(client.transferStats().relays.values, 5 * HOSTS.length);
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      process.stderr.write(
        `(push of 64 MiB to ${n} engines on ${HOSTS.length} hosts: ${relayed.map((x) => x.toFixed(0)).join(", ")} ms relayed, ${copied.map((x) => x.toFixed(0)).join(", ")} ms with a copy each; median ${median(relayed).toFixed(0)} vs ${median(copied).toFixed(0)} ms)\n`,
      );
    } finally {
      await copying.close();
      await cluster.stop();
    }
  });

  test("what encryption costs across the hosts: the same calls on an encrypted and a plain cluster", async () => {
    const MiB = 1 << 20;
    const big = Float64Array.from({ length: 8 * MiB }, (_, i) => i % 977);
    const report: string[] = [];
    for (const encrypt of [true, false]) {
      const cluster = await Cluster.launch({
        launcher: "ssh",
        hosts: net!.hosts.slice(0, HOSTS.length).map((h) => `${h.address}=1`),
        sshArgs: sshds[0]!.sshArgs,
        remoteDir: join(scratch, `remote-encrypt-${encrypt}`),
        encrypt,
        timeout: 30_000,
      });
      try {
        const client = cluster.client!;
        assert.equal(client.info.encrypted === true, encrypt);
        const view = client.view();
        const times = async (runs: number, work: () => PromiseLike<unknown>) => {
          const ms: number[] = [];
          for (let i = 0; i < runs; i++) {
            const t0 = performance.now();
            await work();
            ms.push(performance.now() - t0);
          }
          return ms.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
        };
        const apply = await times(30, () => view.apply(() => 1));
        const scatter = await times(3, () => view.scatter("part", big));
        let gathered: Float64Array | undefined;
        const gather = await times(3, async () => {
          gathered = (await view.gather("part")) as Float64Array;
        });
        assert.ok(gathered!.every((v, i) => v === big[i]));
        const push = await times(3, () => view.push({ whole: big }));
        assert.deepEqual(
          await view.apply(() => (globalThis as unknown as { whole: Float64Array }).whole[977 * 3 + 5]),
          [5, 5],
        );
        report.push(
          `${encrypt ? "encrypted" : "plain"}: apply to both ${apply.toFixed(2)} ms, scatter 64 MiB ${scatter.toFixed(0)} ms, gather ${gather.toFixed(0)} ms, push to both ${push.toFixed(0)} ms`,
        );
      } finally {
        await cluster.stop();
      }
    }
    process.stderr.write(`(two engine hosts, medians: ${report.join("; ")})\n`);
  });

  test("when the link goes dead without closing, the controller drops the engine and the engine exits", async () => {
    const host = net!.hosts[0]!;
    const cluster = await Cluster.launch({
      launcher: "ssh",
      hosts: [`${host.address}=1`],
      sshArgs: sshds[0]!.sshArgs,
      remoteDir: join(scratch, "remote-dead"),
      timeout: 30_000,
    });
    try {
      const client = cluster.client!;
      await whereEnginesRun(cluster);
      const removed = new Promise<string | undefined>((resolve) =>
        client.on("engineRemoved", (_e, why) => resolve(why)),
      );
      const cutAt = Date.now();
      host.link(false); // no FIN, no RST: both ends only learn it from silence
      try {
        assert.match((await removed) ?? "", /heartbeat/);
        // ZeroMQ's heartbeats tell the engine (5 s of silence), then it waits 3 s for a reconnect.
        await waitFor("the engine behind the dead link to exit", () => !enginesOn(0).length, 20_000);
        process.stderr.write(`(engine behind the dead link exited ${Date.now() - cutAt} ms after the cut)\n`);
      } finally {
        host.link(true);
      }
    } finally {
      await cluster.stop();
    }
  });

  test("engines in another network namespace that shares this pid namespace map the client's store", async () => {
    const host = net!.hosts[HOSTS.length]!;
    const cluster = await Cluster.launch({
      launcher: "ssh",
      hosts: [`${host.address}=2`],
      sshArgs: sshds[0]!.sshArgs,
      remoteDir: join(scratch, "remote-sharing"),
      timeout: 30_000,
    });
    try {
      const client = cluster.client!;
      // Same boot, pid namespace and user: the same host as far as shared memory goes, and it is
      // reachable (the /proc of one pid namespace shows every process of it, whatever its network).
      for (const id of client.ids) assert.equal(client.engines.get(id)!.host_id, hostIdentity());
      const pushed = Float64Array.from({ length: 1 << 20 }, (_, i) => i);
      await client.view().push({ pushed });
      const seen: [number, boolean][] = await client.view().apply(() => {
        const a = (globalThis as unknown as { pushed: Float64Array }).pushed;
        const maps = require("node:fs").readFileSync("/proc/self/maps", "utf8") as string;
        return [a[a.length - 1]!, maps.includes("memfd:tsparallel-store")];
      });
      assert.deepEqual(seen, [
        [(1 << 20) - 1, true],
        [(1 << 20) - 1, true],
      ]);
    } finally {
      await cluster.stop();
    }
  });
});
