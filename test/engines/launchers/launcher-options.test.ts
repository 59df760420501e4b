import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { LauncherError } from "../../../engines/launchers/launcher.js";
import { launcherOptionsFromFlags } from "../../../engines/launchers/launcher-flags.js";
import { checkLauncherSpec, defaultEngineCount } from "../../../engines/launchers/launcher-spec.js";
import { processRank } from "../../../engines/launchers/process-rank.js";
import { shellJoin, splitShellWords } from "../../../engines/launchers/shell-words.js";
import { slurmJobGroups } from "../../../engines/launchers/slurm-launcher.js";
import { formatSSHHost, parseSSHHost, placeEngines } from "../../../engines/launchers/ssh-host.js";

test("ssh hosts are read as people write them", () => {
  assert.deepEqual(parseSSHHost("node1"), { host: "node1" });
  assert.deepEqual(parseSSHHost("alice@node2:2222=4"), { host: "node2", user: "alice", port: 2222, n: 4 });
  assert.deepEqual(parseSSHHost("[fe80::1]:22"), { host: "fe80::1", port: 22 });
  assert.equal(formatSSHHost(parseSSHHost("alice@[fe80::1]:2222")), "alice@[fe80::1]:2222");
  assert.throws(() => parseSSHHost("node1=0"), /must be a whole number ≥ 1/);
});

test("engines go to the host with the fewest for its count; the default count is the hosts' total", () => {
  const hosts = [parseSSHHost("a=2"), parseSSHHost("b")];
  assert.deepEqual(placeEngines(hosts, [0, 0], 3), [0, 0, 1]);
  assert.deepEqual(placeEngines(hosts, [2, 0], 1), [1]);
  assert.deepEqual(placeEngines(hosts, [1, 1], 4), [0, 0, 0, 1]); // 4 : 2, the 2 : 1 of the counts
  assert.equal(defaultEngineCount(checkLauncherSpec({ kind: "ssh", hosts: "a=2,b" })), 3);
  assert.equal(defaultEngineCount({ kind: "mpi" }), 2);
});

test("shell words survive quoting through a real sh, and option strings split like a shell's", () => {
  const words = ["plain", "with space", "it's", '"dq"', "$HOME", "a\\b", ""];
  const echoed = execFileSync("sh", ["-c", `for w in ${shellJoin(words)}; do printf '[%s]' "$w"; done`], {
    encoding: "utf8",
  });
  assert.equal(echoed, words.map((w) => `[${w}]`).join(""));
  assert.deepEqual(splitShellWords(` -F "/my cfg"  -o 'Port 22' a\\ b `), [
    "-F",
    "/my cfg",
    "-o",
    "Port 22",
    "a b",
  ]);
  assert.throws(() => splitShellWords(`-F "open`), /unterminated " quote/);
});

test("flags become launcher options (CLI and %cluster share the table)", () => {
  assert.deepEqual(
    launcherOptionsFromFlags({
      hosts: "a,alice@b:2222=2",
      "ssh-args": "-F '/x y'",
      "shared-file": true,
      "no-oversubscribe": true,
    }),
    {
      hosts: ["a", "alice@b:2222=2"],
      sshArgs: ["-F", "/x y"],
      sharedConnectionFile: true,
      oversubscribe: false,
    },
  );
});

test("the rank comes from MPI before Slurm (an mpiexec inside a batch job inherits SLURM_PROCID=0)", () => {
  assert.deepEqual(
    processRank({
      SLURM_PROCID: "0",
      SLURM_NTASKS: "1",
      OMPI_COMM_WORLD_RANK: "3",
      OMPI_COMM_WORLD_SIZE: "4",
    }),
    {
      rank: 3,
      size: 4,
      source: "OMPI_COMM_WORLD_RANK",
    },
  );
  assert.deepEqual(processRank({ PMI_RANK: "1", PMI_SIZE: "2" }), { rank: 1, size: 2, source: "PMI_RANK" });
  assert.deepEqual(processRank({ SLURM_PROCID: "5", SLURM_NTASKS: "8" }), {
    rank: 5,
    size: 8,
    source: "SLURM_PROCID",
  });
  assert.equal(processRank({}), undefined);
});

test("Slurm's jobs split a start into one or two job arrays of nearly equal jobs", () => {
  assert.deepEqual(slurmJobGroups(256, 4), [{ jobs: 4, tasks: 64 }]);
  assert.deepEqual(slurmJobGroups(10, 4), [
    { jobs: 2, tasks: 3 },
    { jobs: 2, tasks: 2 },
  ]);
  assert.deepEqual(slurmJobGroups(2, 4), [{ jobs: 2, tasks: 1 }], "never more jobs than engines");
  assert.deepEqual(slurmJobGroups(5), [{ jobs: 1, tasks: 5 }]);
  assert.deepEqual(checkLauncherSpec({ kind: "slurm", ...launcherOptionsFromFlags({ jobs: "4" }) }), {
    kind: "slurm",
    jobs: 4,
  });
  for (const bad of [0, 1.5, "four", -2])
    assert.throws(
      () => checkLauncherSpec({ kind: "slurm", jobs: bad }),
      (e: Error) =>
        e instanceof LauncherError &&
        /option jobs of the slurm launcher must be a whole number ≥ 1/.test(e.message),
    );
});
