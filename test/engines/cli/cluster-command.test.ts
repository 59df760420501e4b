import assert from "node:assert/strict";
import { after, test } from "node:test";
import { CLUSTER_USAGE, runClusterCommand } from "../../../engines/cli/cluster-command.js";
import { connectionFilePath, readConnectionFile } from "../../../engines/wire/protocol/connection-file.js";
import { useTempClusterDir } from "../cluster-fixture.js";

const tmp = useTempClusterDir();
after(async () => {
  await runClusterCommand(["stop", "--all"]).catch(() => 1);
  tmp.cleanup();
});

/** Runs the command and captures what it prints. */
async function run(...argv: string[]): Promise<{ code: number; out: string }> {
  let out = "";
  const w1 = process.stdout.write;
  const w2 = process.stderr.write;
  // Only text is the command's: the test runner reports to its parent in binary chunks on stdout,
  // and swallowing those would lose other tests' results.
  const capture = (original: typeof process.stdout.write) =>
    ((chunk: string | Uint8Array, ...rest: never[]) => {
      if (typeof chunk !== "string") return original.call(process.stdout, chunk, ...rest);
      out += chunk;
      return true;
    }) as typeof process.stdout.write;
  process.stdout.write = capture(w1);
  process.stderr.write = capture(w2);
  try {
    return { code: await runClusterCommand(argv), out };
  } finally {
    process.stdout.write = w1;
    process.stderr.write = w2;
  }
}

test("usage and bad input give a clear message and a non-zero code", async () => {
  assert.deepEqual(await run(), { code: 2, out: `${CLUSTER_USAGE}\n` });
  assert.equal((await run("--help")).code, 0);
  const bogus = await run("bogus");
  assert.equal(bogus.code, 2);
  assert.match(bogus.out, /unknown command "bogus"/);
  const badN = await run("start", "-n", "two", "--name", "x");
  assert.equal(badN.code, 1);
  assert.match(badN.out, /-n must be a whole number/);
  const both = await run("start", "--encrypt", "--no-encrypt", "--name", "x");
  assert.equal(both.code, 1);
  assert.match(both.out, /give --encrypt or --no-encrypt, not both/);
  assert.match((await run("engines", "--name", "nothing-here", "-n", "1")).out, /no connection file/);
});

test("start --daemonize, list, engines and stop manage a background cluster", async () => {
  // Encrypted on loopback, where it is off by default: engines added later join it too.
  const started = await run("start", "-n", "1", "--daemonize", "--name", "bg", "--encrypt");
  assert.equal(started.code, 0, started.out);
  assert.match(started.out, /cluster "bg" running with 1 engines/);
  assert.equal(readConnectionFile(connectionFilePath("bg")).encrypted, true);
  assert.match((await run("start", "--name", "bg")).out, /already running/);
  assert.match((await run("list")).out, /bg\trunning\t1\t/);
  assert.match((await run("engines", "-n", "1", "--name", "bg")).out, /now has 2 engines/);
  assert.match((await run("stop", "--name", "bg")).out, /cluster "bg" stopped/);
  assert.match((await run("list")).out, /no clusters/);
});
