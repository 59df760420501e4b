import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { hostname, tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Cluster } from "../../../engines/index.js";
import { LauncherError } from "../../../engines/launchers/launcher.js";
import { freePort } from "../../helpers/kernel-process.js";
import { useTempClusterDir } from "../cluster-fixture.js";
import { processRunning, runCommand, systemCommand, waitGone } from "./daemon-process.js";
import { createNetns, netnsMissing, type TestNetns } from "./netns-fixture.js";
import { sshdMissing, startSshd, type TestSshd } from "./sshd-fixture.js";

const missing = sshdMissing();
const clusters = useTempClusterDir();
const scratch = mkdtempSync(join(tmpdir(), "tsp-ssh-"));
const keys = join(scratch, "ssh");
let local: TestSshd | undefined;

before(async () => {
  if (missing) return;
  local = await startSshd(keys, { address: "127.0.0.1", port: await freePort() });
});

after(async () => {
  await local?.stop();
  rmSync(scratch, { recursive: true, force: true });
  clusters.cleanup();
});

/** `[pid, hostname]` of every engine. */
async function whereEnginesRun(cluster: Cluster): Promise<[number, string][]> {
  return cluster.client!.view().apply(() => [process.pid, require("node:os").hostname()] as [number, string]);
}

function laneReachable(lane: string): Promise<boolean> {
  const m = /^tcp:\/\/(.+):(\d+)$/.exec(lane)!;
  return new Promise((resolve) => {
    const s = connect({ host: m[1]!, port: Number(m[2]) });
    s.setTimeout(2000, () => s.destroy(new Error("timeout")));
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

test("ssh failures are LauncherErrors that show ssh's stderr and what to check", {
  skip: missing,
}, async () => {
  const closed = await freePort();
  await assert.rejects(
    Cluster.launch({
      launcher: "ssh",
      hosts: [`127.0.0.1:${closed}`],
      sshArgs: local!.sshArgs,
      timeout: 20_000,
    }),
    (e: Error) => {
      assert.ok(e instanceof LauncherError, `${e.name}: ${e.message}`);
      assert.match(
        e.message,
        new RegExp(`ssh could not start engines on 127\\.0\\.0\\.1:${closed}: ssh ended \\(exit code 255\\)`),
      );
      assert.match(e.message, /Connection refused/);
      assert.match(e.message, /Check that `ssh -o BatchMode=yes -F .* 127\.0\.0\.1 true` succeeds/);
      return true;
    },
  );
  await assert.rejects(
    Cluster.launch({
      launcher: "ssh",
      hosts: [`127.0.0.1:${local!.port}`],
      sshArgs: local!.sshArgs,
      remoteNode: "/nonexistent/node",
      remoteDir: join(scratch, "remote-bad"),
      timeout: 20_000,
    }),
    /no node at \/nonexistent\/node on .*: set remoteNode/,
  );
});

test("engines over ssh on one host: user@host:port=N, shared file, restart, scale, stop", {
  skip: missing,
}, async () => {
  const remoteDir = join(scratch, "remote-1");
  const cluster = await Cluster.launch({
    launcher: "ssh",
    hosts: [`${userInfo().username}@127.0.0.1:${local!.port}=2`],
    sshArgs: local!.sshArgs,
    sharedConnectionFile: true,
    remoteDir,
    timeout: 30_000,
  });
  const pids: number[] = [];
  try {
    const client = cluster.client!;
    assert.equal(client.ids.length, 2, "n defaults to the hosts' counts");
    assert.match(
      cluster.launcher!.description,
      new RegExp(`^ssh: 2 on ${hostname()} \\(\\S+@127\\.0\\.0\\.1:${local!.port}\\)$`),
    );
    assert.match(
      client.info.engine_url,
      /^tcp:\/\/127\.0\.0\.1:/,
      "loopback hosts keep the controller on loopback",
    );
    const first = await whereEnginesRun(cluster);
    pids.push(...first.map(([p]) => p));
    assert.deepEqual(
      first.map(([, h]) => h),
      [hostname(), hostname()],
    );
    // Started through sshd, not by the controller.
    for (const pid of pids)
      assert.notEqual(
        Number(runCommand("ps", ["-o", "ppid=", "-p", String(pid)]).trim()),
        client.info.controller_pid,
      );

    await cluster.restartEngine(client.ids[0]!);
    assert.equal(client.ids.length, 2);
    assert.equal(await cluster.scale(3), 3);
    const now = await whereEnginesRun(cluster);
    pids.push(...now.map(([p]) => p));
    assert.equal(new Set(now.map(([p]) => p)).size, 3);
    await waitGone([first[0]![0]], 5000); // the restarted engine's old process
    assert.equal(await cluster.scale(1), 1);
    assert.equal((await whereEnginesRun(cluster)).length, 1);
    assert.ok(
      readdirSync(remoteDir).some((f) => f.endsWith(".log")),
      "engines log on the remote side",
    );
  } finally {
    await cluster.stop();
  }
  await waitGone(pids);
});

describe("engines on a second host (a network namespace behind a veth link)", {
  skip: missing ?? netnsMissing(),
}, () => {
  let net: TestNetns | undefined;
  let remote: TestSshd | undefined;
  before(async () => {
    net = createNetns();
    remote = await startSshd(keys, {
      address: net.nsAddress,
      port: 22,
      netns: net.name,
      hostname: "tsp-eng1",
    });
  });
  after(async () => {
    await remote?.stop();
    net?.remove();
  });

  test("the controller binds the link, the file is copied, lanes advertise reachable addresses", async () => {
    const remoteDir = join(scratch, "remote-2");
    const t0 = Date.now();
    const cluster = await Cluster.launch({
      launcher: "ssh",
      hosts: [`127.0.0.1:${local!.port}=1`, `${net!.nsAddress}=2`],
      sshArgs: local!.sshArgs,
      remoteDir,
      timeout: 30_000,
    });
    const pids: [number, string][] = [];
    try {
      const client = cluster.client!;
      const started = Date.now() - t0;
      // The address on the route to the other host, not loopback and not this VM's first interface.
      assert.match(
        client.info.engine_url,
        new RegExp(`^tcp://${net!.hostAddress.replaceAll(".", "\\.")}:\\d+$`),
      );
      const where = await whereEnginesRun(cluster);
      pids.push(...where);
      assert.deepEqual(where.map(([, h]) => h).sort(), [hostname(), "tsp-eng1", "tsp-eng1"].sort());
      for (const id of client.ids) {
        const info = client.engines.get(id)!;
        // Each engine advertises its address on the network it shares with the controller.
        const expected = info.hostname === "tsp-eng1" ? net!.nsAddress : net!.hostAddress;
        assert.match(
          info.lane ?? "",
          new RegExp(`^tcp://${expected.replaceAll(".", "\\.")}:\\d+$`),
          `engine ${id} on ${info.hostname}`,
        );
        assert.ok(await laneReachable(info.lane!), `lane of engine ${id} (${info.lane}) accepts connections`);
        assert.equal(await client.at(id).apply((x: number) => x * 2, id), id * 2);
      }
      // Data both ways across the link.
      const view = client.view();
      await view.scatter(
        "part",
        Array.from({ length: 30 }, (_, i) => i),
      );
      assert.equal(((await view.gather("part")) as number[]).length, 30);
      const sums: number[] = await view.apply(() =>
        (globalThis as unknown as { part: number[] }).part.reduce((a, b) => a + b, 0),
      );
      assert.equal(
        sums.reduce((a, b) => a + b, 0),
        435,
      );
      assert.ok(
        readdirSync(remoteDir).some((f) => f.endsWith(".json")),
        "the connection file was copied over",
      );
      // An interrupt reaches an engine on the other host (through its signal thread) and stops
      // its running task; the engine runs the next one.
      const remoteId = client.ids.find((id) => client.engines.get(id)!.hostname === "tsp-eng1")!;
      const spinning = client.view([remoteId]).apply(() => {
        for (;;) {}
      });
      await new Promise((r) => setTimeout(r, 300));
      await client.signal(remoteId, "SIGINT");
      await assert.rejects(async () => await spinning, /Interrupted/);
      assert.equal(await client.at(client.ids.indexOf(remoteId)).apply(() => "next"), "next");
      process.stderr.write(`(ssh cluster across two hosts up in ${started} ms)\n`);
    } finally {
      await cluster.stop();
    }
    await waitGone(pids.filter(([, h]) => h === hostname()).map(([p]) => p));
    const inNs = runCommand(systemCommand("ip")!, ["netns", "pids", net!.name])
      .split("\n")
      .filter(Boolean)
      .map(Number);
    assert.deepEqual(inNs, [remote!.pid], "only the test's sshd is left in the namespace");
    assert.deepEqual(
      readdirSync(remoteDir).filter((f) => f.endsWith(".json")),
      [],
      "copied connection files are removed",
    );
    assert.ok(pids.every(([p, h]) => h !== hostname() || !processRunning(p)));
  });

  test("when the link goes dead without closing, the controller drops the engine and the engine exits", async () => {
    const cluster = await Cluster.launch({
      launcher: "ssh",
      hosts: [`${net!.nsAddress}=1`],
      sshArgs: local!.sshArgs,
      remoteDir: join(scratch, "remote-3"),
      timeout: 30_000,
    });
    let pid = 0;
    try {
      const client = cluster.client!;
      [[pid]] = (await whereEnginesRun(cluster)) as [[number, string]];
      const removed = new Promise<string | undefined>((resolve) =>
        client.on("engineRemoved", (_e, why) => resolve(why)),
      );
      const cutAt = Date.now();
      net!.link(false); // no FIN, no RST: both ends only learn it from silence
      try {
        assert.match((await removed) ?? "", /heartbeat/);
        // ZeroMQ's heartbeats tell the engine (5 s of silence), then it waits 3 s for a reconnect.
        await waitGone([pid], 20_000);
        process.stderr.write(`(engine behind the dead link exited ${Date.now() - cutAt} ms after the cut)\n`);
      } finally {
        net!.link(true);
      }
    } finally {
      await cluster.stop();
      if (pid && processRunning(pid)) process.kill(pid, "SIGKILL");
    }
  });
});
