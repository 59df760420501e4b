/**
 * Host identity decides which processes share memory through the store: never two that cannot
 * open each other's descriptors.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { hostIdentity } from "../../../engines/store/host-identity.js";
import { needs } from "../../helpers/system-needs.js";
import { systemCommand } from "../launchers/daemon-process.js";

const NOBODY = 65534;

function missing(): string | undefined {
  if (process.getuid?.() !== 0) return needs("root", "the test runs a process as another user");
  if (!systemCommand("setpriv") || !systemCommand("unshare"))
    return needs("netns", "setpriv/unshare are missing");
  return undefined;
}

test("a process that is uid 0 only inside a user namespace of its own is another host, and cannot open our descriptors", {
  skip: missing(),
}, (t) => {
  // host-identity.js imports only node's own modules: a copy anyone can read runs as nobody.
  const dir = mkdtempSync(join(tmpdir(), "tsp-identity-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o755);
  const module = join(dir, "host-identity.mjs");
  copyFileSync(fileURLToPath(new URL("../../../engines/store/host-identity.js", import.meta.url)), module);
  chmodSync(module, 0o644);
  const script = `
    const { hostIdentity } = await import(${JSON.stringify(module)});
    let open = "ok";
    try { require("node:fs").openSync("/proc/${process.pid}/fd/0", "r"); } catch (e) { open = e.code; }
    console.log(JSON.stringify({ uid: process.getuid(), id: hostIdentity(), open }));`;
  const r = spawnSync(
    systemCommand("setpriv")!,
    [
      `--reuid=${NOBODY}`,
      `--regid=${NOBODY}`,
      "--clear-groups",
      systemCommand("unshare")!,
      "--user",
      "--map-root-user",
      process.execPath,
      "--input-type=commonjs",
      "-e",
      `(async () => { ${script} })()`,
    ],
    { encoding: "utf8", cwd: dir },
  );
  if (r.status !== 0 && /unshare|Operation not permitted|Permission denied/.test(r.stderr)) {
    t.skip(`this system does not let an unprivileged user make a user namespace: ${r.stderr.trim()}`);
    return;
  }
  assert.equal(r.status, 0, r.stderr);
  const seen = JSON.parse(r.stdout) as { uid: number; id: string; open: string };
  assert.equal(seen.uid, 0, "it is uid 0 in its namespace, as we are in ours");
  assert.equal(seen.open, "EACCES", "the kernel refuses it our descriptors");
  const [boot, pidns] = hostIdentity().split("/");
  assert.ok(seen.id.startsWith(`${boot}/${pidns}/`), "same boot and pid namespace");
  assert.notEqual(seen.id, hostIdentity());
});
