import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { hostname, tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Cluster } from "../../../engines/index.js";
import { LauncherError } from "../../../engines/launchers/launcher.js";
import { freePort } from "../../helpers/kernel-process.js";
import { useTempClusterDir } from "../cluster-fixture.js";
import { runCommand, waitGone } from "./daemon-process.js";
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
