import assert from "node:assert/strict";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import {
  ConnectionFileError,
  type ConnectionInfo,
  clustersDir,
  readConnectionFile,
  writeConnectionFile,
} from "../../../engines/wire/protocol/connection-file.js";

const root = mkdtempSync(join(tmpdir(), "tsp-connfile-"));
const before = process.env.TSPARALLEL_DIR;
after(() => {
  process.env.TSPARALLEL_DIR = before;
  rmSync(root, { recursive: true, force: true });
});

const info: ConnectionInfo = {
  name: "c",
  key: "secret",
  signature_scheme: "hmac-sha256",
  client_url: "tcp://127.0.0.1:1",
  engine_url: "tcp://127.0.0.1:2",
  heartbeat_url: "tcp://127.0.0.1:3",
  ping_url: "tcp://127.0.0.1:4",
  controller_pid: 1,
  controller_host: "h",
  created: "",
  scheme: "leastload",
};

test("a clusters folder that already exists open to everyone is made private (0700), the file 0600", () => {
  process.env.TSPARALLEL_DIR = join(root, "open");
  const dir = clustersDir();
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o777);
  const file = join(dir, "c.json");
  writeConnectionFile(file, info);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(readConnectionFile(file).key, "secret");
});

test("a folder the cluster creates for a file of its own is 0700; a folder the user chose keeps its mode", () => {
  const made = join(root, "made", "deeper");
  writeConnectionFile(join(made, "c.json"), info);
  assert.equal(statSync(made).mode & 0o777, 0o700);
  const chosen = join(root, "chosen");
  mkdirSync(chosen);
  chmodSync(chosen, 0o755);
  writeConnectionFile(join(chosen, "c.json"), info);
  assert.equal(statSync(chosen).mode & 0o777, 0o755, "not ours to change");
  assert.equal(statSync(join(chosen, "c.json")).mode & 0o777, 0o600);
});

test("a connection file that exists with a loose mode is replaced by a private one", () => {
  const dir = join(root, "loose");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, "c.json");
  writeFileSync(file, "{}", { mode: 0o666 });
  chmodSync(file, 0o666);
  writeConnectionFile(file, info);
  assert.equal(statSync(file).mode & 0o777, 0o600);
});

test("a clusters folder owned by another user is refused with CONNECTION_FILE_UNSAFE", (t) => {
  if (process.getuid?.() !== 0) return t.skip("needs root to give a folder to another user");
  process.env.TSPARALLEL_DIR = join(root, "foreign");
  const dir = clustersDir();
  mkdirSync(dir, { recursive: true });
  chownSync(dir, 65534, 65534);
  assert.throws(
    () => writeConnectionFile(join(dir, "c.json"), info),
    (e: unknown) =>
      e instanceof ConnectionFileError && e.code === "CONNECTION_FILE_UNSAFE" && /owned by/.test(e.message),
  );
});
